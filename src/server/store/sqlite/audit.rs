//! The audit trail: every change is an event with a before and an after,
//! written in the change's own transaction. Here are writing an event,
//! finding the one an earlier attempt of a request left (idempotency that
//! survives a crash), naming who changed a stale row, listing a candidate's
//! trail, undoing a lock, unlock or decision from its snapshots, and the
//! stored responses that `Idempotency-Key` replays answer with.

use crate::server::store::row::row_struct;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;

use super::decisions::check_claim;
use super::finality;
use super::rows::{
    ImageSnap, ReviewSnap, bump_candidate, load_cand_scoped, load_image, write_image_state,
    write_reviews,
};
use super::script::Script;
use super::{SqliteStore, from_ms, json_list, ms, to_json};
use crate::api::dto::{AuditEventDto, UndoResponse};
use crate::domain::audit::AuditAction;
use crate::server::store::{
    Change, Ctx, ReplaySlot, ReviewerInfo, StoreError, StoreResult, StoredResponse,
};

pub(super) struct AuditInsert<'a> {
    pub(super) at: DateTime<Utc>,
    pub(super) actor: &'a str,
    pub(super) action: AuditAction,
    pub(super) target: String,
    pub(super) candidate_id: i64,
    pub(super) before: String,
    pub(super) after: String,
    pub(super) reasons: &'a [String],
    pub(super) note: Option<&'a str>,
    pub(super) idempotency_key: Option<&'a str>,
    pub(super) undoes: Option<i64>,
}

/// Append the event's INSERT (`RETURNING id`: one row) to a script.
pub(super) fn insert_audit_into(s: &mut Script, a: AuditInsert<'_>) {
    s.sql(
        "INSERT INTO audit (at, actor, action, target, candidate_id, before, after, reasons, note, \
         idempotency_key, undoes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(ms(a.at))
    .bind(a.actor.to_string())
    .bind(a.action.as_str())
    .bind(a.target)
    .bind(a.candidate_id)
    .bind(a.before)
    .bind(a.after)
    .bind(to_json(&a.reasons))
    .bind(a.note.map(str::to_string))
    .bind(a.idempotency_key.map(str::to_string))
    .bind(a.undoes);
}

pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    a: AuditInsert<'_>,
) -> StoreResult<i64> {
    let mut s = Script::default();
    insert_audit_into(&mut s, a);
    s.run(conn).await?.next_id()
}

/// The audit event an earlier attempt of this request left, as a scalar
/// subquery binding (key, actor, target, action): a unit of work asks it in
/// the same statement that loads its row. NULL without a key.
pub(super) const REPLAY_OF: &str = "SELECT a.id FROM audit a WHERE a.idempotency_key = ? \
    AND a.actor = ? AND a.target = ? AND a.action = ? ORDER BY a.id LIMIT 1";

/// The answer of a judging action (lock, unlock, decision, feedback, undo),
/// stored in the action's own savepoint: it commits with the action or not
/// at all, so a retry after a crash between the commit and the answer
/// replays it instead of acting again, and no second writer job is needed
/// to store it. The body is the
/// JSON the handler sends (`axum::Json` writes it with the same
/// `serde_json`, byte for byte).
pub(super) async fn store_replay(
    conn: &mut SqliteConnection,
    slot: Option<&ReplaySlot>,
    status: u16,
    body: &impl serde::Serialize,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(slot) = slot else {
        return Ok(());
    };
    sqlx::query(
        "INSERT OR IGNORE INTO idempotency (actor, key, fingerprint, status, \
         content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&slot.actor)
    .bind(&slot.key)
    .bind(&slot.fingerprint)
    .bind(i64::from(status))
    .bind("application/json")
    .bind(serde_json::to_vec(body)?)
    .bind(ms(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The 409 for a stale version: who made the latest change, and when.
pub(super) async fn stale(
    conn: &mut SqliteConnection,
    image_target: Option<i64>,
    candidate_id: i64,
    current_version: i64,
) -> StoreError {
    // The image's own latest event; an image nobody has judged yet was
    // last changed by whatever last changed its candidate (a submission).
    let mut row: Result<Option<(String, i64)>, sqlx::Error> = Ok(None);
    if let Some(img) = image_target {
        row =
            sqlx::query_as("SELECT actor, at FROM audit WHERE target = ? ORDER BY id DESC LIMIT 1")
                .bind(format!("image:{img}"))
                .fetch_optional(&mut *conn)
                .await;
    }
    if matches!(row, Ok(None)) {
        row = sqlx::query_as(
            "SELECT actor, at FROM audit WHERE candidate_id = ? AND action NOT IN \
             ('candidate.reveal_id', 'candidate.feedback') ORDER BY id DESC LIMIT 1",
        )
        .bind(candidate_id)
        .fetch_optional(&mut *conn)
        .await;
    }
    match row {
        Ok(r) => StoreError::Stale {
            changed_by: r.as_ref().map(|(a, _)| a.clone()),
            changed_at: r.map(|(_, at)| from_ms(at)),
            current_version,
        },
        Err(e) => StoreError::Db(e),
    }
}

row_struct! {
    ::sqlx::Sqlite;
    #[derive(Debug, Clone)]
    struct AuditRow {
        id: i64,
        at: i64,
        actor: String,
        action: String,
        target: String,
        candidate_id: i64,
        before: String,
        after: String,
        reasons: String,
        note: Option<String>,
        idempotency_key: Option<String>,
        undoes: Option<i64>,
        undone_by: Option<i64>,
    }
}

impl AuditRow {
    fn dto(self) -> StoreResult<AuditEventDto> {
        Ok(AuditEventDto {
            id: self.id,
            at: from_ms(self.at),
            actor: self.actor,
            action: self.action,
            target: self.target,
            candidate_id: self.candidate_id,
            before: serde_json::from_str(&self.before)?,
            after: serde_json::from_str(&self.after)?,
            reasons: json_list(&self.reasons)?,
            note: self.note,
            idempotency_key: self.idempotency_key,
            undoes: self.undoes,
            undone_by: self.undone_by,
        })
    }
}

const AUDIT_SELECT: &str = "SELECT a.id, a.at, a.actor, a.action, a.target, a.candidate_id, \
    a.before, a.after, a.reasons, a.note, a.idempotency_key, a.undoes, \
    (SELECT u.id FROM audit u WHERE u.undoes = a.id) AS undone_by FROM audit a";

impl SqliteStore {
    pub(super) fn stored_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredResponse>>> {
        Box::pin(async move {
            let row: Option<(String, i64, Option<String>, Vec<u8>)> = sqlx::query_as(
                "SELECT fingerprint, status, content_type, body FROM idempotency \
                 WHERE actor = ? AND key = ?",
            )
            .bind(actor)
            .bind(key)
            .fetch_optional(&mut *self.reads.get().await?)
            .await?;
            Ok(
                row.map(|(fingerprint, status, content_type, body)| StoredResponse {
                    fingerprint,
                    status: u16::try_from(status).unwrap_or(500),
                    content_type,
                    body,
                }),
            )
        })
    }

    pub(super) fn store_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
        r: &'a StoredResponse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (actor, key, r) = (actor.to_string(), key.to_string(), r.clone());
        Box::pin(self.write(move |conn| {
            Box::pin(async move {
                sqlx::query(
                    "INSERT OR IGNORE INTO idempotency (actor, key, fingerprint, status, \
                     content_type, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(actor)
                .bind(key)
                .bind(r.fingerprint)
                .bind(i64::from(r.status))
                .bind(r.content_type)
                .bind(r.body)
                .bind(ms(now))
                .execute(&mut *conn)
                .await?;
                Ok(())
            })
        }))
    }

    pub(super) fn audit<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEventDto>>> {
        Box::pin(async move {
            let mut conn = self.reads.get().await?;
            load_cand_scoped(&mut conn, candidate_id, who).await?;
            let rows: Vec<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{AUDIT_SELECT} WHERE a.candidate_id = ? ORDER BY a.id"
            )))
            .bind(candidate_id)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter().map(AuditRow::dto).collect()
        })
    }

    pub(super) fn undo<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        event_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(UndoResponse, Change)>> {
        Box::pin(async move {
            let who = who.clone();
            let window = self.undo_window;
            self.write(move |conn| Box::pin(undo_in(conn, who, event_id, ctx, window)))
                .await
        })
    }
}

async fn undo_in(
    conn: &mut SqliteConnection,
    who: ReviewerInfo,
    event_id: i64,
    ctx: Ctx,
    window: chrono::Duration,
) -> StoreResult<(UndoResponse, Change)> {
    let who = &who;
    let ev: AuditRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{AUDIT_SELECT} WHERE a.id = ?"
    )))
    .bind(event_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    let c = load_cand_scoped(&mut *conn, ev.candidate_id, who).await?;
    let action = AuditAction::parse(&ev.action)
        .ok_or_else(|| StoreError::Corrupt(format!("audit action {:?}", ev.action)))?;
    if !action.undoable() {
        return Err(StoreError::NotUndoable(format!(
            "{} cannot be undone",
            ev.action
        )));
    }
    if let Some(u) = ev.undone_by {
        return Err(StoreError::UndoConflict(format!(
            "event {event_id} was already undone by event {u}"
        )));
    }
    let recorded = finality::is_final(&mut *conn, ev.id).await?;
    let facts = finality::facts(&c, &ev.actor, ev.at, recorded, ctx.now);
    if !crate::domain::undo_window::is_open(facts, ctx.now, window) {
        return Err(StoreError::UndoWindowClosed(format!(
            "event {event_id} is final: its undo window ({} s, or while its reviewer \
             stays on the candidate) has closed",
            window.num_seconds()
        )));
    }
    check_claim(&c, who, ctx.now)?;
    if let Some(v) = ctx.expected_version
        && v != c.version
    {
        return Err(stale(&mut *conn, None, c.id, c.version).await);
    }
    let (before_json, after_json, target, c) = match action {
        AuditAction::ImageLock | AuditAction::ImageUnlock => {
            let before: ImageSnap = serde_json::from_str(&ev.before)?;
            let after: ImageSnap = serde_json::from_str(&ev.after)?;
            if before.level.is_some_and(|l| l != who.level) {
                return Err(StoreError::WrongLevel(
                    "this image was judged at the other level".into(),
                ));
            }
            let image_id: i64 = ev
                .target
                .strip_prefix("image:")
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StoreError::Corrupt(format!("target {:?}", ev.target)))?;
            let img = load_image(&mut *conn, image_id)
                .await
                .map_err(|e| match e {
                    StoreError::NotFound => {
                        StoreError::UndoConflict("the image has been deleted since".into())
                    }
                    other => other,
                })?;
            let current = img.snap(Some(who.level))?;
            if !current.same_state(&after) {
                return Err(StoreError::UndoConflict(
                    "the image has changed since; undo would lose that change".into(),
                ));
            }
            if !c.reviews()?.reviewer_may_judge_images(who.level) {
                return Err(StoreError::UndoConflict(
                    "the candidate is no longer awaiting review at your level".into(),
                ));
            }
            let restored = ImageSnap {
                level: Some(who.level),
                ..before
            };
            write_image_state(&mut *conn, image_id, &restored).await?;
            let c = bump_candidate(&mut *conn, c.id, ctx.now).await?;
            (to_json(&current), to_json(&restored), ev.target.clone(), c)
        }
        AuditAction::Decision => {
            let before: ReviewSnap = serde_json::from_str(&ev.before)?;
            let after: ReviewSnap = serde_json::from_str(&ev.after)?;
            if after.level.is_some_and(|l| l != who.level) {
                return Err(StoreError::WrongLevel(
                    "this decision was made at the other level".into(),
                ));
            }
            let current = c.snap()?;
            if !current.same_state(&after) {
                return Err(StoreError::UndoConflict(
                    "the candidate has changed since; undo would lose that change".into(),
                ));
            }
            let restored = ReviewSnap {
                level: after.level,
                ..before
            };
            let c = write_reviews(&mut *conn, c.id, &restored, ctx.now, None).await?;
            let current = ReviewSnap {
                level: after.level,
                ..current
            };
            (to_json(&current), to_json(&restored), ev.target.clone(), c)
        }
        _ => {
            return Err(StoreError::NotUndoable(format!(
                "{} cannot be undone",
                ev.action
            )));
        }
    };
    let audit_id = insert_audit(
        &mut *conn,
        AuditInsert {
            at: ctx.now,
            actor: &who.username,
            action: AuditAction::Undo,
            target,
            candidate_id: c.id,
            before: before_json,
            after: after_json,
            reasons: &[],
            note: None,
            idempotency_key: ctx.idempotency_key.as_deref(),
            undoes: Some(event_id),
        },
    )
    .await?;
    // What the event told the candidate no longer stands.
    finality::withdraw_messages(&mut *conn, c.id, &ev.actor, ev.at, audit_id).await?;
    let detail = SqliteStore::detail_in(&mut *conn, who, &c, ctx.now).await?;
    let change = c
        .logged_change(
            &mut *conn,
            &who.username,
            AuditAction::Undo.as_str(),
            ctx.now,
        )
        .await?;
    let resp = UndoResponse {
        audit_id,
        undone: event_id,
        candidate: detail,
    };
    store_replay(&mut *conn, ctx.replay.as_ref(), 200, &resp, ctx.now).await?;
    Ok((resp, change))
}
