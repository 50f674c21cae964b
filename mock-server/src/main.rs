//! The `chatwire-mock` binary.
fn main() {}
