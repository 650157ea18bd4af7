//! `shenhe serve --tls-cert --tls-key` with a certificate from a private CA
//! (made here with the `openssl` command), and the console's API client:
//! with the CA file it talks; without it, it refuses with a clear error.

use crate::support;

use std::path::Path;
use std::process::Command;

use shenhe::api::client::{Client, Timeouts};
use support::child_server::ChildServer;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl command (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a server certificate for 127.0.0.1 / localhost signed by it.
fn make_pki(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=shenhe test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext.cnf");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "ext.cnf",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_with_the_ca_file_talks_https_and_without_it_refuses() {
    support::install_crypto();
    let dir = tempfile::tempdir().expect("tempdir");
    make_pki(dir.path());
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
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
    assert!(
        server.base_url.starts_with("https://"),
        "{}",
        server.base_url
    );

    // With the CA: the whole client works (health, login, an authed read).
    let ca = dir.path().join("ca.pem");
    let client = Client::with_ca_file(&server.base_url, None, Timeouts::default(), Some(&ca))
        .expect("client with CA");
    client.health().await.expect("health over https");
    let session = client.login("nanjing", "demo").await.expect("login");
    assert_eq!(session.reviewer.username, "nanjing");
    client.me().await.expect("me over https");

    // HSTS is sent under TLS, with the other security headers.
    let raw = reqwest::Client::builder()
        .tls_certs_merge(
            reqwest::Certificate::from_pem_bundle(&std::fs::read(&ca).expect("read ca"))
                .expect("pem"),
        )
        .build()
        .expect("raw client");
    let r = raw
        .get(format!("{}/api/v1/health", server.base_url))
        .send()
        .await
        .expect("https health");
    assert_eq!(r.status(), 200);
    let h = r.headers();
    assert!(
        h.get("strict-transport-security")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("max-age=")),
        "{h:?}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");

    // Without the CA: refused, and the error says why.
    let stranger = Client::new(&server.base_url, None, Timeouts::default()).expect("client");
    let err = stranger.health().await.expect_err("untrusted certificate");
    assert!(err.is_transport(), "{err:?}");
    eprintln!("without the CA: {err}");
    let msg = err.to_string().to_lowercase();
    assert!(
        msg.contains("certificate") || msg.contains("unknownissuer"),
        "the error should name the certificate problem: {msg}"
    );

    // Plain http to the https port gets nothing usable either.
    let plain = Client::new(
        &server.base_url.replace("https://", "http://"),
        None,
        Timeouts::default(),
    )
    .expect("client");
    assert!(plain.health().await.is_err());

    server.sigterm();
    assert!(server.wait().await.success(), "{}", server.log_text());
}
