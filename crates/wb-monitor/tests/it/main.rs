//! Integration tests of wb-monitor.

mod check;
mod drift;
mod profile;
mod sketch;
mod capture;
mod render;
mod reports;
mod smoke;
mod monitor;
