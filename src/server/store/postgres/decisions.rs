//! A reviewer acting on a candidate as a whole: deciding at their level,
//! claiming and releasing the candidate while they look, writing to the
//! candidate's feedback thread, and revealing the unmasked ID number. Each
//! is one transaction that checks the claim and the version, asks the
//! review state machine, and leaves an audit event.

use crate::server::store::row::row_struct;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::postgres::PgConnection;

use super::audit::{AuditInsert, REPLAY_OF, insert_audit, insert_audit_into, stale, store_replay};
use super::rows::{
    CAND_COLS, CandRow, ReviewSnap, load_cand_scoped, lock_cand, lock_cand_scoped, next_snap,
    write_reviews_into,
};
use super::script::{Script, q};
use super::{PgStore, from_ms, ms, to_json};
use crate::api::dto::{ClaimDto, DecisionResponse, FeedbackDto, RevealResponse};
use crate::domain::audit::{AuditAction, FeedbackChannel};
use crate::domain::claim::{ClaimOutcome, claim as domain_claim};
use crate::domain::reason::{ReasonTarget, validate_reasons};
use crate::domain::review::{self as review, Decision, Level, ReviewEvent};
use crate::server::messages;
use crate::server::store::{Change, Ctx, DecisionInput, ReviewerInfo, StoreError, StoreResult};

/// Append a feedback message's INSERT (`RETURNING id`: one row).
pub(super) fn insert_feedback_into(
    s: &mut Script,
    candidate_id: i64,
    channel: FeedbackChannel,
    body: &str,
    author: &str,
    now: DateTime<Utc>,
) {
    s.sql(
        "INSERT INTO feedback (candidate_id, channel, body, author, created_at) \
         VALUES (?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(candidate_id)
    .bind(channel.as_str())
    .bind(body.to_string())
    .bind(author.to_string())
    .bind(ms(now));
}

pub(super) async fn insert_feedback(
    conn: &mut PgConnection,
    candidate_id: i64,
    channel: FeedbackChannel,
    body: &str,
    author: &str,
    now: DateTime<Utc>,
) -> StoreResult<i64> {
    let mut s = Script::default();
    insert_feedback_into(&mut s, candidate_id, channel, body, author, now);
    s.run(conn).await?.next_id()
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

impl PgStore {
    pub(super) async fn feedback_of(
        conn: &mut PgConnection,
        candidate_id: i64,
    ) -> StoreResult<Vec<FeedbackDto>> {
        let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(q(
            "SELECT id, channel, body, author, created_at FROM feedback WHERE candidate_id = ? \
             AND withdrawn_by IS NULL ORDER BY id DESC",
        ))
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
            let who = who.clone();
            self.write(move |conn| {
                Box::pin(async move {
                    let (slot, now) = (ctx.replay.clone(), ctx.now);
                    let (resp, change) =
                        decide_in(&mut *conn, who, candidate_id, input, ctx).await?;
                    store_replay(&mut *conn, slot.as_ref(), 200, &resp, now).await?;
                    Ok((resp, change))
                })
            })
            .await
        })
    }

    pub(super) fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>> {
        let who = who.clone();
        let window = self.undo_window;
        Box::pin(self.write(move |conn| Box::pin(claim_in(conn, who, candidate_id, now, window))))
    }

    pub(super) fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>> {
        let who = who.clone();
        Box::pin(self.write(move |conn| Box::pin(release_in(conn, who, candidate_id, now))))
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
            let who = who.clone();
            self.write(move |conn| {
                Box::pin(async move {
                    let c = load_cand_scoped(&mut *conn, candidate_id, &who).await?;
                    let id =
                        insert_feedback(&mut *conn, c.id, channel, &body, &who.username, ctx.now)
                            .await?;
                    insert_audit(
                        &mut *conn,
                        AuditInsert {
                            at: ctx.now,
                            actor: &who.username,
                            action: AuditAction::Feedback,
                            target: format!("candidate:{}", c.id),
                            candidate_id: c.id,
                            before: "null".into(),
                            after: to_json(
                                &serde_json::json!({ "feedback_id": id, "channel": channel }),
                            ),
                            reasons: &[],
                            note: None,
                            idempotency_key: ctx.idempotency_key.as_deref(),
                            undoes: None,
                        },
                    )
                    .await?;
                    let fb = FeedbackDto {
                        id,
                        channel,
                        body,
                        author: who.username.clone(),
                        created_at: ctx.now,
                    };
                    store_replay(&mut *conn, ctx.replay.as_ref(), 201, &fb, ctx.now).await?;
                    Ok(fb)
                })
            })
            .await
        })
    }

    pub(super) fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>> {
        let who = who.clone();
        Box::pin(self.write(move |conn| {
            Box::pin(async move {
                let c = load_cand_scoped(&mut *conn, candidate_id, &who).await?;
                let audit_id = insert_audit(
                    &mut *conn,
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
                Ok(RevealResponse {
                    id_number: c.id_number,
                    audit_id,
                })
            })
        }))
    }
}

row_struct! {
    ::sqlx::Postgres;
    /// The candidate as a decision needs it, in one statement: the row, the
    /// audit event an earlier attempt with this key left (if any), and how many
    /// of its images are unlocked (a pass needs none).
    struct ForDecision {
        flatten c: CandRow,
        replay_of: Option<i64>,
        unlocked: i64,
    }
}

async fn decide_in(
    conn: &mut PgConnection,
    who: ReviewerInfo,
    candidate_id: i64,
    input: DecisionInput,
    ctx: Ctx,
) -> StoreResult<(DecisionResponse, Change)> {
    let who = &who;
    let target = format!("candidate:{candidate_id}");
    // The lock first, in a statement of its own: the load below then sees
    // whatever an earlier attempt with this key committed meanwhile.
    lock_cand(&mut *conn, candidate_id).await?;
    let ForDecision {
        c,
        replay_of,
        unlocked,
    } = sqlx::query_as::<_, ForDecision>(q(&format!(
        "SELECT {CAND_COLS}, ({REPLAY_OF}) AS replay_of, \
         (SELECT COUNT(*) FROM images i WHERE i.candidate_id = candidates.id \
          AND i.phase IN ('draft', 'replace_requested')) AS unlocked \
         FROM candidates WHERE id = ?"
    )))
    .bind(ctx.idempotency_key.as_deref())
    .bind(&who.username)
    .bind(&target)
    .bind(AuditAction::Decision.as_str())
    .bind(candidate_id)
    .fetch_optional(&mut *conn)
    .await?
    .filter(|f| f.c.in_scope(who))
    .ok_or(StoreError::NotFound)?;
    // The idempotency layer stores its answer after this commit; a crash
    // in between leaves the retry to us. The audit already holds the
    // decision under this key: answer again, do not act.
    if let Some(audit_id) = replay_of {
        let snap = c.snap()?;
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
        return Err(stale(&mut *conn, None, c.id, c.version).await);
    }
    let before = c.snap()?;
    let next = review::transition(
        before.reviews(),
        ReviewEvent::Decide(input.level, input.decision),
    )
    .map_err(StoreError::Review)?;
    if input.decision == Decision::Pass && unlocked > 0 {
        return Err(StoreError::UnlockedImages(unlocked));
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
    // The writes in one round trip: the reviews (a decision also ends the
    // reviewer's look at the candidate), the audit event, the message.
    let mut script = Script::default();
    write_reviews_into(&mut script, c.id, &after, ctx.now, Some(&who.username));
    let level_snap = match input.level {
        Level::Site => &after.site,
        Level::District => &after.district,
    };
    insert_audit_into(
        &mut script,
        AuditInsert {
            at: ctx.now,
            actor: &who.username,
            action: AuditAction::Decision,
            target,
            candidate_id: c.id,
            before: to_json(&before),
            after: to_json(&after),
            reasons: &level_snap.reasons,
            note: level_snap.note.as_deref(),
            idempotency_key: ctx.idempotency_key.as_deref(),
            undoes: None,
        },
    );
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
    let c: CandRow = rows.next()?;
    let audit_id = rows.next_id()?;
    let change = c
        .logged_change(
            &mut *conn,
            &who.username,
            &format!(
                "{}.{}",
                AuditAction::Decision.as_str(),
                input.decision.as_str()
            ),
            ctx.now,
        )
        .await?;
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
}

async fn claim_in(
    conn: &mut PgConnection,
    who: ReviewerInfo,
    candidate_id: i64,
    now: DateTime<Utc>,
    window: chrono::Duration,
) -> StoreResult<(ClaimDto, Change)> {
    let c = lock_cand_scoped(&mut *conn, candidate_id, &who).await?;
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
                // Whoever held it before has left: windows past their
                // minutes close for good (a comeback does not reopen them).
                super::finality::seal(&mut *conn, &[c.id], now, window, super::finality::Why::Left)
                    .await?;
            }
            let c = set_claim(&mut *conn, c.id, Some((&cl.reviewer, ms(cl.expires_at)))).await?;
            Ok((
                ClaimDto {
                    reviewer: cl.reviewer,
                    expires_at: cl.expires_at,
                    mine: true,
                },
                c.logged_change(&mut *conn, &who.username, "claim", now)
                    .await?,
            ))
        }
    }
}

async fn release_in(
    conn: &mut PgConnection,
    who: ReviewerInfo,
    candidate_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<Option<Change>> {
    let c = lock_cand_scoped(&mut *conn, candidate_id, &who).await?;
    if c.claim_reviewer.as_deref() != Some(who.username.as_str()) {
        return Ok(None);
    }
    let c = set_claim(&mut *conn, c.id, None).await?;
    Ok(Some(
        c.logged_change(&mut *conn, &who.username, "release", now)
            .await?,
    ))
}

/// Set or end the claim on a candidate; returns the row as it is now.
async fn set_claim(
    conn: &mut PgConnection,
    id: i64,
    claim: Option<(&str, i64)>,
) -> StoreResult<CandRow> {
    sqlx::query_as::<_, CandRow>(q(&format!(
        "UPDATE candidates SET claim_reviewer = ?, claim_expires_at = ? WHERE id = ? \
         RETURNING {CAND_COLS}"
    )))
    .bind(claim.map(|(r, _)| r))
    .bind(claim.map(|(_, e)| e))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)
}
