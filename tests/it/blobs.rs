//! Image bytes outside the database: in a folder beside it by default, in
//! S3-compatible object storage when configured (here moto_server, a real
//! S3 implementation on loopback, run as its own process), and moved out
//! of databases written by versions that kept them inside.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStoreExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use serde_json::Value;
use sha2::Digest;

use crate::common::{self, TestServer};
use crate::support::child_server::ChildServer;
use shenhe::server::blobs::Blobs;

const BUCKET: &str = "shenhe-it";

/// moto_server on a free loopback port, ended when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("moto_server ({e}): this test needs `pip install 'moto[server]'`")
            });
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "shenhe".into()),
            ("AWS_SECRET_ACCESS_KEY", "shenhe-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// A client of our own, to look into the bucket.
    fn client(&self) -> Arc<dyn object_store::ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_bucket_name(BUCKET)
                .with_region("us-east-1")
                .with_access_key_id("shenhe")
                .with_secret_access_key("shenhe-secret")
                .build()
                .expect("s3 client"),
        )
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

fn key(prefix: &str, sha: &str) -> ObjPath {
    ObjPath::from(format!("{prefix}/sha256/{}/{sha}", &sha[..2]))
}

/// The first image of the first candidate awaiting review: (id, bytes, ETag).
async fn first_image(srv: &TestServer, token: &str) -> (i64, Vec<u8>, String) {
    let rows = srv.candidates(token, Some("awaiting_review")).await;
    let id = rows[0]["id"].as_i64().expect("id");
    let d: Value = srv
        .get_json(token, &format!("/api/v1/candidates/{id}"))
        .await;
    let image = d["materials"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .find_map(|i| i["id"].as_i64())
        .expect("an image");
    let r = srv
        .get(token, &format!("/api/v1/images/{image}/content"))
        .await;
    assert_eq!(r.status(), 200, "image content");
    let etag = r.headers()["etag"]
        .to_str()
        .expect("etag")
        .trim_matches('"')
        .to_string();
    (image, r.bytes().await.expect("bytes").to_vec(), etag)
}

#[tokio::test]
async fn images_live_in_s3_compatible_storage_and_its_outage_loses_nothing() {
    crate::support::install_crypto();
    let mut moto = Moto::start();
    let created = reqwest::Client::new()
        .put(format!("{}/{BUCKET}", moto.endpoint))
        .send()
        .await
        .expect("create bucket");
    assert!(
        created.status().is_success(),
        "bucket: {}",
        created.status()
    );
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("s3.db");
    let log = dir.path().join("server.log");
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let address = format!("s3://{BUCKET}/images");
    let child = ChildServer::start_with_env(
        &db,
        &log,
        &["--demo", "--candidates", "24", "--blobs", &address],
        &env,
    )
    .await;
    let srv = TestServer::over(&child.base_url, db.clone(), dir);
    let s3 = moto.client();

    // The seed's documents went to the bucket, and are what the reviewer gets.
    let token = srv.login("nanjing").await;
    let (_, bytes, etag) = first_image(&srv, &token).await;
    assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), etag);
    let stored = s3
        .get(&key("images", &etag))
        .await
        .expect("the object is in the bucket")
        .bytes()
        .await
        .expect("object bytes");
    assert_eq!(&stored[..], &bytes[..]);
    assert!(
        !Blobs::beside(&db).exists(),
        "nothing is written beside the database when a bucket is configured"
    );

    // A candidate's upload lands in the bucket.
    let open = srv.candidates(&token, Some("not_started")).await;
    let reg_no = open[0]["reg_no"].as_str().expect("reg_no").to_string();
    let cand = srv.login_candidate(&reg_no).await;
    let jpeg = common::doc_jpeg(41, 900, 600);
    let sha = hex::encode(sha2::Sha256::digest(&jpeg));
    let r = srv
        .upload(&cand, "OTHER", None, jpeg.clone(), "a.jpg")
        .await;
    assert_eq!(
        r.status(),
        201,
        "upload: {}",
        r.text().await.unwrap_or_default()
    );
    let up: Value = r.json().await.expect("json");
    let image = up["image"]["id"].as_i64().expect("image id");
    let r = srv
        .get(&cand, &format!("/api/v1/candidate/images/{image}/content"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(&r.bytes().await.expect("bytes")[..], &jpeg[..]);
    s3.head(&key("images", &sha))
        .await
        .expect("the upload is in the bucket");

    // The store goes away: reading says so (500), an upload is refused
    // with a retryable 503 and leaves no row naming bytes that are not
    // stored.
    let before: Value = srv.get_json(&cand, "/api/v1/candidate/me").await;
    moto.stop();
    let r = srv
        .get(&cand, &format!("/api/v1/candidate/images/{image}/content"))
        .await;
    assert_eq!(r.status(), 500);
    let r = srv
        .upload(
            &cand,
            "OTHER",
            None,
            common::doc_jpeg(42, 900, 600),
            "b.jpg",
        )
        .await;
    let p = common::problem(r, 503, "blob_store_unavailable").await;
    assert!(
        p["detail"]
            .as_str()
            .is_some_and(|d| d.contains("nothing was stored"))
    );
    let after: Value = srv.get_json(&cand, "/api/v1/candidate/me").await;
    assert_eq!(before["materials"], after["materials"]);
    drop(child);
}

#[tokio::test]
async fn bytes_kept_in_an_old_database_move_to_the_blob_folder() {
    if common::sqlite_only("bytes_kept_in_an_old_database_move_to_the_blob_folder") {
        return;
    }
    // A database as versions before the blob store left it: every blob's
    // bytes inside, no folder beside it.
    let srv = TestServer::start_demo(24).await;
    let token = srv.login("nanjing").await;
    let (_, bytes, etag) = first_image(&srv, &token).await;
    let db = srv.db.clone();
    let blobs = Blobs::local(&Blobs::beside(&db)).expect("blobs");
    let dir = tempfile::tempdir().expect("dir");
    let old_db = dir.path().join("old.db");
    let pool = srv
        .server
        .as_ref()
        .expect("running")
        .store()
        .sqlite()
        .expect("sqlite")
        .pool()
        .clone();
    let shas: Vec<(String, String)> = sqlx::query_as("SELECT sha256, format FROM blobs")
        .fetch_all(&pool)
        .await
        .expect("blobs");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "VACUUM INTO '{}'",
        old_db.display()
    )))
    .execute(&pool)
    .await
    .expect("copy the database");
    let mut kept = Vec::new();
    for (sha, format) in &shas {
        let f = shenhe::domain::imaging::Format::from_code(format).expect("format");
        kept.push((sha.clone(), blobs.get(sha, f).await.expect("blob").bytes));
    }
    // (This also removes the first server's folder and its blob folder.)
    srv.shutdown().await;
    {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", old_db.display()))
            .await
            .expect("open copy");
        for (sha, bytes) in &kept {
            sqlx::query("UPDATE blobs SET legacy_bytes = ? WHERE sha256 = ?")
                .bind(&bytes[..])
                .bind(sha)
                .execute(&mut c)
                .await
                .expect("put the bytes back inside");
        }
    }
    assert!(!Blobs::beside(&old_db).exists());

    let log = dir.path().join("server.log");
    let child = ChildServer::start(&old_db, &log, &[]).await;
    let again = TestServer::over(&child.base_url, old_db.clone(), dir);
    let token = again.login("nanjing").await;
    let (_, moved, moved_etag) = first_image(&again, &token).await;
    assert_eq!((moved, moved_etag), (bytes, etag));
    let moved_out = Blobs::local(&Blobs::beside(&old_db)).expect("folder");
    for (sha, _) in &shas {
        assert!(moved_out.contains(sha).await.expect("head"), "{sha} moved");
    }
    let left: i64 = {
        use sqlx::Connection;
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", old_db.display()))
            .await
            .expect("open");
        sqlx::query_scalar("SELECT count(*) FROM blobs WHERE length(legacy_bytes) > 0")
            .fetch_one(&mut c)
            .await
            .expect("count")
    };
    assert_eq!(left, 0, "the bytes inside are emptied once moved");
    assert!(
        child
            .log_text()
            .contains("moved image bytes out of the database"),
        "the move is logged"
    );
    drop(child);
}
