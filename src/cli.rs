//! Command line (names are fixed: outside checks call them).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::images::ProtocolKind;
use crate::server::store::DbTarget;

#[derive(Debug, Parser)]
#[command(
    name = "shenhe",
    version,
    about = "审核台: review exam-registration materials in the terminal"
)]
pub struct Cli {
    /// Registration server to talk to (overrides the config file).
    #[arg(long, env = "SHENHE_SERVER")]
    pub server: Option<String>,
    /// Config file (default: config.toml in the user's config directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also trust the CA certificate(s) in this PEM file (an https server
    /// with a private CA; overrides `ca_file` in the config).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Cap preview resolution and prefer half-blocks (slow links).
    #[arg(long)]
    pub low_bandwidth: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the reference server in-process with demo data and open the console.
    Demo(DemoArgs),
    /// Run the reference server alone.
    Serve(ServeArgs),
    /// Print one candidate's dossier and images to the scrollback (line mode).
    Show(ShowArgs),
    /// Write the escape sequence the console would draw for an image.
    RenderImage(RenderImageArgs),
    /// Write the follow-up list (whom to call, and why) as CSV for Excel.
    Export(ExportArgs),
    /// Apply the database migrations and exit (before starting instances).
    Migrate(MigrateArgs),
}

#[derive(Debug, Args, Clone)]
pub struct MigrateArgs {
    /// SQLite file or postgres://user:pass@host:port/db URL (or SHENHE_DB,
    /// which keeps a password out of the process list).
    #[arg(long, env = "SHENHE_DB", value_name = "PATH|URL", value_parser = DbTarget::parse)]
    pub db: DbTarget,
}

#[derive(Debug, Args, Clone)]
#[command(
    after_help = "The list holds the candidates of the state in your scope \
(your site, or your district) with reg_no, name, masked ID number, phone, the \
decision, its reasons, the images to replace and the note. UTF-8 with a BOM \
(Excel opens it as is); cells that would run as formulas start with '. \
Candidates with an action still in its undo window are left out (the count \
is printed) and listed once it closes; once listed, those actions are final. \
Logs in like `shenhe show`: SHENHE_TOKEN, else the console's stored token.
Exit status: 0 written; 1 output failed; 2 usage; 3 not logged in; 5 server \
unreachable or failing."
)]
pub struct ExportArgs {
    /// Which state at your level: pending (default: the people to call),
    /// rejected, passed, awaiting_review or returned.
    #[arg(long, default_value = "pending")]
    pub state: String,
    /// Write to this file (default: standard output).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// Column titles in this language (zh-CN or en; default: the config's).
    #[arg(long)]
    pub lang: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Address for the in-process server (so other programs can watch it).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Database file or postgres:// URL; seeded only when empty. Default: a
    /// fresh temporary file.
    #[arg(long, value_name = "PATH|URL", value_parser = DbTarget::parse)]
    pub db: Option<DbTarget>,
    /// Number of demo candidates.
    #[arg(long, default_value_t = 200)]
    pub candidates: u32,
    /// Where image bytes are kept (as for `serve`; default: beside the
    /// database).
    #[arg(long, env = "SHENHE_BLOBS", value_name = "ADDR")]
    pub blobs: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Address and port to serve the API and the candidates' pages on
    /// (`0.0.0.0:8080` for every interface; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// SQLite database file, created and migrated if needed (default:
    /// shenhe.db in the data directory), or a postgres://user:pass@host:port/db
    /// URL (several instances may share one database).
    #[arg(long, env = "SHENHE_DB", value_name = "PATH|URL", value_parser = DbTarget::parse)]
    pub db: Option<DbTarget>,
    /// Where image bytes are kept, content-addressed: a folder, or
    /// `s3://BUCKET[/PREFIX]` for S3-compatible storage (credentials,
    /// region and endpoint from AWS_* variables; several instances need
    /// one shared store). Default: a folder beside the database
    /// (shenhe.db → shenhe.blobs/).
    #[arg(long, env = "SHENHE_BLOBS", value_name = "ADDR")]
    pub blobs: Option<String>,
    /// Seed demo data and the demo accounts (into an empty database).
    #[arg(long)]
    pub demo: bool,
    /// Number of demo candidates (with --demo).
    #[arg(long, default_value_t = 200)]
    pub candidates: u32,
    /// Review window, e.g. 02-14..03-20 or 2027-02-14..2027-03-20.
    /// Default: 02-14..03-20 of this year; with --demo, open around today.
    #[arg(long)]
    pub window: Option<String>,
    /// Seconds a reviewer's action may be undone: until then nothing about
    /// it leaves the system (phone lists wait); longer while the reviewer
    /// stays on the candidate.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub undo_window: u32,
    /// TLS certificate chain (PEM); with --tls-key serves HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
#[command(after_help = "Exit status: 0 shown; 1 output failed; 2 usage; \
3 not logged in (no SHENHE_TOKEN or stored token, or it was refused); \
4 no such candidate in your scope; 5 server unreachable or failing.")]
pub struct ShowArgs {
    /// Candidate reg_no (报名序列号) or id.
    pub candidate: String,
    /// The box each image fits in, in cells, WxH (default: the terminal's
    /// width; 80x21 when not a terminal).
    #[arg(long, value_parser = parse_wxh)]
    pub cells: Option<(u16, u16)>,
    /// Force a protocol (default: the config's image_protocol; half-blocks
    /// when stdout is not a terminal).
    #[arg(long, value_enum)]
    pub protocol: Option<ProtocolArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    Halfblocks,
    Sixel,
    Kitty,
    Iterm2,
}

impl From<ProtocolArg> for ProtocolKind {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Halfblocks => ProtocolKind::Halfblocks,
            ProtocolArg::Sixel => ProtocolKind::Sixel,
            ProtocolArg::Kitty => ProtocolKind::Kitty,
            ProtocolArg::Iterm2 => ProtocolKind::Iterm2,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct RenderImageArgs {
    pub file: PathBuf,
    #[arg(long, value_enum)]
    pub protocol: ProtocolArg,
    /// Area in cells, WxH (e.g. 60x30).
    #[arg(long, value_parser = parse_wxh)]
    pub cells: (u16, u16),
    /// Cell size in pixels, WxH (default 10x20).
    #[arg(long, value_parser = parse_wxh, default_value = "10x20")]
    pub font_size: (u16, u16),
}

/// Parse `WxH` (also `W×H`).
pub fn parse_wxh(s: &str) -> Result<(u16, u16), String> {
    let (w, h) = s
        .split_once(['x', 'X', '×'])
        .ok_or_else(|| format!("expected WxH, got {s:?}"))?;
    let w: u16 = w
        .trim()
        .parse()
        .map_err(|_| format!("bad width in {s:?}"))?;
    let h: u16 = h
        .trim()
        .parse()
        .map_err(|_| format!("bad height in {s:?}"))?;
    if w == 0 || h == 0 {
        return Err(format!("zero size in {s:?}"));
    }
    Ok((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wxh() {
        assert_eq!(parse_wxh("60x30"), Ok((60, 30)));
        assert_eq!(parse_wxh("120×45"), Ok((120, 45)));
        assert!(parse_wxh("0x3").is_err());
        assert!(parse_wxh("60").is_err());
    }

    #[test]
    fn clap_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
