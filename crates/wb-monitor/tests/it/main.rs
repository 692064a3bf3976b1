//! Integration tests of wb-monitor.

mod smoke;
