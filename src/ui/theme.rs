//! Colours. The default works on dark terminals; high-contrast is for a
//! bright room or a projector; NO_COLOR keeps only bold/reverse/underline.

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

impl Theme {
    pub fn new(name: ThemeName, no_color: bool) -> Theme {
        if no_color {
            return Theme::mono();
        }
        match name {
            ThemeName::Default => Theme {
                base: Style::default(),
                dim: Style::default().fg(Color::DarkGray),
                title: Style::default().add_modifier(Modifier::BOLD),
                accent: Style::default().fg(Color::Cyan),
                key: Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD),
                ok: Style::default().fg(Color::Green),
                warn: Style::default().fg(Color::Yellow),
                err: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
                selected: Style::default().bg(Color::Blue).fg(Color::White),
                current: Style::default().add_modifier(Modifier::REVERSED),
                border: Style::default().fg(Color::Gray),
                tab_active: Style::default()
                    .fg(Color::Cyan)
                    .add_modifier(Modifier::BOLD | Modifier::UNDERLINED),
            },
            ThemeName::HighContrast => Theme {
                base: Style::default().fg(Color::White).bg(Color::Black),
                dim: Style::default().fg(Color::White).bg(Color::Black),
                title: Style::default()
                    .fg(Color::White)
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                accent: Style::default().fg(Color::LightYellow).bg(Color::Black),
                key: Style::default()
                    .fg(Color::LightYellow)
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                ok: Style::default()
                    .fg(Color::LightGreen)
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                warn: Style::default()
                    .fg(Color::LightYellow)
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                err: Style::default()
                    .fg(Color::LightRed)
                    .bg(Color::Black)
                    .add_modifier(Modifier::BOLD),
                selected: Style::default()
                    .fg(Color::Black)
                    .bg(Color::LightYellow)
                    .add_modifier(Modifier::BOLD),
                current: Style::default()
                    .fg(Color::Black)
                    .bg(Color::White)
                    .add_modifier(Modifier::BOLD),
                border: Style::default().fg(Color::White).bg(Color::Black),
                tab_active: Style::default()
                    .fg(Color::Black)
                    .bg(Color::LightYellow)
                    .add_modifier(Modifier::BOLD),
            },
        }
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
            tab_active: bold.add_modifier(Modifier::UNDERLINED),
        }
    }

    /// NO_COLOR set to anything non-empty turns colour off (no-color.org).
    pub fn no_color_env() -> bool {
        std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
    }
}
