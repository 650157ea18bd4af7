use clap::Parser;
use shenhe::cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(args)) => {
            let rt = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("shenhe: cannot start the runtime: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            match rt.block_on(shenhe::server::serve(args)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("shenhe serve: {e:#}");
                    std::process::ExitCode::FAILURE
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
