//! Integration tests of wb-models.
mod placeholder {}
