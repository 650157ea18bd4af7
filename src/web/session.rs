//! The candidate's browser session: an opaque token (the same kind the
//! API's bearer tokens are, stored only as SHA-256) in an `HttpOnly`,
//! `SameSite=Strict` cookie; CSRF tokens derived from it; the Origin check;
//! and a small sliding-window rate limit for uploads.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::server::AppState;
use crate::server::auth::token_hash;
use crate::server::store::Subject;

pub const SESSION_COOKIE: &str = "shenhe_session";
/// Before login: a random value echoed in the login form (login CSRF).
pub const LOGIN_COOKIE: &str = "shenhe_login";
/// The header the page's script sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Marks a server that terminates TLS itself: its cookies get `Secure`.
#[derive(Debug, Clone, Copy)]
pub struct Tls;

/// The value of cookie `name`, if the request carries it.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the cookie must carry `Secure`: TLS here, or a TLS-terminating
/// proxy in front (adding `Secure` can only restrict, so trusting the
/// header is harmless).
pub fn secure(tls: bool, headers: &HeaderMap) -> bool {
    tls || headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let s = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&s).ok()
}

/// 256 random bits, URL-safe base64 (cookie-safe: no `;`, `=` or space).
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The CSRF token of a session: a hash of the session's secret, so it needs
/// no storage, and it cannot be made without the HttpOnly cookie.
pub fn csrf_for(session_token: &str) -> String {
    let d = Sha256::digest(format!("shenhe-csrf\0{session_token}").as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&d[..24])
}

/// Compare without an early exit, so timing tells nothing about a prefix.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The cross-origin check every POST passes before anything else: a
/// present `Origin` must name this host; without one, `Sec-Fetch-Site`
/// (when the browser sends it) must say same-origin. Old clients that send
/// neither still need the CSRF token.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let authority = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        return matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h));
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => true,
    }
}

/// A signed-in candidate, from the session cookie.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub candidate_id: i64,
    pub token_hash: String,
    pub csrf: String,
}

/// Why there is no session: none at all, or one that ran out (the page
/// then says so instead of a bare login form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSession {
    Absent,
    Expired,
    Broken,
}

/// Resolve the session cookie against the token table.
pub async fn resolve(st: &AppState, headers: &HeaderMap) -> Result<WebSession, NoSession> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(NoSession::Absent);
    };
    let hash = token_hash(token);
    let rec = match st.store.token(&hash).await {
        Ok(Some(rec)) => rec,
        Ok(None) => return Err(NoSession::Expired),
        Err(e) => {
            tracing::warn!(error = %e, "session lookup failed");
            return Err(NoSession::Broken);
        }
    };
    if rec.revoked || rec.expires_at <= Utc::now() {
        return Err(NoSession::Expired);
    }
    let Subject::Candidate(id) = rec.subject else {
        // A reviewer's token has no business in a candidate's cookie.
        return Err(NoSession::Absent);
    };
    Ok(WebSession {
        candidate_id: id,
        token_hash: hash,
        csrf: csrf_for(token),
    })
}

/// At most `max` events per key in any window of `per`. In memory: a
/// restart forgets, which only helps the legitimate user.
#[derive(Debug)]
pub struct RateLimit {
    max: usize,
    per: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimit {
    pub fn new(max: usize, per: Duration) -> RateLimit {
        RateLimit {
            max,
            per,
            hits: Mutex::new(HashMap::new()),
        }
    }

    /// Count one event; `Err(seconds to wait)` when over the budget (a
    /// refused event is not counted).
    pub fn hit(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let Ok(mut map) = self.hits.lock() else {
            return Ok(());
        };
        if map.len() > 50_000 {
            let per = self.per;
            map.retain(|_, v| v.back().is_some_and(|t| now.duration_since(*t) < per));
        }
        let q = map.entry(key.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.per)
        {
            q.pop_front();
        }
        if q.len() >= self.max {
            let wait = q.front().map_or(self.per, |t| {
                self.per.saturating_sub(now.duration_since(*t))
            });
            return Err(wait.as_secs().max(1));
        }
        q.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn cookies_are_found_by_name() {
        let h = headers(&[("cookie", "a=1; shenhe_session=xyz ; b=2")]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, "c"), None);
        assert_eq!(
            cookie(&headers(&[("cookie", "shenhe_session=")]), SESSION_COOKIE),
            None
        );
    }

    #[test]
    fn origin_must_be_this_host() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[
            host,
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("sec-fetch-site", "same-origin")
        ])));
        assert!(same_origin(&headers(&[host])));
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_for("one");
        assert_eq!(a, csrf_for("one"));
        assert_ne!(a, csrf_for("two"));
        assert!(same(&a, &csrf_for("one")));
        assert!(!same(&a, &a[1..]));
    }

    #[test]
    fn rate_limit_refuses_over_budget() {
        let l = RateLimit::new(2, Duration::from_secs(60));
        assert!(l.hit("k").is_ok());
        assert!(l.hit("k").is_ok());
        assert!(l.hit("k").is_err());
        assert!(l.hit("other").is_ok());
    }

    #[test]
    fn cookie_flags() {
        let c = set_cookie(SESSION_COOKIE, "v", 60, true).expect("value");
        let s = c.to_str().expect("ascii");
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Strict") && s.contains("Secure"));
        let c = set_cookie(SESSION_COOKIE, "v", 60, false).expect("value");
        assert!(!c.to_str().expect("ascii").contains("Secure"));
    }
}
