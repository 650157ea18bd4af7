//! The properties the fuzz targets check, one function per target, each
//! taking the raw fuzz input. Shared with `tests/it/fuzz_props.rs` (included
//! there by path) so `cargo test` checks the same things on proptest's
//! inputs and on the committed seeds.
//!
//! Every function panics when a property fails; that panic is the finding.

use std::fmt::Debug;

use ratatui::layout::Size;
use serde::Serialize;
use serde::de::DeserializeOwned;
use shenhe::api::client::SseParser;
use shenhe::api::dto::{
    AuditList, CandidateDetail, CandidateList, CandidateSelf, Problem, QueueEvent, SessionResponse,
};
use shenhe::api::error::ApiError;
use shenhe::app::keys::Key;
use shenhe::domain::imaging::{DecodeLimits, Format, Sniffed, decode_limited, sniff};
use shenhe::domain::review::{ReviewStatus, Reviews};
use shenhe::domain::rules::{MAX_UPLOAD_BYTES, ReviewWindow, check_upload};
use shenhe::domain::{quality, text};
use shenhe::images::pipeline::{RenderTarget, render_bytes};
use shenhe::images::{FontSize, ImageWidget, ProtocolKind, TerminalImages, ViewState, draw_bytes};
use shenhe::lang::Lang;
use unicode_width::UnicodeWidthStr;

/// Small limits so one iteration stays fast: the code paths are the same
/// as under the defaults, only the numbers differ.
pub const FUZZ_LIMITS: DecodeLimits = DecodeLimits {
    max_width: 384,
    max_height: 384,
    max_alloc: 8 << 20,
};

/// A character that must never reach the terminal raw: every Cc (C0, DEL,
/// C1), every Unicode Bidi_Control, the zero-width characters and the
/// line/paragraph separators. Written independently of the sanitiser's own
/// list so that a gap in either shows.
pub fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2060}'
                | '\u{feff}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

#[track_caller]
pub fn assert_clean(what: &str, s: &str) {
    if let Some(c) = s.chars().find(|&c| forbidden(c)) {
        panic!("{what}: raw {c:?} in {s:?}");
    }
}

// ------------------------------------------------------------------ sanitize

/// `sanitize`: nothing forbidden survives; it works character by character
/// (so no sequence can be assembled across a boundary); every escaped
/// character stays visible (at least one column, at most `\u{10ffff}`);
/// clean text is left alone; and a second pass changes nothing.
pub fn sanitize(data: &[u8]) {
    let s = String::from_utf8_lossy(data);
    let out = text::sanitize(&s);
    assert_clean("sanitize", &out);
    let mut per_char = String::new();
    for c in s.chars() {
        let one = text::clean(c.encode_utf8(&mut [0; 4]));
        if forbidden(c) {
            let w = UnicodeWidthStr::width(one.as_str());
            assert!((1..=10).contains(&w), "{c:?} became {one:?} ({w} columns)");
        } else {
            assert_eq!(
                one.chars().count(),
                1,
                "{c:?} is harmless yet became {one:?}"
            );
        }
        per_char.push_str(&one);
    }
    assert_eq!(out, per_char, "sanitize is not per character");
    if !s.chars().any(forbidden) {
        assert_eq!(out, s, "clean text changed");
    }
    assert_eq!(text::sanitize(&out), out, "not idempotent");
}

// ------------------------------------------------------------------ DTOs

/// A DTO that decodes re-encodes to JSON that decodes to the same value.
/// Only exception: an f32 field given a number beyond f32's range decodes
/// to infinity, which JSON spells `null`; that is the encoder's limit, not
/// a wrong decode, so the re-decode may fail only on a `null` float.
fn roundtrip<T: DeserializeOwned + Serialize + PartialEq + Debug>(body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<T>(body) else {
        return;
    };
    let again = serde_json::to_vec(&v).expect("a decoded DTO serialises");
    match serde_json::from_slice::<T>(&again) {
        Ok(back) => assert_eq!(back, v, "round trip changed the value"),
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.contains("invalid type: null, expected f32"),
                "re-encoded DTO does not decode: {m}"
            );
        }
    }
}

/// The SSE parser gives the same messages however the bytes are chunked.
fn sse(split: usize, body: &[u8]) {
    let whole = SseParser::default().feed(body);
    let at = split.min(body.len());
    let mut p = SseParser::default();
    let mut parts = p.feed(&body[..at]);
    parts.extend(p.feed(&body[at..]));
    assert_eq!(whole, parts, "chunking at {at} changed the messages");
    let mut bytewise = SseParser::default();
    let mut one = Vec::new();
    for b in body {
        one.extend(bytewise.feed(std::slice::from_ref(b)));
    }
    assert_eq!(whole, one, "byte-at-a-time feeding changed the messages");
    for m in &whole {
        // What the client does with each message.
        let _ = serde_json::from_str::<QueueEvent>(&m.data);
        assert!(!m.event.contains('\n'), "event name spans lines");
    }
}

/// First byte: which decoder; the rest: the body.
pub fn dto(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    match sel % 8 {
        0 => roundtrip::<CandidateList>(body),
        1 => roundtrip::<CandidateDetail>(body),
        2 => roundtrip::<AuditList>(body),
        3 => roundtrip::<QueueEvent>(body),
        4 => roundtrip::<Problem>(body),
        5 => roundtrip::<SessionResponse>(body),
        6 => roundtrip::<CandidateSelf>(body),
        _ => sse(usize::from(sel / 8), body),
    }
}

// ------------------------------------------------------------------ config

/// The config merge either yields a config, or the defaults and an error
/// that names the file and a line that exists. Key specs never panic.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (cfg, err) = shenhe::config::from_str(text, "fuzz.toml");
    match err {
        None => assert!(
            cfg.server.starts_with("http://") || cfg.server.starts_with("https://"),
            "accepted server {:?}",
            cfg.server
        ),
        Some(e) => {
            assert_eq!(
                cfg,
                shenhe::config::defaults(),
                "an error must leave the defaults"
            );
            assert_eq!(e.file, "fuzz.toml");
            let lines = text.split('\n').count();
            let line = e.line.unwrap_or_else(|| panic!("no line in {e}"));
            assert!((1..=lines).contains(&line), "line {line} of {lines}: {e}");
            assert!(!e.message.trim().is_empty(), "empty message");
        }
    }
    // Each line as a key spec, as `[keys]` would use it.
    for spec in text.lines().take(16) {
        if let Some(k) = Key::parse(spec) {
            assert!(!k.to_string().is_empty());
        }
    }
}

// ------------------------------------------------------------------ problem+json

/// First two bytes: the HTTP status; the rest: the body. `from_response`
/// always gives a typed error carrying a status, and what the status bar
/// shows for it is clean text.
pub fn problem(data: &[u8]) {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (500, data),
    };
    let e = ApiError::from_response(status, body);
    match &e {
        ApiError::Problem(p) => {
            assert!(p.status != 0 || status == 0, "status lost");
            assert_eq!(e.status(), Some(p.status));
        }
        ApiError::Status {
            status: s, body: b, ..
        } => {
            assert_eq!(*s, status);
            // At most 200 input bytes, each at worst one U+FFFD.
            assert!(b.chars().count() <= 200, "kept {} chars", b.chars().count());
        }
        other => panic!("from_response gave {other:?}"),
    }
    assert_eq!(e.is_unauthorized(), e.status() == Some(401));
    let _ = e.to_string();
    for lang in [Lang::Zh, Lang::En] {
        assert_clean("status bar", &shenhe::ui::i18n::api_error(lang, &e));
    }
}

// ------------------------------------------------------------------ upload

fn decode_checks(bytes: &[u8], limits: DecodeLimits) {
    match decode_limited(bytes, limits) {
        Ok(d) => {
            assert!(
                matches!(sniff(bytes), Sniffed::Accepted(_)),
                "decoded a non-image"
            );
            let (w, h) = (d.probe.width, d.probe.height);
            assert!(w >= 1 && h >= 1 && w <= limits.max_width && h <= limits.max_height);
            let (iw, ih) = (d.image.width(), d.image.height());
            // Orientation may swap the sides, never change them.
            assert!(
                (iw, ih) == (w, h) || (iw, ih) == (h, w),
                "{iw}×{ih} from {w}×{h}"
            );
            let q = quality::analyze(bytes, limits).expect("decodable bytes analyse");
            assert_eq!((q.width, q.height, q.format), (w, h, d.probe.format));
            assert!((0.0..=1.0).contains(&q.blur_score), "blur {}", q.blur_score);
            assert!((0.0..=1.0).contains(&q.contrast), "contrast {}", q.contrast);
        }
        Err(e) => assert_clean("decode error", &e.to_string()),
    }
}

/// First byte: the candidate's state and the day; the rest: the file.
/// `check_upload` accepts exactly the files of JPEG/PNG magic, non-empty and
/// within the cap, in the window, while editable; decoding never yields
/// more pixels than the limits allow.
pub fn upload(data: &[u8]) {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let window = ReviewWindow::standard(2027);
    let today = window.opens - chrono::Days::new(2) + chrono::Days::new(u64::from(sel % 8) * 6);
    let all = ReviewStatus::ALL;
    let reviews = Reviews {
        site: all[usize::from(sel / 8) % all.len()],
        district: all[usize::from(sel / 48) % all.len()],
    };
    let sniffed = sniff(bytes);
    let res = check_upload(bytes.len(), sniffed, &window, today, reviews);
    let should = window.is_open(today)
        && reviews.candidate_may_edit()
        && !bytes.is_empty()
        && bytes.len() <= MAX_UPLOAD_BYTES
        && matches!(sniffed, Sniffed::Accepted(_));
    assert_eq!(res.is_ok(), should, "{res:?}");
    if let Ok(f) = res {
        let magic: &[u8] = match f {
            Format::Jpeg => &[0xFF, 0xD8, 0xFF],
            Format::Png => b"\x89PNG\r\n\x1a\n",
        };
        assert!(bytes.starts_with(magic), "accepted {f:?} without its magic");
    }
    if let Err(e) = &res {
        assert_clean("upload error", &e.to_string());
    }
    decode_checks(bytes, FUZZ_LIMITS);
}

// ------------------------------------------------------------------ image pipeline

/// What the terminal receives for a picture: outside CSI (cursor moves,
/// colours) only the protocol's own sequence, whose body is printable
/// ASCII (sixel data, base64); never an OSC other than iTerm2's 1337, never
/// BEL outside it, never a C0 control in the text.
pub fn assert_terminal_bytes(protocol: ProtocolKind, out: &[u8]) {
    let mut i = 0;
    while i < out.len() {
        let b = out[i];
        if b != 0x1b {
            assert!(b >= 0x20 || b == b'\r' || b == b'\n', "raw {b:#04x} at {i}");
            i += 1;
            continue;
        }
        match out.get(i + 1) {
            Some(b'[') => {
                // CSI: parameters, then one final byte.
                let mut j = i + 2;
                while out.get(j).is_some_and(|c| (0x20..0x40).contains(c)) {
                    j += 1;
                }
                let fin = out.get(j).copied().unwrap_or(0);
                assert!((0x40..=0x7e).contains(&fin), "bad CSI at {i}");
                i = j + 1;
            }
            Some(&intro @ (b'P' | b'_' | b']')) => {
                let ok = match (protocol, intro) {
                    (ProtocolKind::Sixel, b'P') => true,
                    (ProtocolKind::Kitty, b'_') => out.get(i + 2) == Some(&b'G'),
                    (ProtocolKind::Iterm2, b']') => out[i + 2..].starts_with(b"1337;File="),
                    _ => false,
                };
                assert!(ok, "{protocol:?} wrote ESC {:?} at {i}", intro as char);
                // The body runs to ST (or BEL for OSC) and is printable.
                let mut j = i + 2;
                loop {
                    match out.get(j) {
                        None => panic!("unterminated sequence at {i}"),
                        Some(0x1b) if out.get(j + 1) == Some(&b'\\') => {
                            j += 2;
                            break;
                        }
                        Some(0x07) if intro == b']' => {
                            j += 1;
                            break;
                        }
                        Some(c) => {
                            assert!(
                                (0x20..0x7f).contains(c),
                                "{c:#04x} inside a sequence at {j}"
                            );
                            j += 1;
                        }
                    }
                }
                i = j;
            }
            other => panic!("ESC {other:?} at {i}"),
        }
    }
}

/// Bytes 0..4: protocol, area, view and options; the rest: the file. The
/// pipeline either fails with clean text or yields a picture inside its
/// area, from a source within the limits, whose terminal bytes hold only
/// the protocol's sequences.
pub fn image(data: &[u8]) {
    let [p, w, h, flags, bytes @ ..] = data else {
        return;
    };
    let protocol = ProtocolKind::ALL[usize::from(*p) % ProtocolKind::ALL.len()];
    let area = Size::new(1 + u16::from(*w % 40), 1 + u16::from(*h % 20));
    let font = if flags & 1 == 0 {
        FontSize::FALLBACK
    } else {
        FontSize::new(1 + u16::from(p / 4 % 16), 1 + u16::from(w / 40 % 32))
    };
    let mut target = RenderTarget::new(protocol, font);
    target.low_bandwidth = flags & 2 != 0;
    target.kitty_zlib = flags & 4 != 0;
    let mut view = ViewState::fit();
    for _ in 0..(flags >> 3) % 4 {
        view.rotate();
    }
    match render_bytes(bytes, area, view, &target, FUZZ_LIMITS) {
        Ok(r) => {
            let (sw, sh) = r.source_size();
            assert!(sw <= FUZZ_LIMITS.max_width.max(FUZZ_LIMITS.max_height));
            assert!(sh <= FUZZ_LIMITS.max_width.max(FUZZ_LIMITS.max_height));
            assert!(r.cells().width <= area.width && r.cells().height <= area.height);
            assert_eq!(r.protocol(), protocol);
            let terminal = TerminalImages::new(false);
            let out = draw_bytes(area, |rect, buf| {
                ratatui::widgets::Widget::render(ImageWidget::new(&r, &terminal), rect, buf)
            })
            .expect("drawing into memory");
            assert_terminal_bytes(protocol, &out);
        }
        Err(e) => assert_clean("image error", &e.to_string()),
    }
}
