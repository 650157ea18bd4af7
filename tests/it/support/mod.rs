//! Test support shared by the integration tests.
pub mod child_server;
pub mod console;
pub mod fault_proxy;
pub mod images;
pub mod screen;
