//! Test support shared by integration tests.
pub mod fault_proxy;
