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
use shenhe::commands::{self, LazyRuntime, log_to_file};
use shenhe::{config, tui};

fn main() -> ExitCode {
    // reqwest is built without a default TLS provider (see DESIGN.md).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    // Lives to the end of main: dropped after the outcome is reported.
    let rt = LazyRuntime::default();
    let outcome = match cli.command {
        None => commands::console::run(&cli, &rt),
        Some(Command::Demo(ref args)) => commands::demo::run(&cli, args.clone(), &rt),
        Some(Command::Serve(args)) => commands::serve::run(args, &rt),
        Some(Command::RenderImage(ref args)) => {
            commands::render_image::run(args, cli.low_bandwidth)
        }
        Some(Command::Show(ref args)) => return show(&cli, args, &rt),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            ExitCode::from(failure.code())
        }
    }
}

/// `shenhe show`: the console's login (SHENHE_TOKEN, else the stored token),
/// no terminal setup, output to the scrollback.
fn show(cli: &Cli, args: &shenhe::cli::ShowArgs, rt: &LazyRuntime) -> ExitCode {
    use shenhe::images::show::{self, ShowError, ShowOptions};
    let data_dir = config::data_dir();
    log_to_file(data_dir.as_deref());
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
    let rt = match rt.get() {
        Ok(rt) => rt,
        Err(failure) => {
            failure.report();
            return ExitCode::FAILURE;
        }
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
