//! Bench stub.
fn main() {}
