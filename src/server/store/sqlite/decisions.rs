//! A reviewer acting on a candidate as a whole: deciding at their level,
//! claiming and releasing the candidate while they look, writing to the
//! candidate's feedback thread, and revealing the unmasked ID number. Each
//! is one transaction that checks the claim and the version, asks the
//! review state machine, and leaves an audit event.

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::sqlite::SqliteConnection;

use super::audit::{AuditInsert, applied_before, insert_audit, stale};
use super::rows::{CandRow, ReviewSnap, load_cand, load_cand_scoped, next_snap, write_reviews};
use super::{SqliteStore, from_ms, ms, to_json};
use crate::api::dto::{ClaimDto, DecisionResponse, FeedbackDto, RevealResponse};
use crate::domain::audit::{AuditAction, FeedbackChannel};
use crate::domain::claim::{ClaimOutcome, claim as domain_claim};
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::domain::review::{self as review, Decision, Level, ReviewEvent};
use crate::server::messages;
use crate::server::store::{Change, Ctx, DecisionInput, ReviewerInfo, StoreError, StoreResult};

pub(super) async fn insert_feedback(
    conn: &mut SqliteConnection,
    candidate_id: i64,
    channel: FeedbackChannel,
    body: &str,
    author: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar::<_, i64>(
        "INSERT INTO feedback (candidate_id, channel, body, author, created_at) \
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(candidate_id)
    .bind(channel.as_str())
    .bind(body)
    .bind(author)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await?)
}

/// Another reviewer's live claim blocks changes (the console shows who).
pub(super) fn check_claim(c: &CandRow, who: &ReviewerInfo, now: DateTime<Utc>) -> StoreResult<()> {
    match c.live_claim(now) {
        Some(cl) if cl.reviewer != who.username => Err(StoreError::Claimed {
            held_by: cl.reviewer,
            held_until: cl.expires_at,
        }),
        _ => Ok(()),
    }
}

impl SqliteStore {
    pub(super) async fn feedback_of(
        conn: &mut SqliteConnection,
        candidate_id: i64,
    ) -> StoreResult<Vec<FeedbackDto>> {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
            "SELECT id, channel, body, author, created_at FROM feedback WHERE candidate_id = ? \
             AND withdrawn_by IS NULL ORDER BY id DESC",
        )
        .bind(candidate_id)
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .map(|(id, ch, body, author, at)| {
                Ok(FeedbackDto {
                    id,
                    channel: FeedbackChannel::parse(&ch)
                        .ok_or_else(|| StoreError::Corrupt(format!("channel {ch:?}")))?,
                    body,
                    author,
                    created_at: from_ms(at),
                })
            })
            .collect()
    }

    pub(super) fn decide<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        input: DecisionInput,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(DecisionResponse, Change)>> {
        Box::pin(async move {
            if input.decision.needs_reasons() || !input.reasons.is_empty() {
                validate_reasons(
                    ReasonTarget::Candidate,
                    &input.reasons,
                    input.note.as_deref(),
                )?;
            }
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            // The idempotency layer stores its answer after this commit; a
            // crash in between leaves the retry to us. The audit already
            // holds the decision under this key: answer again, do not act.
            if let Some(audit_id) = applied_before(
                &mut tx,
                ctx.idempotency_key.as_deref(),
                &who.username,
                &format!("candidate:{}", c.id),
                AuditAction::Decision,
            )
            .await?
            {
                let snap = c.snap()?;
                tx.commit().await?;
                let change = c.change(&who.username, AuditAction::Decision.as_str(), ctx.now)?;
                return Ok((
                    DecisionResponse {
                        candidate_id: c.id,
                        site_review: snap.site.dto(),
                        district_review: snap.district.dto(),
                        candidate_version: c.version,
                        audit_id,
                    },
                    change,
                ));
            }
            if input.level != who.level {
                return Err(StoreError::WrongLevel(format!(
                    "you review at the {} level, not the {} level",
                    who.level.as_str(),
                    input.level.as_str()
                )));
            }
            check_claim(&c, who, ctx.now)?;
            if let Some(v) = ctx.expected_version
                && v != c.version
            {
                return Err(stale(&mut tx, None, c.id, c.version).await);
            }
            let before = c.snap()?;
            let next = review::transition(
                before.reviews(),
                ReviewEvent::Decide(input.level, input.decision),
            )
            .map_err(StoreError::Review)?;
            if input.decision == Decision::Pass {
                let unlocked: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM images WHERE candidate_id = ? \
                     AND phase IN ('draft', 'replace_requested')",
                )
                .bind(c.id)
                .fetch_one(&mut *tx)
                .await?;
                if unlocked > 0 {
                    return Err(StoreError::UnlockedImages(unlocked));
                }
            }
            let before = ReviewSnap {
                level: Some(input.level),
                ..before
            };
            let after = next_snap(
                &before,
                next,
                Some((input.level, &input, &who.username)),
                ctx.now,
            );
            write_reviews(&mut tx, c.id, &after, ctx.now).await?;
            // A decision ends the reviewer's look at the candidate.
            sqlx::query(
                "UPDATE candidates SET claim_reviewer = NULL, claim_expires_at = NULL \
                 WHERE id = ? AND claim_reviewer = ?",
            )
            .bind(c.id)
            .bind(&who.username)
            .execute(&mut *tx)
            .await?;
            let level_snap = match input.level {
                Level::Site => &after.site,
                Level::District => &after.district,
            };
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::Decision,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: to_json(&before),
                    after: to_json(&after),
                    reasons: &level_snap.reasons,
                    note: level_snap.note.as_deref(),
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            let message = match input.decision {
                Decision::Pending => Some(messages::pending(
                    input.level,
                    &level_snap.reasons,
                    level_snap.note.as_deref(),
                )),
                Decision::Reject => Some(messages::rejected(
                    input.level,
                    &level_snap.reasons,
                    level_snap.note.as_deref(),
                )),
                Decision::Pass | Decision::Return => None,
            };
            if let Some(body) = message {
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
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            self.changed();
            let change = c.change(
                &who.username,
                &format!(
                    "{}.{}",
                    AuditAction::Decision.as_str(),
                    input.decision.as_str()
                ),
                ctx.now,
            )?;
            Ok((
                DecisionResponse {
                    candidate_id: c.id,
                    site_review: after.site.dto(),
                    district_review: after.district.dto(),
                    candidate_version: c.version,
                    audit_id,
                },
                change,
            ))
        })
    }

    pub(super) fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let current = c
                .claim_reviewer
                .clone()
                .zip(c.claim_expires_at)
                .map(|(r, e)| crate::domain::claim::Claim {
                    reviewer: r,
                    expires_at: from_ms(e),
                });
            match domain_claim(current.as_ref(), &who.username, now) {
                ClaimOutcome::HeldBy(cl) => Err(StoreError::Claimed {
                    held_by: cl.reviewer,
                    held_until: cl.expires_at,
                }),
                ClaimOutcome::Granted(cl) => {
                    let renewal = current
                        .as_ref()
                        .is_some_and(|x| x.reviewer == who.username && x.is_live(now));
                    if !renewal {
                        // Whoever held it before has left: windows past
                        // their minutes close for good (a comeback does
                        // not reopen them).
                        super::finality::seal(
                            &mut tx,
                            &[c.id],
                            now,
                            self.undo_window,
                            super::finality::Why::Left,
                        )
                        .await?;
                    }
                    sqlx::query(
                        "UPDATE candidates SET claim_reviewer = ?, claim_expires_at = ? WHERE id = ?",
                    )
                    .bind(&cl.reviewer)
                    .bind(ms(cl.expires_at))
                    .bind(c.id)
                    .execute(&mut *tx)
                    .await?;
                    let c = load_cand(&mut tx, c.id).await?;
                    tx.commit().await?;
                    Ok((
                        ClaimDto {
                            reviewer: cl.reviewer,
                            expires_at: cl.expires_at,
                            mine: true,
                        },
                        c.change(&who.username, "claim", now)?,
                    ))
                }
            }
        })
    }

    pub(super) fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            if c.claim_reviewer.as_deref() != Some(who.username.as_str()) {
                tx.commit().await?;
                return Ok(None);
            }
            sqlx::query(
                "UPDATE candidates SET claim_reviewer = NULL, claim_expires_at = NULL WHERE id = ?",
            )
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
            let c = load_cand(&mut tx, c.id).await?;
            tx.commit().await?;
            Ok(Some(c.change(&who.username, "release", now)?))
        })
    }

    pub(super) fn add_feedback<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        channel: FeedbackChannel,
        body: String,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<FeedbackDto>> {
        Box::pin(async move {
            let body = body.trim().to_string();
            if body.is_empty() {
                return Err(StoreError::Invalid {
                    code: "invalid_field",
                    detail: "the feedback body is empty".into(),
                });
            }
            if body.chars().count() > crate::domain::audit::MAX_FEEDBACK_CHARS {
                return Err(StoreError::Invalid {
                    code: "note_too_long",
                    detail: format!(
                        "feedback is limited to {} characters",
                        crate::domain::audit::MAX_FEEDBACK_CHARS
                    ),
                });
            }
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let id = insert_feedback(&mut tx, c.id, channel, &body, &who.username, ctx.now).await?;
            insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::Feedback,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: "null".into(),
                    after: to_json(&serde_json::json!({ "feedback_id": id, "channel": channel })),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            tx.commit().await?;
            Ok(FeedbackDto {
                id,
                channel,
                body,
                author: who.username.clone(),
                created_at: ctx.now,
            })
        })
    }

    pub(super) fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>> {
        Box::pin(async move {
            let mut tx = self.begin().await?;
            let c = load_cand_scoped(&mut tx, candidate_id, who).await?;
            let audit_id = insert_audit(
                &mut tx,
                AuditInsert {
                    at: ctx.now,
                    actor: &who.username,
                    action: AuditAction::RevealId,
                    target: format!("candidate:{}", c.id),
                    candidate_id: c.id,
                    before: "null".into(),
                    after: "null".into(),
                    reasons: &[],
                    note: None,
                    idempotency_key: ctx.idempotency_key.as_deref(),
                    undoes: None,
                },
            )
            .await?;
            tx.commit().await?;
            Ok(RevealResponse {
                id_number: c.id_number,
                audit_id,
            })
        })
    }
}
