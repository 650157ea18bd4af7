//! Config files: the embedded defaults, merging, and every kind of mistake
//! with the exact words (and line) the status bar shows (bottom-style).

use std::path::Path;

use shenhe::app::keys::{Command, Key, KeyCode};
use shenhe::config::{self, ImageProtocol, ThemeName};
use shenhe::lang::Lang;

fn load(name: &str) -> (config::Config, Option<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name);
    let (cfg, err) = config::load(Some(&path));
    (cfg, err.map(|e| e.to_string()))
}

fn error_of(name: &str) -> String {
    let (cfg, err) = load(name);
    // A bad file falls back to the defaults, whole.
    assert_eq!(cfg, config::defaults(), "{name} did not fall back");
    err.unwrap_or_else(|| panic!("{name} was accepted"))
}

#[test]
fn valid_file_merges_over_defaults() {
    let (cfg, err) = load("valid.toml");
    assert_eq!(err, None);
    assert_eq!(cfg.lang, Lang::En);
    assert_eq!(cfg.theme, ThemeName::HighContrast);
    assert_eq!(cfg.image_protocol, ImageProtocol::Halfblocks);
    assert!(cfg.low_bandwidth);
    assert_eq!(
        cfg.keymap.normal.get(&Key::ctrl('j')),
        Some(&Command::NextCandidate)
    );
    assert_eq!(cfg.keymap.normal.get(&Key::ch('n')), None);
    assert_eq!(cfg.keymap.zoom.get(&Key::ch('h')), Some(&Command::PanLeft));
    // Defaults not mentioned stay.
    assert_eq!(cfg.keymap.normal.get(&Key::ch('a')), Some(&Command::Lock));
    assert_eq!(
        cfg.keymap.zoom.get(&Key::plain(KeyCode::Left)),
        Some(&Command::PanLeft)
    );
    assert_eq!(cfg.server, "http://127.0.0.1:8080");
}

#[test]
fn bad_lang() {
    assert_eq!(
        error_of("bad_lang.toml"),
        r#"bad_lang.toml, line 1: lang must be "zh-CN" or "en", not "fr""#
    );
}

#[test]
fn unknown_command() {
    assert_eq!(
        error_of("unknown_command.toml"),
        r#"unknown_command.toml, line 6: unknown command "lock_it" for key "a" (`:` in the console lists the commands)"#
    );
}

#[test]
fn unknown_key() {
    assert_eq!(
        error_of("unknown_key.toml"),
        r#"unknown_key.toml, line 2: unknown key "hyper-x""#
    );
}

#[test]
fn bad_theme() {
    assert_eq!(
        error_of("bad_theme.toml"),
        r#"bad_theme.toml, line 2: theme must be "auto", "dark", "light" or "high-contrast", not "blue""#
    );
}

#[test]
fn bad_protocol() {
    assert_eq!(
        error_of("bad_protocol.toml"),
        r#"bad_protocol.toml, line 1: image_protocol must be one of auto, kitty, sixel, iterm2, halfblocks, off; not "ascii""#
    );
}

#[test]
fn bad_server() {
    assert_eq!(
        error_of("bad_server.toml"),
        r#"bad_server.toml, line 1: server must start with http:// or https://, not "ftp://x""#
    );
}

#[test]
fn unknown_field() {
    let e = error_of("unknown_field.toml");
    assert!(
        e.starts_with("unknown_field.toml, line 2: unknown field `lang_typo`"),
        "{e}"
    );
}

#[test]
fn wrong_type() {
    let e = error_of("wrong_type.toml");
    assert!(
        e.starts_with("wrong_type.toml, line 2: invalid type: string \"yes\", expected a boolean"),
        "{e}"
    );
}

#[test]
fn broken_toml() {
    let e = error_of("broken_toml.toml");
    assert!(e.starts_with("broken_toml.toml, line 1: "), "{e}");
}

#[test]
fn missing_explicit_file_is_reported() {
    let (cfg, err) = load("does_not_exist.toml");
    assert_eq!(cfg, config::defaults());
    let err = err.expect("error");
    assert!(
        err.starts_with("does_not_exist.toml: cannot read: "),
        "{err}"
    );
}

#[test]
fn example_file_is_the_embedded_defaults() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .expect("example");
    assert_eq!(text, config::DEFAULTS);
    let (cfg, err) = config::from_str(&text, "config.example.toml");
    assert_eq!(err, None);
    assert_eq!(cfg, config::defaults());
}
