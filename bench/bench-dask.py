#!/usr/bin/python3
"""bench-dask.py — the Dask peer of rthunk's throughput benchmark.

Starts a dask.distributed LocalCluster on loopback with one worker process
(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None),
connects a Client to it, and then, REPS times:

  timed:  N calls of client.submit(add, i, 1) for i = 0 … N-1 (one task
          each: distinct arguments, so distinct keys), then
          client.gather() of all N futures, until every result is back;
          the sum of the results is checked.

  timed:  the same N tasks through Dask's batched API: client.map(add,
          range(N), [1] * N, pure=False), then client.gather().

Reports the median tasks/s of each over the repetitions (N / seconds), then closes
the client and the cluster. Starting the cluster is not timed. Output:
progress on stderr, and on stdout lines `result KEY VALUE` (bench/run.sh
reads them).

Usage: bench-dask.py [--tasks N] [--reps R]   (defaults 10000 and 3)
Needs Debian's python3-distributed; run it with /usr/bin/python3.
"""

import argparse
import logging
import statistics
import sys
import time
import warnings


def add(a, b):
    return a + b


def timed(client, submit, expected):
    """Tasks/s of submit() and the gather of its futures; None if the
    results do not sum to expected."""
    start = time.perf_counter()
    futures = submit()
    results = client.gather(futures)
    seconds = time.perf_counter() - start
    return len(futures) / seconds if sum(results) == expected else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    try:
        import dask
        import distributed
        from distributed import Client, LocalCluster
    except ImportError as e:
        print(f"bench-dask: dask.distributed is missing ({e}): install the Debian "
              "package python3-distributed", file=sys.stderr)
        return 2

    warnings.filterwarnings("ignore")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    n = args.tasks
    expected = sum(i + 1 for i in range(n))
    rates = []
    map_rates = []
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1",
                           silence_logs=logging.ERROR)
    try:
        with Client(cluster) as client:
            # warm-up: the worker imports, the first task's round trips
            client.gather([client.submit(add, -i, 1) for i in range(1, 201)])
            for rep in range(args.reps):
                # one task a submit, then the same tasks through Dask's
                # batched client.map (one message for all of them)
                for what, submit, out in (
                        ("tasks", lambda: [client.submit(add, i, 1) for i in range(n)], rates),
                        ("tasks by client.map",
                         lambda: client.map(add, range(n), [1] * n, pure=False), map_rates)):
                    rate = timed(client, submit, expected)
                    if rate is None:
                        print(f"bench-dask: wrong results ({what})", file=sys.stderr)
                        return 1
                    out.append(rate)
                    print(f"bench-dask: rep {rep + 1}: {n} {what} in {n / rate:.3f} s "
                          f"= {rate:.0f} tasks/s", file=sys.stderr)
    finally:
        cluster.close()
    print(f"result dask.version {distributed.__version__}")
    print(f"result dask.tasks {n}")
    print(f"result dask.per_s {statistics.median(rates):.6g}")
    print(f"result dask.map_per_s {statistics.median(map_rates):.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
