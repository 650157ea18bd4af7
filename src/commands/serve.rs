//! `shenhe serve`: the reference server alone. Logs to stderr, stops
//! cleanly on SIGTERM or Ctrl-C.

use super::{Failure, LazyRuntime, log_to_stderr};
use crate::cli::ServeArgs;
use crate::domain::rules::ReviewWindow;
use crate::server::{ServerConfig, default_db_path, start};

/// The log target these lines had when this code was `server::serve`
/// (what `RUST_LOG=shenhe::server=...` selects).
const LOG: &str = "shenhe::server";

pub fn run(args: ServeArgs, rt: &LazyRuntime) -> Result<(), Failure> {
    let rt = rt.get()?;
    rt.block_on(serve(args))
        .map_err(|e| Failure::general(format!("shenhe serve: {e:#}")))
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    log_to_stderr();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let today = chrono::Local::now().date_naive();
    let window = match &args.window {
        Some(w) => {
            use chrono::Datelike;
            ReviewWindow::parse(w, today.year())?
        }
        None if args.demo => ReviewWindow::around(today),
        None => {
            use chrono::Datelike;
            ReviewWindow::standard(today.year())
        }
    };
    let config = ServerConfig {
        listen: args.listen,
        db: args.db.clone().unwrap_or_else(|| default_db_path().into()),
        blobs: args.blobs.clone(),
        demo: args.demo.then_some(args.candidates),
        window,
        tls: args.tls_cert.clone().zip(args.tls_key.clone()),
        undo_window: chrono::Duration::seconds(i64::from(args.undo_window)),
        request_timeout: crate::server::REQUEST_TIMEOUT,
    };
    tracing::info!(target: LOG, db = %config.db, window = %window.short(), "starting");
    let server = start(config).await?;
    tracing::info!(target: LOG, url = %server.base_url, "listening");
    // Printed for scripts that start the server on port 0.
    println!("shenhe serving on {}", server.base_url);
    shutdown_signal().await;
    tracing::info!(target: LOG, "shutting down: draining requests");
    server.shutdown().await?;
    tracing::info!(target: LOG, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
