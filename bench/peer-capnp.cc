/* peer-capnp.cc — the Cap'n Proto peer of `make bench`
 *
 * What people would write with Debian's libcapnp-dev (0.9): a two-party
 * RPC server (capnp::TwoPartyServer on a KJ event loop, the one thread
 * Cap'n Proto serves on) listening on 127.0.0.1, and a capnp::TwoPartyClient
 * on a KJ event loop per client thread. TCP_NODELAY is set on every
 * connection, both ends.
 *
 *   peer-capnp server    serves Adder (bench/peer.capnp)
 *   peer-capnp client …  prints, as peer-common.h describes:
 *     capnp.unary_us        µs per awaited Adder.add(i, 1), one at a time
 *     capnp.callers_per_s   calls/s of --callers threads, each with its own
 *                           connection and event loop, Adder.add(i, 1)
 *     capnp.chain_ms        a pipelined chain: value(0), then --links calls
 *                           Value.add(1), each made on the result
 *                           capability of the one before (a promise: no
 *                           call waits), then get() on the last, awaited;
 *                           timed end to end, median of --reps chains
 *     capnp.chain_link_us   capnp.chain_ms / --links, in µs
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include "peer.capnp.h"
#include "peer-common.h"

namespace {

void
set_nodelay (kj::AsyncIoStream &stream)
{
  int one = 1;

  stream.setsockopt (IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

class ValueImpl final : public Value::Server
{
public:
  explicit ValueImpl (int64_t v) : v (v) {}

protected:
  kj::Promise<void>
  add (AddContext context) override
  {
    context.getResults ().setValue (kj::heap<ValueImpl> (v + context.getParams ().getDelta ()));
    return kj::READY_NOW;
  }

  kj::Promise<void>
  get (GetContext context) override
  {
    context.getResults ().setV (v);
    return kj::READY_NOW;
  }

private:
  int64_t v;
};

class AdderImpl final : public Adder::Server
{
protected:
  kj::Promise<void>
  add (AddContext context) override
  {
    auto params = context.getParams ();

    context.getResults ().setSum (params.getA () + params.getB ());
    return kj::READY_NOW;
  }

  kj::Promise<void>
  value (ValueContext context) override
  {
    context.getResults ().setValue (kj::heap<ValueImpl> (context.getParams ().getV ()));
    return kj::READY_NOW;
  }
};

kj::Promise<void>
accept_loop (kj::ConnectionReceiver &listener,
             capnp::TwoPartyServer  &server)
{
  return listener.accept ().then ([&] (kj::Own<kj::AsyncIoStream> &&connection) {
    set_nodelay (*connection);
    server.accept (kj::mv (connection));
    return accept_loop (listener, server);
  });
}

int
serve ()
{
  auto io = kj::setupAsyncIo ();
  capnp::TwoPartyServer server (kj::heap<AdderImpl> ());
  auto address = io.provider->getNetwork ().parseAddress ("127.0.0.1", 0).wait (io.waitScope);
  auto listener = address->listen ();

  peer::announce ("peer-capnp", listener->getPort ());
  accept_loop (*listener, server).wait (io.waitScope);
  return 0;
}

/* A connection of its own, on the calling thread's event loop. */
struct Connection
{
  kj::AsyncIoContext io;
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> client;
  Adder::Client adder;

  explicit Connection (int port)
    : io (kj::setupAsyncIo ()),
      stream (io.provider->getNetwork ().parseAddress ("127.0.0.1", port).wait (io.waitScope)
                ->connect ().wait (io.waitScope)),
      client ((set_nodelay (*stream), kj::heap<capnp::TwoPartyClient> (*stream))),
      adder (client->bootstrap ().castAs<Adder> ())
  {
  }

  long long
  add (long long a,
       long long b)
  {
    auto request = adder.addRequest ();

    request.setA (a);
    request.setB (b);
    return request.send ().wait (io.waitScope).getSum ();
  }
};

/* One pipelined chain of @links: returns its time in seconds. */
double
chain (Connection &c,
       int         links)
{
  double start = peer::now_s ();
  kj::Vector<capnp::RemotePromise<Value::AddResults>> replies (links);
  auto first = c.adder.valueRequest ();

  first.setV (0);
  auto head = first.send ();
  Value::Client x = head.getValue ();
  for (int k = 0; k < links; k++)
    {
      auto request = x.addRequest ();

      request.setDelta (1);
      replies.add (request.send ());
      x = replies.back ().getValue ();
    }
  int64_t got = x.getRequest ().send ().wait (c.io.waitScope).getV ();
  double end = peer::now_s ();
  if (got != links)
    {
      std::fprintf (stderr, "peer-capnp: the chain gave %lld, not %d\n", (long long) got, links);
      std::exit (1);
    }
  return end - start;
}

void
bench_chain (const peer::Options &o,
             Connection          &c)
{
  std::vector<double> reps;

  chain (c, std::min (o.links, 100));       /* warm-up */
  for (int rep = 0; rep < o.reps; rep++)
    {
      reps.push_back (chain (c, o.links) * 1e3);
      std::fprintf (stderr, "capnp.chain rep %d: %.2f ms (%d links)\n", rep + 1, reps.back (), o.links);
    }
  double ms = peer::median (reps);
  peer::result ("capnp.chain_links", o.links);
  peer::result ("capnp.chain_ms", ms);
  peer::result ("capnp.chain_link_us", ms * 1e3 / o.links);
}

int
run_client (const peer::Options &o)
{
  Connection c (o.port);

  peer::bench_unary (o, "capnp.unary_us", [&] (long long i) { return c.add (i, 1); });
  peer::bench_callers (o, "capnp.callers_per_s", [&] (int t, std::atomic<int> &ready, std::atomic<int> &go) {
    Connection own (o.port);
    return peer::caller_calls (o, ready, go, [&] (long long i) { return own.add (i, 1); });
  });
  peer::result ("capnp.callers", o.callers);
  bench_chain (o, c);
  return 0;
}

} /* namespace */

int
main (int    argc,
      char **argv)
{
  return peer::main ("peer-capnp", argc, argv, serve, run_client);
}
