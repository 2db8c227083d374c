//! End-to-end tests live in tests/; this library holds the checks that read the
//! workspace's source.

pub mod module_order;
