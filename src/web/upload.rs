//! `POST /materials/{category}/upload`: the slot's form, sent either by the
//! page's script (prepared ≤ 200 KB, with an `Idempotency-Key` so a retry
//! after a lost answer does not upload twice) or by a browser without
//! JavaScript (any size: read to the end so the refusal can say the file's
//! size and how to make it fit, but only the first 200 KB are kept).
//!
//! Every rule is the API's own ([`crate::server::candidate::accept_upload`]).

use std::net::SocketAddr;

use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::WebState;
use super::handlers::{
    check_post, csrf_refused, json, json_error, materials_page, scripted, see_other, to_login,
};
use super::refusal;
use super::session::{self, WebSession};
use crate::domain::category::MaterialCategory;
use crate::domain::rules::MAX_UPLOAD_BYTES;
use crate::server::error::ApiError;
use crate::server::extract::{IDEMPOTENCY_KEY, IdemKey, valid_idempotency_key};
use crate::server::store::StoredResponse;

#[derive(Debug, Default)]
struct UploadForm {
    csrf: Option<String>,
    slot: Option<u8>,
    /// The first `MAX_UPLOAD_BYTES + 1` bytes: enough to refuse a larger file.
    file: Option<Vec<u8>>,
    /// The file's real size.
    size: usize,
}

enum FormError {
    TooLarge,
    Bad,
    Slot,
}

fn multipart_error(e: &MultipartError) -> FormError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        FormError::TooLarge
    } else {
        FormError::Bad
    }
}

async fn small_text(field: Field<'_>) -> Result<String, FormError> {
    let t = field.text().await.map_err(|e| multipart_error(&e))?;
    if t.len() > 256 {
        return Err(FormError::Bad);
    }
    Ok(t)
}

async fn read_form(mut mp: Multipart) -> Result<UploadForm, FormError> {
    let mut form = UploadForm::default();
    while let Some(mut field) = mp.next_field().await.map_err(|e| multipart_error(&e))? {
        match field.name() {
            Some("csrf") => form.csrf = Some(small_text(field).await?),
            Some("slot") => {
                let t = small_text(field).await?;
                form.slot = match t.as_bytes() {
                    [] => None,
                    [d] if d.is_ascii_digit() => Some(d - b'0'),
                    _ => return Err(FormError::Slot),
                };
            }
            Some("file") => {
                let mut kept = Vec::new();
                let mut size = 0usize;
                while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e))? {
                    size += chunk.len();
                    let room = (MAX_UPLOAD_BYTES + 1).saturating_sub(kept.len());
                    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                // A form sent with no file chosen has an empty file part.
                if size > 0 {
                    form.file = Some(kept);
                    form.size = size;
                }
            }
            // Anything else is drained and ignored.
            _ => {
                while field
                    .chunk()
                    .await
                    .map_err(|e| multipart_error(&e))?
                    .is_some()
                {}
            }
        }
    }
    Ok(form)
}

/// Replays of the script's retries: the key names this route and slot.
fn fingerprint(category: MaterialCategory, slot: Option<u8>, bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(category.code().as_bytes());
    h.update([slot.unwrap_or(255)]);
    h.update(bytes);
    hex::encode(h.finalize())
}

/// The script gets JSON now; a form gets `Err`, and the caller renders the
/// whole page with the refusal (it needs the candidate's state for that).
fn refused(
    headers: &HeaderMap,
    e: &ApiError,
    size: Option<usize>,
) -> Result<Response, (StatusCode, String)> {
    let msg = refusal::upload(e, size, scripted(headers));
    if scripted(headers) {
        let retry = e.status.is_server_error() || e.status == StatusCode::TOO_MANY_REQUESTS;
        return Ok(json_error(e.status, &msg, retry));
    }
    Err((e.status, msg))
}

pub async fn upload(
    State(st): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(category): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let s = match session::resolve(&st.app, &headers).await {
        Ok(s) => s,
        Err(why) => return to_login(why, &headers),
    };
    // Cross-site first, before reading a byte of the body.
    if !session::same_origin(&headers) {
        return csrf_refused(&headers);
    }
    let outcome = run(&st, &s, peer, &headers, &category, multipart).await;
    match outcome {
        Ok(r) => r,
        Err((status, msg)) => materials_page(&st, &s, status, None, Some(&msg)).await,
    }
}

async fn run(
    st: &WebState,
    s: &WebSession,
    peer: SocketAddr,
    headers: &HeaderMap,
    category: &str,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, (StatusCode, String)> {
    let Some(category) = MaterialCategory::from_code(category) else {
        return refused(headers, &ApiError::not_found(), None);
    };
    let Ok(multipart) = multipart else {
        let e = ApiError::bad_request("invalid_multipart", "not multipart");
        return refused(headers, &e, None);
    };
    let form = match read_form(multipart).await {
        Ok(f) => f,
        Err(FormError::TooLarge) => {
            let e = ApiError::payload_too_large("over the form limit");
            return refused(headers, &e, None);
        }
        Err(FormError::Bad | FormError::Slot) => {
            let e = ApiError::unprocessable("invalid_field", "bad form");
            return refused(headers, &e, None);
        }
    };
    if !check_post(s, headers, form.csrf.as_deref()) {
        return Ok(csrf_refused(headers));
    }
    let limited = st
        .extra
        .uploads
        .hit(&format!("candidate:{}", s.candidate_id))
        .and_then(|()| st.extra.upload_addrs.hit(&peer.ip().to_string()));
    if let Err(wait) = limited {
        let e = ApiError {
            retry_after: Some(wait),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "uploads")
        };
        let mut r = match refused(headers, &e, None) {
            Ok(r) => r,
            Err((status, msg)) => materials_page(st, s, status, None, Some(&msg)).await,
        };
        if let Ok(v) = wait.to_string().parse() {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let Some(bytes) = form.file else {
        let e = ApiError::bad_request("invalid_multipart", "no file");
        return refused(headers, &e, None);
    };
    if form.size > MAX_UPLOAD_BYTES {
        let e = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", "too large");
        return refused(headers, &e, Some(form.size));
    }

    // The script's Idempotency-Key: a replay answers what the first did.
    let key = headers
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|k| valid_idempotency_key(k))
        .map(str::to_string);
    let actor = format!("candidate:{}", s.candidate_id);
    let store_key = key
        .as_ref()
        .map(|k| format!("WEB upload {} {k}", category.code()));
    let print = fingerprint(category, form.slot, &bytes);
    let lock = store_key
        .as_ref()
        .and_then(|k| st.extra.key_lock(&format!("{actor}\n{k}")));
    let _guard = match &lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    if let Some(k) = &store_key
        && let Ok(Some(stored)) = st.app.store.stored_response(&actor, k).await
    {
        if stored.fingerprint == print {
            let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
            let body: serde_json::Value =
                serde_json::from_slice(&stored.body).unwrap_or(serde_json::Value::Null);
            let mut r = json(status, body);
            r.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
            return Ok(r);
        }
        let e = ApiError::unprocessable("idempotency_key_reused", "key reused");
        return refused(headers, &e, None);
    }

    let size = bytes.len();
    match crate::server::candidate::accept_upload(
        &st.app,
        s.candidate_id,
        category,
        form.slot,
        bytes,
        IdemKey(key),
    )
    .await
    {
        Ok(image) => {
            let body = serde_json::json!({"ok": true, "image": image});
            if let Some(k) = &store_key {
                let stored = StoredResponse {
                    fingerprint: print,
                    status: StatusCode::CREATED.as_u16(),
                    content_type: Some("application/json".into()),
                    body: body.to_string().into_bytes(),
                };
                if let Err(e) = st
                    .app
                    .store
                    .store_response(&actor, k, &stored, Utc::now())
                    .await
                {
                    tracing::warn!(error = %e, "could not store an idempotent upload");
                }
            }
            if scripted(headers) {
                Ok(json(StatusCode::CREATED, body))
            } else {
                Ok(see_other(&format!(
                    "/materials?done=upload#cat-{}",
                    category.code()
                )))
            }
        }
        Err(e) => refused(headers, &e, Some(size)).map(IntoResponse::into_response),
    }
}
