//! The committed `openapi.json` is the one the code generates; the server
//! serves the same. `UPDATE_OPENAPI=1 cargo test --test it api_openapi`
//! rewrites the committed copy.

use crate::common;

use common::TestServer;

#[tokio::test]
async fn committed_openapi_is_current_and_served() {
    let generated = shenhe::server::openapi::spec_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test it api_openapi` and commit it"
    );

    let ts = TestServer::start_empty().await;
    let served = ts
        .client
        .get(ts.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("text");
    assert_eq!(served, generated);
    let v: serde_json::Value = serde_json::from_str(&served).expect("json");
    for p in [
        "/api/v1/health",
        "/api/v1/session",
        "/api/v1/candidates",
        "/api/v1/candidates/{id}",
        "/api/v1/images/{id}/content",
        "/api/v1/images/{id}/lock",
        "/api/v1/images/{id}/unlock",
        "/api/v1/candidates/{id}/decision",
        "/api/v1/candidates/{id}/claim",
        "/api/v1/candidates/{id}/feedback",
        "/api/v1/candidates/{id}/audit",
        "/api/v1/audit/{event}/undo",
        "/api/v1/events",
        "/api/v1/reason-codes",
        "/api/v1/material-categories",
        "/api/v1/candidate/session",
        "/api/v1/candidate/me",
        "/api/v1/candidate/materials/{category}/images",
        "/api/v1/candidate/images/{id}",
        "/api/v1/candidate/submit",
    ] {
        assert!(v["paths"][p].is_object(), "{p} missing from the spec");
    }
    assert!(v["components"]["securitySchemes"]["bearer"].is_object());
    ts.shutdown().await;
}
