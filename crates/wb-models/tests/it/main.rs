//! Integration tests of wb-models.

mod images;
mod lifecycle;
