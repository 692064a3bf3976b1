//! Integration tests of wb-models.

mod lifecycle;
