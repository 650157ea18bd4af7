//! The undo window on the store's side (the rule is
//! [`crate::domain::undo_window`]): the facts an event's window depends on,
//! the system messages an undo withdraws, which candidates still have an
//! open window (nothing about them may leave the system), and recording
//! windows closed for good in `final_events`.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgConnection;
use sqlx::{Postgres, QueryBuilder};

use super::rows::CandRow;
use super::script::q;
use super::{from_ms, ms};
use crate::domain::undo_window::Facts;
use crate::server::store::StoreResult;

/// The audit actions an undo can compensate (`AuditAction::undoable`).
const UNDOABLE: &str = "('image.lock', 'image.unlock', 'candidate.decision')";

/// Why a window closed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// The reviewer left the candidate after the window's minutes.
    Left,
    /// A follow-up list with the candidate was written.
    Exported,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Left => "left",
            Why::Exported => "exported",
        }
    }
}

pub(super) async fn is_final(conn: &mut PgConnection, audit_id: i64) -> StoreResult<bool> {
    let n: i64 = sqlx::query_scalar(q("SELECT COUNT(*) FROM final_events WHERE audit_id = ?"))
        .bind(audit_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// The window's facts for an event by `actor` at `at_ms` on candidate `c`.
pub(super) fn facts(
    c: &CandRow,
    actor: &str,
    at_ms: i64,
    recorded_final: bool,
    now: DateTime<Utc>,
) -> Facts {
    Facts {
        at: from_ms(at_ms),
        actor_present: c.live_claim(now).is_some_and(|cl| cl.reviewer == actor),
        released: recorded_final,
    }
}

/// Withdraw what the undone event wrote to the candidate's page: the system
/// messages of that reviewer on that candidate written in the event's own
/// transaction (they share its time to the millisecond). Kept and marked,
/// never shown again.
pub(super) async fn withdraw_messages(
    conn: &mut PgConnection,
    candidate_id: i64,
    actor: &str,
    at_ms: i64,
    undo_id: i64,
) -> StoreResult<u64> {
    let r = sqlx::query(q(
        "UPDATE feedback SET withdrawn_by = ? WHERE candidate_id = ? AND channel = 'system' \
         AND author = ? AND created_at = ? AND withdrawn_by IS NULL",
    ))
    .bind(undo_id)
    .bind(candidate_id)
    .bind(actor)
    .bind(at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected())
}

/// Live undoable events (not undone, not final) of the candidates in `ids`.
fn live_events(ids: &[i64]) -> QueryBuilder<Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "SELECT a.id, a.candidate_id FROM audit a JOIN candidates c ON c.id = a.candidate_id \
         WHERE a.action IN {UNDOABLE} \
         AND NOT EXISTS (SELECT 1 FROM audit u WHERE u.undoes = a.id) \
         AND NOT EXISTS (SELECT 1 FROM final_events f WHERE f.audit_id = a.id) \
         AND a.candidate_id IN ("
    ));
    let mut sep = qb.separated(", ");
    for id in ids {
        sep.push_bind(*id);
    }
    qb.push(")");
    qb
}

/// The candidates among `ids` with an event that may still be undone
/// (within the window, or its reviewer still on the candidate): their state
/// is not final, so nothing about them may leave the system yet.
pub(super) async fn unsettled(
    conn: &mut PgConnection,
    ids: &[i64],
    now: DateTime<Utc>,
    window: Duration,
) -> StoreResult<HashSet<i64>> {
    let mut out = HashSet::new();
    for chunk in ids.chunks(400) {
        let mut qb = live_events(chunk);
        qb.push(" AND (a.at > ")
            .push_bind(ms(now - window))
            .push(" OR (c.claim_reviewer = a.actor AND c.claim_expires_at > ")
            .push_bind(ms(now))
            .push("))");
        let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
        out.extend(rows.into_iter().map(|(_, c)| c));
    }
    Ok(out)
}

/// Record as final every live event of the candidates in `ids` whose window
/// has closed by `now` (the caller knows their reviewers have left: the
/// candidates are settled, or being claimed anew).
pub(super) async fn seal(
    conn: &mut PgConnection,
    ids: &[i64],
    now: DateTime<Utc>,
    window: Duration,
    why: Why,
) -> StoreResult<()> {
    for chunk in ids.chunks(400) {
        let mut qb = live_events(chunk);
        qb.push(" AND a.at <= ").push_bind(ms(now - window));
        let rows: Vec<(i64, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
        if rows.is_empty() {
            continue;
        }
        let mut ins =
            QueryBuilder::<Postgres>::new("INSERT INTO final_events (audit_id, at, why) ");
        ins.push_values(rows, |mut row, (audit_id, _)| {
            row.push_bind(audit_id)
                .push_bind(ms(now))
                .push_bind(why.as_str());
        });
        ins.push(" ON CONFLICT DO NOTHING");
        ins.build().execute(&mut *conn).await?;
    }
    Ok(())
}
