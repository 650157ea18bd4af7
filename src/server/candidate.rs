//! Handlers of the candidate side: login, the upload page, uploads,
//! deletion and submission.

use std::net::SocketAddr;

use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::AppState;
use super::auth::{self, Candidate};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, IdemKey};
use super::routes::{image_response, today};
use super::store::{Ctx, NewUpload, StoreError, Subject};
use crate::api::dto::*;
use crate::domain::category::MaterialCategory;
use crate::domain::imaging::{DecodeError, DecodeLimits, sniff};
use crate::domain::quality;
use crate::domain::rules::check_upload;

fn ctx(key: IdemKey) -> Ctx {
    Ctx {
        now: Utc::now(),
        idempotency_key: key.0,
        expected_version: None,
        replay: None,
    }
}

/// Candidate login with the registration number (报名序列号).
#[utoipa::path(operation_id = "candidate_login", post, path = "/api/v1/candidate/session", tag = "candidate",
    request_body = CandidateLoginRequest,
    responses(
        (status = 200, description = "Signed in", body = CandidateSessionResponse),
        (status = 401, description = "Wrong reg_no or password (`invalid_credentials`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins (`rate_limited`)", body = Problem, content_type = "application/problem+json",
            headers(("Retry-After" = u64, description = "Seconds until the next attempt"))),
    ))]
pub async fn login(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(req): ApiJson<CandidateLoginRequest>,
) -> Result<axum::Json<CandidateSessionResponse>, ApiError> {
    let ip = peer.ip();
    let key = format!("candidate:{}", req.reg_no);
    if let Some(wait) = st.limiter.check(&key, ip).await? {
        return Err(ApiError {
            retry_after: Some(wait),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed logins; try again in {wait} s"),
            )
        });
    }
    let found = st.store.candidate_credentials(&req.reg_no).await?;
    let hash = found
        .as_ref()
        .map_or_else(|| st.dummy_hash.clone(), |c| c.password_hash.clone());
    let ok = auth::verify_password_blocking(req.password.clone(), hash).await;
    let Some(cand) = found.filter(|_| ok) else {
        if let Err(e) = st.limiter.fail(&key, ip).await {
            tracing::warn!(error = %e, "login rate limit: recording");
        }
        tracing::info!(%ip, "candidate login failed");
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong registration number or password",
        ));
    };
    if let Err(e) = st.limiter.succeed(&key, ip).await {
        tracing::warn!(error = %e, "login rate limit: recording");
    }
    let (token, hash) = auth::new_token();
    let now = Utc::now();
    let expires_at = now + auth::CANDIDATE_TOKEN_TTL;
    st.store
        .insert_token(&hash, Subject::Candidate(cand.id), now, expires_at)
        .await?;
    let candidate = st.store.candidate_self(cand.id, &st.window, now).await?;
    Ok(axum::Json(CandidateSessionResponse {
        token,
        expires_at,
        candidate,
    }))
}

/// Candidate logout.
#[utoipa::path(operation_id = "candidate_logout", delete, path = "/api/v1/candidate/session", tag = "candidate", security(("bearer" = [])),
    responses((status = 204, description = "Signed out")))]
pub async fn logout(State(st): State<AppState>, c: Candidate) -> Result<StatusCode, ApiError> {
    st.store.revoke_token(&c.token_hash).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The upload page: status, materials (已锁定 / 未锁定) and feedback.
#[utoipa::path(operation_id = "candidate_me", get, path = "/api/v1/candidate/me", tag = "candidate", security(("bearer" = [])),
    responses((status = 200, description = "The candidate's own view", body = CandidateSelf)))]
pub async fn me(
    State(st): State<AppState>,
    c: Candidate,
) -> Result<axum::Json<CandidateSelf>, ApiError> {
    Ok(axum::Json(
        st.store
            .candidate_self(c.id, &st.window, Utc::now())
            .await?,
    ))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::payload_too_large("the upload is larger than 256 KB")
    } else {
        ApiError::bad_request("invalid_multipart", e.body_text())
    }
}

/// The multipart upload form (for the OpenAPI document).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The image: JPEG or PNG by content, at most 204,800 bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// 0-based slot (正面 = 0, 反面 = 1 for 身份证明); default: the first
    /// empty slot, or the only unlocked image.
    #[schema(value_type = Option<String>, pattern = "^[0-9]$")]
    slot: Option<u8>,
}

/// Upload an image into a category (a new slot, or a replacement of an
/// unlocked image keeping its slot).
#[utoipa::path(operation_id = "candidate_upload", post, path = "/api/v1/candidate/materials/{category}/images", tag = "candidate",
    security(("bearer" = [])),
    params(("category" = MaterialCategory, Path, description = "Material category code")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored, with quality hints computed", body = UploadResponse),
        (status = 409, description = "`window_closed`, `not_editable`, `slot_full`, `image_locked`", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "`file_too_large` (over 204,800 bytes) or `payload_too_large`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unsupported_format`, `invalid_image`, `invalid_field`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`blob_store_unavailable`: the image store did not take the bytes; nothing was stored, retry (`Retry-After`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn upload(
    State(st): State<AppState>,
    c: Candidate,
    ApiPath(category): ApiPath<String>,
    key: IdemKey,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, axum::Json<UploadResponse>), ApiError> {
    let category = MaterialCategory::from_code(&category).ok_or_else(ApiError::not_found)?;
    let mut multipart = multipart.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected multipart/form-data: {}", e.body_text()),
        )
    })?;
    let mut file: Option<Vec<u8>> = None;
    let mut slot: Option<u8> = None;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") => file = Some(field.bytes().await.map_err(multipart_error)?.to_vec()),
            Some("slot") => {
                let text = field.text().await.map_err(multipart_error)?;
                match text.as_bytes() {
                    [d] if d.is_ascii_digit() => slot = Some(d - b'0'),
                    _ => {
                        return Err(ApiError::unprocessable(
                            "invalid_field",
                            "slot must be one digit, 0-9",
                        ));
                    }
                }
            }
            // The form has two fields; anything else is a client bug.
            _ => {
                return Err(ApiError::bad_request(
                    "invalid_multipart",
                    "unexpected form field (expected `file` and optionally `slot`)",
                ));
            }
        }
    }
    let bytes =
        file.ok_or_else(|| ApiError::bad_request("invalid_multipart", "no `file` field"))?;
    let image = accept_upload(&st, c.id, category, slot, bytes, key).await?;
    Ok((StatusCode::CREATED, axum::Json(UploadResponse { image })))
}

/// Every rule an upload must pass, then storage: shared by the API and the
/// candidates' web page, so both refuse exactly the same files.
pub async fn accept_upload(
    st: &AppState,
    candidate_id: i64,
    category: MaterialCategory,
    slot: Option<u8>,
    bytes: Vec<u8>,
    key: IdemKey,
) -> Result<CandidateImageDto, ApiError> {
    // Cheap checks first (window, state, size, format by content), so a
    // refused upload is never decoded.
    let reviews = st.store.candidate_reviews(candidate_id).await?;
    check_upload(bytes.len(), sniff(&bytes), &st.window, today(), reviews)
        .map_err(|e| ApiError::from(StoreError::Upload(e)))?;

    let (bytes, report) = tokio::task::spawn_blocking(move || {
        let r = quality::analyze(&bytes, DecodeLimits::DEFAULT);
        (bytes, r)
    })
    .await
    .map_err(|_| ApiError::internal())?;
    let report = report.map_err(|e| {
        let detail = match e {
            DecodeError::TooLarge { .. } | DecodeError::MemoryLimit => {
                format!("refused before decoding: {e}")
            }
            other => other.to_string(),
        };
        ApiError::unprocessable("invalid_image", detail)
    })?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    // The bytes first, then the row that names them: a row never points at
    // a missing object (an object no row names is only space).
    st.blobs
        .put(&sha256, bytes::Bytes::from(bytes.clone()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "storing image bytes");
            ApiError {
                retry_after: Some(5),
                ..ApiError::new(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "blob_store_unavailable",
                    "image storage is unavailable; retry shortly (nothing was stored)",
                )
            }
        })?;
    let (image, change) = st
        .store
        .upload(
            candidate_id,
            NewUpload {
                category,
                slot,
                bytes,
                sha256,
                report,
            },
            &st.window,
            ctx(key),
        )
        .await?;
    st.events.publish(change);
    Ok(image)
}

/// Delete an unlocked image (before submission, or while 审核待定).
#[utoipa::path(operation_id = "candidate_delete_image", delete, path = "/api/v1/candidate/images/{id}", tag = "candidate", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 409, description = "`image_locked`, `not_editable`, `window_closed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn delete_image(
    State(st): State<AppState>,
    c: Candidate,
    ApiPath(id): ApiPath<i64>,
    key: IdemKey,
) -> Result<StatusCode, ApiError> {
    remove_image(&st, c.id, id, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete one of the candidate's own unlocked images (API and web page).
pub async fn remove_image(
    st: &AppState,
    candidate_id: i64,
    image_id: i64,
    key: IdemKey,
) -> Result<(), ApiError> {
    let change = st
        .store
        .delete_image(candidate_id, image_id, &st.window, ctx(key))
        .await
        .map_err(|e| match e {
            StoreError::Image(crate::domain::image::ImageTransitionError::Locked) => {
                ApiError::conflict("image_locked", e.to_string())
            }
            other => other.into(),
        })?;
    st.events.publish(change);
    Ok(())
}

/// Submit (or resubmit after 审核待定): every image is locked again.
#[utoipa::path(operation_id = "candidate_submit", post, path = "/api/v1/candidate/submit", tag = "candidate", security(("bearer" = [])),
    responses(
        (status = 200, description = "Submitted", body = CandidateSelf),
        (status = 409, description = "`invalid_transition` (e.g. an unlocked image not replaced), `nothing_uploaded`, `window_closed`", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn submit(
    State(st): State<AppState>,
    c: Candidate,
    key: IdemKey,
) -> Result<axum::Json<CandidateSelf>, ApiError> {
    let (me, change) = st.store.submit(c.id, &st.window, ctx(key)).await?;
    st.events.publish(change);
    Ok(axum::Json(me))
}

/// One of the candidate's own images.
#[utoipa::path(operation_id = "candidate_image_content", get, path = "/api/v1/candidate/images/{id}/content", tag = "candidate", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Image id"),
        ("If-None-Match" = Option<String>, Header, description = "A previous ETag")),
    responses(
        (status = 200, description = "The image", content_type = "image/jpeg", body = Vec<u8>,
            headers(("ETag" = String, description = "Quoted hex SHA-256 of the content"))),
        (status = 304, description = "Unchanged since the given ETag"),
    ))]
pub async fn image_content(
    State(st): State<AppState>,
    c: Candidate,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let blob = st.store.candidate_blob(c.id, id).await?;
    image_response(&st, &headers, blob).await
}
