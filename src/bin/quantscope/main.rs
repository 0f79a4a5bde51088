//! The native `quantscope` command line.
fn main() {}
