//! `Idempotency-Key` on mutating calls: the first successful response
//! (status and body) is stored per (actor, method, path, key) and replayed
//! for a retry of the same request; the same key with a different body is
//! refused (422 `idempotency_key_reused`).
//!
//! A per-key lock serialises concurrent retries, so the second waits for
//! the first and then replays it instead of acting twice.
//!
//! The reviewer's judging actions (lock, unlock, decision, feedback, undo)
//! get a [`ReplaySlot`] in the request's extensions and store their answer
//! in the action's own savepoint: it commits with the action, in the same
//! fsync, so there is no moment at which the action is durable and its
//! answer is not (a retry after a crash replays it; without that, a
//! retried feedback was recorded twice and a retried undo refused). Their
//! response carries [`StoredWithAction`] so nothing is stored twice. (Lock,
//! unlock and decision also find their own audit event by key, in the
//! statement that loads their row, and answer a retry from it: that covers
//! an answer stored by an older version, or lost with its key.) Every
//! other keyed call has its response stored here after the handler, in the
//! writer's next batch, the key's lock held until it is in.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::AppState;
use super::auth::{Resolved, resolve};
use super::error::ApiError;
use super::extract::{IDEMPOTENCY_KEY, stored_response, valid_idempotency_key};
use super::store::{ReplaySlot, StoredResponse, Subject};

/// Bodies are read whole here; larger ones are refused by the route's own
/// limit anyway.
const MAX_BODY: usize = super::UPLOAD_BODY_LIMIT + 1024;

/// In a response whose handler had its store save the answer together with
/// the action (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct StoredWithAction;

#[derive(Debug, Default)]
pub struct KeyLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl KeyLocks {
    fn get(&self, k: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        let mut map = self.locks.lock().ok()?;
        if map.len() > 10_000 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Some(map.entry(k.to_string()).or_default().clone())
    }
}

fn is_login(path: &str) -> bool {
    matches!(path, "/api/v1/session" | "/api/v1/candidate/session")
}

pub async fn middleware(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let mutating = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let Some(key) = req.headers().get(IDEMPOTENCY_KEY).cloned() else {
        return next.run(req).await;
    };
    if !mutating || is_login(req.uri().path()) {
        return next.run(req).await;
    }
    let Some(key) = key.to_str().ok().filter(|k| valid_idempotency_key(k)) else {
        return ApiError::bad_request("invalid_header", "Idempotency-Key must be a UUID")
            .into_response();
    };
    // Keys are scoped to the operation and its target: the same key on
    // another URL is another request, not a reuse.
    let key = format!("{} {} {key}", req.method(), req.uri().path());
    let (mut parts, body) = req.into_parts();
    // Without a valid token the handler answers 401 itself; nothing to replay.
    let actor = match resolve(&st, &parts).await {
        Ok((rec, hash)) => {
            let actor = match rec.subject {
                Subject::Reviewer(id) => format!("reviewer:{id}"),
                Subject::Candidate(id) => format!("candidate:{id}"),
            };
            parts.extensions.insert(Resolved(rec, hash));
            actor
        }
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::payload_too_large("the request body is too large").into_response();
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b"\n");
    h.update(parts.uri.path().as_bytes());
    h.update(b"?");
    h.update(parts.uri.query().unwrap_or("").as_bytes());
    h.update(b"\n");
    h.update(
        parts
            .headers
            .get(header::IF_MATCH)
            .map(HeaderValue::as_bytes)
            .unwrap_or(b""),
    );
    h.update(b"\n");
    h.update(&bytes);
    let fingerprint = hex::encode(h.finalize());

    let Some(lock) = st.idempotency.get(&format!("{actor}\n{key}")) else {
        return ApiError::internal().into_response();
    };
    let guard = lock.lock_owned().await;
    match st.store.stored_response(&actor, &key).await {
        Ok(Some(stored)) if stored.fingerprint == fingerprint => {
            let mut resp =
                stored_response(stored.status, stored.content_type.as_deref(), stored.body);
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return resp;
        }
        Ok(Some(_)) => {
            return ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            )
            .into_response();
        }
        Ok(None) => {}
        Err(e) => return ApiError::from(e).into_response(),
    }

    parts.extensions.insert(ReplaySlot {
        actor: actor.clone(),
        key: key.clone(),
        fingerprint: fingerprint.clone(),
    });
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    // Only a success is remembered: a refused request changed nothing, so
    // running its retry again is just as idempotent (and sees the state
    // as it is then).
    if !resp.status().is_success() || resp.extensions().get::<StoredWithAction>().is_some() {
        return resp;
    }
    let (rparts, rbody) = resp.into_parts();
    let Ok(rbytes) = to_bytes(rbody, 16 * 1024 * 1024).await else {
        return ApiError::internal().into_response();
    };
    let stored = StoredResponse {
        fingerprint,
        status: rparts.status.as_u16(),
        content_type: rparts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: rbytes.to_vec(),
    };
    // Answer now, store after: the action is committed, and a retry
    // waits on the key's lock (held until the stored response is
    // committed) and then replays it. Should the process die before that,
    // the audit log answers the retry (see the module doc).
    let store = st.store.clone();
    tokio::spawn(async move {
        if let Err(e) = store
            .store_response(&actor, &key, &stored, Utc::now())
            .await
        {
            tracing::warn!(error = %e, "could not store an idempotent response");
        }
        drop(guard);
    });
    Response::from_parts(rparts, Body::from(rbytes))
}
