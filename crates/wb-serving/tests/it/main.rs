//! Integration tests of wb-serving.

mod backend;
mod lifecycle;
mod limits;
mod server;
