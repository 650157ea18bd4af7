//! Images from the reviewer's side: serving an image's bytes within the
//! caller's scope (and a candidate's own), and locking or unlocking one
//! image through the image state machine, with the system feedback an
//! unlock sends the candidate.
//!
//! Image bytes are not in the database (`server::blobs`): [`put_blob`]
//! records a blob's hash and format (uploads, the seed), the two readers
//! say which blob an image is.

use sqlx::postgres::PgConnection;

use super::audit::{AuditInsert, REPLAY_OF, insert_audit_into, stale, store_replay};
use super::decisions::{check_claim, insert_feedback_into};
use super::rows::{ImageSnap, ImgRow, bump_into, load_image, lock_cand, write_image_state_into};
use super::script::{Script, q};
use super::{PgStore, ms, to_json};
use crate::api::dto::ImageActionResponse;
use crate::domain::audit::{AuditAction, FeedbackChannel};
use crate::domain::image::{self, ImageEvent, ImageOutcome};
use crate::domain::imaging::Format;
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::server::messages;
use crate::server::store::{
    BlobRef, Change, Ctx, Judgement, ReviewerInfo, StoreError, StoreResult,
};
use futures::future::BoxFuture;

fn not_blank(s: Option<String>) -> Option<String> {
    s.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

impl PgStore {
    pub(super) fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<BlobRef>> {
        Box::pin(async move {
            let row: Option<(String, String, String, String)> = sqlx::query_as(q(
                "SELECT i.format, i.sha256, c.district, c.site FROM images i \
                 JOIN candidates c ON c.id = i.candidate_id WHERE i.id = ?",
            ))
            .bind(image_id)
            .fetch_optional(&self.pool)
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
            let row: Option<(String, String)> = sqlx::query_as(q(
                "SELECT format, sha256 FROM images WHERE id = ? AND candidate_id = ?",
            ))
            .bind(image_id)
            .bind(candidate_id)
            .fetch_optional(&self.pool)
            .await?;
            let (format, sha256) = row.ok_or(StoreError::NotFound)?;
            blob_ref(&format, sha256)
        })
    }
}

/// Record a blob (its bytes are in the blob store already) once: the same
/// file uploaded twice is one row.
pub(crate) async fn put_blob(
    conn: &mut PgConnection,
    sha256: &str,
    format: &str,
) -> StoreResult<()> {
    sqlx::query(q(
        "INSERT INTO blobs (sha256, format) VALUES (?, ?) ON CONFLICT DO NOTHING",
    ))
    .bind(sha256)
    .bind(format)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The blob of an image row; its bytes are checked when read from the
/// blob store.
fn blob_ref(format: &str, sha256: String) -> StoreResult<BlobRef> {
    let format = Format::from_code(format)
        .ok_or_else(|| StoreError::Corrupt(format!("image {sha256} has format {format:?}")))?;
    Ok(BlobRef { format, sha256 })
}

async fn judge_in(
    conn: &mut PgConnection,
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
    // The image's candidate, locked first: the loads below then see what
    // any earlier attempt with this key committed.
    let cand: Option<i64> = sqlx::query_scalar(q("SELECT candidate_id FROM images WHERE id = ?"))
        .bind(image_id)
        .fetch_optional(&mut *conn)
        .await?;
    let c = lock_cand(&mut *conn, cand.ok_or(StoreError::NotFound)?).await?;
    if !c.in_scope(who) {
        return Err(StoreError::NotFound);
    }
    let img = load_image(&mut *conn, image_id).await?;
    let replay_of: Option<i64> = sqlx::query_scalar(q(REPLAY_OF))
        .bind(ctx.idempotency_key.as_deref())
        .bind(&who.username)
        .bind(&target)
        .bind(action.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    // Committed before a crash lost the stored answer (see decide).
    if let Some(audit_id) = replay_of {
        let dups = PgStore::resolve_dups(&mut *conn, who, std::slice::from_ref(&img)).await?;
        let dto = PgStore::image_dto(&img, &dups)?;
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
    // The bump as the row now has it (the row is locked by us).
    let mut c = c;
    c.version += 1;
    c.updated_at = ms(ctx.now);
    let dups = PgStore::resolve_dups(&mut *conn, who, std::slice::from_ref(&img)).await?;
    let dto = PgStore::image_dto(&img, &dups)?;
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
