//! `shenhe demo`: the reference server in-process, seeded, and the console
//! logged in as the demo site reviewer `nanjing`.

use super::{Failure, LazyRuntime, log_to_file};
use crate::api::client::{Client, Timeouts};
use crate::cli::{Cli, DemoArgs};
use crate::domain::rules::ReviewWindow;
use crate::{config, server, tui};

/// The log target these lines had when this code was in `main.rs` (the
/// binary's root module, `shenhe`).
const LOG: &str = "shenhe";

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot make a temporary folder: {0}")]
    Temp(#[from] std::io::Error),
    #[error("the demo server did not start: {0}")]
    Server(#[from] server::ServerError),
    #[error("cannot log in as the demo reviewer: {0}")]
    Login(#[from] crate::api::error::ApiError),
    #[error(transparent)]
    Tui(#[from] tui::TuiError),
}

pub fn run(cli: &Cli, args: DemoArgs, rt: &LazyRuntime) -> Result<(), Failure> {
    let data_dir = config::data_dir();
    log_to_file(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    let rt = rt.get()?;
    let run = async move {
        // A fresh database unless --db; the folder goes when we do.
        let tmp = tempfile::Builder::new().prefix("shenhe-demo-").tempdir()?;
        let db = args
            .db
            .clone()
            .unwrap_or_else(|| tmp.path().join("demo.db").into());
        let today = chrono::Local::now().date_naive();
        let server = server::start(server::ServerConfig {
            listen: args.listen,
            db,
            blobs: args.blobs.clone(),
            demo: Some(args.candidates),
            window: ReviewWindow::around(today),
            tls: None,
            undo_window: crate::domain::undo_window::DEFAULT,
            request_timeout: server::REQUEST_TIMEOUT,
        })
        .await?;
        tracing::info!(target: LOG, "demo server at {}", server.base_url);
        let client = Client::new(&server.base_url, None, Timeouts::default())?;
        let session = client.login("nanjing", "demo").await?;
        // The other side of the loop: a candidate in a browser, same address;
        // best one who can still upload (not submitted, or 审核待定).
        let mut candidate = None;
        for state in [Some("not_started"), Some("pending"), None] {
            let q = crate::api::dto::CandidateQuery {
                state: state.map(str::to_string),
                limit: Some(1),
                ..Default::default()
            };
            candidate = client
                .candidates(&q)
                .await
                .ok()
                .and_then(|l| l.items.into_iter().next());
            if candidate.is_some() {
                break;
            }
        }
        let banner = crate::web::demo_banner(&server.base_url, candidate.map(|c| c.reg_no));
        tracing::info!(target: LOG, "{banner}");
        say!("{banner}");
        let result = tui::run(tui::RunOptions {
            config: cfg,
            config_error: cfg_err,
            server: server.base_url.clone(),
            token: Some(session.token),
            // The demo's token is for a throwaway server: never stored.
            remember_token: false,
            // With --db the demo is a real, lasting database: its decisions
            // get a journal. A throwaway one does not (nothing to replay to).
            journal_dir: args.db.is_some().then(|| data_dir.clone()).flatten(),
            data_dir,
            low_bandwidth: cli.low_bandwidth,
        })
        .await;
        if let Err(e) = server.shutdown().await {
            tracing::warn!(target: LOG, "demo server shutdown: {e}");
        }
        drop(tmp);
        result.map_err(DemoError::from)
    };
    rt.block_on(run)
        .map_err(|e| Failure::general(format!("shenhe demo: {e}")))
}
