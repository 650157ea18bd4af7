//! Making untrusted text safe for a terminal.
//!
//! Every string that comes from the server (names, notes, feedback, reviewer
//! names) passes [`sanitize`] before it reaches the screen: a candidate can
//! type anything into a form, and a raw ESC could move the cursor, set the
//! window title, or write the clipboard (OSC 52) of the reviewer's terminal.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw.
fn is_dangerous(c: char) -> bool {
    let u = c as u32;
    // C0 controls (ESC, BEL, CR, LF, TAB …), DEL and C1 controls (CSI U+009B,
    // OSC U+009D, DCS U+0090, ST U+009C …): some terminals honour 8-bit C1.
    u < 0x20
        || (0x7f..=0x9f).contains(&u)
        // Bidi embeddings/overrides and isolates: they reorder what follows.
        || (0x202a..=0x202e).contains(&u)
        // The Arabic letter mark, the one Bidi_Control outside U+200x/U+206x.
        || u == 0x061c
        || (0x2066..=0x2069).contains(&u)
        // Zero-width and directional marks: invisible, used to spoof names.
        || (0x200b..=0x200f).contains(&u)
        || u == 0x2060
        || u == 0xfeff
        // Line/paragraph separators break the one-line layout.
        || u == 0x2028
        || u == 0x2029
}

/// The visible stand-in for a dangerous character: `␛` for ESC, the control
/// pictures (U+2400…) for other C0 controls, `\u{…}` for the rest.
fn escape_into(out: &mut String, c: char) {
    let u = c as u32;
    if u < 0x20 {
        // U+2400 + n are the "control pictures" (␀ ␇ ␛ …), one column wide.
        if let Some(p) = char::from_u32(0x2400 + u) {
            out.push(p);
            return;
        }
    }
    if u == 0x7f {
        out.push('␡');
        return;
    }
    out.push_str(&format!("\\u{{{u:x}}}"));
}

/// Replace every control character, escape-sequence introducer, bidi
/// override and zero-width character with a visible escape. Borrowed when
/// nothing needed changing (the common case).
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_dangerous(c) {
            escape_into(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`sanitize`] into an owned `String`.
pub fn clean(s: &str) -> String {
    sanitize(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(sanitize("欧阳娜娜 abc 123"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_are_visible() {
        assert_eq!(sanitize("a\x1b[31mb"), "a␛[31mb");
        assert_eq!(sanitize("\x07"), "␇");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(sanitize("x\u{200b}y"), "x\\u{200b}y");
        assert_eq!(sanitize("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(sanitize("\u{feff}"), "\\u{feff}");
        assert_eq!(sanitize("a\nb"), "a␊b");
        assert_eq!(sanitize("\x7f"), "␡");
        // Found by the sanitize fuzz property: every Bidi_Control is escaped.
        assert_eq!(sanitize("x\u{61c}y"), "x\\u{61c}y");
    }

    #[test]
    fn nothing_dangerous_survives() {
        let hostile = "\x1b]52;c;ZXZpbA==\x07\x1bP1$q\x1b\\\u{2066}\u{2069}\u{2060}\u{200f}\u{90}";
        let out = sanitize(hostile);
        assert!(!out.chars().any(is_dangerous), "{out:?}");
    }
}
