//! Integration tests of wb-compare.

mod browser;
mod compare;
mod images;
mod support;
mod web;
