//! The integration tests of `wb-monitor`, one binary.

mod render;
mod reports;
mod smoke;
