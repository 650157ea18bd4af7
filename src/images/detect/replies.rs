//! The in-band query and its answers: what we write to the terminal, and a
//! tolerant parser of whatever comes back (cut short, mixed with garbage,
//! from tmux and from the terminal outside it).

/// What the terminal answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Replies {
    pub kitty: bool,
    pub kitty_zlib: bool,
    /// Whether a kitty answer (OK or error) arrived at all.
    pub kitty_answered: bool,
    pub sixel: bool,
    pub da1: bool,
    /// Cell size in pixels (CSI 16 t), width × height.
    pub cell_px: Option<(u16, u16)>,
    /// Text area in pixels (CSI 14 t), width × height.
    pub window_px: Option<(u16, u16)>,
    pub xtversion: Option<String>,
    pub background: Option<[u8; 3]>,
    /// XTSMGRAPHICS: the largest sixel image the terminal draws, in pixels.
    /// xterm draws nothing at all of a larger one.
    pub sixel_max_px: Option<(u32, u32)>,
    /// XTSMGRAPHICS: sixel colour registers.
    pub colour_registers: Option<u16>,
    /// The DSR sentinel arrived: every earlier answer is in.
    pub status: bool,
}

impl Replies {
    /// Something answered at all (not only silence or garbage).
    pub fn answered(&self) -> bool {
        self.status || self.da1 || self.xtversion.is_some() || self.kitty_answered
    }
}

pub const KITTY_QUERY: &str = "\x1b_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\";
/// The same one-pixel query with its payload deflated (`o=z`): only a
/// terminal that inflates answers OK.
pub const KITTY_ZLIB_QUERY: &str = "\x1b_Gi=32,s=1,v=1,a=q,t=d,f=24,o=z;eJxjYGAAAAADAAE=\x1b\\";
pub const XTVERSION: &str = "\x1b[>0q";
pub const DA1: &str = "\x1b[c";
pub const CELL_SIZE: &str = "\x1b[16t";
pub const WINDOW_SIZE: &str = "\x1b[14t";
pub const BACKGROUND: &str = "\x1b]11;?\x1b\\";
/// XTSMGRAPHICS read: sixel geometry (Pi=2), colour registers (Pi=1).
pub const SIXEL_GEOMETRY: &str = "\x1b[?2;1;0S";
pub const COLOUR_REGISTERS: &str = "\x1b[?1;1;0S";
pub const DSR: &str = "\x1b[5n";

/// `seq` as a tmux passthrough sequence: tmux hands the inside, ESCs
/// undoubled, to the terminal outside it (with `allow-passthrough`).
pub fn tmux_wrap(seq: &str) -> String {
    format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
}

/// The first query, to whatever we are talking to (the terminal, or tmux).
/// DSR last: every terminal answers it, in order, so its answer means the
/// others are in. `kitty`: ask about kitty graphics too (not when we know
/// we talk to tmux, which takes the unknown APC for a window title).
pub fn direct_query(kitty: bool) -> String {
    let mut q = String::new();
    if kitty {
        q.push_str(KITTY_QUERY);
        q.push_str(KITTY_ZLIB_QUERY);
    }
    for s in [
        XTVERSION,
        SIXEL_GEOMETRY,
        COLOUR_REGISTERS,
        CELL_SIZE,
        WINDOW_SIZE,
        BACKGROUND,
        DA1,
        DSR,
    ] {
        q.push_str(s);
    }
    q
}

/// The second query inside tmux, each part wrapped for the terminal
/// outside. tmux 3.3 hands those answers back to the pane; DA1 goes last
/// and is the sentinel (tmux answers a plain DSR itself, before the outer
/// terminal has even seen the query, so it cannot be one).
pub fn outer_query() -> String {
    let mut q = String::new();
    for s in [
        KITTY_QUERY,
        KITTY_ZLIB_QUERY,
        XTVERSION,
        SIXEL_GEOMETRY,
        COLOUR_REGISTERS,
        CELL_SIZE,
        WINDOW_SIZE,
        BACKGROUND,
        DA1,
    ] {
        q.push_str(&tmux_wrap(s));
    }
    q
}

/// Parse whatever arrived (possibly cut short, possibly with garbage).
pub fn parse_replies(bytes: &[u8]) -> Replies {
    let mut r = Replies::default();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b || i + 1 >= bytes.len() {
            i += 1;
            continue;
        }
        let kind = bytes[i + 1];
        let body_start = i + 2;
        match kind {
            b'[' => {
                // CSI: parameters then one final byte 0x40..=0x7E.
                let Some(end) =
                    (body_start..bytes.len()).find(|&j| (0x40..=0x7E).contains(&bytes[j]))
                else {
                    break;
                };
                csi(&bytes[body_start..end], bytes[end], &mut r);
                i = end + 1;
            }
            b'_' | b'P' | b']' => {
                // APC / DCS / OSC: up to ST (ESC \) or, for OSC, BEL.
                let mut end = None;
                let mut j = body_start;
                while j < bytes.len() {
                    if bytes[j] == 0x07 && kind == b']' {
                        end = Some((j, j + 1));
                        break;
                    }
                    if bytes[j] == 0x1b && bytes.get(j + 1) == Some(&b'\\') {
                        end = Some((j, j + 2));
                        break;
                    }
                    j += 1;
                }
                let Some((body_end, next)) = end else {
                    break;
                };
                let body = &bytes[body_start..body_end];
                match kind {
                    b'_' => apc(body, &mut r),
                    b'P' => {
                        if let Some(v) = body.strip_prefix(b">|") {
                            // A terminal's name: shown in the status bar, so
                            // only printable ASCII, bounded.
                            let v: String = String::from_utf8_lossy(v)
                                .chars()
                                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                                .take(64)
                                .collect();
                            r.xtversion = Some(v.trim().to_string());
                        }
                    }
                    _ => osc(body, &mut r),
                }
                i = next;
            }
            _ => i += 1,
        }
    }
    r
}

fn csi(params: &[u8], fin: u8, r: &mut Replies) {
    let p = String::from_utf8_lossy(params);
    match fin {
        b'c' if p.starts_with('?') => {
            r.da1 = true;
            if p[1..].split(';').any(|x| x == "4") {
                r.sixel = true;
            }
        }
        b't' => {
            let n: Vec<u16> = p.split(';').filter_map(|x| x.parse().ok()).collect();
            if let [kind, h, w] = n[..]
                && h > 0
                && w > 0
            {
                match kind {
                    6 => r.cell_px = Some((w, h)),
                    4 => r.window_px = Some((w, h)),
                    _ => {}
                }
            }
        }
        // XTSMGRAPHICS: CSI ? Pi ; Ps ; Pv... S, Ps = 0 for success.
        b'S' if p.starts_with('?') => {
            let n: Vec<u32> = p[1..].split(';').filter_map(|x| x.parse().ok()).collect();
            match n[..] {
                [2, 0, w, h] if w > 0 && h > 0 => r.sixel_max_px = Some((w, h)),
                [1, 0, c] if c > 0 => {
                    r.colour_registers = Some(u16::try_from(c).unwrap_or(u16::MAX));
                }
                _ => {}
            }
        }
        b'n' if p == "0" => r.status = true,
        _ => {}
    }
}

fn apc(body: &[u8], r: &mut Replies) {
    let s = String::from_utf8_lossy(body);
    let Some(rest) = s.strip_prefix('G') else {
        return;
    };
    let ok = rest.ends_with(";OK");
    if rest.starts_with("i=31;") {
        r.kitty_answered = true;
        r.kitty |= ok;
    } else if rest.starts_with("i=32;") {
        r.kitty_answered = true;
        r.kitty_zlib |= ok;
    }
}

/// `rgb:RRRR/GGGG/BBBB` (1 to 4 hex digits a channel) → 8-bit RGB.
pub fn parse_rgb(s: &str) -> Option<[u8; 3]> {
    let rgb = s.strip_prefix("rgb:")?;
    let parts: Vec<u8> = rgb
        .split('/')
        .filter_map(|h| {
            let v = u32::from_str_radix(h, 16).ok()?;
            let bits = 4 * h.len() as u32;
            if bits == 0 || bits > 16 {
                return None;
            }
            Some(((v * 255 + ((1 << bits) - 1) / 2) / ((1 << bits) - 1)) as u8)
        })
        .collect();
    match parts[..] {
        [red, green, blue] => Some([red, green, blue]),
        _ => None,
    }
}

fn osc(body: &[u8], r: &mut Replies) {
    let s = String::from_utf8_lossy(body);
    if let Some(rgb) = s.strip_prefix("11;")
        && let Some(c) = parse_rgb(rgb)
    {
        r.background = Some(c);
    }
}

/// A terminal's name and version from its XTVERSION answer:
/// `kitty(0.26.5)`, `XTerm(379)`, `tmux 3.3a`, `WezTerm 20240203-…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalVersion {
    pub name: String,
    /// Leading numbers of the version (`3.3a` → [3, 3]).
    pub version: Vec<u32>,
}

impl TerminalVersion {
    pub fn parse(s: &str) -> Option<TerminalVersion> {
        let s = s.trim();
        let cut = s.find(['(', ' '])?;
        let name = s[..cut].to_string();
        let rest = s[cut + 1..].trim_end_matches(')');
        let version = rest
            .split('.')
            .map_while(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        (!name.is_empty()).then_some(TerminalVersion { name, version })
    }

    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The version is at least `min` (component by component).
    pub fn at_least(&self, min: &[u32]) -> bool {
        for (i, m) in min.iter().enumerate() {
            let v = self.version.get(i).copied().unwrap_or(0);
            if v != *m {
                return v > *m;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_answer() {
        let r = parse_replies(
            b"\x1b_Gi=31;OK\x1b\\\x1b_Gi=32;OK\x1b\\\x1bP>|kitty(0.35.2)\x1b\\\x1b[?62;4;22c\x1b[6;20;10t\x1b[4;800;1000t\x1b]11;rgb:1e1e/1e1e/2e2e\x1b\\\x1b[0n",
        );
        assert!(r.kitty && r.kitty_zlib && r.sixel && r.status && r.da1);
        assert_eq!(r.cell_px, Some((10, 20)));
        assert_eq!(r.window_px, Some((1000, 800)));
        assert_eq!(r.xtversion.as_deref(), Some("kitty(0.35.2)"));
        assert_eq!(r.background, Some([0x1e, 0x1e, 0x2e]));
    }

    #[test]
    fn parses_xterms_graphics_limits() {
        // What xterm 379 -ti vt340 answered under Xvfb.
        let r = parse_replies(
            b"\x1bP>|XTerm(379)\x1b\\\x1b[?2;0;960;680S\x1b[?1;0;256S\x1b[6;17;8t\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[?63;1;2;4;6;9;15;16;22;28c\x1b[0n",
        );
        assert_eq!(r.sixel_max_px, Some((960, 680)));
        assert_eq!(r.colour_registers, Some(256));
        assert_eq!(r.background, Some([255, 255, 255]));
        assert!(r.sixel);
        // An error answer (Ps = 3) is no limit.
        assert_eq!(parse_replies(b"\x1b[?2;3;0S").sixel_max_px, None);
    }

    #[test]
    fn parses_errors_garbage_and_truncation() {
        let r = parse_replies(b"junk\x1b_Gi=31;ENOTSUPPORTED:no\x1b\\\x1b[?1;2c\x1b[0n\x1b[6;2");
        assert!(!r.kitty && r.kitty_answered && !r.sixel && r.status);
        assert_eq!(r.cell_px, None);
        let r = parse_replies(b"\x1b]11;rgb:ff/80/00\x07");
        assert_eq!(r.background, Some([255, 128, 0]));
        assert_eq!(parse_replies(b""), Replies::default());
        assert_eq!(parse_replies(b"\x1b"), Replies::default());
        // A hostile name loses its control characters.
        let r = parse_replies(b"\x1bP>|evil\x07\x1b[2J\x1b\\");
        assert!(r.xtversion.is_some_and(|v| !v.contains('\x07')));
    }

    #[test]
    fn versions() {
        let k = TerminalVersion::parse("kitty(0.26.5)").expect("kitty");
        assert!(k.is("kitty") && !k.at_least(&[0, 28]) && k.at_least(&[0, 26, 5]));
        let k = TerminalVersion::parse("kitty(0.28.0)").expect("kitty");
        assert!(k.at_least(&[0, 28]));
        let t = TerminalVersion::parse("tmux 3.3a").expect("tmux");
        assert!(t.is("tmux") && t.at_least(&[3, 3]) && !t.at_least(&[3, 4]));
        let x = TerminalVersion::parse("XTerm(379)").expect("xterm");
        assert_eq!(x.version, vec![379]);
        assert_eq!(TerminalVersion::parse("foot"), None);
    }

    #[test]
    fn outer_query_is_all_wrapped() {
        let q = outer_query();
        assert!(q.starts_with("\x1bPtmux;\x1b\x1b_Gi=31"));
        assert!(q.ends_with(&tmux_wrap(DA1)));
        // Nothing unwrapped: every ESC inside is doubled.
        assert!(
            !q.replace("\x1b\x1b", "")
                .replace("\x1bPtmux;", "")
                .replace("\x1b\\", "")
                .contains('\x1b')
        );
        assert!(direct_query(true).ends_with(DSR));
        assert!(!direct_query(false).contains("_G"));
    }
}
