//! Integration tests of wb-monitor.

mod capture;
mod smoke;
