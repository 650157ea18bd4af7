//! Images from the reviewer's side: serving an image's bytes within the
//! caller's scope (and a candidate's own), and locking or unlocking one
//! image through the image state machine, with the system feedback an
//! unlock sends the candidate.

use crate::server::store::row::row_struct;
use sqlx::sqlite::SqliteConnection;

use super::audit::{AuditInsert, REPLAY_OF, insert_audit_into, stale, store_replay};
use super::decisions::{check_claim, insert_feedback_into};
use super::rows::{
    CAND_COLS, CandRow, IMG_COLS, ImageSnap, ImgRow, bump_into, write_image_state_into,
};
use super::script::Script;
use super::{SqliteStore, ms, to_json};
use crate::api::dto::ImageActionResponse;
use crate::domain::audit::{AuditAction, FeedbackChannel};
use crate::domain::image::{self, ImageEvent, ImageOutcome};
use crate::domain::imaging::Format;
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::server::blobs::Blobs;
use crate::server::messages;
use crate::server::store::{
    BlobRef, Change, Ctx, Judgement, ReviewerInfo, StoreError, StoreResult,
};
use futures::future::BoxFuture;

fn not_blank(s: Option<String>) -> Option<String> {
    s.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

impl SqliteStore {
    pub(super) fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<BlobRef>> {
        Box::pin(async move {
            let row: Option<(String, String, String, String)> = sqlx::query_as(
                "SELECT i.format, i.sha256, c.district, c.site FROM images i \
                 JOIN candidates c ON c.id = i.candidate_id WHERE i.id = ?",
            )
            .bind(image_id)
            .fetch_optional(&mut *self.reads.get().await?)
            .await?;
            match row {
                Some((format, sha256, district, site)) if who.sees(&district, &site) => {
                    blob_ref(&format, sha256)
                }
                _ => Err(StoreError::NotFound),
            }
        })
    }

    pub(super) fn judge_image<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
        judgement: Judgement,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(ImageActionResponse, Change)>> {
        Box::pin(async move {
            if let Judgement::Unlock { reasons, note } = &judgement {
                validate_reasons(ReasonTarget::Image, reasons, note.as_deref())?;
            }
            let who = who.clone();
            self.write(move |conn| {
                Box::pin(async move {
                    let (slot, now) = (ctx.replay.clone(), ctx.now);
                    let (resp, change) =
                        judge_in(&mut *conn, who, image_id, judgement, ctx).await?;
                    store_replay(&mut *conn, slot.as_ref(), 200, &resp, now).await?;
                    Ok((resp, change))
                })
            })
            .await
        })
    }

    pub(super) fn candidate_blob(
        &self,
        candidate_id: i64,
        image_id: i64,
    ) -> BoxFuture<'_, StoreResult<BlobRef>> {
        Box::pin(async move {
            let row: Option<(String, String)> = sqlx::query_as(
                "SELECT format, sha256 FROM images WHERE id = ? AND candidate_id = ?",
            )
            .bind(image_id)
            .bind(candidate_id)
            .fetch_optional(&mut *self.reads.get().await?)
            .await?;
            let (format, sha256) = row.ok_or(StoreError::NotFound)?;
            blob_ref(&format, sha256)
        })
    }
}

impl SqliteStore {
    /// Copy the bytes that versions before the blob store kept in the
    /// database into `blobs`, then empty them there: each row only after
    /// its object is written, so an interrupted move resumes at the next
    /// start and loses nothing. Returns how many moved.
    pub async fn move_legacy_blobs(&self, blobs: &Blobs) -> StoreResult<u64> {
        let mut moved = 0;
        loop {
            let rows: Vec<(String, Vec<u8>)> = sqlx::query_as(
                "SELECT sha256, legacy_bytes FROM blobs WHERE length(legacy_bytes) > 0 LIMIT 64",
            )
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                return Ok(moved);
            }
            for (sha256, bytes) in rows {
                blobs
                    .put(&sha256, bytes.into())
                    .await
                    .map_err(|e| StoreError::Corrupt(format!("moving blob {sha256}: {e}")))?;
                sqlx::query("UPDATE blobs SET legacy_bytes = X'' WHERE sha256 = ?")
                    .bind(&sha256)
                    .execute(&self.pool)
                    .await?;
                moved += 1;
            }
        }
    }
}

/// The blob of an image row; its bytes are checked when read from the
/// blob store.
fn blob_ref(format: &str, sha256: String) -> StoreResult<BlobRef> {
    let format = Format::from_code(format)
        .ok_or_else(|| StoreError::Corrupt(format!("image {sha256} has format {format:?}")))?;
    Ok(BlobRef { format, sha256 })
}

row_struct! {
    ::sqlx::Sqlite;
    /// What a judgement needs, in one statement: the image's candidate, the
    /// image (as a JSON array of its columns), and the audit event an earlier
    /// attempt with this key left (if any).
    struct ForJudgement {
        flatten c: CandRow,
        img: Option<String>,
        replay_of: Option<i64>,
    }
}

async fn judge_in(
    conn: &mut SqliteConnection,
    who: ReviewerInfo,
    image_id: i64,
    judgement: Judgement,
    ctx: Ctx,
) -> StoreResult<(ImageActionResponse, Change)> {
    let who = &who;
    let action = match &judgement {
        Judgement::Lock => AuditAction::ImageLock,
        Judgement::Unlock { .. } => AuditAction::ImageUnlock,
    };
    let target = format!("image:{image_id}");
    let found: Option<ForJudgement> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CAND_COLS}, (SELECT json_array({IMG_COLS}) FROM images WHERE id = ?) AS img, \
         ({REPLAY_OF}) AS replay_of FROM candidates \
         WHERE id = (SELECT candidate_id FROM images WHERE id = ?)"
    )))
    .bind(image_id)
    .bind(ctx.idempotency_key.as_deref())
    .bind(&who.username)
    .bind(&target)
    .bind(action.as_str())
    .bind(image_id)
    .fetch_optional(&mut *conn)
    .await?;
    let ForJudgement { c, img, replay_of } = found
        .filter(|f| f.c.in_scope(who))
        .ok_or(StoreError::NotFound)?;
    let img: ImgRow = serde_json::from_str(img.as_deref().ok_or(StoreError::NotFound)?)?;
    // Committed before a crash lost the stored answer (see decide).
    if let Some(audit_id) = replay_of {
        let dups = SqliteStore::resolve_dups(&mut *conn, who, std::slice::from_ref(&img)).await?;
        let dto = SqliteStore::image_dto(&img, &dups)?;
        let change = c.change(&who.username, action.as_str(), ctx.now)?;
        return Ok((
            ImageActionResponse {
                image: dto,
                candidate_version: c.version,
                audit_id,
            },
            change,
        ));
    }
    check_claim(&c, who, ctx.now)?;
    if let Some(v) = ctx.expected_version
        && v != img.version
    {
        return Err(stale(&mut *conn, Some(img.id), c.id, img.version).await);
    }
    let reviews = c.reviews()?;
    if !reviews.reviewer_may_judge_images(who.level) {
        return Err(StoreError::Invalid {
            code: "invalid_transition",
            detail: format!(
                "images can be judged only while the candidate awaits review at your \
                 level ({})",
                who.level.as_str()
            ),
        });
    }
    let before = img.snap(Some(who.level))?;
    let event = match &judgement {
        Judgement::Lock => ImageEvent::Lock,
        Judgement::Unlock { .. } => ImageEvent::Unlock,
    };
    let next = match image::transition(before.phase, event).map_err(StoreError::Image)? {
        ImageOutcome::Phase(p) => p,
        ImageOutcome::Removed => {
            return Err(StoreError::Corrupt("lock removed an image".into()));
        }
    };
    let (reasons, note) = match judgement {
        Judgement::Lock => (Vec::new(), None),
        Judgement::Unlock { reasons, note } => (reasons, not_blank(note)),
    };
    let after = ImageSnap {
        level: Some(who.level),
        phase: next,
        reasons,
        note,
    };
    // The writes in one round trip: image, candidate, audit, feedback.
    let mut script = Script::default();
    write_image_state_into(&mut script, img.id, &after);
    bump_into(&mut script, c.id, ctx.now);
    insert_audit_into(
        &mut script,
        AuditInsert {
            at: ctx.now,
            actor: &who.username,
            action,
            target,
            candidate_id: c.id,
            before: to_json(&before),
            after: to_json(&after),
            reasons: &after.reasons,
            note: after.note.as_deref(),
            idempotency_key: ctx.idempotency_key.as_deref(),
            undoes: None,
        },
    );
    if action == AuditAction::ImageUnlock {
        let body = messages::unlocked(
            who.level,
            img.category()?,
            img.slot(),
            &after.reasons,
            after.note.as_deref(),
        );
        insert_feedback_into(
            &mut script,
            c.id,
            FeedbackChannel::System,
            &body,
            &who.username,
            ctx.now,
        );
    }
    let mut rows = script.run(&mut *conn).await?;
    let img: ImgRow = rows.next()?;
    let audit_id = rows.next_id()?;
    // The bump as the row now has it (this connection is the only writer).
    let mut c = c;
    c.version += 1;
    c.updated_at = ms(ctx.now);
    let dups = SqliteStore::resolve_dups(&mut *conn, who, std::slice::from_ref(&img)).await?;
    let dto = SqliteStore::image_dto(&img, &dups)?;
    let change = c
        .logged_change(&mut *conn, &who.username, action.as_str(), ctx.now)
        .await?;
    Ok((
        ImageActionResponse {
            image: dto,
            candidate_version: c.version,
            audit_id,
        },
        change,
    ))
}
