//! `shenhe export`: the follow-up list as CSV (see `follow_up`), to a file
//! or standard output, logged in like `shenhe show`.

use std::io::Write;

use super::show::{EXIT_FAILED, EXIT_NOT_LOGGED_IN, EXIT_SERVER};
use super::{Failure, LazyRuntime, log_to_file};
use crate::api::client::{Client, Timeouts};
use crate::cli::{Cli, ExportArgs};
use crate::lang::Lang;
use crate::ui::i18n;
use crate::{app, config, follow_up};

pub fn run(cli: &Cli, args: &ExportArgs, rt: &LazyRuntime) -> Result<(), Failure> {
    let data_dir = config::data_dir();
    log_to_file(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    if let Some(e) = cfg_err {
        say!("shenhe export: {e}");
    }
    let lang = match args.lang.as_deref() {
        None => cfg.lang,
        Some("zh-CN" | "zh" | "zh_CN") => Lang::Zh,
        Some("en") => Lang::En,
        Some(other) => {
            return Err(Failure::new(
                2,
                format!("shenhe export: --lang is zh-CN or en, not {other:?}"),
            ));
        }
    };
    let server = cli.server.clone().unwrap_or_else(|| cfg.server.clone());
    let server = server.trim_end_matches('/').to_string();
    let token = std::env::var("SHENHE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            data_dir
                .as_deref()
                .and_then(|d| app::effects::load_token(d, &server, chrono::Utc::now()))
        })
        .ok_or_else(|| {
            Failure::new(
                EXIT_NOT_LOGGED_IN,
                format!(
                    "shenhe export: {}",
                    i18n::tr(lang, i18n::T::ShowNotLoggedIn)
                ),
            )
        })?;
    let ca = cli.ca_file.clone().or(cfg.ca_file.clone());
    let client = Client::with_ca_file(&server, Some(token), Timeouts::default(), ca.as_deref())
        .map_err(|e| Failure::general(format!("shenhe export: {e}")))?;
    let list = rt
        .get()?
        .block_on(client.follow_up(Some(&args.state)))
        .map_err(|e| {
            let code = if e.is_unauthorized() {
                EXIT_NOT_LOGGED_IN
            } else {
                EXIT_SERVER
            };
            Failure::new(
                code,
                format!("shenhe export: {}", i18n::api_error(lang, &e)),
            )
        })?;
    let csv = follow_up::to_csv(&list, lang);
    let written = match &args.out {
        Some(path) => std::fs::write(path, csv.as_bytes()),
        None => std::io::stdout().write_all(csv.as_bytes()),
    };
    written.map_err(|e| Failure::new(EXIT_FAILED, format!("shenhe export: {e}")))?;
    say!("{}", follow_up::summary(&list, lang));
    Ok(())
}
