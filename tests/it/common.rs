//! Shared harness: a real server on 127.0.0.1:0 over a real SQLite file in
//! a temporary folder, and a reqwest client. Used by the server's tests and
//! the console's.
//!
//! With `SHENHE_TEST_PG=postgres://user@host:port/db` set, every
//! `TestServer` runs on PostgreSQL instead: a fresh database of its own
//! (`shenhe_t_<random>`) on that server, dropped when the `TestServer`
//! goes. Tests that open the SQLite file or reach into the SQLite store
//! say so with [`sqlite_only`] and skip themselves there.
#![allow(dead_code)]

use std::io::Cursor;
use std::path::PathBuf;

use reqwest::{Client, Method, RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;
use shenhe::domain::rules::ReviewWindow;
use shenhe::server::store::DbTarget;
use shenhe::server::{RunningServer, ServerConfig, start};

pub const PASSWORD: &str = "demo";

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub base_url: String,
    pub client: Client,
    /// The SQLite file (absent when on PostgreSQL).
    pub db: PathBuf,
    /// The PostgreSQL database, when `SHENHE_TEST_PG` is set.
    pub pg: Option<PgDatabase>,
    _dir: tempfile::TempDir,
}

/// The server URL of `SHENHE_TEST_PG`, if the suite runs on PostgreSQL.
pub fn test_pg() -> Option<String> {
    std::env::var("SHENHE_TEST_PG")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// For a test that needs the SQLite store itself (its file or its pool):
/// true, after saying so, when the suite runs on PostgreSQL.
pub fn sqlite_only(test: &str) -> bool {
    if test_pg().is_some() {
        eprintln!("{test}: SQLite-only (reaches into the SQLite store); skipped on PostgreSQL");
        return true;
    }
    false
}

/// A database of its own on the `SHENHE_TEST_PG` server, dropped (with
/// whatever is still connected) when this goes.
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create(admin: &str) -> PgDatabase {
        use sqlx::Connection;
        let name = format!("shenhe_t_{:016x}", rand::random::<u64>());
        let mut conn = sqlx::PgConnection::connect(admin)
            .await
            .expect("connect to SHENHE_TEST_PG");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let _ = conn.close().await;
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        PgDatabase {
            url: format!("{base}/{name}"),
            admin: admin.to_string(),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin, name) = (self.admin.clone(), self.name.clone());
        // Its own thread and runtime: Drop cannot await, and may run
        // inside (or outside) a tokio runtime.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

pub fn open_window() -> ReviewWindow {
    ReviewWindow::around(chrono::Local::now().date_naive())
}

impl TestServer {
    /// The helpers over a server that runs elsewhere (a `shenhe serve`
    /// child process on `db`, in `dir`).
    pub fn over(base_url: &str, db: PathBuf, dir: tempfile::TempDir) -> TestServer {
        TestServer {
            server: None,
            base_url: base_url.to_string(),
            client: Client::new(),
            db,
            pg: None,
            _dir: dir,
        }
    }

    /// The demo data with `n` candidates (0: only the demo accounts).
    pub async fn start_demo(n: u32) -> TestServer {
        TestServer::start_with(Some(n), open_window()).await
    }

    /// No accounts, no candidates.
    pub async fn start_empty() -> TestServer {
        TestServer::start_with(None, open_window()).await
    }

    pub async fn start_with(demo: Option<u32>, window: ReviewWindow) -> TestServer {
        TestServer::start_custom(demo, window, |_| {}).await
    }

    /// As `start_with`, the config adjusted first (undo window, timeout).
    pub async fn start_custom(
        demo: Option<u32>,
        window: ReviewWindow,
        adjust: impl FnOnce(&mut ServerConfig),
    ) -> TestServer {
        crate::support::install_crypto();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("test.db");
        let pg = match test_pg() {
            Some(admin) => Some(PgDatabase::create(&admin).await),
            None => None,
        };
        let target = match &pg {
            Some(p) => DbTarget::Postgres(p.url.clone()),
            None => DbTarget::Sqlite(db.clone()),
        };
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            db: target,
            blobs: None,
            demo,
            window,
            tls: None,
            undo_window: shenhe::domain::undo_window::DEFAULT,
            request_timeout: shenhe::server::REQUEST_TIMEOUT,
        };
        adjust(&mut config);
        let server = start(config).await.expect("server starts");
        TestServer {
            base_url: server.base_url.clone(),
            server: Some(server),
            client: Client::builder().build().expect("client"),
            db,
            pg,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.req(Method::GET, path, Some(token))
            .send()
            .await
            .expect("send")
    }

    pub async fn get_json<T: DeserializeOwned>(&self, token: &str, path: &str) -> T {
        let r = self.get(token, path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.expect("json")
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.req(Method::POST, path, Some(token))
            .json(body)
            .send()
            .await
            .expect("send")
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.req(Method::DELETE, path, Some(token))
            .send()
            .await
            .expect("send")
    }

    /// Log in a demo reviewer (password `demo`); returns the token.
    pub async fn login(&self, username: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/session"))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK, "login {username}");
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Log in a demo candidate by reg_no; returns the token.
    pub async fn login_candidate(&self, reg_no: &str) -> String {
        let r = self
            .client
            .post(self.url("/api/v1/candidate/session"))
            .json(&serde_json::json!({"reg_no": reg_no, "password": PASSWORD}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::OK, "candidate login {reg_no}");
        let v: Value = r.json().await.expect("json");
        v["token"].as_str().expect("token").to_string()
    }

    /// Every candidate in the token's scope with the given state (all pages).
    pub async fn candidates(&self, token: &str, state: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = "/api/v1/candidates?limit=500".to_string();
            if let Some(s) = state {
                path.push_str(&format!("&state={s}"));
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let v: Value = self.get_json(token, &path).await;
            out.extend(v["items"].as_array().cloned().unwrap_or_default());
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }

    /// Upload `bytes` as a candidate into `category` (optionally a slot).
    pub async fn upload(
        &self,
        token: &str,
        category: &str,
        slot: Option<u8>,
        bytes: Vec<u8>,
        file_name: &str,
    ) -> Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_string()),
        );
        if let Some(s) = slot {
            form = form.text("slot", s.to_string());
        }
        self.req(
            Method::POST,
            &format!("/api/v1/candidate/materials/{category}/images"),
            Some(token),
        )
        .multipart(form)
        .send()
        .await
        .expect("send")
    }

    pub async fn shutdown(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await.expect("clean shutdown");
        }
    }
}

/// The problem+json body of an error response, checked for its shape.
pub async fn problem(r: Response, status: u16, code: &str) -> Value {
    assert_eq!(r.status().as_u16(), status, "status for expected {code}");
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/problem+json"),
        "content type {ct}"
    );
    let v: Value = r.json().await.expect("problem json");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["status"], status);
    v
}

/// A sharp document-like page (JPEG), different per `seed`.
pub fn doc_jpeg(seed: u32, w: u32, h: u32) -> Vec<u8> {
    encode_jpeg(&doc(seed, w, h), 85)
}

/// The same page, blurred (a reviewer would ask for a new photo).
pub fn blurry_jpeg(seed: u32, w: u32, h: u32) -> Vec<u8> {
    encode_jpeg(&image::imageops::blur(&doc(seed, w, h), 6.0), 85)
}

pub fn doc_png(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    doc(seed, w, h)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// The page of `doc_jpeg` at another JPEG quality: other bytes, the same
/// picture (a near duplicate).
pub fn doc_jpeg_at(seed: u32, w: u32, h: u32, quality: u8) -> Vec<u8> {
    encode_jpeg(&doc(seed, w, h), quality)
}

fn encode_jpeg(img: &image::RgbImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(img)
        .expect("jpeg");
    out
}

fn doc(seed: u32, w: u32, h: u32) -> image::RgbImage {
    let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([245, 243, 236]));
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    for line in 0..12 {
        let y0 = h / 10 + line * (h / 16);
        let x0 = w / 10 + next() % (w / 8);
        let len = w / 3 + next() % (w / 3);
        let mut x = x0;
        while x + 14 < (x0 + len).min(w - 20) {
            for yy in y0..(y0 + h / 30).min(h) {
                for xx in x..x + 12 {
                    if next() % 4 != 0 {
                        img.put_pixel(xx, yy, image::Rgb([30, 30, 40]));
                    }
                }
            }
            x += 16;
        }
    }
    let px = if seed.is_multiple_of(2) {
        w / 12
    } else {
        w * 7 / 10
    };
    for yy in h / 5..h / 2 {
        for xx in px..px + w / 6 {
            img.put_pixel(xx, yy, image::Rgb([90, 110, 150]));
        }
    }
    img
}
