//! Configuration: `config.example.toml` (embedded) is the defaults; the
//! user's file is merged over it. A bad file never stops the console: the
//! error names the line and the defaults are used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::app::keys::{Command, Key, Keymap};
use crate::lang::Lang;

/// The documented defaults, compiled in.
pub const DEFAULTS: &str = include_str!("../../config.example.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageProtocol {
    Auto,
    Kitty,
    Sixel,
    Iterm2,
    Halfblocks,
    Off,
}

impl ImageProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageProtocol::Auto => "auto",
            ImageProtocol::Kitty => "kitty",
            ImageProtocol::Sixel => "sixel",
            ImageProtocol::Iterm2 => "iterm2",
            ImageProtocol::Halfblocks => "halfblocks",
            ImageProtocol::Off => "off",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeName {
    /// Light or dark by the background colour the terminal reports.
    Auto,
    Dark,
    Light,
    HighContrast,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub server: String,
    pub lang: Lang,
    pub image_protocol: ImageProtocol,
    pub low_bandwidth: bool,
    /// Bytes per navigation step in the status bar from the start.
    pub show_bytes: bool,
    /// Fetch the next candidates' dossiers and images ahead of the keys.
    pub prefetch: bool,
    pub theme: ThemeName,
    pub keymap: Keymap,
    /// Extra CA certificates (PEM) to trust for an https server.
    pub ca_file: Option<PathBuf>,
    /// Ask once before locking an image with quality hints.
    pub confirm_flagged_lock: bool,
    /// Which glyphs to draw (some terminal fonts lack ⟳ ⚑ ◌ …).
    pub glyphs: Glyphs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Glyphs {
    /// ASCII where the terminal is known to lack them (mlterm, the Linux
    /// console), Unicode elsewhere.
    Auto,
    Unicode,
    Ascii,
}

impl Glyphs {
    /// Whether to draw ASCII stand-ins, given `TERM` and whether
    /// `MLTERM` is set.
    pub fn ascii(self, term: Option<&str>, mlterm: bool) -> bool {
        match self {
            Glyphs::Unicode => false,
            Glyphs::Ascii => true,
            Glyphs::Auto => mlterm || term.is_some_and(|t| t.starts_with("mlterm") || t == "linux"),
        }
    }
}

/// A problem with a config file, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {message}", .line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file's name (not its full path: status bars are narrow).
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: Option<Spanned<String>>,
    lang: Option<Spanned<String>>,
    image_protocol: Option<Spanned<String>>,
    low_bandwidth: Option<Spanned<bool>>,
    show_bytes: Option<Spanned<bool>>,
    prefetch: Option<Spanned<bool>>,
    theme: Option<Spanned<String>>,
    keys: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    zoom_keys: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    ca_file: Option<Spanned<String>>,
    confirm_flagged_lock: Option<Spanned<bool>>,
    glyphs: Option<Spanned<String>>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Apply one TOML document over `cfg`.
fn apply(cfg: &mut Config, text: &str, file: &str) -> Result<(), ConfigError> {
    let err = |offset: Option<usize>, message: String| ConfigError {
        file: file.to_string(),
        line: offset.map(|o| line_of(text, o)),
        message,
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        // toml's message may span several lines with a source excerpt;
        // the status bar wants its first sentence.
        let msg = e.message().lines().next().unwrap_or("invalid TOML").trim();
        err(e.span().map(|s| s.start), msg.to_string())
    })?;
    if let Some(s) = raw.server {
        let v = s.get_ref().trim();
        if !(v.starts_with("http://") || v.starts_with("https://")) {
            return Err(err(
                Some(s.span().start),
                format!("server must start with http:// or https://, not {v:?}"),
            ));
        }
        cfg.server = v.to_string();
    }
    if let Some(s) = raw.lang {
        cfg.lang = match s.get_ref().as_str() {
            "zh-CN" | "zh" | "zh_CN" => Lang::Zh,
            "en" | "en-US" | "en-GB" => Lang::En,
            other => {
                return Err(err(
                    Some(s.span().start),
                    format!("lang must be \"zh-CN\" or \"en\", not {other:?}"),
                ));
            }
        };
    }
    if let Some(s) = raw.image_protocol {
        cfg.image_protocol = match s.get_ref().as_str() {
            "auto" => ImageProtocol::Auto,
            "kitty" => ImageProtocol::Kitty,
            "sixel" => ImageProtocol::Sixel,
            "iterm2" => ImageProtocol::Iterm2,
            "halfblocks" => ImageProtocol::Halfblocks,
            "off" => ImageProtocol::Off,
            other => {
                return Err(err(
                    Some(s.span().start),
                    format!(
                        "image_protocol must be one of auto, kitty, sixel, iterm2, halfblocks, off; not {other:?}"
                    ),
                ));
            }
        };
    }
    if let Some(b) = raw.low_bandwidth {
        cfg.low_bandwidth = *b.get_ref();
    }
    if let Some(b) = raw.show_bytes {
        cfg.show_bytes = *b.get_ref();
    }
    if let Some(b) = raw.prefetch {
        cfg.prefetch = *b.get_ref();
    }
    if let Some(b) = raw.confirm_flagged_lock {
        cfg.confirm_flagged_lock = *b.get_ref();
    }
    if let Some(s) = raw.glyphs {
        cfg.glyphs = match s.get_ref().as_str() {
            "auto" => Glyphs::Auto,
            "unicode" => Glyphs::Unicode,
            "ascii" => Glyphs::Ascii,
            other => {
                return Err(err(
                    Some(s.span().start),
                    format!("glyphs must be \"auto\", \"unicode\" or \"ascii\", not {other:?}"),
                ));
            }
        };
    }
    if let Some(s) = raw.theme {
        cfg.theme = match s.get_ref().as_str() {
            "auto" | "default" => ThemeName::Auto,
            "dark" => ThemeName::Dark,
            "light" => ThemeName::Light,
            "high-contrast" | "high_contrast" => ThemeName::HighContrast,
            other => {
                return Err(err(
                    Some(s.span().start),
                    format!(
                        "theme must be \"auto\", \"dark\", \"light\" or \"high-contrast\", not {other:?}"
                    ),
                ));
            }
        };
    }
    if let Some(s) = raw.ca_file {
        let v = s.get_ref().trim();
        // An empty string means "none" (the documented default).
        cfg.ca_file = if v.is_empty() {
            None
        } else {
            Some(expand_home(v))
        };
    }
    for (table, target) in [(raw.keys, false), (raw.zoom_keys, true)] {
        let Some(map) = table else { continue };
        for (k, v) in map {
            let key = Key::parse(k.get_ref()).ok_or_else(|| {
                err(
                    Some(k.span().start),
                    format!("unknown key {:?}", k.get_ref()),
                )
            })?;
            let map = if target {
                &mut cfg.keymap.zoom
            } else {
                &mut cfg.keymap.normal
            };
            if v.get_ref() == "none" {
                map.remove(&key);
                continue;
            }
            let cmd = Command::from_name(v.get_ref()).ok_or_else(|| {
                err(
                    Some(v.span().start),
                    format!(
                        "unknown command {:?} for key {:?} (`:` in the console lists the commands)",
                        v.get_ref(),
                        k.get_ref()
                    ),
                )
            })?;
            map.insert(key, cmd);
        }
    }
    Ok(())
}

/// `~/x` → the home folder's `x` (a config file cannot rely on a shell).
fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(d)) => d.home_dir().join(rest),
        _ => PathBuf::from(p),
    }
}

/// The embedded defaults alone.
pub fn defaults() -> Config {
    let mut cfg = Config {
        server: String::new(),
        lang: Lang::Zh,
        image_protocol: ImageProtocol::Auto,
        low_bandwidth: false,
        show_bytes: false,
        prefetch: true,
        theme: ThemeName::Auto,
        keymap: Keymap::default(),
        ca_file: None,
        confirm_flagged_lock: true,
        glyphs: Glyphs::Auto,
    };
    // The embedded file is tested; an error here would be a build mistake.
    if let Err(e) = apply(&mut cfg, DEFAULTS, "config.example.toml") {
        tracing::error!("embedded defaults: {e}");
    }
    cfg
}

/// Merge `text` (the user's file, named `file` in messages) over the
/// defaults. On error: the defaults, and the error to show.
pub fn from_str(text: &str, file: &str) -> (Config, Option<ConfigError>) {
    let mut cfg = defaults();
    match apply(&mut cfg, text, file) {
        Ok(()) => (cfg, None),
        Err(e) => (defaults(), Some(e)),
    }
}

/// Where the user's config lives by default.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "shenhe").map(|d| d.config_dir().join("config.toml"))
}

/// Where the token and the log go.
pub fn data_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "shenhe").map(|d| d.data_dir().to_path_buf())
}

/// Load `path` (or the default path). A missing default file is fine; a
/// missing file given explicitly is an error (shown, defaults used).
pub fn load(path: Option<&Path>) -> (Config, Option<ConfigError>) {
    let explicit = path.is_some();
    let Some(path) = path.map(Path::to_path_buf).or_else(default_path) else {
        return (defaults(), None);
    };
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config.toml".into());
    match std::fs::read_to_string(&path) {
        Ok(text) => from_str(&text, &file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => (defaults(), None),
        Err(e) => (
            defaults(),
            Some(ConfigError {
                file,
                line: None,
                message: format!("cannot read: {e}"),
            }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keys::KeyCode;

    #[test]
    fn embedded_defaults_are_valid() {
        let mut cfg = defaults();
        assert!(apply(&mut cfg, DEFAULTS, "x").is_ok());
        assert_eq!(cfg.lang, Lang::Zh);
        assert_eq!(cfg.keymap.normal.get(&Key::ch('a')), Some(&Command::Lock));
        assert_eq!(cfg.keymap.normal.get(&Key::ch('P')), Some(&Command::Pass));
        assert_eq!(
            cfg.keymap.normal.get(&Key::plain(KeyCode::BackTab)),
            Some(&Command::PrevImage)
        );
        assert_eq!(cfg.server, "http://127.0.0.1:8080");
    }

    #[test]
    fn user_keys_merge_over_defaults() {
        let (cfg, err) = from_str(
            "lang = \"en\"\n[keys]\n\"ctrl-j\" = \"next_candidate\"\n\"a\" = \"none\"\n",
            "c.toml",
        );
        assert_eq!(err, None);
        assert_eq!(cfg.lang, Lang::En);
        assert_eq!(
            cfg.keymap.normal.get(&Key::ctrl('j')),
            Some(&Command::NextCandidate)
        );
        assert_eq!(cfg.keymap.normal.get(&Key::ch('a')), None);
        // Untouched defaults remain.
        assert_eq!(
            cfg.keymap.normal.get(&Key::ch('n')),
            Some(&Command::NextCandidate)
        );
    }

    #[test]
    fn ca_file_is_optional_and_read() {
        assert_eq!(defaults().ca_file, None);
        let (cfg, err) = from_str("ca_file = \"/etc/shenhe/ca.pem\"\n", "c.toml");
        assert_eq!(err, None);
        assert_eq!(cfg.ca_file, Some(PathBuf::from("/etc/shenhe/ca.pem")));
    }
}
