//! Plain `shenhe`: the console against `--server`, `SHENHE_SERVER` or the
//! config file, logged in with `SHENHE_TOKEN` or the stored token.

use super::{Failure, LazyRuntime, log_to_file};
use crate::cli::Cli;
use crate::{app, config, tui};

pub fn run(cli: &Cli, rt: &LazyRuntime) -> Result<(), Failure> {
    let data_dir = config::data_dir();
    log_to_file(data_dir.as_deref());
    let (mut cfg, cfg_err) = config::load(cli.config.as_deref());
    if let Some(ca) = &cli.ca_file {
        cfg.ca_file = Some(ca.clone());
    }
    let server = cli.server.clone().unwrap_or_else(|| cfg.server.clone());
    let server = server.trim_end_matches('/').to_string();
    // SHENHE_TOKEN (automation) wins and is never written to disk.
    let env_token = std::env::var("SHENHE_TOKEN").ok().filter(|t| !t.is_empty());
    let (token, remember) = match env_token {
        Some(t) => (Some(t), false),
        None => (
            data_dir
                .as_deref()
                .and_then(|d| app::effects::load_token(d, &server, chrono::Utc::now())),
            true,
        ),
    };
    let rt = rt.get()?;
    rt.block_on(tui::run(tui::RunOptions {
        config: cfg,
        config_error: cfg_err,
        server,
        token,
        remember_token: remember,
        journal_dir: data_dir.clone(),
        data_dir,
        low_bandwidth: cli.low_bandwidth,
    }))
    .map_err(|e| Failure::general(format!("shenhe: {e}")))
}
