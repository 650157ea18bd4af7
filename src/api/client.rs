//! The console's HTTP client for `/api/v1`: bearer token, timeouts,
//! Idempotency-Key and expected_version on every mutation, typed errors
//! from problem+json, and a reconnecting reader of the event stream.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::dto::{
    AuditList, CandidateDetail, CandidateList, CandidateQuery, ClaimDto, DecisionRequest,
    DecisionResponse, FeedbackRequest, ImageActionResponse, LockRequest, LoginRequest, MeResponse,
    QueueEvent, RevealResponse, SessionResponse, UndoResponse, UnlockRequest,
};
use super::error::ApiError;
use super::retry;
pub use super::sse::{SseMessage, SseParser};

/// Extra attempts for idempotent calls, and their backoff: short, since a
/// person is waiting for the screen.
const READ_RETRIES: u32 = 2;
const READ_BASE: Duration = Duration::from_millis(250);
const READ_CAP: Duration = Duration::from_secs(2);
/// A read asked to wait longer than this is not retried here: the error
/// goes to the screen, which says when to try again.
const READ_RETRY_AFTER_CAP: Duration = Duration::from_secs(5);

fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Malformed(e.to_string()))
}

/// Timeouts sized for a slow SSH-era link: connecting should be quick,
/// a request may take a while on a congested line.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
    /// The event stream: the server sends a keep-alive more often than this.
    pub idle_stream: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
            // The server beats every second (`server::routes::HEARTBEAT`).
            idle_stream: Duration::from_secs(5),
        }
    }
}

/// Longest wait between reconnects of the event stream.
pub const STREAM_BACKOFF_CAP: Duration = Duration::from_secs(6);

/// Silence on the event stream longer than this means the server is not
/// answering (it beats every second): the console says so.
pub const STALE_AFTER: Duration = Duration::from_millis(3500);

/// Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    stream_http: reqwest::Client,
    base: String,
    token: Arc<RwLock<Option<String>>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

/// What the event-stream reader reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    Connected,
    /// Bytes arrived on the stream (a heartbeat or anything else): the
    /// server is alive.
    Alive,
    Event(QueueEvent),
    /// The server dropped events for us (we were slow): refetch.
    Resync,
    Disconnected(ApiError),
}

/// reqwest's own message is only "error sending request for url (…)";
/// the cause (a refused connection, an untrusted certificate) is in the
/// source chain, and is what the reviewer needs to read.
fn with_causes(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        src = s.source();
    }
    msg
}

fn map_err(e: reqwest::Error) -> ApiError {
    if e.is_timeout() {
        ApiError::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ApiError::Connect(with_causes(&e))
    } else if e.is_decode() {
        ApiError::Malformed(e.to_string())
    } else if e.is_builder() {
        ApiError::Invalid(e.to_string())
    } else {
        ApiError::Connect(e.to_string())
    }
}

impl Client {
    pub fn new(base_url: &str, token: Option<String>, t: Timeouts) -> Result<Client, ApiError> {
        Client::with_ca_file(base_url, token, t, None)
    }

    /// Like [`Client::new`], also trusting the CA certificates (PEM) in
    /// `ca_file`: for a server whose certificate is issued by the exam
    /// authority's own CA rather than a public one.
    pub fn with_ca_file(
        base_url: &str,
        token: Option<String>,
        t: Timeouts,
        ca_file: Option<&std::path::Path>,
    ) -> Result<Client, ApiError> {
        let roots = match ca_file {
            Some(path) => load_ca_file(path)?,
            None => Vec::new(),
        };
        let base = base_url.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ApiError::Invalid(format!(
                "server URL must start with http:// or https://, got {base:?}"
            )));
        }
        let ua = concat!("shenhe/", env!("CARGO_PKG_VERSION"));
        let http = reqwest::Client::builder()
            .user_agent(ua)
            .connect_timeout(t.connect)
            .timeout(t.request)
            .tls_certs_merge(roots.clone())
            .build()
            .map_err(map_err)?;
        // The event stream lives for hours: no total timeout, only idleness.
        let stream_http = reqwest::Client::builder()
            .user_agent(ua)
            .connect_timeout(t.connect)
            .read_timeout(t.idle_stream)
            .tls_certs_merge(roots)
            .build()
            .map_err(map_err)?;
        Ok(Client {
            http,
            stream_http,
            base,
            token: Arc::new(RwLock::new(token)),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    pub fn set_token(&self, token: Option<String>) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }

    pub fn token(&self) -> Option<String> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{}", self.base, path)
    }

    fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self.token() {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    /// One attempt.
    async fn send(&self, rb: reqwest::RequestBuilder) -> Result<Bytes, ApiError> {
        let resp = self.authed(rb).send().await.map_err(map_err)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok());
        // A body cut short is a dropped connection (reqwest calls it a
        // decode error): the request may have been applied, so it must be
        // retried with its key, not shown as the server's refusal.
        let body = resp.bytes().await.map_err(|e| {
            if e.is_timeout() {
                ApiError::Timeout
            } else {
                ApiError::Connect(with_causes(&e))
            }
        })?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(ApiError::from_response(status.as_u16(), &body).with_retry_after(retry_after))
        }
    }

    /// For idempotent calls only (GETs, and POSTs that carry an
    /// Idempotency-Key): a few more attempts after a retryable failure,
    /// with backoff and full jitter. Decisions are not retried here: the
    /// outbox retries them on its own, durable schedule.
    async fn send_retrying(&self, rb: reqwest::RequestBuilder) -> Result<Bytes, ApiError> {
        let mut current = rb;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let next = if attempt <= READ_RETRIES {
                current.try_clone()
            } else {
                None
            };
            match (self.send(current).await, next) {
                (Err(e), Some(next)) if e.is_retryable() => {
                    let jitter =
                        retry::full_jitter(READ_BASE, READ_CAP, attempt, rand::random::<f64>());
                    // The server's Retry-After wins, within reason: a
                    // person is waiting for this answer.
                    let wait = e
                        .retry_after()
                        .map_or(jitter, |r| r.min(READ_RETRY_AFTER_CAP).max(jitter));
                    if e.retry_after().is_some_and(|r| r > READ_RETRY_AFTER_CAP) {
                        return Err(e);
                    }
                    tracing::debug!("retry {attempt} in {wait:?}: {e}");
                    tokio::time::sleep(wait).await;
                    current = next;
                }
                (result, _) => return result,
            }
        }
    }

    async fn json<T: DeserializeOwned>(&self, rb: reqwest::RequestBuilder) -> Result<T, ApiError> {
        let body = self.send(rb).await?;
        decode(&body)
    }

    async fn json_retrying<T: DeserializeOwned>(
        &self,
        rb: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let body = self.send_retrying(rb).await?;
        decode(&body)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ApiError> {
        self.json_retrying(self.http.get(self.url(path))).await
    }

    /// A mutation: JSON body and an Idempotency-Key, so a retry after a
    /// timeout cannot apply twice.
    async fn mutate<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T, ApiError> {
        self.json(self.keyed_post(path, body, idempotency_key))
            .await
    }

    /// A keyed call that is not a reviewer's decision (claim, reveal): safe
    /// to retry here, since the key makes a repeat harmless.
    async fn mutate_retrying<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> Result<T, ApiError> {
        self.json_retrying(self.keyed_post(path, body, idempotency_key))
            .await
    }

    fn keyed_post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        idempotency_key: &str,
    ) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .header("Idempotency-Key", idempotency_key)
            .json(body)
    }

    // ------------------------------------------------------------ session

    pub async fn health(&self) -> Result<(), ApiError> {
        self.send(self.http.get(self.url("/health")))
            .await
            .map(|_| ())
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<SessionResponse, ApiError> {
        let body = LoginRequest {
            username: username.to_string(),
            password: password.to_string(),
        };
        let s: SessionResponse = self
            .json(self.http.post(self.url("/session")).json(&body))
            .await?;
        self.set_token(Some(s.token.clone()));
        Ok(s)
    }

    pub async fn me(&self) -> Result<MeResponse, ApiError> {
        self.get("/me").await
    }

    pub async fn logout(&self) -> Result<(), ApiError> {
        self.send(self.http.delete(self.url("/session")))
            .await
            .map(|_| ())
    }

    // ------------------------------------------------------------ reads

    pub async fn candidates(&self, q: &CandidateQuery) -> Result<CandidateList, ApiError> {
        let mut params: Vec<(&str, String)> = Vec::new();
        if let Some(s) = &q.state {
            params.push(("state", s.clone()));
        }
        if let Some(s) = &q.q {
            params.push(("q", s.clone()));
        }
        if let Some(s) = &q.cursor {
            params.push(("cursor", s.clone()));
        }
        if let Some(l) = q.limit {
            params.push(("limit", l.to_string()));
        }
        if let Some(o) = &q.order {
            params.push(("order", o.clone()));
        }
        let mut url = reqwest::Url::parse(&self.url("/candidates"))
            .map_err(|e| ApiError::Invalid(e.to_string()))?;
        if !params.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &params {
                pairs.append_pair(k, v);
            }
        }
        self.json(self.http.get(url)).await
    }

    pub async fn candidate(&self, id: i64) -> Result<CandidateDetail, ApiError> {
        self.get(&format!("/candidates/{id}")).await
    }

    pub async fn audit(&self, id: i64) -> Result<AuditList, ApiError> {
        self.get(&format!("/candidates/{id}/audit")).await
    }

    /// The image bytes (the images engine decodes them off the UI thread).
    pub async fn image_content(&self, image_id: i64) -> Result<Bytes, ApiError> {
        self.send_retrying(
            self.http
                .get(self.url(&format!("/images/{image_id}/content"))),
        )
        .await
    }

    // ------------------------------------------------------------ claims

    /// Claim or renew. The answer's shape is lenient: a claim object, or
    /// anything else (then None).
    pub async fn claim(
        &self,
        id: i64,
        idempotency_key: &str,
    ) -> Result<Option<ClaimDto>, ApiError> {
        let v: serde_json::Value = self
            .mutate_retrying(
                &format!("/candidates/{id}/claim"),
                &serde_json::json!({}),
                idempotency_key,
            )
            .await?;
        let claim = v.get("claim").cloned().unwrap_or(v);
        Ok(serde_json::from_value(claim).ok())
    }

    pub async fn release(&self, id: i64) -> Result<(), ApiError> {
        self.send(
            self.http
                .delete(self.url(&format!("/candidates/{id}/claim"))),
        )
        .await
        .map(|_| ())
    }

    // ------------------------------------------------------------ mutations

    pub async fn lock(
        &self,
        image_id: i64,
        expected_version: i64,
        idempotency_key: &str,
    ) -> Result<ImageActionResponse, ApiError> {
        let body = LockRequest {
            expected_version: Some(expected_version),
        };
        self.mutate(&format!("/images/{image_id}/lock"), &body, idempotency_key)
            .await
    }

    pub async fn unlock(
        &self,
        image_id: i64,
        body: &UnlockRequest,
        idempotency_key: &str,
    ) -> Result<ImageActionResponse, ApiError> {
        self.mutate(&format!("/images/{image_id}/unlock"), body, idempotency_key)
            .await
    }

    pub async fn decide(
        &self,
        candidate_id: i64,
        body: &DecisionRequest,
        idempotency_key: &str,
    ) -> Result<DecisionResponse, ApiError> {
        self.mutate(
            &format!("/candidates/{candidate_id}/decision"),
            body,
            idempotency_key,
        )
        .await
    }

    pub async fn feedback(
        &self,
        candidate_id: i64,
        body: &FeedbackRequest,
        idempotency_key: &str,
    ) -> Result<(), ApiError> {
        let _: serde_json::Value = self
            .mutate(
                &format!("/candidates/{candidate_id}/feedback"),
                body,
                idempotency_key,
            )
            .await?;
        Ok(())
    }

    pub async fn undo(
        &self,
        audit_id: i64,
        idempotency_key: &str,
    ) -> Result<UndoResponse, ApiError> {
        self.mutate(
            &format!("/audit/{audit_id}/undo"),
            &serde_json::json!({}),
            idempotency_key,
        )
        .await
    }

    pub async fn reveal(
        &self,
        candidate_id: i64,
        idempotency_key: &str,
    ) -> Result<RevealResponse, ApiError> {
        self.mutate_retrying(
            &format!("/candidates/{candidate_id}/reveal"),
            &serde_json::json!({}),
            idempotency_key,
        )
        .await
    }

    // ------------------------------------------------------------ reports

    /// The follow-up list of `state` (None: pending). Writing it makes the
    /// listed actions final, so it is never retried blindly: the caller
    /// asks again.
    pub async fn follow_up(
        &self,
        state: Option<&str>,
    ) -> Result<super::reports::FollowUpList, ApiError> {
        let body = super::reports::FollowUpRequest {
            state: state.map(str::to_string),
        };
        self.json(self.http.post(self.url("/follow-up")).json(&body))
            .await
    }

    pub async fn stats(&self, stale_days: u32) -> Result<super::reports::StatsResponse, ApiError> {
        self.get(&format!("/stats?stale_days={stale_days}")).await
    }

    // ------------------------------------------------------------ events

    /// Read `/events` until `emit` returns false, reconnecting with jittered backoff
    /// (1 s doubling to 30 s) after every drop. 401 ends the loop after
    /// reporting it: a new token restarts it.
    pub async fn run_events(&self, mut emit: impl FnMut(StreamEvent) -> bool) {
        let mut backoff = Duration::from_secs(1);
        // The last event's id: a reconnection resumes after it.
        let mut last_id: Option<String> = None;
        loop {
            let res = self
                .read_events_once(&mut emit, &mut backoff, &mut last_id)
                .await;
            let err = match res {
                Ok(false) => return,
                Ok(true) => ApiError::Connect("the event stream ended".into()),
                Err(e) => e,
            };
            let unauthorized = err.is_unauthorized();
            if !emit(StreamEvent::Disconnected(err)) || unauthorized {
                return;
            }
            // Half the ceiling plus jitter: spread out, yet never a tight
            // loop against a server that drops every connection at once.
            let wait = backoff / 2 + (backoff / 2).mul_f64(rand::random::<f64>());
            tokio::time::sleep(wait).await;
            // Capped low: a console must come back within seconds of the
            // server (the jitter still spreads a crowd over the cap).
            backoff = (backoff * 2).min(STREAM_BACKOFF_CAP);
        }
    }

    /// One connection. Ok(false): the receiver is gone; Ok(true): EOF.
    async fn read_events_once(
        &self,
        emit: &mut impl FnMut(StreamEvent) -> bool,
        backoff: &mut Duration,
        last_id: &mut Option<String>,
    ) -> Result<bool, ApiError> {
        let mut rb = self
            .stream_http
            .get(self.url("/events"))
            .header("Accept", "text/event-stream");
        if let Some(id) = last_id.as_deref() {
            rb = rb.header("Last-Event-ID", id);
        }
        let resp = self.authed(rb).send().await.map_err(map_err)?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(ApiError::from_response(status.as_u16(), &body));
        }
        if !emit(StreamEvent::Connected) {
            return Ok(false);
        }
        *backoff = Duration::from_secs(1);
        let mut parser = SseParser::default();
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(map_err)?;
            if !emit(StreamEvent::Alive) {
                return Ok(false);
            }
            for msg in parser.feed(&chunk) {
                if let Some(id) = &msg.id {
                    *last_id = Some(id.clone());
                }
                // Unknown event types and unreadable payloads are skipped:
                // a newer server may send more than this console knows.
                // `reset`: the server no longer has what we missed;
                // `resync`: what servers before the event log sent.
                if msg.event == "reset" || msg.event == "resync" {
                    if !emit(StreamEvent::Resync) {
                        return Ok(false);
                    }
                    continue;
                }
                if (msg.event == "candidate" || msg.event.is_empty())
                    && let Ok(ev) = serde_json::from_str::<QueueEvent>(&msg.data)
                    && !emit(StreamEvent::Event(ev))
                {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }
}

/// The certificates of a PEM file (one or several).
fn load_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ApiError> {
    let pem = std::fs::read(path).map_err(|e| {
        ApiError::Invalid(format!("cannot read the CA file {}: {e}", path.display()))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        ApiError::Invalid(format!("the CA file {} is not PEM: {e}", path.display()))
    })?;
    if certs.is_empty() {
        return Err(ApiError::Invalid(format!(
            "the CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_url_is_an_error_not_a_panic() {
        assert!(matches!(
            Client::new("localhost:8080", None, Timeouts::default()),
            Err(ApiError::Invalid(_))
        ));
    }

    #[test]
    fn unreadable_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("nope.pem");
        let e = Client::with_ca_file("https://x", None, Timeouts::default(), Some(&missing))
            .expect_err("missing file");
        assert!(e.to_string().contains("cannot read the CA file"), "{e}");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").expect("write");
        let e = Client::with_ca_file("https://x", None, Timeouts::default(), Some(&junk))
            .expect_err("no certificate");
        assert!(e.to_string().contains("CA file"), "{e}");
    }
}
