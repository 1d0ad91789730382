/* peer-common.h — what the C++ RPC peers of `make bench` share
 *
 * Each peer (peer-grpc.cc, peer-capnp.cc) is one program run twice by
 * bench/run.sh, as two processes on loopback:
 *
 *   PROG server                 listens on 127.0.0.1 (a free port), prints
 *                               "PROG listening on 127.0.0.1:PORT", serves
 *                               until killed;
 *   PROG client --port P [--reps R] [--calls N] [--callers T]
 *               [--per-caller C] [--links L]
 *                               runs the benchmarks against it and prints
 *                               "result KEY VALUE" lines, as bench-rpc does.
 *
 * What is timed is the same for every peer, and the same as bench-rpc's
 * latency and concurrency benchmarks:
 *   unary    N sequential add(i, 1) on one connection, each awaited and
 *            timed alone; per repetition the median of the N times, then
 *            the median over R repetitions (µs per call);
 *   callers  T threads, each with its own connection, C add(i, 1) each,
 *            all started together; calls/s = T × C / (the last thread's
 *            end − the start), median over R repetitions.
 */
#ifndef PEER_COMMON_H
#define PEER_COMMON_H

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace peer {

struct Options
{
  int port = 0;
  int reps = 5;
  int calls = 10000;            /* unary: calls per repetition */
  int callers = 8;              /* concurrent callers */
  int per_caller = 2000;        /* calls per caller per repetition */
  int links = 1000;             /* chain links (Cap'n Proto) */
};

inline double
now_s ()
{
  using namespace std::chrono;
  return duration<double> (steady_clock::now ().time_since_epoch ()).count ();
}

/* The median of @v (sorts it). */
inline double
median (std::vector<double> &v)
{
  std::sort (v.begin (), v.end ());
  size_t n = v.size ();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

inline void
result (const char *key,
        double      value)
{
  std::printf ("result %s %.6g\n", key, value);
  std::fflush (stdout);
}

inline void
announce (const char *name,
          int         port)
{
  std::printf ("%s listening on 127.0.0.1:%d\n", name, port);
  std::fflush (stdout);
}

[[noreturn]] inline void
usage (const char *name)
{
  std::fprintf (stderr, "usage: %s server\n"
                "       %s client --port P [--reps R] [--calls N] [--callers T] "
                "[--per-caller C] [--links L]\n", name, name);
  std::exit (2);
}

/* Parses `client`'s options (argv[2] on); exits with the usage on error. */
inline Options
parse_client (const char *name,
              int         argc,
              char      **argv)
{
  Options o;
  struct { const char *flag; int *value; } flags[] = {
    { "--port", &o.port }, { "--reps", &o.reps }, { "--calls", &o.calls },
    { "--callers", &o.callers }, { "--per-caller", &o.per_caller }, { "--links", &o.links },
  };

  for (int k = 2; k < argc; k += 2)
    {
      int *value = nullptr;

      for (auto &f : flags)
        if (std::strcmp (argv[k], f.flag) == 0)
          value = f.value;
      if (value == nullptr || k + 1 >= argc || (*value = std::atoi (argv[k + 1])) < 1)
        usage (name);
    }
  if (o.port < 1 || o.port > 65535)
    usage (name);
  return o;
}

/* One repetition of the unary benchmark: @call (i) must return i + 1. */
inline double
unary_rep (const Options                        &o,
           const std::function<long long (long long)> &call)
{
  std::vector<double> times (o.calls);

  for (int i = 0; i < o.calls; i++)
    {
      double t0 = now_s ();

      if (call (i) != i + 1LL)
        {
          std::fprintf (stderr, "add(%d, 1) gave a wrong sum\n", i);
          std::exit (1);
        }
      times[i] = now_s () - t0;
    }
  return median (times) * 1e6;
}

/* The unary benchmark: a warm-up, then o.reps repetitions; prints KEY. */
inline void
bench_unary (const Options                        &o,
             const char                           *key,
             const std::function<long long (long long)> &call)
{
  std::vector<double> reps;

  for (int i = 0; i < std::min (o.calls, 500); i++)
    call (i);
  for (int rep = 0; rep < o.reps; rep++)
    {
      reps.push_back (unary_rep (o, call));
      std::fprintf (stderr, "%s rep %d: %.1f µs per call (median of %d)\n", key, rep + 1, reps.back (), o.calls);
    }
  result (key, median (reps));
}

/* One round of the callers benchmark: @caller (t, go) runs caller t's
 * calls once *go is set (its connection already open) and returns its end
 * time; @ready counts the callers that are waiting. */
using Caller = std::function<double (int, std::atomic<int> &, std::atomic<int> &)>;

inline double
callers_round (const Options &o,
               const Caller  &caller)
{
  std::atomic<int> ready (0), go (0);
  std::vector<double> ends (o.callers);
  std::vector<std::thread> threads;
  double start;

  for (int t = 0; t < o.callers; t++)
    threads.emplace_back ([&, t] { ends[t] = caller (t, ready, go); });
  while (ready.load () < o.callers)
    std::this_thread::sleep_for (std::chrono::milliseconds (1));
  start = now_s ();
  go.store (1);
  for (auto &th : threads)
    th.join ();
  return o.callers * (double) o.per_caller / (*std::max_element (ends.begin (), ends.end ()) - start);
}

inline void
bench_callers (const Options &o,
               const char    *key,
               const Caller  &caller)
{
  std::vector<double> reps;

  for (int rep = 0; rep < o.reps; rep++)
    {
      reps.push_back (callers_round (o, caller));
      std::fprintf (stderr, "%s rep %d: %.0f calls/s (%d callers × %d)\n", key, rep + 1,
                    reps.back (), o.callers, o.per_caller);
    }
  result (key, median (reps));
}

/* What a caller does once its connection is open: waits for go, makes
 * o.per_caller calls of @call (i) (each checked), returns its end time. */
inline double
caller_calls (const Options                        &o,
              std::atomic<int>                     &ready,
              std::atomic<int>                     &go,
              const std::function<long long (long long)> &call)
{
  ready.fetch_add (1);
  while (!go.load ())
    std::this_thread::sleep_for (std::chrono::microseconds (100));
  for (int i = 0; i < o.per_caller; i++)
    if (call (i) != i + 1LL)
      {
        std::fprintf (stderr, "a caller's add(%d, 1) gave a wrong sum\n", i);
        std::exit (1);
      }
  return now_s ();
}

/* main() of a peer: `NAME server' runs @serve, `NAME client …' @client. */
inline int
main (const char                                  *name,
      int                                          argc,
      char                                       **argv,
      const std::function<int ()>                 &serve,
      const std::function<int (const Options &)>  &client)
{
  if (argc >= 2 && std::strcmp (argv[1], "server") == 0)
    return serve ();
  if (argc >= 2 && std::strcmp (argv[1], "client") == 0)
    return client (parse_client (name, argc, argv));
  usage (name);
}

} /* namespace peer */

#endif /* PEER_COMMON_H */
