//! Temporary: runs tests/it/server.rs alone while the `it` binary is being assembled.
#[path = "it/server.rs"]
mod server;
