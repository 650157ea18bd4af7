use std::process::ExitCode;

use clap::Parser;
use shenhe::cli::{Cli, Command};
use shenhe::{config, tui};

fn main() -> ExitCode {
    // reqwest is built without a default TLS provider (see DESIGN.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.command {
        None => console(&cli),
        Some(Command::Demo(ref args)) => demo(&cli, args.clone()),
        Some(ref other) => {
            eprintln!("shenhe: {other:?} is not built yet");
            ExitCode::from(2)
        }
    }
}

/// Logs go to a file in the data directory, never to the terminal.
fn init_logging(data_dir: Option<&std::path::Path>) {
    let Some(dir) = data_dir else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("shenhe.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SHENHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("shenhe: cannot start the runtime: {e}");
            None
        }
    }
}

fn finish(r: Result<(), tui::TuiError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shenhe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn console(cli: &Cli) -> ExitCode {
    let data_dir = config::data_dir();
    init_logging(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    let server = cli.server.clone().unwrap_or_else(|| cfg.server.clone());
    let server = server.trim_end_matches('/').to_string();
    // SHENHE_TOKEN (automation) wins and is never written to disk.
    let env_token = std::env::var("SHENHE_TOKEN").ok().filter(|t| !t.is_empty());
    let (token, remember) = match env_token {
        Some(t) => (Some(t), false),
        None => (
            data_dir
                .as_deref()
                .and_then(|d| shenhe::app::effects::load_token(d, &server, chrono::Utc::now())),
            true,
        ),
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    finish(rt.block_on(tui::run(tui::RunOptions {
        config: cfg,
        config_error: cfg_err,
        server,
        token,
        remember_token: remember,
        data_dir,
    })))
}

fn demo(cli: &Cli, args: shenhe::cli::DemoArgs) -> ExitCode {
    let data_dir = config::data_dir();
    init_logging(data_dir.as_deref());
    let _ = (cli, args);
    eprintln!("shenhe demo: the reference server is not merged into this build yet");
    ExitCode::from(2)
}
