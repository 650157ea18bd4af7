//! Handlers of the reviewer side, sessions and reference data.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Extension;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures::{Stream, StreamExt};

use super::auth::{self, Reviewer};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, IdemKey, IfMatch, OptionalJson, SizedJson};
use super::idempotency::StoredWithAction;
use super::store::{
    BlobRef, Change, Ctx, DecisionInput, Judgement, ListQuery, ReplaySlot, Subject, sqlite,
};
use super::stream::{Item, Subscriber};
use super::{AppState, Inner};
use crate::api::dto::*;
use crate::domain::review::ReviewStatus;

pub(crate) fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

fn ctx(key: IdemKey, expected: Option<i64>) -> Ctx {
    Ctx {
        now: Utc::now(),
        idempotency_key: key.0,
        expected_version: expected,
        replay: None,
    }
}

/// For the actions that store their own answer (see `idempotency`).
fn ctx_storing(key: IdemKey, expected: Option<i64>, slot: Option<Extension<ReplaySlot>>) -> Ctx {
    Ctx {
        replay: slot.map(|Extension(s)| s),
        ..ctx(key, expected)
    }
}

/// Liveness: answers as long as the process serves requests.
#[utoipa::path(get, path = "/api/v1/health", tag = "meta",
    responses((status = 200, description = "The server is up", body = HealthResponse)))]
pub async fn health() -> axum::Json<HealthResponse> {
    axum::Json(HealthResponse {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// The reason-code presets (picker order).
#[utoipa::path(get, path = "/api/v1/reason-codes", tag = "meta",
    responses((status = 200, description = "Every reason code", body = ReasonCodeList)))]
pub async fn reason_codes() -> axum::Json<ReasonCodeList> {
    axum::Json(ReasonCodeList {
        items: ReasonCodeDto::all(),
    })
}

/// The material categories (display order), with fixed counts and slots.
#[utoipa::path(get, path = "/api/v1/material-categories", tag = "meta",
    responses((status = 200, description = "Every material category", body = MaterialCategoryList)))]
pub async fn material_categories() -> axum::Json<MaterialCategoryList> {
    axum::Json(MaterialCategoryList {
        items: MaterialCategoryDto::all(),
    })
}

/// Reviewer login: a bearer token valid for 12 hours.
#[utoipa::path(post, path = "/api/v1/session", tag = "session", request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionResponse),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins (`rate_limited`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt"))),
    ))]
pub async fn login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<axum::Json<SessionResponse>, ApiError> {
    let ip = peer.ip();
    if let Some(wait) = st.limiter.check(&req.username, ip).await? {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed logins; try again in {wait} s"),
            )
        });
    }
    let found = st.store.reviewer_credentials(&req.username).await?;
    // Verify against a dummy hash when the user is unknown, so the answer
    // takes as long either way and does not reveal which usernames exist.
    let (info, hash) = match found {
        Some((info, hash)) => (Some(info), hash),
        None => (None, st.dummy_hash.clone()),
    };
    let ok = auth::verify_password_blocking(req.password.clone(), hash).await;
    let Some(info) = info.filter(|_| ok) else {
        if let Err(e) = st.limiter.fail(&req.username, ip).await {
            tracing::warn!(error = %e, "login rate limit: recording");
        }
        tracing::info!(%ip, "reviewer login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password",
        ));
    };
    if let Err(e) = st.limiter.succeed(&req.username, ip).await {
        tracing::warn!(error = %e, "login rate limit: recording");
    }
    let (token, hash) = auth::new_token();
    let now = Utc::now();
    let expires_at = now + auth::REVIEWER_TOKEN_TTL;
    st.store
        .insert_token(&hash, Subject::Reviewer(info.id), now, expires_at)
        .await?;
    tracing::info!(reviewer = %info.username, "reviewer signed in");
    Ok(axum::Json(SessionResponse {
        token,
        expires_at,
        reviewer: info.to_dto(),
        window: sqlite::window_dto(&st.window, today()),
        undo_window_secs: st.undo_window.num_seconds(),
    }))
}

/// Logout: the token is revoked at once.
#[utoipa::path(delete, path = "/api/v1/session", tag = "session", security(("bearer" = [])),
    responses((status = 204, description = "Signed out")))]
pub async fn logout(State(st): State<AppState>, r: Reviewer) -> Result<StatusCode, ApiError> {
    st.store.revoke_token(&r.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "session", security(("bearer" = [])),
    responses((status = 200, description = "The signed-in reviewer", body = MeResponse)))]
pub async fn me(State(st): State<AppState>, r: Reviewer) -> axum::Json<MeResponse> {
    axum::Json(MeResponse {
        reviewer: r.info.to_dto(),
        window: sqlite::window_dto(&st.window, today()),
        expires_at: r.expires_at,
        server_time: Utc::now(),
        undo_window_secs: st.undo_window.num_seconds(),
    })
}

/// Keyset position as `c{sort_at:x}.{id:x}`: opaque to clients, and
/// simple enough that the spec's pattern admits only positions.
pub const CURSOR_PATTERN: &str = "^c[0-9a-f]{1,15}\\.[0-9a-f]{1,15}$";

fn encode_cursor((at, id): (i64, i64)) -> String {
    format!("c{at:x}.{id:x}")
}

fn decode_cursor(s: &str) -> Option<(i64, i64)> {
    let (at, id) = s.strip_prefix('c')?.split_once('.')?;
    let hex = |t: &str| {
        (!t.is_empty()
            && t.len() <= 15
            && t.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| i64::from_str_radix(t, 16).ok())
        .flatten()
    };
    Some((hex(at)?, hex(id)?))
}

/// The queue in the caller's scope, ordered by (submitted_at, id).
#[utoipa::path(get, path = "/api/v1/candidates", tag = "reviewer", security(("bearer" = [])),
    params(CandidateQuery),
    responses((status = 200, description = "A page of the queue and the counts of the whole scope", body = CandidateList)))]
pub async fn list_candidates(
    State(st): State<AppState>,
    r: Reviewer,
    ApiQuery(q): ApiQuery<CandidateQuery>,
) -> Result<SizedJson<CandidateList>, ApiError> {
    let state = match q.state.as_deref() {
        None => None,
        Some(s) => Some(ReviewStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request("invalid_query", format!("unknown state {s:?}"))
        })?),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "limit must be between 1 and 500",
        ));
    }
    let descending = match q.order.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(o) => {
            return Err(ApiError::bad_request(
                "invalid_query",
                format!("order is asc or desc, not {o:?}"),
            ));
        }
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_cursor(c).ok_or_else(|| {
            ApiError::bad_request("invalid_cursor", "the cursor was not issued by this server")
        })?),
    };
    let page = st
        .store
        .list_candidates(
            &r.info,
            ListQuery {
                state,
                q: q.q,
                after,
                limit,
                descending,
            },
            Utc::now(),
        )
        .await?;
    let mut list = page.list;
    list.next_cursor = page.next.map(encode_cursor);
    // ~300 bytes a row (a page of 50 was 16 KB), and the counts.
    let capacity = 512 + 320 * list.items.len();
    Ok(SizedJson(list, capacity))
}

/// One candidate's dossier.
#[utoipa::path(get, path = "/api/v1/candidates/{id}", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    responses((status = 200, description = "The dossier", body = CandidateDetail)))]
pub async fn candidate(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<SizedJson<CandidateDetail>, ApiError> {
    // A dossier of six images with their hints was ~5 KB.
    Ok(SizedJson(
        st.store.candidate_detail(&r.info, id, Utc::now()).await?,
        8192,
    ))
}

/// An image's bytes, or 304 when the client's `ETag` (the hash) matches,
/// which needs no read of the blob store at all.
pub(crate) async fn image_response(
    st: &Inner,
    headers: &HeaderMap,
    blob: BlobRef,
) -> Result<Response, ApiError> {
    let etag = format!("\"{}\"", blob.sha256);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
        });
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let got = st.blobs.get(&blob.sha256, blob.format).await.map_err(|e| {
            tracing::error!(error = %e, "image bytes unreadable");
            ApiError::internal()
        })?;
        (StatusCode::OK, got.bytes).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(blob.format.mime()),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}

/// An image's bytes; `ETag` is its SHA-256.
#[utoipa::path(get, path = "/api/v1/images/{id}/content", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id"),
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>,
            headers(("ETag" = String, description = "Quoted hex SHA-256 of the content"))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub async fn image_content(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let blob = st.store.image_blob(&r.info, id).await?;
    image_response(&st, &headers, blob).await
}

fn publish(st: &AppState, change: Change) {
    st.events.publish(change);
}

/// Lock (accept) an image.
#[utoipa::path(post, path = "/api/v1/images/{id}/lock", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    request_body(content = Option<LockRequest>, description = "Optional: the expected image version"),
    responses(
        (status = 200, description = "Locked", body = ImageActionResponse),
        (status = 409, description = "`stale_version`, `claimed` or `invalid_transition`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn lock_image(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    if_match: IfMatch,
    key: IdemKey,
    slot: Option<Extension<ReplaySlot>>,
    OptionalJson(body): OptionalJson<LockRequest>,
) -> Result<
    (
        Option<Extension<StoredWithAction>>,
        axum::Json<ImageActionResponse>,
    ),
    ApiError,
> {
    let stored = slot.is_some().then_some(Extension(StoredWithAction));
    let (resp, change) = st
        .store
        .judge_image(
            &r.info,
            id,
            Judgement::Lock,
            ctx_storing(key, if_match.or(body.expected_version), slot),
        )
        .await?;
    publish(&st, change);
    Ok((stored, axum::Json(resp)))
}

/// Unlock an image with reasons: the candidate must replace it. Writes a
/// system feedback message.
#[utoipa::path(post, path = "/api/v1/images/{id}/unlock", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    request_body = UnlockRequest,
    responses(
        (status = 200, description = "Unlocked", body = ImageActionResponse),
        (status = 409, description = "`stale_version`, `claimed` or `invalid_transition`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn unlock_image(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    if_match: IfMatch,
    key: IdemKey,
    slot: Option<Extension<ReplaySlot>>,
    ApiJson(body): ApiJson<UnlockRequest>,
) -> Result<
    (
        Option<Extension<StoredWithAction>>,
        axum::Json<ImageActionResponse>,
    ),
    ApiError,
> {
    let stored = slot.is_some().then_some(Extension(StoredWithAction));
    let (resp, change) = st
        .store
        .judge_image(
            &r.info,
            id,
            Judgement::Unlock {
                reasons: body.reasons,
                note: body.note,
            },
            ctx_storing(key, if_match.or(body.expected_version), slot),
        )
        .await?;
    publish(&st, change);
    Ok((stored, axum::Json(resp)))
}

/// Decide the candidate at the caller's level.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/decision", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    request_body = DecisionRequest,
    responses(
        (status = 200, description = "Decided", body = DecisionResponse),
        (status = 403, description = "`wrong_level`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`stale_version`, `claimed`, `invalid_transition`, `unlocked_images`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn decide(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    if_match: IfMatch,
    key: IdemKey,
    slot: Option<Extension<ReplaySlot>>,
    ApiJson(body): ApiJson<DecisionRequest>,
) -> Result<
    (
        Option<Extension<StoredWithAction>>,
        axum::Json<DecisionResponse>,
    ),
    ApiError,
> {
    let stored = slot.is_some().then_some(Extension(StoredWithAction));
    let (resp, change) = st
        .store
        .decide(
            &r.info,
            id,
            DecisionInput {
                level: body.level,
                decision: body.decision,
                reasons: body.reasons,
                note: body.note,
            },
            ctx_storing(key, if_match.or(body.expected_version), slot),
        )
        .await?;
    publish(&st, change);
    Ok((stored, axum::Json(resp)))
}

/// Claim (or renew the claim on) a candidate for a few minutes.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/claim", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    responses(
        (status = 200, description = "Claimed until `expires_at`", body = ClaimDto),
        (status = 409, description = "`claimed`: another reviewer holds it", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn claim(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<ClaimDto>, ApiError> {
    let (claim, change) = st.store.claim(&r.info, id, Utc::now()).await?;
    publish(&st, change);
    Ok(axum::Json(claim))
}

/// Release the caller's claim (a no-op if they do not hold it).
#[utoipa::path(delete, path = "/api/v1/candidates/{id}/claim", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    responses((status = 204, description = "Released")))]
pub async fn release(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if let Some(change) = st.store.release(&r.info, id, Utc::now()).await? {
        publish(&st, change);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Log feedback given to the candidate (system message, SMS or phone call).
#[utoipa::path(post, path = "/api/v1/candidates/{id}/feedback", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    request_body = FeedbackRequest,
    responses((status = 201, description = "Recorded", body = FeedbackDto)))]
pub async fn feedback(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    key: IdemKey,
    slot: Option<Extension<ReplaySlot>>,
    ApiJson(body): ApiJson<FeedbackRequest>,
) -> Result<
    (
        StatusCode,
        Option<Extension<StoredWithAction>>,
        axum::Json<FeedbackDto>,
    ),
    ApiError,
> {
    let stored = slot.is_some().then_some(Extension(StoredWithAction));
    let fb = st
        .store
        .add_feedback(
            &r.info,
            id,
            body.channel,
            body.body,
            ctx_storing(key, None, slot),
        )
        .await?;
    Ok((StatusCode::CREATED, stored, axum::Json(fb)))
}

/// The candidate's audit log, oldest first.
#[utoipa::path(get, path = "/api/v1/candidates/{id}/audit", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    responses((status = 200, description = "Every event", body = AuditList)))]
pub async fn audit(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
) -> Result<axum::Json<AuditList>, ApiError> {
    Ok(axum::Json(AuditList {
        items: st.store.audit(&r.info, id).await?,
    }))
}

/// The full ID number; audited as `candidate.reveal_id`.
#[utoipa::path(post, path = "/api/v1/candidates/{id}/reveal", tag = "reviewer", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Candidate id")),
    responses((status = 200, description = "The unmasked ID number", body = RevealResponse)))]
pub async fn reveal(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(id): ApiPath<i64>,
    key: IdemKey,
) -> Result<axum::Json<RevealResponse>, ApiError> {
    Ok(axum::Json(
        st.store.reveal(&r.info, id, ctx(key, None)).await?,
    ))
}

/// Undo an image lock/unlock or a decision with a compensating event, if
/// the target is still as that event left it.
#[utoipa::path(post, path = "/api/v1/audit/{event}/undo", tag = "reviewer", security(("bearer" = [])),
    params(("event" = i64, Path, description = "Audit event id")),
    responses(
        (status = 200, description = "Undone", body = UndoResponse),
        (status = 403, description = "`wrong_level`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`undo_conflict`, `claimed` or `stale_version`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn undo(
    State(st): State<AppState>,
    r: Reviewer,
    ApiPath(event): ApiPath<i64>,
    if_match: IfMatch,
    key: IdemKey,
    slot: Option<Extension<ReplaySlot>>,
) -> Result<
    (
        Option<Extension<StoredWithAction>>,
        axum::Json<UndoResponse>,
    ),
    ApiError,
> {
    let stored = slot.is_some().then_some(Extension(StoredWithAction));
    let (resp, change) = st
        .store
        .undo(&r.info, event, ctx_storing(key, if_match.0, slot))
        .await?;
    publish(&st, change);
    Ok((stored, axum::Json(resp)))
}

/// Server-sent events (`event: candidate`, data: QueueEvent, `id`: its
/// number in the event log) for changes in the caller's scope, in commit
/// order. A console that reconnects with `Last-Event-ID` gets what it
/// missed, each change once; `event: reset` when that position is no
/// longer in the log (reload, then follow). A comment line (`:hb`) every
/// [`HEARTBEAT`] so a console knows within seconds when the server has
/// stopped answering.
#[utoipa::path(get, path = "/api/v1/events", tag = "reviewer", security(("bearer" = [])),
    params(("Last-Event-ID" = Option<i64>, Header, nullable = false, minimum = 0, description = "The `id` of the last event received: resume after it")),
    responses(
        (status = 200, description = "An endless event stream of `EventStreamMessage`s; a `:hb` comment at least every second", content_type = "text/event-stream", body = EventStreamMessage),
        (status = 400, description = "`invalid_header`: `Last-Event-ID` is not an event number", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn events(
    State(st): State<AppState>,
    r: Reviewer,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    // Only numbers this server hands out come back; anything else is a
    // client's mistake worth saying, not a reason to start from scratch.
    let resume = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|v| v.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_header",
                        "Last-Event-ID must be the id of an event this server sent",
                    )
                })?,
        ),
    };
    let sub = Subscriber::start(st.store.clone(), st.events.subscribe(), r.info, resume).await?;
    let stream = futures::stream::unfold(sub, |mut sub| async move {
        let ev = match sub.next().await? {
            Ok(Item::Change(change)) => Event::default()
                .event("candidate")
                .id(change.seq.to_string())
                .json_data(&change.event)
                .unwrap_or_else(|_| Event::default().comment("encode failed")),
            Ok(Item::Reset { newest }) => Event::default()
                .event("reset")
                .id(newest.to_string())
                .data(newest.to_string()),
            Err(e) => {
                // The log could not be read: end the stream; the console
                // reconnects with its last id and loses nothing.
                tracing::warn!(error = %e, "event stream: reading the log");
                return None;
            }
        };
        Some((Ok(ev), sub))
    });
    let mut shutdown = st.shutdown.clone();
    let stream = stream.take_until(async move {
        let _ = shutdown.wait_for(|down| *down).await;
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(HEARTBEAT).text("hb")))
}

/// How often the event stream proves the server alive. Consoles call the
/// link lost after a few missed beats (`api::client::STALE_AFTER`).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
