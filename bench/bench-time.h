/* bench-time.h — the clock and the median of the C benchmarks
 *
 * Shared by bench-rpc.c and peer-tcp.c, so that rthunk's figures and the
 * floor's are timed and summarised the same way. Plain C, header only.
 */
#ifndef BENCH_TIME_H
#define BENCH_TIME_H

#include <stdlib.h>
#include <time.h>

/* Seconds on the monotonic clock. */
static inline double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int
bench_cmp_double (const void *a,
                  const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The median of @n > 0 values (sorts them). */
static inline double
median (double   *v,
        unsigned  n)
{
  qsort (v, n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* BENCH_TIME_H */
