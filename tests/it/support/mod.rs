//! Test support shared by the integration tests.
pub mod child_server;
pub mod console;
pub mod fault_proxy;
pub mod images;
pub mod screen;
pub mod serial;
pub mod web;
pub mod webdriver;

/// rustls's process-wide crypto provider (ring), installed once for the
/// whole test binary: every test that makes a TLS-capable client or server
/// calls this first.
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only if something else installed one first, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
