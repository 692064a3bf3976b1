//! Integration tests of wb-monitor.

mod check;
mod drift;
mod profile;
mod sketch;
mod capture;
//! The integration tests of `wb-monitor`, one binary.

mod render;
mod reports;
mod smoke;
mod monitor;
