//! Images from the reviewer's side: serving an image's bytes within the
//! caller's scope (and a candidate's own), and locking or unlocking one
//! image through the image state machine, with the system feedback an
//! unlock sends the candidate.

use super::audit::{AuditInsert, applied_before, insert_audit, stale};
use super::decisions::{check_claim, insert_feedback};
use super::rows::{
    ImageSnap, bump_candidate, load_cand, load_cand_scoped, load_image, write_image_state,
};
use super::{SqliteStore, to_json};
use crate::api::dto::ImageActionResponse;
use crate::domain::audit::{AuditAction, FeedbackChannel};
use crate::domain::image::{self, ImageEvent, ImageOutcome};
use crate::domain::imaging::{Sniffed, sniff};
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::server::messages;
use crate::server::store::{Blob, Change, Ctx, Judgement, ReviewerInfo, StoreError, StoreResult};
use futures::future::BoxFuture;

fn not_blank(s: Option<String>) -> Option<String> {
    s.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

impl SqliteStore {
    pub(super) fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<Blob>> {
        Box::pin(async move {
            let row: Option<(String, String, Vec<u8>, String, String)> = sqlx::query_as(
                "SELECT b.format, b.sha256, b.bytes, c.district, c.site FROM images i \
                 JOIN blobs b ON b.sha256 = i.sha256 JOIN candidates c ON c.id = i.candidate_id \
                 WHERE i.id = ?",
            )
            .bind(image_id)
            .fetch_optional(&self.pool)
            .await?;
            match row {
                Some((format, sha256, bytes, district, site)) if who.sees(&district, &site) => {
                    blob(format, sha256, bytes)
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
            let mut tx = self.begin().await?;
            let img = load_image(&mut tx, image_id).await?;
            let c = load_cand_scoped(&mut tx, img.candidate_id, who).await?;
            let action = match &judgement {
                Judgement::Lock => AuditAction::ImageLock,
                Judgement::Unlock { .. } => AuditAction::ImageUnlock,
            };
            // Committed before a crash lost the stored answer (see decide).
            if let Some(audit_id) = applied_before(
                &mut tx,
                ctx.idempotency_key.as_deref(),
                &who.username,
                &format!("image:{}", img.id),
                action,
            )
            .await?
            {
                let dups = self
                    .resolve_dups(&mut tx, who, std::slice::from_ref(&img))
                    .await?;
                let dto = Self::image_dto(&img, &dups)?;
                tx.commit().await?;
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
                return Err(stale(&mut tx, Some(img.id), c.id, img.version).await);
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
            let (event, action) = match &judgement {
                Judgement::Lock => (ImageEvent::Lock, AuditAction::ImageLock),
                Judgement::Unlock { .. } => (ImageEvent::Unlock, AuditAction::ImageUnlock),
            };
            let next = match image::transition(before.phase, event).map_err(StoreError::Image)? {
                ImageOutcome::Phase(p) => p,
                ImageOutcome::Removed => {
                    return Err(StoreError::Corrupt("lock removed an image".into()));
                }
            };
            let (reasons, note) = match &judgement {
                Judgement::Lock => (Vec::new(), None),
                Judgement::Unlock { reasons, note } => (reasons.clone(), not_blank(note.clone())),
            };
            let after = ImageSnap {
                level: Some(who.level),
                phase: next,
                reasons: reasons.clone(),
                note: note.clone(),
            };
            write_image_state(&mut tx, img.id, &after).await?;
            bump_candidate(&mut tx, c.id, ctx.now).await?;
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action,
                    target: format!("image:{}", img.id),
                    candidate_id: c.id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: &reasons,
                    note: note.as_deref(),
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            if let Judgement::Unlock { .. } = judgement {
                let body = messages::unlocked(
                    who.level,
                    img.category()?,
                    img.slot(),
                    &reasons,
                    note.as_deref(),
                );
                insert_feedback(
                    &mut tx,
                    c.id,
                    FeedbackChannel::System,
                    &body,
                    &who.username,
                    ctx.now,
                )
                .await?;
            }
            let img = load_image(&mut tx, image_id).await?;
            let c = load_cand(&mut tx, c.id).await?;
            let dups = self
                .resolve_dups(&mut tx, who, std::slice::from_ref(&img))
                .await?;
            let dto = Self::image_dto(&img, &dups)?;
            tx.commit().await?;
            self.changed();
            let change = c.change(&who.username, action.as_str(), ctx.now)?;
            Ok((
                ImageActionResponse {
                    image: dto,
                    candidate_version: c.version,
                    audit_id,
                },
                change,
            ))
        })
    }

    pub(super) fn candidate_blob(
        &self,
        candidate_id: i64,
        image_id: i64,
    ) -> BoxFuture<'_, StoreResult<Blob>> {
        Box::pin(async move {
            let row: Option<(String, String, Vec<u8>)> = sqlx::query_as(
                "SELECT b.format, b.sha256, b.bytes FROM images i \
                 JOIN blobs b ON b.sha256 = i.sha256 WHERE i.id = ? AND i.candidate_id = ?",
            )
            .bind(image_id)
            .bind(candidate_id)
            .fetch_optional(&self.pool)
            .await?;
            let (format, sha256, bytes) = row.ok_or(StoreError::NotFound)?;
            blob(format, sha256, bytes)
        })
    }
}

fn blob(format: String, sha256: String, bytes: Vec<u8>) -> StoreResult<Blob> {
    let format = match sniff(&bytes) {
        Sniffed::Accepted(f) if f.as_str() == format => f,
        _ => {
            return Err(StoreError::Corrupt(format!(
                "blob {sha256} is not {format}"
            )));
        }
    };
    Ok(Blob {
        format,
        sha256,
        bytes,
    })
}
