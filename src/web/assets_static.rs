//! The page's one ES module and one stylesheet, embedded in the binary and
//! served with an ETag (304 on `If-None-Match`). The HTML names them with
//! their hash (`?v=`), so a long `max-age` never serves an old script to a
//! new page.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::examples;

pub const APP_JS: &str = include_str!("static/app.js");
pub const APP_CSS: &str = include_str!("static/app.css");

fn tag(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))[..16].to_string()
}

fn js_tag() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| tag(APP_JS.as_bytes()))
}

fn css_tag() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| tag(APP_CSS.as_bytes()))
}

pub fn js_url() -> String {
    format!("/static/app.js?v={}", js_tag())
}

pub fn css_url() -> String {
    format!("/static/app.css?v={}", css_tag())
}

/// Whether `If-None-Match` names `etag` (or is `*`).
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        })
}

/// A cacheable public body: 304 when the browser has it already.
pub fn cached(
    headers: &HeaderMap,
    etag: &str,
    content_type: &'static str,
    body: Vec<u8>,
) -> Response {
    let mut resp = if not_modified(headers, etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, body).into_response()
    };
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    resp
}

pub async fn app_js(headers: HeaderMap) -> Response {
    cached(
        &headers,
        &format!("\"{}\"", js_tag()),
        "text/javascript; charset=utf-8",
        APP_JS.as_bytes().to_vec(),
    )
}

pub async fn app_css(headers: HeaderMap) -> Response {
    cached(
        &headers,
        &format!("\"{}\"", css_tag()),
        "text/css; charset=utf-8",
        APP_CSS.as_bytes().to_vec(),
    )
}

/// `GET /static/example/{name}.jpg`.
pub async fn example(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(name) = file.strip_suffix(".jpg").map(str::to_string) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // The first call scales every example: not on the async threads.
    let found = tokio::task::spawn_blocking(move || examples::get(&name))
        .await
        .ok()
        .flatten();
    match found {
        Some(e) => cached(&headers, &e.etag, "image/jpeg", e.bytes.clone()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
