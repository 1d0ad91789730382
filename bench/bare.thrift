/*
 * bare.thrift — the bare Thrift peer of the RPC benchmarks (bench/bench-rpc.c).
 *
 * One trivial method, served by bench/bare-server.c with the transport and
 * protocol rthunk uses (framed transport, binary protocol) and called by
 * the bare half of bench/bench-rpc.c. `make bench` generates the c_glib code
 * into the build tree (bench/gen-c_glib); nothing here is part of rthunk.
 */

namespace c_glib Bench

service Bare {
  i64 add(1: i64 a, 2: i64 b)
}
