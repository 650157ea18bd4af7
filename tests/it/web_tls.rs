//! Under TLS the candidates' cookies carry `Secure` (and HSTS is sent), so
//! a session never travels over plain http.

use std::process::Command;

use crate::support::child_server::ChildServer;

#[tokio::test]
async fn cookies_are_secure_under_tls() {
    crate::support::install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command (apt-get install openssl)")
        .status
        .success();
    assert!(ok, "openssl made no certificate");
    let mut server = ChildServer::start(
        &dir.path().join("tls.db"),
        &dir.path().join("server.log"),
        &[
            "--demo",
            "--candidates",
            "0",
            "--tls-cert",
            cert.to_str().expect("utf-8 path"),
            "--tls-key",
            key.to_str().expect("utf-8 path"),
        ],
    )
    .await;
    // Only the cookie's flags are under test here (tests/tls.rs checks the
    // certificate path), so the self-signed certificate is accepted as is.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client");
    let r = client
        .get(format!("{}/", server.base_url))
        .send()
        .await
        .expect("GET / over https");
    assert_eq!(r.status(), 200);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        cookie.contains("; Secure")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(r.headers().contains_key("strict-transport-security"));
    server.sigterm();
    assert!(server.wait().await.success(), "clean stop");
}
