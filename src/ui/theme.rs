//! Colours. Every style sets its foreground and background explicitly, so
//! that its contrast is known whatever the terminal's own colours are: the
//! dark and light themes each meet WCAG AA (4.5:1) for every style, checked
//! by a test over all of them. `auto` picks by the background colour the
//! terminal reports (OSC 11); high-contrast is for a bright room or a
//! projector; NO_COLOR keeps only bold/reverse/underline in the terminal's
//! own colours.

use ratatui::style::{Color, Modifier, Style};

use crate::config::ThemeName;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub base: Style,
    pub dim: Style,
    pub title: Style,
    pub accent: Style,
    pub key: Style,
    pub ok: Style,
    pub warn: Style,
    pub err: Style,
    pub selected: Style,
    pub current: Style,
    pub border: Style,
    pub tab_active: Style,
}

const fn rgb(v: u32) -> Color {
    Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// The colours of one theme; styles are made from them.
struct Palette {
    bg: Color,
    fg: Color,
    dim: Color,
    title: Color,
    accent: Color,
    ok: Color,
    warn: Color,
    err: Color,
    sel_fg: Color,
    sel_bg: Color,
    cur_fg: Color,
    cur_bg: Color,
    border: Color,
}

const DARK: Palette = Palette {
    bg: rgb(0x12_12_12),
    fg: rgb(0xe4_e4_e4),
    dim: rgb(0xa8_a8_a8),
    title: rgb(0xff_ff_ff),
    accent: rgb(0x5f_d7_ff),
    ok: rgb(0x87_d7_87),
    warn: rgb(0xff_d7_5f),
    err: rgb(0xff_87_87),
    sel_fg: rgb(0xff_ff_ff),
    sel_bg: rgb(0x00_5f_87),
    cur_fg: rgb(0x12_12_12),
    cur_bg: rgb(0xe4_e4_e4),
    border: rgb(0x8a_8a_8a),
};

const LIGHT: Palette = Palette {
    bg: rgb(0xff_ff_ff),
    fg: rgb(0x1c_1c_1c),
    dim: rgb(0x58_58_58),
    title: rgb(0x00_00_00),
    accent: rgb(0x00_5f_87),
    ok: rgb(0x1b_6e_20),
    warn: rgb(0x87_50_00),
    err: rgb(0xaf_00_1f),
    sel_fg: rgb(0xff_ff_ff),
    sel_bg: rgb(0x00_5f_87),
    cur_fg: rgb(0xff_ff_ff),
    cur_bg: rgb(0x1c_1c_1c),
    border: rgb(0x6c_6c_6c),
};

const HIGH_CONTRAST: Palette = Palette {
    bg: rgb(0x00_00_00),
    fg: rgb(0xff_ff_ff),
    dim: rgb(0xff_ff_ff),
    title: rgb(0xff_ff_ff),
    accent: rgb(0xff_ff_5f),
    ok: rgb(0x87_ff_87),
    warn: rgb(0xff_ff_5f),
    err: rgb(0xff_87_87),
    sel_fg: rgb(0x00_00_00),
    sel_bg: rgb(0xff_ff_5f),
    cur_fg: rgb(0x00_00_00),
    cur_bg: rgb(0xff_ff_ff),
    border: rgb(0xff_ff_ff),
};

impl Palette {
    fn theme(&self) -> Theme {
        let on = |fg: Color| Style::default().fg(fg).bg(self.bg);
        let bold = Modifier::BOLD;
        Theme {
            base: on(self.fg),
            dim: on(self.dim),
            title: on(self.title).add_modifier(bold),
            accent: on(self.accent),
            key: on(self.accent).add_modifier(bold),
            ok: on(self.ok),
            warn: on(self.warn),
            err: on(self.err).add_modifier(bold),
            selected: Style::default().fg(self.sel_fg).bg(self.sel_bg),
            current: Style::default()
                .fg(self.cur_fg)
                .bg(self.cur_bg)
                .add_modifier(bold),
            border: on(self.border),
            // A filled tab: marked without relying on underline or colour
            // alone (some fonts and tmux set-ups drop underline).
            tab_active: Style::default()
                .fg(self.sel_fg)
                .bg(self.sel_bg)
                .add_modifier(bold),
        }
    }
}

/// Whether a background colour is light (relative luminance past the
/// point where dark and light text contrast with it equally).
pub fn is_light(bg: [u8; 3]) -> bool {
    // Black and white text contrast equally at L ≈ 0.179.
    luminance(bg) > 0.179
}

/// WCAG 2 relative luminance of an sRGB colour.
pub fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

/// WCAG 2 contrast ratio of two colours (1 to 21).
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

impl Theme {
    /// `background`: what the terminal reported (OSC 11), for `auto`.
    pub fn resolve(name: ThemeName, no_color: bool, background: Option<[u8; 3]>) -> Theme {
        if no_color {
            return Theme::mono();
        }
        match name {
            ThemeName::Auto => match background {
                Some(bg) if is_light(bg) => LIGHT.theme(),
                _ => DARK.theme(),
            },
            ThemeName::Dark => DARK.theme(),
            ThemeName::Light => LIGHT.theme(),
            ThemeName::HighContrast => HIGH_CONTRAST.theme(),
        }
    }

    /// [`Theme::resolve`] without a reported background (`auto` = dark).
    pub fn new(name: ThemeName, no_color: bool) -> Theme {
        Theme::resolve(name, no_color, None)
    }

    pub fn mono() -> Theme {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        Theme {
            base: plain,
            dim: plain,
            title: bold,
            accent: plain,
            key: bold,
            ok: plain,
            warn: bold,
            err: bold,
            selected: plain.add_modifier(Modifier::REVERSED),
            current: plain.add_modifier(Modifier::REVERSED),
            border: plain,
            tab_active: bold.add_modifier(Modifier::REVERSED),
        }
    }

    /// Every style with its name. Destructured without `..`, so a style
    /// added to the struct must be added here (it does not compile
    /// otherwise), and the contrast test then checks it.
    pub fn styles(&self) -> [(&'static str, Style); 12] {
        let Theme {
            base,
            dim,
            title,
            accent,
            key,
            ok,
            warn,
            err,
            selected,
            current,
            border,
            tab_active,
        } = *self;
        [
            ("base", base),
            ("dim", dim),
            ("title", title),
            ("accent", accent),
            ("key", key),
            ("ok", ok),
            ("warn", warn),
            ("err", err),
            ("selected", selected),
            ("current", current),
            ("border", border),
            ("tab_active", tab_active),
        ]
    }

    /// NO_COLOR set to anything non-empty turns colour off (no-color.org).
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgb_of(c: Option<Color>) -> Option<[u8; 3]> {
        match c {
            Some(Color::Rgb(r, g, b)) => Some([r, g, b]),
            _ => None,
        }
    }

    /// Every style of every coloured theme, on the background it is drawn
    /// on (its own, which every style sets), at least 4.5:1.
    #[test]
    fn every_style_meets_wcag_aa_in_every_theme() {
        for (name, theme) in [
            ("dark", Theme::resolve(ThemeName::Dark, false, None)),
            ("light", Theme::resolve(ThemeName::Light, false, None)),
            (
                "high-contrast",
                Theme::resolve(ThemeName::HighContrast, false, None),
            ),
        ] {
            for (style_name, st) in theme.styles() {
                let fg = rgb_of(st.fg)
                    .unwrap_or_else(|| panic!("{name}.{style_name}: no explicit foreground"));
                let bg = rgb_of(st.bg)
                    .unwrap_or_else(|| panic!("{name}.{style_name}: no explicit background"));
                let c = contrast(fg, bg);
                assert!(
                    c >= 4.5,
                    "{name}.{style_name}: {fg:?} on {bg:?} is {c:.2}:1"
                );
                // Dimmed text loses the contrast computed here.
                assert!(
                    !st.add_modifier.contains(Modifier::DIM),
                    "{name}.{style_name}"
                );
            }
            // Text spans without a style of their own are drawn on the
            // base background: every foreground against it too.
            let base_bg = rgb_of(theme.base.bg).expect("base bg");
            for (style_name, st) in theme.styles() {
                if st.bg == theme.base.bg {
                    let c = contrast(rgb_of(st.fg).expect("fg"), base_bg);
                    assert!(c >= 4.5, "{name}.{style_name} on base: {c:.2}:1");
                }
            }
        }
    }

    /// NO_COLOR: the terminal's own colours (the user's choice), never
    /// dimmed; selection still visible by reverse video.
    #[test]
    fn no_color_uses_only_the_terminals_colours() {
        let t = Theme::resolve(ThemeName::Light, true, Some([255, 255, 255]));
        for (n, st) in t.styles() {
            assert_eq!((st.fg, st.bg), (None, None), "{n}");
            assert!(!st.add_modifier.contains(Modifier::DIM), "{n}");
        }
        assert!(t.selected.add_modifier.contains(Modifier::REVERSED));
        assert!(t.tab_active.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn auto_follows_the_reported_background() {
        let light = Theme::resolve(ThemeName::Auto, false, Some([255, 255, 255]));
        assert_eq!(light, LIGHT.theme());
        let dark = Theme::resolve(ThemeName::Auto, false, Some([0, 0, 0]));
        assert_eq!(dark, DARK.theme());
        // mlterm's and xterm's default white, Solarized light, a grey.
        assert!(is_light([0xfd, 0xf6, 0xe3]) && !is_light([0x30, 0x30, 0x30]));
        assert_eq!(Theme::resolve(ThemeName::Auto, false, None), DARK.theme());
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    }
}
