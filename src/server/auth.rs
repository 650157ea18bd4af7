//! Passwords (argon2), opaque bearer tokens stored only as SHA-256, the
//! extractors that resolve them, and the login rate limit.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;
use super::store::{ReviewerInfo, Store, StoreResult, Subject, TokenRecord};

/// A reviewer's working day.
pub const REVIEWER_TOKEN_TTL: chrono::Duration = chrono::Duration::hours(12);
/// A candidate's upload session.
pub const CANDIDATE_TOKEN_TTL: chrono::Duration = chrono::Duration::hours(2);

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// An argon2id PHC string for `password` (salt from the OS-seeded CSPRNG).
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AuthError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hash(e.to_string()))
}

/// Constant-time check against a stored PHC string; a malformed hash is a
/// mismatch, never a panic.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verify off the async threads: argon2 is deliberately slow.
pub async fn verify_password_blocking(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .unwrap_or(false)
}

/// A fresh token (256 random bits, URL-safe base64) and its SHA-256 (hex),
/// which is all the database ever sees.
pub fn new_token() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A token already resolved for this request (by the idempotency layer),
/// so the handler's extractor need not look it up again.
#[derive(Debug, Clone)]
pub(crate) struct Resolved(pub TokenRecord, pub String);

/// Resolve the request's bearer token to its subject.
pub async fn resolve(state: &AppState, parts: &Parts) -> Result<(TokenRecord, String), ApiError> {
    if let Some(Resolved(rec, hash)) = parts.extensions.get::<Resolved>() {
        return Ok((rec.clone(), hash.clone()));
    }
    let token =
        bearer(parts).ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
    let hash = token_hash(token);
    let rec = state
        .store
        .token(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown token"))?;
    if rec.revoked {
        return Err(ApiError::unauthorized("the token was revoked (logged out)"));
    }
    if rec.expires_at <= Utc::now() {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired; log in again",
        ));
    }
    Ok((rec, hash))
}

/// A signed-in reviewer (from `Authorization: Bearer …`).
#[derive(Debug, Clone)]
pub struct Reviewer {
    pub info: ReviewerInfo,
    pub token_hash: String,
    pub expires_at: chrono::DateTime<Utc>,
}

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (rec, token_hash) = resolve(state, parts).await?;
        let Subject::Reviewer(id) = rec.subject else {
            return Err(ApiError::unauthorized("this is a candidate's token"));
        };
        let info = state
            .store
            .reviewer(id)
            .await?
            .ok_or_else(|| ApiError::unauthorized("unknown reviewer"))?;
        Ok(Reviewer {
            info,
            token_hash,
            expires_at: rec.expires_at,
        })
    }
}

/// A signed-in candidate.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: i64,
    pub token_hash: String,
}

impl FromRequestParts<AppState> for Candidate {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (rec, token_hash) = resolve(state, parts).await?;
        let Subject::Candidate(id) = rec.subject else {
            return Err(ApiError::unauthorized("this is a reviewer's token"));
        };
        Ok(Candidate { id, token_hash })
    }
}

/// Failed logins per (username, client address): at most `max` in `per`.
pub struct LoginLimiter {
    max: u32,
    per: chrono::Duration,
    /// The failures live in the database: the limit holds across every
    /// instance that shares it.
    store: Arc<dyn Store>,
}

impl LoginLimiter {
    pub fn new(store: Arc<dyn Store>, max: u32, per: Duration) -> LoginLimiter {
        LoginLimiter {
            max,
            per: chrono::Duration::from_std(per).unwrap_or(chrono::Duration::minutes(1)),
            store,
        }
    }

    fn key(user: &str, ip: IpAddr) -> String {
        format!("{user}\u{1f}{ip}")
    }

    /// Seconds to wait, if the key is over its budget now.
    pub async fn check(&self, user: &str, ip: IpAddr) -> StoreResult<Option<u64>> {
        let now = Utc::now();
        let (n, oldest) = self
            .store
            .login_failures(&LoginLimiter::key(user, ip), now - self.per)
            .await?;
        Ok(match oldest {
            Some(oldest) if n >= self.max => {
                let wait = (oldest + self.per - now).num_seconds();
                Some(u64::try_from(wait).unwrap_or(0).max(1))
            }
            _ => None,
        })
    }

    pub async fn fail(&self, user: &str, ip: IpAddr) -> StoreResult<()> {
        let now = Utc::now();
        self.store
            .record_login_failure(&LoginLimiter::key(user, ip), now, now - self.per)
            .await
    }

    pub async fn succeed(&self, user: &str, ip: IpAddr) -> StoreResult<()> {
        self.store
            .clear_login_failures(&LoginLimiter::key(user, ip))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_tokens() {
        let h = hash_password("demo").expect("hash");
        assert!(verify_password("demo", &h));
        assert!(!verify_password("demO", &h));
        assert!(!verify_password("demo", "not a hash"));
        let (t, th) = new_token();
        assert!(t.len() >= 43, "256 bits in base64");
        assert_eq!(token_hash(&t), th);
        assert_ne!(new_token().0, t);
    }

    #[tokio::test]
    async fn limiter_counts_failures_per_key() {
        let dir = tempfile::tempdir().expect("dir");
        let store = crate::server::store::SqliteStore::open(&dir.path().join("l.db"))
            .await
            .expect("store");
        let l = LoginLimiter::new(Arc::new(store), 2, Duration::from_secs(60));
        let ip: IpAddr = [127, 0, 0, 1].into();
        let other: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(l.check("a", ip).await.expect("check"), None);
        l.fail("a", ip).await.expect("fail");
        assert_eq!(l.check("a", ip).await.expect("check"), None);
        l.fail("a", ip).await.expect("fail");
        let wait = l.check("a", ip).await.expect("check");
        assert!(wait.is_some_and(|w| (1..=60).contains(&w)), "{wait:?}");
        assert_eq!(l.check("b", ip).await.expect("check"), None);
        assert_eq!(l.check("a", other).await.expect("check"), None);
        l.succeed("a", ip).await.expect("succeed");
        assert_eq!(l.check("a", ip).await.expect("check"), None);
    }
}
