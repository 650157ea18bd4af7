//! Who is asking: reviewer and candidate credentials (the password hash
//! is checked by the caller) and the bearer tokens issued at login. No
//! cache, unlike the SQLite store's: instances share the database, and a
//! logout through one must hold at once on every other.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use super::script::q;
use super::{PgStore, from_ms, ms};
use crate::domain::review::Level;
use crate::server::store::{
    CandidateCredentials, ReviewerInfo, StoreError, StoreResult, Subject, TokenRecord,
};

type ReviewerCols = (i64, String, String, String, String, Option<String>);

fn reviewer_from_row(
    (id, username, display_name, level, district, site): ReviewerCols,
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

impl PgStore {
    pub(super) fn reviewer_credentials<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(ReviewerInfo, String)>>> {
        Box::pin(async move {
            type Row = (i64, String, String, String, String, Option<String>, String);
            let row: Option<Row> = sqlx::query_as(q(
                "SELECT id, username, display_name, level, district, site, password_hash \
                 FROM reviewers WHERE username = ?",
            ))
            .bind(username)
            .fetch_optional(&self.pool)
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
            let row: Option<ReviewerCols> = sqlx::query_as(q(
                "SELECT id, username, display_name, level, district, site FROM reviewers \
                 WHERE id = ?",
            ))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
            row.map(reviewer_from_row).transpose()
        })
    }

    pub(super) fn candidate_credentials<'a>(
        &'a self,
        reg_no: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CandidateCredentials>>> {
        Box::pin(async move {
            let row: Option<(i64, String, String)> = sqlx::query_as(q(
                "SELECT id, reg_no, password_hash FROM candidates WHERE reg_no = ?",
            ))
            .bind(reg_no)
            .fetch_optional(&self.pool)
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
                    sqlx::query(q("DELETE FROM tokens WHERE expires_at < ?"))
                        .bind(ms(now) - 7 * 24 * 3600 * 1000)
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query(q(
                        "INSERT INTO tokens (token_hash, kind, subject_id, created_at, expires_at) \
                         VALUES (?, ?, ?, ?, ?)",
                    ))
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

    pub(super) fn token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>> {
        Box::pin(async move {
            let row: Option<TokenCols> = sqlx::query_as(q(
                "SELECT kind, subject_id, expires_at, revoked FROM tokens WHERE token_hash = ?",
            ))
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.map(token_record))
        })
    }

    pub(super) fn login_failures<'a>(
        &'a self,
        key: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(u32, Option<DateTime<Utc>>)>> {
        Box::pin(async move {
            let (n, oldest): (i64, Option<i64>) = sqlx::query_as(q(
                "SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at >= ?",
            ))
            .bind(key)
            .bind(ms(since))
            .fetch_one(&self.pool)
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
                sqlx::query(q("DELETE FROM login_failures WHERE at < ?"))
                    .bind(ms(forget_before))
                    .execute(&mut *conn)
                    .await?;
                sqlx::query(q("INSERT INTO login_failures (key, at) VALUES (?, ?)"))
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
        Box::pin(async move {
            sqlx::query(q("DELETE FROM login_failures WHERE key = ?"))
                .bind(key)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }

    pub(super) fn revoke_token<'a>(
        &'a self,
        token_hash: &'a str,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            sqlx::query(q("UPDATE tokens SET revoked = true WHERE token_hash = ?"))
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
            Ok(())
        })
    }
}
