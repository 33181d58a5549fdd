/**
 * Handler counters in one SharedArrayBuffer: a line per odp port (written by the handler that
 * serves the port's upcall queue; one handler at a time, handovers are acknowledged through
 * messages) and a line per handler id (written by that handler thread). Plain Float64 stores by
 * the single writer, plain loads by readers (OVS's relaxed per-thread counters); the control
 * thread sums and derives percentiles.
 *
 * Layout: Float64Array, `LINE` (80) elements per line; lines 0..MAX_ODP_PORTS-1 are ports, then
 * MAX_HANDLERS lines of handlers. Within a line (units: upcalls unless said):
 * | idx | name          | meaning                                                                  |
 * |-----|---------------|--------------------------------------------------------------------------|
 * | 0   | received      | upcalls taken from the queue (MISS + ACTION)                             |
 * | 1   | miss          | MISS upcalls taken                                                       |
 * | 2   | action        | ACTION upcalls taken                                                     |
 * | 3   | handled       | upcalls fully processed (translated and executed, or delivered)         |
 * | 4   | installed     | datapath flows installed (put CREATE succeeded)                          |
 * | 5   | exists        | flow already there: ukey of another handler (duplicate) or put EEXIST    |
 * | 6   | failed        | xlate error, no such bridge port, ukey refused (ENOSPC/conflict), put error other than EEXIST |
 * | 7   | flow_limit    | misses executed without installing a flow (datapath at the flow limit)  |
 * | 8   | shed          | always 0: handlers no longer shed misses (ACTION upcalls have their own rings); kept for the layout and upcall/show |
 * | 9   | packet_in     | packet-ins delivered (controller actions)                                 |
 * | 10  | exec_dropped  | packets that could not be executed (actions the datapath cannot run, no buffer) |
 * | 11  | lat_count     | latencies recorded (one per installed flow)                               |
 * | 12  | lat_sum_us    | their sum, µs                                                             |
 * | 13  | lat_max_us    | their maximum, µs                                                         |
 * | 14  | rounds        | handler lines: rounds that processed at least one upcall                 |
 * | 15  | sleeps        | handler lines: times the handler slept on its doorbell                    |
 * | 16..79 | histogram  | latency buckets: bucket b counts latencies in [2^(b/2), 2^((b+1)/2)) µs (b 0: < 1.41 µs) |
 *
 * Latency is measured from the upcall's enqueue time (the PMD's stamp in the upcall record: ms of
 * the datapath clock, dpif upcall-area.ts) to the moment its flow is installed (after the put),
 * so it includes the time the upcall waited in the queue. The PMD stamps its loop time, which
 * follows the datapath clock's 1 ms tick: a latency is an upper bound within one tick. An upcall
 * without a stamp counts from the moment the handler took it.
 */
import { MAX_ODP_PORTS } from '@tsvs/dpif';

export const S_RECEIVED = 0;
export const S_MISS = 1;
export const S_ACTION = 2;
export const S_HANDLED = 3;
export const S_INSTALLED = 4;
export const S_EXISTS = 5;
export const S_FAILED = 6;
export const S_FLOW_LIMIT = 7;
export const S_SHED = 8;
export const S_PACKET_IN = 9;
export const S_EXEC_DROPPED = 10;
export const S_LAT_COUNT = 11;
export const S_LAT_SUM = 12;
export const S_LAT_MAX = 13;
export const S_ROUNDS = 14;
export const S_SLEEPS = 15;
export const S_HIST = 16;
export const HIST_BUCKETS = 64;
export const LINE = S_HIST + HIST_BUCKETS;
/** Most handler threads. */
export const MAX_HANDLERS = 64;

/** Counter names in line order (histogram excluded). */
export const HANDLER_COUNTER_NAMES = [
  'received', 'miss', 'action', 'handled', 'installed', 'exists', 'failed', 'flow_limit', 'shed', 'packet_in',
  'exec_dropped',
] as const;
export type HandlerCounterName = (typeof HANDLER_COUNTER_NAMES)[number];

/** Latency summary (µs); percentiles are the upper bounds of histogram buckets (within a factor √2). */
export interface LatencySummary {
  count: number;
  avgUs: number;
  maxUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
}

export type CounterValues = Record<HandlerCounterName, number>;

/** Bucket of a latency in µs. */
export function latencyBucket(us: number): number {
  if (!(us >= 1.4142135623730951)) return 0;
  const b = Math.floor(2 * Math.log2(us));
  return b >= HIST_BUCKETS ? HIST_BUCKETS - 1 : b;
}

/** Upper bound (µs) of bucket b. */
export function bucketUpperUs(b: number): number {
  return Math.pow(2, (b + 1) / 2);
}

export class HandlerStats {
  readonly sab: SharedArrayBuffer;
  readonly f: Float64Array;

  private constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.f = new Float64Array(sab);
  }

  static create(): HandlerStats {
    return new HandlerStats(new SharedArrayBuffer((MAX_ODP_PORTS + MAX_HANDLERS) * LINE * 8));
  }

  static attach(sab: SharedArrayBuffer): HandlerStats {
    return new HandlerStats(sab);
  }

  /** First element of port `portNo`'s line. */
  portLine(portNo: number): number {
    return portNo * LINE;
  }

  /** First element of handler `id`'s line. */
  handlerLine(id: number): number {
    return (MAX_ODP_PORTS + id) * LINE;
  }

  /** Records one latency (µs) in a line. Allocates nothing. */
  latency(line: number, us: number): void {
    const f = this.f;
    f[line + S_LAT_COUNT]! += 1;
    f[line + S_LAT_SUM]! += us;
    if (us > f[line + S_LAT_MAX]!) f[line + S_LAT_MAX] = us;
    f[line + S_HIST + latencyBucket(us)]! += 1;
  }

  /** Zeroes a line (a port number reused, a handler id restarted). */
  clearLine(line: number): void {
    this.f.fill(0, line, line + LINE);
  }

  counters(line: number): CounterValues {
    const out = {} as CounterValues;
    HANDLER_COUNTER_NAMES.forEach((n, i) => { out[n] = this.f[line + i]!; });
    return out;
  }

  latencySummary(line: number): LatencySummary {
    const f = this.f;
    const count = f[line + S_LAT_COUNT]!;
    const pct = (q: number): number => {
      if (count === 0) return 0;
      const want = q * count;
      let acc = 0;
      for (let b = 0; b < HIST_BUCKETS; b++) {
        acc += f[line + S_HIST + b]!;
        if (acc >= want) return Math.min(bucketUpperUs(b), f[line + S_LAT_MAX]!);
      }
      return f[line + S_LAT_MAX]!;
    };
    return {
      count, avgUs: count ? f[line + S_LAT_SUM]! / count : 0, maxUs: f[line + S_LAT_MAX]!,
      p50Us: pct(0.5), p90Us: pct(0.9), p99Us: pct(0.99),
    };
  }
}
