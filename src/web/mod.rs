//! The candidates' pages, served by `shenhe serve` (and so `shenhe demo`)
//! at `/`: login, the materials upload page, and their actions as plain
//! forms that work without JavaScript; one ES module (`static/app.js`)
//! prepares photos in the browser and uploads them with progress.
//!
//! Depends on the server's store and the domain only, never the console.
//!
//! - [`session`]: cookie session, CSRF, Origin check, rate limit
//! - [`handlers`] and [`upload`]: the routes
//! - [`view`]: what the page shows (pure)
//! - [`pages`]: the HTML (maud)
//! - [`refusal`]: refusals in plain Chinese
//! - [`examples`], [`assets_static`]: 示例 images, the script, the stylesheet

pub mod assets_static;
pub mod examples;
pub mod handlers;
pub mod pages;
pub mod refusal;
pub mod session;
pub mod upload;
pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::server::AppState;
use session::RateLimit;

/// The CSP of every page: nothing but this origin; no inline script or
/// style, no framing, forms post only here.
pub const CSP: &str =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A phone photo sent without JavaScript is read (and refused with its
/// size) up to this; only the first 200 KB are kept in memory.
pub const FORM_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Uploads per candidate, and per client address, in [`UPLOAD_WINDOW`]:
/// nine categories with a few retries each fit easily.
pub const UPLOADS_PER_CANDIDATE: usize = 60;
pub const UPLOADS_PER_ADDRESS: usize = 200;
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(600);

/// What the pages keep besides the server's state.
pub struct Extra {
    pub uploads: RateLimit,
    pub upload_addrs: RateLimit,
    /// Per-key locks, so a retried upload waits for the first and replays it.
    pub keys: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Extra {
    pub fn key_lock(&self, k: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut map = self.keys.lock().ok()?;
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Some(map.entry(k.to_string()).or_default().clone())
    }
}

/// What `shenhe demo` prints: where a candidate logs in, and as whom.
pub fn demo_banner(base_url: &str, reg_no: Option<String>) -> String {
    let who = match reg_no {
        Some(r) => format!("报名号 {r}，密码 demo"),
        None => "任一考生的报名号，密码 demo".to_string(),
    };
    format!("考生上传页面 (candidate page): {base_url}/  ·  {who}")
}

#[derive(Clone)]
pub struct WebState {
    pub app: AppState,
    pub extra: Arc<Extra>,
}

/// Every route of the pages, with their own security headers (the API's
/// `default-src 'none'` would forbid the page its own script).
pub fn router(app: AppState) -> Router {
    let state = WebState {
        app,
        extra: Arc::new(Extra {
            uploads: RateLimit::new(UPLOADS_PER_CANDIDATE, UPLOAD_WINDOW),
            upload_addrs: RateLimit::new(UPLOADS_PER_ADDRESS, UPLOAD_WINDOW),
            keys: Mutex::new(HashMap::new()),
        }),
    };
    let uploads = Router::new()
        .route("/materials/{category}/upload", post(upload::upload))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT));
    Router::new()
        .route("/", get(handlers::login_page))
        .route("/login", post(handlers::login))
        .route("/logout", post(handlers::logout))
        .route("/materials", get(handlers::materials))
        .route("/images/{id}", get(handlers::image))
        .route(
            "/images/{id}/delete",
            get(handlers::delete_page).post(handlers::delete),
        )
        .route("/submit", get(handlers::submit_page).post(handlers::submit))
        .route("/static/app.js", get(assets_static::app_js))
        .route("/static/app.css", get(assets_static::app_css))
        .route("/static/example/{file}", get(assets_static::example))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(DefaultBodyLimit::max(crate::server::JSON_BODY_LIMIT))
        .merge(uploads)
        .with_state(state)
        // Slow phones on slow links: longer than the API's 30 s.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(120),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages and the candidate's images are personal: never stored.
        // The script, stylesheet and examples set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}
