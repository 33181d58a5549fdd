/**
 * Thread kinds of the daemon, in OVS terms: PMD threads poll rxqs and run the datapath, handler threads
 * translate upcalls, revalidator threads dump, check and expire datapath flows.
 */
export const THREAD_KINDS = ['pmd', 'handler', 'revalidator'] as const;
export type ThreadKind = (typeof THREAD_KINDS)[number];

/** Most threads of one kind the daemon accepts (a sanity bound, far above any useful count on 2 cores). */
export const MAX_THREADS_PER_KIND = 64;

export type ThreadCounts = { [K in ThreadKind]: number };
