//! End-to-end tests of the `wb` binary.

mod local;
