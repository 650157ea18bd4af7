//! Who is asking: reviewer and candidate credentials (the password hash
//! is checked by the caller, not here) and the bearer tokens issued at
//! login, looked up by hash and revoked at logout.
//!
//! Every request resolves its token and then its reviewer: two reads, which
//! cost as much as the queue page's own statement (each read is a round
//! trip to a connection's thread). So both are remembered for a few seconds
//! ([`AuthCache`]). Logout goes through this process and forgets the token
//! at once; only a change made behind the server's back (SQL from another
//! process, e.g. an administrator removing a reviewer) takes up to
//! [`AUTH_TTL`] to be seen. A PostgreSQL store shared by several processes
//! would not keep this cache.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::{SqliteStore, from_ms, ms};
use crate::domain::review::Level;
use crate::server::store::{
    CandidateCredentials, ReviewerInfo, StoreError, StoreResult, Subject, TokenRecord,
};

/// How long a looked-up token or reviewer is trusted without asking again.
pub(super) const AUTH_TTL: Duration = Duration::from_secs(5);
/// Entries per map; past it the map starts afresh (bounded memory whatever
/// tokens are presented; unknown tokens are never remembered).
const AUTH_CACHE_MAX: usize = 10_000;

/// Tokens by hash and reviewers by id, each with when it was read.
#[derive(Default)]
pub(super) struct AuthCache {
    tokens: Mutex<HashMap<String, (Instant, TokenRecord)>>,
    reviewers: Mutex<HashMap<i64, (Instant, ReviewerInfo)>>,
}

fn fresh<K: std::hash::Hash + Eq, V: Clone>(
    map: &Mutex<HashMap<K, (Instant, V)>>,
    k: &K,
) -> Option<V> {
    let map = map.lock().ok()?;
    map.get(k)
        .filter(|(at, _)| at.elapsed() < AUTH_TTL)
        .map(|(_, v)| v.clone())
}

fn remember<K: std::hash::Hash + Eq, V>(
    map: &Mutex<HashMap<K, (Instant, V)>>,
    k: K,
    v: V,
    keep_old: impl Fn(&V) -> bool,
) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= AUTH_CACHE_MAX {
            map.clear();
        }
        if map.get(&k).is_some_and(|(_, old)| keep_old(old)) {
            return;
        }
        map.insert(k, (Instant::now(), v));
    }
}

fn reviewer_from_row(
    (id, username, display_name, level, district, site): (
        i64,
        String,
        String,
        String,
        String,
        Option<String>,
    ),
) -> StoreResult<ReviewerInfo> {
    let level = match level.as_str() {
        "site" => Level::Site,
        "district" => Level::District,
        other => return Err(StoreError::Corrupt(format!("level {other:?}"))),
    };
    Ok(ReviewerInfo {
        id,
        username,
        display_name,
        level,
        district,
        site,
    })
}

impl SqliteStore {
    pub(super) fn reviewer_credentials<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(ReviewerInfo, String)>>> {
        Box::pin(async move {
            type Row = (i64, String, String, String, String, Option<String>, String);
            let row: Option<Row> = sqlx::query_as(
                "SELECT id, username, display_name, level, district, site, password_hash \
                     FROM reviewers WHERE username = ?",
            )
            .bind(username)
            .fetch_optional(&mut *self.reads.get().await?)
            .await?;
            match row {
                None => Ok(None),
                Some((id, u, d, l, di, s, hash)) => {
                    Ok(Some((reviewer_from_row((id, u, d, l, di, s))?, hash)))
                }
            }
        })
    }

    pub(super) fn reviewer(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ReviewerInfo>>> {
        Box::pin(async move {
            if let Some(r) = fresh(&self.auth.reviewers, &id) {
                return Ok(Some(r));
            }
            let row: Option<(i64, String, String, String, String, Option<String>)> =
                sqlx::query_as(
                    "SELECT id, username, display_name, level, district, site FROM reviewers \
                     WHERE id = ?",
                )
                .bind(id)
                .fetch_optional(&mut *self.reads.get().await?)
                .await?;
            let r = row.map(reviewer_from_row).transpose()?;
            if let Some(r) = &r {
                remember(&self.auth.reviewers, id, r.clone(), |_| false);
            }
            Ok(r)
        })
    }

    pub(super) fn candidate_credentials<'a>(
        &'a self,
        reg_no: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CandidateCredentials>>> {
        Box::pin(async move {
            let row: Option<(i64, String, String)> =
                sqlx::query_as("SELECT id, reg_no, password_hash FROM candidates WHERE reg_no = ?")
                    .bind(reg_no)
                    .fetch_optional(&mut *self.reads.get().await?)
                    .await?;
            Ok(row.map(|(id, reg_no, password_hash)| CandidateCredentials {
                id,
                reg_no,
                password_hash,
            }))
        })
    }

    pub(super) fn insert_token<'a>(
        &'a self,
        token_hash: &'a str,
        subject: Subject,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let (kind, id) = match subject {
                Subject::Reviewer(id) => ("reviewer", id),
                Subject::Candidate(id) => ("candidate", id),
            };
            let token_hash = token_hash.to_string();
            self.write(move |conn| {
                Box::pin(async move {
                    // Drop long-expired tokens on the way, so the table stays small.
                    sqlx::query("DELETE FROM tokens WHERE expires_at < ?")
                        .bind(ms(now) - 7 * 24 * 3600 * 1000)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(
                        "INSERT INTO tokens (token_hash, kind, subject_id, created_at, expires_at) \
                         VALUES (?, ?, ?, ?, ?)",
                    )
                    .bind(token_hash)
                    .bind(kind)
                    .bind(id)
                    .bind(ms(now))
                    .bind(ms(expires_at))
                    .execute(&mut *conn)
                    .await?;
                    Ok(())
                })
            })
            .await
        })
    }

    /// The token's row, not the cache.
    async fn token_row(&self, token_hash: &str) -> StoreResult<Option<TokenRecord>> {
        let row: Option<TokenCols> = sqlx::query_as(
            "SELECT kind, subject_id, expires_at, revoked FROM tokens WHERE token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.reads.get().await?)
        .await?;
        Ok(row.map(token_record))
    }

    pub(super) fn token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>> {
        Box::pin(async move {
            let key = token_hash.to_string();
            if let Some(t) = fresh(&self.auth.tokens, &key) {
                return Ok(Some(t));
            }
            let t = self.token_row(token_hash).await?;
            if let Some(t) = &t {
                // A revocation is final: a read that began before it
                // committed must not put the token back as valid.
                remember(&self.auth.tokens, key, t.clone(), |old| old.revoked);
            }
            Ok(t)
        })
    }

    pub(super) fn login_failures<'a>(
        &'a self,
        key: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(u32, Option<DateTime<Utc>>)>> {
        Box::pin(async move {
            let (n, oldest): (i64, Option<i64>) = sqlx::query_as(
                "SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at >= ?",
            )
            .bind(key)
            .bind(ms(since))
            .fetch_one(&mut *self.reads.get().await?)
            .await?;
            Ok((u32::try_from(n).unwrap_or(u32::MAX), oldest.map(from_ms)))
        })
    }

    pub(super) fn record_login_failure<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let key = key.to_string();
        Box::pin(self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("DELETE FROM login_failures WHERE at < ?")
                    .bind(ms(forget_before))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("INSERT INTO login_failures (key, at) VALUES (?, ?)")
                    .bind(key)
                    .bind(ms(at))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        }))
    }

    pub(super) fn clear_login_failures<'a>(
        &'a self,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let key = key.to_string();
        Box::pin(async move {
            // Most logins follow no failure: no write for them.
            let any: Option<i64> = sqlx::query_scalar("SELECT 1 FROM login_failures WHERE key = ?")
                .bind(&key)
                .fetch_optional(&mut *self.reads.get().await?)
                .await?;
            if any.is_none() {
                return Ok(());
            }
            self.write(move |conn| {
                Box::pin(async move {
                    sqlx::query("DELETE FROM login_failures WHERE key = ?")
                        .bind(key)
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            })
            .await
        })
    }

    pub(super) fn revoke_token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let key = token_hash.to_string();
            let token_hash = key.clone();
            // The revoked row comes back from the UPDATE itself, so once the
            // commit is in, nothing else can fail before the cache hears of
            // it (a read-back afterwards could, leaving the token valid in
            // the cache for its last seconds).
            let row = self
                .write(move |conn| {
                    Box::pin(async move {
                        let row: Option<TokenCols> = sqlx::query_as(
                            "UPDATE tokens SET revoked = 1 WHERE token_hash = ? \
                             RETURNING kind, subject_id, expires_at, revoked",
                        )
                        .bind(token_hash)
                        .fetch_optional(&mut *conn)
                        .await?;
                        Ok(row.map(token_record))
                    })
                })
                .await?;
            // Remembered as revoked, from the committed row: a lookup that
            // raced the commit cannot put it back as valid (see `token`).
            if let Ok(mut map) = self.auth.tokens.lock() {
                match row {
                    Some(t) => map.insert(key, (Instant::now(), t)),
                    None => map.remove(&key),
                };
            }
            Ok(())
        })
    }
}

/// A `tokens` row as (kind, subject_id, expires_at, revoked).
type TokenCols = (String, i64, i64, bool);

fn token_record((kind, id, exp, revoked): TokenCols) -> TokenRecord {
    TokenRecord {
        subject: if kind == "reviewer" {
            Subject::Reviewer(id)
        } else {
            Subject::Candidate(id)
        },
        expires_at: from_ms(exp),
        revoked,
    }
}
