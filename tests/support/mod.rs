//! Test support shared by integration tests.
pub mod child_server;
pub mod console;
pub mod fault_proxy;
pub mod screen;
pub mod web;
pub mod webdriver;
