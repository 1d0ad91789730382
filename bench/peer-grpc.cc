/* peer-grpc.cc — the gRPC C++ peer of `make bench`
 *
 * What people would write with Debian's libgrpc++-dev (1.51): a
 * synchronous service (grpc::ServerBuilder, the default thread pool) on
 * 127.0.0.1 with insecure credentials, and the generated synchronous stub.
 * gRPC sets TCP_NODELAY on its sockets itself.
 *
 *   peer-grpc server    serves Peer.Add (a + b)
 *   peer-grpc client …  prints, as peer-common.h describes:
 *     grpc.unary_us        µs per awaited Add(i, 1), one at a time
 *     grpc.callers_per_s   calls/s of --callers threads, each with its own
 *                          channel (its own HTTP/2 connection), Add(i, 1)
 */
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "peer.grpc.pb.h"
#include "peer-common.h"

namespace {

class PeerService final : public rthunk_bench::Peer::Service
{
  grpc::Status
  Add (grpc::ServerContext              *context,
       const rthunk_bench::AddRequest   *request,
       rthunk_bench::AddReply           *reply) override
  {
    reply->set_sum (request->a () + request->b ());
    return grpc::Status::OK;
  }
};

int
serve ()
{
  PeerService service;
  grpc::ServerBuilder builder;
  int port = 0;

  builder.AddListeningPort ("127.0.0.1:0", grpc::InsecureServerCredentials (), &port);
  builder.RegisterService (&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart ();
  if (!server || port == 0)
    {
      std::fprintf (stderr, "peer-grpc: cannot listen on 127.0.0.1\n");
      return 1;
    }
  peer::announce ("peer-grpc", port);
  server->Wait ();
  return 0;
}

/* A stub on a channel of its own: @index makes the channel arguments
 * differ, so gRPC does not share one connection between callers. */
std::unique_ptr<rthunk_bench::Peer::Stub>
open_stub (int port,
           int index)
{
  grpc::ChannelArguments args;

  args.SetInt ("rthunk_bench.caller", index);
  auto channel = grpc::CreateCustomChannel ("127.0.0.1:" + std::to_string (port),
                                            grpc::InsecureChannelCredentials (), args);
  if (!channel->WaitForConnected (std::chrono::system_clock::now () + std::chrono::seconds (30)))
    {
      std::fprintf (stderr, "peer-grpc: cannot connect to port %d\n", port);
      std::exit (1);
    }
  return rthunk_bench::Peer::NewStub (channel);
}

long long
add (rthunk_bench::Peer::Stub *stub,
     long long                 a,
     long long                 b)
{
  grpc::ClientContext context;
  rthunk_bench::AddRequest request;
  rthunk_bench::AddReply reply;

  request.set_a (a);
  request.set_b (b);
  grpc::Status status = stub->Add (&context, request, &reply);
  if (!status.ok ())
    {
      std::fprintf (stderr, "peer-grpc: Add failed: %s\n", status.error_message ().c_str ());
      std::exit (1);
    }
  return reply.sum ();
}

int
run_client (const peer::Options &o)
{
  auto stub = open_stub (o.port, -1);

  peer::bench_unary (o, "grpc.unary_us", [&] (long long i) { return add (stub.get (), i, 1); });
  peer::bench_callers (o, "grpc.callers_per_s", [&] (int t, std::atomic<int> &ready, std::atomic<int> &go) {
    auto own = open_stub (o.port, t);
    return peer::caller_calls (o, ready, go, [&] (long long i) { return add (own.get (), i, 1); });
  });
  peer::result ("grpc.callers", o.callers);
  return 0;
}

} /* namespace */

int
main (int    argc,
      char **argv)
{
  return peer::main ("peer-grpc", argc, argv, serve, run_client);
}
