/* peer-tcp.c — the floor of `make bench`: a raw TCP ping-pong
 *
 * No RPC system at all: what one loopback round trip between two
 * processes costs, the least any awaited remote call can cost.
 *
 *   peer-tcp server    listens on 127.0.0.1 (a free port), prints
 *                      "peer-tcp listening on 127.0.0.1:PORT"; a thread
 *                      per connection reads an 8-byte integer i and
 *                      writes back i + 1 (8 bytes), until the client
 *                      closes; serves until killed
 *   peer-tcp client --port P [--reps R] [--calls N]
 *                      one connection, TCP_NODELAY on both ends; N
 *                      sequential ping-pongs (write i, read i + 1), each
 *                      timed alone; per repetition the median of the N
 *                      times, then the median over R repetitions:
 *                      "result tcp.pingpong_us VALUE"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench-time.h"

#define WARM_UP 500

static void
die (const char *what)
{
  fprintf (stderr, "peer-tcp: %s: %s\n", what, strerror (errno));
  exit (1);
}

static void
set_nodelay (int fd)
{
  int one = 1;

  if (setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
    die ("TCP_NODELAY");
}

/* Reads or writes all 8 bytes of *@v; FALSE at the end of the stream. */
static int
exchange (int       fd,
          int64_t  *v,
          int       writing)
{
  char *p = (char *) v;
  size_t done = 0;

  while (done < sizeof *v)
    {
      ssize_t n = writing ? write (fd, p + done, sizeof *v - done)
                          : read (fd, p + done, sizeof *v - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return 0;
      done += (size_t) n;
    }
  return 1;
}

static void *
serve_connection (void *data)
{
  int fd = (int) (intptr_t) data;
  int64_t v;

  set_nodelay (fd);
  while (exchange (fd, &v, 0))
    {
      v++;
      if (!exchange (fd, &v, 1))
        break;
    }
  close (fd);
  return NULL;
}

static _Noreturn void
serve (void)
{
  struct sockaddr_in addr = { 0 };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 64) < 0 ||
      getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    die ("cannot listen on 127.0.0.1");
  printf ("peer-tcp listening on 127.0.0.1:%d\n", ntohs (addr.sin_port));
  fflush (stdout);
  for (;;)
    {
      int client = accept (fd, NULL, NULL);
      pthread_t thread;

      if (client < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          die ("accept");
        }
      if (pthread_create (&thread, NULL, serve_connection, (void *) (intptr_t) client) != 0)
        die ("pthread_create");
      pthread_detach (thread);
    }
}

static int64_t
ping (int     fd,
      int64_t i)
{
  int64_t v = i;

  if (!exchange (fd, &v, 1) || !exchange (fd, &v, 0))
    die ("the server went away");
  if (v != i + 1)
    {
      fprintf (stderr, "peer-tcp: %lld came back as %lld\n", (long long) i, (long long) v);
      exit (1);
    }
  return v;
}

static int
run_client (int port,
            int reps,
            int calls)
{
  struct sockaddr_in addr = { 0 };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  double *times = calloc ((size_t) calls, sizeof *times);
  double *medians = calloc ((size_t) reps, sizeof *medians);

  addr.sin_family = AF_INET;
  addr.sin_port = htons ((uint16_t) port);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    die ("cannot connect");
  set_nodelay (fd);
  for (int i = 0; i < WARM_UP; i++)
    ping (fd, i);
  for (int rep = 0; rep < reps; rep++)
    {
      for (int i = 0; i < calls; i++)
        {
          double t0 = now_s ();

          ping (fd, i);
          times[i] = now_s () - t0;
        }
      medians[rep] = median (times, (unsigned) calls) * 1e6;
      fprintf (stderr, "tcp.pingpong_us rep %d: %.1f µs per round trip (median of %d)\n",
               rep + 1, medians[rep], calls);
    }
  printf ("result tcp.pingpong_us %.6g\n", median (medians, (unsigned) reps));
  close (fd);
  free (times);
  free (medians);
  return 0;
}

static int
usage (void)
{
  fprintf (stderr, "usage: peer-tcp server\n"
           "       peer-tcp client --port P [--reps R] [--calls N]\n");
  return 2;
}

int
main (int    argc,
      char **argv)
{
  int port = 0, reps = 5, calls = 10000;

  if (argc >= 2 && strcmp (argv[1], "server") == 0)
    serve ();
  if (argc < 2 || strcmp (argv[1], "client") != 0)
    return usage ();
  for (int k = 2; k + 1 < argc; k += 2)
    {
      int *value = strcmp (argv[k], "--port") == 0 ? &port
                 : strcmp (argv[k], "--reps") == 0 ? &reps
                 : strcmp (argv[k], "--calls") == 0 ? &calls : NULL;

      if (value == NULL || (*value = atoi (argv[k + 1])) < 1)
        return usage ();
    }
  if (argc % 2 != 0 || port < 1 || port > 65535)
    return usage ();
  return run_client (port, reps, calls);
}
