use clap::Parser;
use shenhe::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::RenderImage(a)) => {
            match shenhe::images::command::run(&a, cli.low_bandwidth) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("shenhe render-image: {e}");
                    std::process::ExitCode::from(1)
                }
            }
        }
        Some(other) => {
            eprintln!("shenhe: {other:?} is not built yet");
            std::process::ExitCode::from(2)
        }
        None => {
            eprintln!("shenhe: the console is not built yet");
            std::process::ExitCode::from(2)
        }
    }
}
