use clap::Parser;
use shenhe::cli::Cli;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
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
