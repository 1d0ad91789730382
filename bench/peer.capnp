# peer.capnp — the Cap'n Proto peer of `make bench` (bench/peer-capnp.cc)
@0xd0680246c0b91c04;

interface Adder {
  add @0 (a :Int64, b :Int64) -> (sum :Int64);
  # a + b: the unary call

  value @1 (v :Int64) -> (value :Value);
  # a capability holding v: the first link of a chain
}

interface Value {
  add @0 (delta :Int64) -> (value :Value);
  # a new capability holding this one's value + delta: a chain's link,
  # called on the promise of the link before it (promise pipelining)

  get @1 () -> (v :Int64);
}
