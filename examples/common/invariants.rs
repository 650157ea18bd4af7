//! The invariants a load run must leave intact, checked after it: over the
//! API for the candidates the run touched, and over the database file for
//! every candidate and, by Idempotency-Key, every write the run had
//! acknowledged. Shared by `examples/load.rs` (closed loop) and
//! `examples/steady.rs` (open loop).

use std::collections::HashSet;

use shenhe::api::client::{Client, Timeouts};
use shenhe::domain::image::{Lock, Verdict};
use shenhe::domain::review::{ReviewStatus, Reviews, consistent};

/// Over the API, for the candidates the run touched: no image both
/// accepted and unlocked, no fixed-count category over its count, both
/// levels consistent.
pub async fn api_invariants(server: &str, touched: &HashSet<i64>) -> Result<Vec<String>, String> {
    let mut clients = Vec::new();
    for user in ["nanjing", "suzhou", "jiangsu"] {
        let c = Client::new(server, None, Timeouts::default()).map_err(|e| e.to_string())?;
        c.login(user, "demo").await.map_err(|e| e.to_string())?;
        clients.push(c);
    }
    let mut broken = Vec::new();
    for cid in touched {
        let mut found = None;
        for c in &clients {
            if let Ok(d) = c.candidate(*cid).await {
                found = Some(d);
                break;
            }
        }
        let Some(d) = found else {
            broken.push(format!("candidate {cid} is visible to nobody"));
            continue;
        };
        for m in &d.materials {
            if let Some(n) = m.fixed_count
                && m.images.len() > usize::from(n)
            {
                broken.push(format!("candidate {cid}: {:?} over its count", m.category));
            }
            for i in &m.images {
                if i.lock == Lock::Unlocked && i.verdict == Verdict::Accepted {
                    broken.push(format!("image {} accepted and unlocked", i.id));
                }
            }
        }
        let r = Reviews {
            site: d.site_review.state,
            district: d.district_review.state,
        };
        if !consistent(r) {
            broken.push(format!("candidate {cid}: inconsistent levels {r:?}"));
        }
    }
    Ok(broken)
}

/// (candidate, site state, district state, and both per the audit log)
type ReplayRow = (i64, String, String, Option<String>, Option<String>);

/// Over the whole database (after the run): level consistency of every
/// candidate, no passed candidate with an unlocked image, fixed counts,
/// and the audit replay: each touched candidate's latest review event's
/// `after` is the candidate's state now.
pub async fn db_invariants(path: &str, since_ms: i64) -> Result<Vec<String>, String> {
    use sqlx::sqlite::SqliteConnectOptions;
    let opts = SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts)
        .await
        .map_err(|e| e.to_string())?;
    let mut broken = Vec::new();
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, site_state, district_state FROM candidates")
            .fetch_all(&pool)
            .await
            .map_err(|e| e.to_string())?;
    for (id, s, d) in &rows {
        match (ReviewStatus::parse(s), ReviewStatus::parse(d)) {
            (Some(site), Some(district)) => {
                if !consistent(Reviews { site, district }) {
                    broken.push(format!("candidate {id}: {s}/{d} inconsistent"));
                }
            }
            _ => broken.push(format!("candidate {id}: unknown state {s}/{d}")),
        }
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM candidates c WHERE (c.district_state = 'passed' \
         OR (c.site_state = 'passed' AND c.district_state = 'not_started')) AND EXISTS \
         (SELECT 1 FROM images i WHERE i.candidate_id = c.id \
          AND i.phase IN ('draft', 'replace_requested'))",
    )
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    if n > 0 {
        broken.push(format!("{n} passed candidates with an unlocked image"));
    }
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT candidate_id, category, COUNT(*) AS k FROM images \
         WHERE category = 'ID_PROOF' GROUP BY candidate_id, category HAVING k > 2)",
    )
    .fetch_one(&pool)
    .await
    .map_err(|e| e.to_string())?;
    if n > 0 {
        broken.push(format!("{n} candidates with more than 2 ID_PROOF images"));
    }
    let mismatched: Vec<ReplayRow> = sqlx::query_as(
        "SELECT c.id, c.site_state, c.district_state, \
             json_extract(a.after, '$.site.state'), json_extract(a.after, '$.district.state') \
             FROM candidates c JOIN audit a ON a.id = (SELECT MAX(x.id) FROM audit x \
               WHERE x.candidate_id = c.id AND json_extract(x.after, '$.site.state') IS NOT NULL) \
             WHERE c.id IN (SELECT candidate_id FROM audit WHERE at >= ?)",
    )
    .bind(since_ms)
    .fetch_all(&pool)
    .await
    .map_err(|e| e.to_string())?;
    let mut replayed = 0;
    for (id, s, d, a_s, a_d) in mismatched {
        replayed += 1;
        if a_s.as_deref() != Some(s.as_str()) || a_d.as_deref() != Some(d.as_str()) {
            broken.push(format!(
                "candidate {id}: state {s}/{d}, audit says {a_s:?}/{a_d:?}"
            ));
        }
    }
    println!(
        "db invariants: {} candidates checked, {replayed} audit replays",
        rows.len()
    );
    pool.close().await;
    Ok(broken)
}

/// Every write the run had acknowledged (by its Idempotency-Key) is in the
/// audit log exactly once: none lost, none applied twice.
pub async fn exactly_once(
    path: &str,
    since_ms: i64,
    acked: &[String],
) -> Result<Vec<String>, String> {
    use sqlx::sqlite::SqliteConnectOptions;
    let opts = SqliteConnectOptions::new().filename(path).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(opts)
        .await
        .map_err(|e| e.to_string())?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT idempotency_key, COUNT(*) FROM audit WHERE at >= ? \
         AND idempotency_key IS NOT NULL GROUP BY idempotency_key",
    )
    .bind(since_ms)
    .fetch_all(&pool)
    .await
    .map_err(|e| e.to_string())?;
    pool.close().await;
    let seen: std::collections::HashMap<String, i64> = rows.into_iter().collect();
    let mut broken = Vec::new();
    let (mut missing, mut twice) = (0, 0);
    for k in acked {
        match seen.get(k) {
            None => missing += 1,
            Some(1) => {}
            Some(_) => twice += 1,
        }
    }
    let extra = seen.values().filter(|n| **n > 1).count();
    if missing > 0 {
        broken.push(format!(
            "{missing} acknowledged writes missing from the audit log"
        ));
    }
    if twice > 0 || extra > 0 {
        broken.push(format!("{} keys applied more than once", twice.max(extra)));
    }
    println!(
        "exactly once: {} acknowledged writes, {} keyed audit events since the start; \
         missing {missing}, duplicated {}",
        acked.len(),
        seen.len(),
        twice.max(extra)
    );
    Ok(broken)
}
