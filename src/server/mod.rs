//! The reference server of the API (`shenhe serve`, and in-process for
//! `shenhe demo` and the tests): axum over a [`store::Store`].
//!
//! - [`routes`]: reviewer side, sessions, reference data, SSE
//! - [`candidate`]: candidate side
//! - [`reports`]: the follow-up list and the overview
//! - [`auth`]: passwords, tokens, extractors, login rate limit
//! - [`extract`]: problem+json extractors, If-Match, Idempotency-Key
//! - [`idempotency`]: replay of mutating calls
//! - [`error`]: [`error::ApiError`] and the table of problem codes
//! - [`store`]: the `Store` trait and its SQLite implementation
//! - [`seed`]: demo data
//! - [`openapi`]: the generated OpenAPI document

pub mod auth;
pub mod blobs;
pub mod candidate;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod messages;
pub mod openapi;
pub mod reports;
pub mod routes;
pub mod seed;
pub mod store;
pub mod stream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::routing::{get, post};
use tokio::sync::{broadcast, watch};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::domain::rules::ReviewWindow;
use store::{AnyStore, Change, DbTarget, Store};

/// JSON bodies: a decision or feedback is a few hundred bytes.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;
/// Uploads: one 200 KB file plus the multipart framing.
pub const UPLOAD_BODY_LIMIT: usize = 256 * 1024;
/// Longest a request may take before 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// A SQLite file or a PostgreSQL URL.
    pub db: DbTarget,
    /// Where image bytes go (`server::blobs::Blobs::from_address`); `None`:
    /// a folder beside a SQLite database (`shenhe.db` → `shenhe.blobs/`),
    /// or in the data directory beside PostgreSQL (one instance only).
    pub blobs: Option<String>,
    /// Seed demo data with this many candidates (only into an empty db).
    pub demo: Option<u32>,
    pub window: ReviewWindow,
    /// (certificate chain, private key), PEM.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a reviewer's action may be undone (and nothing about it
    /// leaves the system): `domain::undo_window::DEFAULT`.
    pub undo_window: chrono::Duration,
    /// Longest a request may take before 408: [`REQUEST_TIMEOUT`].
    pub request_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("storage: {0}")]
    Store(#[from] store::StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Blobs(#[from] blobs::BlobError),
    #[error("TLS setup: {0}")]
    Tls(std::io::Error),
    #[error("seeding demo data: {0}")]
    Seed(#[from] seed::SeedError),
    #[error("the server task failed: {0}")]
    Join(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Queue changes, fanned out to every SSE subscriber (each filters to its
/// own scope).
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<Arc<Change>>,
}

impl EventHub {
    pub fn new() -> EventHub {
        EventHub {
            tx: broadcast::channel(1024).0,
        }
    }

    pub fn publish(&self, change: Change) {
        // No subscribers is fine.
        let _ = self.tx.send(Arc::new(change));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub::new()
    }
}

pub struct Inner {
    pub store: Arc<dyn Store>,
    /// Image bytes, by hash: the store records which, this holds them.
    pub blobs: blobs::Blobs,
    pub window: ReviewWindow,
    pub events: EventHub,
    pub limiter: auth::LoginLimiter,
    pub idempotency: idempotency::KeyLocks,
    /// Verified against when a username is unknown (equal timing).
    pub dummy_hash: String,
    /// Flips to true on shutdown; ends the SSE streams so draining finishes.
    pub shutdown: watch::Receiver<bool>,
    /// The undo window, told to consoles at login.
    pub undo_window: chrono::Duration,
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: blobs::Blobs,
        window: ReviewWindow,
        undo_window: chrono::Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Result<AppState, auth::AuthError> {
        Ok(AppState(Arc::new(Inner {
            limiter: auth::LoginLimiter::new(store.clone(), 5, Duration::from_secs(60)),
            store,
            blobs,
            window,
            events: EventHub::new(),
            idempotency: idempotency::KeyLocks::default(),
            dummy_hash: auth::hash_password("no such user, a dummy to verify against")?,
            shutdown,
            undo_window,
        })))
    }
}

/// The whole HTTP surface, with the default request timeout.
pub fn router(state: AppState) -> Router {
    router_with_timeout(state, REQUEST_TIMEOUT)
}

/// The whole HTTP surface; requests longer than `timeout` get 408.
pub fn router_with_timeout(state: AppState, timeout: Duration) -> Router {
    use axum::routing::delete;
    let upload = Router::new()
        .route(
            "/api/v1/candidate/materials/{category}/images",
            post(candidate::upload),
        )
        .layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT));
    let api = Router::new()
        .route("/api/v1/health", get(routes::health))
        .route("/api/v1/openapi.json", get(openapi::serve_spec))
        .route("/api/v1/reason-codes", get(routes::reason_codes))
        .route(
            "/api/v1/material-categories",
            get(routes::material_categories),
        )
        .route(
            "/api/v1/session",
            post(routes::login).delete(routes::logout),
        )
        .route("/api/v1/me", get(routes::me))
        .route("/api/v1/candidates", get(routes::list_candidates))
        .route("/api/v1/candidates/{id}", get(routes::candidate))
        .route("/api/v1/candidates/{id}/decision", post(routes::decide))
        .route(
            "/api/v1/candidates/{id}/claim",
            post(routes::claim).delete(routes::release),
        )
        .route("/api/v1/candidates/{id}/feedback", post(routes::feedback))
        .route("/api/v1/candidates/{id}/audit", get(routes::audit))
        .route("/api/v1/candidates/{id}/reveal", post(routes::reveal))
        .route("/api/v1/images/{id}/content", get(routes::image_content))
        .route("/api/v1/images/{id}/lock", post(routes::lock_image))
        .route("/api/v1/images/{id}/unlock", post(routes::unlock_image))
        .route("/api/v1/audit/{event}/undo", post(routes::undo))
        .route("/api/v1/events", get(routes::events))
        .route("/api/v1/follow-up", post(reports::follow_up))
        .route("/api/v1/stats", get(reports::stats))
        .route(
            "/api/v1/candidate/session",
            post(candidate::login).delete(candidate::logout),
        )
        .route("/api/v1/candidate/me", get(candidate::me))
        .route("/api/v1/candidate/submit", post(candidate::submit))
        .route(
            "/api/v1/candidate/images/{id}",
            delete(candidate::delete_image),
        )
        .route(
            "/api/v1/candidate/images/{id}/content",
            get(candidate::image_content),
        )
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .merge(upload)
        .fallback(|| async { error::ApiError::for_status(StatusCode::NOT_FOUND) });

    // route_layer: only requests that reach a handler; an unsupported
    // method gets its 405 whatever headers it carries.
    let web = crate::web::router(state.clone());
    api.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        idempotency::middleware,
    ))
    .with_state(state)
    .layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(axum::middleware::from_fn(extract::problem_fallback))
    .layer(axum::middleware::from_fn(log_request))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("DENY"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
    ))
    .layer(SetResponseHeaderLayer::overriding(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ))
    // Almost everything here is personal data: never cached by proxies or
    // browsers (the console keeps its own cache keyed by sha256).
    .layer(SetResponseHeaderLayer::if_not_present(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    ))
    // The candidates' pages (`/`, `/materials` …) keep their own headers:
    // their CSP must allow their own script and stylesheet.
    .merge(web)
}

/// One line per request: method, route template (never the concrete URL,
/// whose query may hold a searched name or ID number), status, time.
async fn log_request(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "(unmatched)".to_string(), |p| p.as_str().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(
        %method,
        route,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    resp
}

/// A server running in this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub base_url: String,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
    store: AnyStore,
}

impl RunningServer {
    /// Stop accepting, let in-flight requests finish, close the database.
    pub async fn shutdown(self) -> Result<(), ServerError> {
        let _ = self.shutdown.send(true);
        let res = self
            .task
            .await
            .map_err(|e| ServerError::Join(e.to_string()))?;
        self.store.close().await;
        res
    }

    /// The store the server runs on (tests and tools reach into it).
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// The SQLite store, when that is the engine.
    pub fn sqlite_store(&self) -> Option<Arc<store::SqliteStore>> {
        self.store.sqlite()
    }
}

fn log_seed(report: seed::SeedReport, since: std::time::Instant) {
    tracing::info!(
        candidates = report.candidates,
        images = report.images,
        ms = since.elapsed().as_millis() as u64,
        "seeded demo data"
    );
}

/// Bind, migrate, seed (demo: only an empty database), and serve in a task.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    if let DbTarget::Sqlite(path) = &config.db
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)?;
    }
    let blobs = match (&config.blobs, &config.db) {
        (Some(address), _) => blobs::Blobs::from_address(address)?,
        (None, DbTarget::Sqlite(path)) => blobs::Blobs::local(&blobs::Blobs::beside(path))?,
        (None, DbTarget::Postgres(_)) => {
            tracing::warn!(
                "image bytes in a local folder: several instances need one shared store (--blobs s3://…)"
            );
            blobs::Blobs::local(&blobs::Blobs::beside(&default_db_path()))?
        }
    };
    // A demo on a SQLite file not made yet: seeded as a new file, renamed
    // into place, before the store opens it (`seed_demo_file`).
    if let (Some(n), DbTarget::Sqlite(path)) = (config.demo, &config.db)
        && !path.exists()
    {
        let t = std::time::Instant::now();
        let report = seed::seed_demo_file(path, &blobs, n, chrono::Utc::now()).await?;
        log_seed(report, t);
    }
    let store = AnyStore::open(&config.db, config.undo_window).await?;
    if let Some(sqlite) = store.sqlite() {
        let moved = sqlite.move_legacy_blobs(&blobs).await?;
        if moved > 0 {
            tracing::info!(
                moved,
                blobs = blobs.describe(),
                "moved image bytes out of the database"
            );
        }
    }
    if let Some(n) = config.demo
        && store.as_dyn().is_empty().await?
    {
        let t = std::time::Instant::now();
        let report = seed::seed_demo(&store, &blobs, n, chrono::Utc::now()).await?;
        log_seed(report, t);
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr()?;
    let (tx, rx) = watch::channel(false);
    tracing::info!(blobs = blobs.describe(), "image bytes");
    let state = AppState::new(
        store.as_dyn(),
        blobs,
        config.window,
        config.undo_window,
        rx.clone(),
    )
    .map_err(|e| ServerError::Join(e.to_string()))?;
    // Several instances on one PostgreSQL: changes made through the others
    // reach this one's streams through the database.
    if let Some(pg) = store.postgres() {
        pg.spawn_listener(state.events.clone(), rx.clone());
    }
    let mut app = router_with_timeout(state, config.request_timeout);
    if config.tls.is_some() {
        // Only meaningful (and only honoured by browsers) over https: over
        // plain http it would pin a loopback test server to https.
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
        // The pages' cookies get `Secure`.
        app = app.layer(axum::Extension(crate::web::session::Tls));
    }
    let app = app.into_make_service_with_connect_info::<SocketAddr>();
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let task = match config.tls.clone() {
        None => {
            let mut rx = rx;
            tokio::spawn(async move {
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = rx.wait_for(|down| *down).await;
                    })
                    .await
                    .map_err(ServerError::Io)
            })
        }
        Some((cert, key)) => {
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_chain_file(cert, key)
                .await
                .map_err(ServerError::Tls)?;
            let handle = axum_server::Handle::new();
            let h = handle.clone();
            let mut rx = rx;
            tokio::spawn(async move {
                let _ = rx.wait_for(|down| *down).await;
                h.graceful_shutdown(Some(Duration::from_secs(30)));
            });
            let std_listener = listener.into_std()?;
            tokio::spawn(async move {
                axum_server::from_tcp_rustls(std_listener, tls)
                    .handle(handle)
                    .serve(app)
                    .await
                    .map_err(ServerError::Io)
            })
        }
    };
    Ok(RunningServer {
        addr,
        base_url: format!("{scheme}://{addr}"),
        shutdown: tx,
        task,
        store,
    })
}

/// The default database: `shenhe.db` in the data directory.
pub fn default_db_path() -> PathBuf {
    directories::ProjectDirs::from("org", "shenhe", "shenhe")
        .map(|d| d.data_dir().join("shenhe.db"))
        .unwrap_or_else(|| PathBuf::from("shenhe.db"))
}
