//! Integration tests of wb-models.

mod backend;
mod lifecycle;
mod server;
