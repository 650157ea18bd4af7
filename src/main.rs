use std::process::ExitCode;

use clap::Parser;
use shenhe::cli::{Cli, Command};
use shenhe::commands::{self, LazyRuntime};

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
        Some(Command::Show(ref args)) => commands::show::run(&cli, args, &rt),
        Some(Command::Export(ref args)) => commands::export::run(&cli, args, &rt),
        Some(Command::Migrate(ref args)) => commands::migrate::run(args, &rt),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.report();
            ExitCode::from(failure.code())
        }
    }
}
