//! Integration tests of wb-compare.

mod browser;
mod compare;
mod support;
mod web;
