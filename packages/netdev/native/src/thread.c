/*
 * Giving the CPU away for microseconds: how a PMD coalesces rx bursts (pmd-rx-usecs). poll(2)
 * sleeps in whole milliseconds and wakes as soon as one frame is queued; a nap lets the hosts on
 * the other end of the sockets run and lets frames accumulate into fuller bursts.
 *
 *   timerSlack(ns) -> 0 | -errno   prctl(PR_SET_TIMERSLACK) for the calling thread: how late the
 *                                  kernel may fire its timers (the default 50 µs would stretch
 *                                  every nap); ns < 1 is taken as 1 (0 would restore the default)
 *   nap(us)                        clock_nanosleep(CLOCK_MONOTONIC) for `us` µs (0..1000000; a
 *                                  RangeError otherwise); a signal ends it early
 *   threadSched(nice, sliceNs)     sched_setattr(2) of the calling thread: SCHED_OTHER at `nice`
 *     -> 0 | -errno                with an EEVDF slice of `sliceNs` (0 = the kernel's default;
 *                                  it clamps others to 0.1..100 ms), one system call. A thread with
 *                                  a shorter slice than the running one preempts it when it wakes
 *                                  (Linux >= 6.12, PREEMPT_SHORT); older kernels ignore the slice.
 *                                  Where sched_setattr is missing (ENOSYS) it falls back to
 *                                  setpriority. -EACCES/-EPERM below the current nice without
 *                                  CAP_SYS_NICE; RangeError for nice outside -20..19 or sliceNs
 *                                  outside 0..100000000
 *   cpuAffinity(first, stride)     sched_setaffinity(2) of the calling thread: the CPUs c of the
 *     -> 0 | -errno                thread's first affinity (saved at the first call) with
 *                                  c % stride == first if stride > 0, c % -stride != first if
 *                                  stride < 0; stride 0, first < 0, or no such CPU restores the
 *                                  saved affinity. Why: a PMD sleeps on the CPU its last lone
 *                                  packet came from, and under load stays off its senders' CPU
 *                                  (sender-cpu.ts in packages/dpif)
 *   threadName(name) -> 0 | -errno prctl(PR_SET_NAME) for the calling thread: what top -H, ps -L,
 *                                  perf and /proc/PID/task/TID/comm show; cut to 15 bytes (the
 *                                  kernel's TASK_COMM_LEN is 16 with the NUL); RangeError over
 *                                  62 bytes
 */
#include "util.h"

#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static napi_value TimerSlack(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t ns;
  if (tsvs_arg_i32(env, argv[0], "ns", &ns)) return NULL;
  if (ns < 1) ns = 1;
  if (prctl(PR_SET_TIMERSLACK, (unsigned long)ns, 0, 0, 0) < 0) return tsvs_int(env, -errno);
  return tsvs_int(env, 0);
}

static napi_value Nap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t us;
  if (tsvs_arg_i32(env, argv[0], "us", &us)) return NULL;
  if (us < 0 || us > 1000000) {
    napi_throw_range_error(env, NULL, "nap: us must be 0..1000000");
    return NULL;
  }
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
  return tsvs_undefined(env);
}

/* include/uapi/linux/sched/types.h, SCHED_ATTR_SIZE_VER0: glibc has no wrapper or type. */
struct tsvs_sched_attr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
};

static napi_value ThreadSched(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t nice, ns;
  if (tsvs_arg_i32(env, argv[0], "nice", &nice) || tsvs_arg_i32(env, argv[1], "sliceNs", &ns)) return NULL;
  if (nice < -20 || nice > 19 || ns < 0 || ns > 100000000) {
    napi_throw_range_error(env, NULL, "threadSched: nice must be -20..19 and sliceNs 0..100000000");
    return NULL;
  }
  /* pid 0 is the calling thread for both calls (Linux: nice and sched attributes are per thread). */
  struct tsvs_sched_attr a = {.size = sizeof a, .sched_policy = SCHED_OTHER, .sched_nice = nice, .sched_runtime = (uint64_t)ns};
  if (syscall(SYS_sched_setattr, 0, &a, 0) == 0) return tsvs_int(env, 0);
  if (errno != ENOSYS) return tsvs_int(env, -errno);
  if (setpriority(PRIO_PROCESS, 0, nice) < 0) return tsvs_int(env, -errno);
  return tsvs_int(env, 0);
}

/* Per thread: the affinity the thread had before its first cpuAffinity call. */
static __thread cpu_set_t saved_affinity;
static __thread int have_saved_affinity;

static napi_value CpuAffinity(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t first, stride;
  if (tsvs_arg_i32(env, argv[0], "first", &first) || tsvs_arg_i32(env, argv[1], "stride", &stride)) return NULL;
  if (!have_saved_affinity) {
    if (sched_getaffinity(0, sizeof saved_affinity, &saved_affinity) < 0) return tsvs_int(env, -errno);
    have_saved_affinity = 1;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  int n = 0;
  if (stride > 0 && first >= 0)
    for (int c = first; c < CPU_SETSIZE; c += stride)
      if (CPU_ISSET(c, &saved_affinity)) {
        CPU_SET(c, &set);
        n++;
      }
  if (stride < 0 && first >= 0)
    for (int c = 0; c < CPU_SETSIZE; c++)
      if (c % -stride != first && CPU_ISSET(c, &saved_affinity)) {
        CPU_SET(c, &set);
        n++;
      }
  if (sched_setaffinity(0, sizeof set, n > 0 ? &set : &saved_affinity) < 0) return tsvs_int(env, -errno);
  return tsvs_int(env, 0);
}

static napi_value ThreadName(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  NAPI_OK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[64];
  if (tsvs_arg_str(env, argv[0], "name", name, sizeof name)) return NULL;
  name[15] = '\0'; // TASK_COMM_LEN; the kernel would cut it there too
  if (prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0) < 0) return tsvs_int(env, -errno);
  return tsvs_int(env, 0);
}

napi_status tsvs_init_thread(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {TSVS_FN("timerSlack", TimerSlack), TSVS_FN("nap", Nap), TSVS_FN("threadSched", ThreadSched),
                                        TSVS_FN("cpuAffinity", CpuAffinity),
                                        TSVS_FN("threadName", ThreadName)};
  return napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
