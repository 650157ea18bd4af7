use std::process::ExitCode;

/// eprintln! that cannot panic: after a dropped SSH session stderr is gone.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

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
        Some(Command::Serve(args)) => {
            let Some(rt) = runtime() else {
                return ExitCode::FAILURE;
            };
            match rt.block_on(shenhe::server::serve(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say!("shenhe serve: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::RenderImage(a)) => {
            match shenhe::images::command::run(&a, cli.low_bandwidth) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    say!("shenhe render-image: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Some(Command::Show(ref args)) => show(&cli, args),
    }
}

/// `shenhe show`: the console's login (SHENHE_TOKEN, else the stored token),
/// no terminal setup, output to the scrollback.
fn show(cli: &Cli, args: &shenhe::cli::ShowArgs) -> ExitCode {
    use shenhe::images::show::{self, ShowError, ShowOptions};
    let data_dir = config::data_dir();
    init_logging(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    if let Some(e) = cfg_err {
        say!("shenhe show: {e}");
    }
    let lang = cfg.lang;
    let server = cli.server.clone().unwrap_or_else(|| cfg.server.clone());
    let server = server.trim_end_matches('/').to_string();
    let token = std::env::var("SHENHE_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            data_dir
                .as_deref()
                .and_then(|d| shenhe::app::effects::load_token(d, &server, chrono::Utc::now()))
        });
    let fail = |e: ShowError| {
        say!("shenhe show: {}", e.message(lang));
        ExitCode::from(e.exit_code())
    };
    let Some(token) = token else {
        return fail(ShowError::NotLoggedIn);
    };
    let opts = ShowOptions {
        candidate: args.candidate.clone(),
        lang,
        protocol: args.protocol.map(Into::into),
        setting: tui::protocol_setting(cfg.image_protocol),
        low_bandwidth: cli.low_bandwidth || cfg.low_bandwidth,
        cells: args.cells,
    };
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let run = async {
        let client = shenhe::api::client::Client::new(
            &server,
            Some(token),
            shenhe::api::client::Timeouts::default(),
        )?;
        show::run(&client, &opts).await
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::from(show::EXIT_OK),
        // `| head` closing the pipe early is not a failure of ours.
        Err(ShowError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(show::EXIT_OK)
        }
        Err(e) => fail(e),
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
            say!("shenhe: cannot start the runtime: {e}");
            None
        }
    }
}

fn finish(r: Result<(), tui::TuiError>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("shenhe: {e}");
            ExitCode::FAILURE
        }
    }
}

fn console(cli: &Cli) -> ExitCode {
    let data_dir = config::data_dir();
    init_logging(data_dir.as_deref());
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
        journal_dir: data_dir.clone(),
        data_dir,
        low_bandwidth: cli.low_bandwidth,
    })))
}

#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("cannot make a temporary folder: {0}")]
    Temp(#[from] std::io::Error),
    #[error("the demo server did not start: {0}")]
    Server(#[from] shenhe::server::ServerError),
    #[error("cannot log in as the demo reviewer: {0}")]
    Login(#[from] shenhe::api::error::ApiError),
    #[error(transparent)]
    Tui(#[from] tui::TuiError),
}

/// The reference server in-process, seeded, and the console logged in as
/// the demo site reviewer `nanjing`.
fn demo(cli: &Cli, args: shenhe::cli::DemoArgs) -> ExitCode {
    let data_dir = config::data_dir();
    init_logging(data_dir.as_deref());
    let (cfg, cfg_err) = config::load(cli.config.as_deref());
    let Some(rt) = runtime() else {
        return ExitCode::FAILURE;
    };
    let run = async move {
        // A fresh database unless --db; the folder goes when we do.
        let tmp = tempfile::Builder::new().prefix("shenhe-demo-").tempdir()?;
        let db = args
            .db
            .clone()
            .unwrap_or_else(|| tmp.path().join("demo.db"));
        let today = chrono::Local::now().date_naive();
        let server = shenhe::server::start(shenhe::server::ServerConfig {
            listen: args.listen,
            db,
            demo: Some(args.candidates),
            window: shenhe::domain::rules::ReviewWindow::around(today),
            tls: None,
        })
        .await?;
        tracing::info!("demo server at {}", server.base_url);
        let client = shenhe::api::client::Client::new(
            &server.base_url,
            None,
            shenhe::api::client::Timeouts::default(),
        )?;
        let session = client.login("nanjing", "demo").await?;
        // The other side of the loop: a candidate in a browser, same address;
        // best one who can still upload (not submitted, or 审核待定).
        let mut candidate = None;
        for state in [Some("not_started"), Some("pending"), None] {
            let q = shenhe::api::dto::CandidateQuery {
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
        let banner = shenhe::web::demo_banner(&server.base_url, candidate.map(|c| c.reg_no));
        tracing::info!("{banner}");
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
            tracing::warn!("demo server shutdown: {e}");
        }
        drop(tmp);
        result.map_err(DemoError::from)
    };
    match rt.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            say!("shenhe demo: {e}");
            ExitCode::FAILURE
        }
    }
}
