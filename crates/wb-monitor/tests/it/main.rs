//! Integration tests of wb-monitor.

mod capture;
mod check;
mod drift;
mod monitor;
mod profile;
mod render;
mod reports;
mod sketch;
mod smoke;
