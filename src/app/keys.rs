//! Keys, commands and the keymap. Key resolution is a pure function of
//! (key, mode) → action, so it is tested without a terminal (atuin-style).

use std::collections::BTreeMap;
use std::fmt;

/// A key press, independent of the terminal library. Shift is folded into
/// the character (`P`) or into `BackTab`, so bindings read naturally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCode {
    Char(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Backspace,
    Delete,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
    F(u8),
}

impl Key {
    pub const fn plain(code: KeyCode) -> Key {
        Key {
            code,
            ctrl: false,
            alt: false,
        }
    }

    pub const fn ch(c: char) -> Key {
        Key::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Key {
        Key {
            code: KeyCode::Char(c),
            ctrl: true,
            alt: false,
        }
    }

    /// Parse the config spelling: `j`, `P`, `ctrl-j`, `alt-x`, `enter`,
    /// `esc`, `tab`, `shift-tab`, `space`, `up`, `pagedown`, `f5`, `?`.
    pub fn parse(spec: &str) -> Option<Key> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = spec;
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1 && lower.starts_with("ctrl-") {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 1 && lower.starts_with("alt-") {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "shift-tab" | "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "space" => KeyCode::Char(' '),
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "pageup" | "pgup" => KeyCode::PageUp,
                "pagedown" | "pgdn" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                f if f.starts_with('f') => {
                    let n: u8 = f[1..].parse().ok()?;
                    if !(1..=12).contains(&n) {
                        return None;
                    }
                    KeyCode::F(n)
                }
                _ => return None,
            },
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl-")?;
        }
        if self.alt {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Backspace => f.write_str("Backspace"),
            KeyCode::Delete => f.write_str("Del"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
        }
    }
}

macro_rules! commands {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// Everything a reviewer can do by key or by name (`:` palette).
        /// The names are the config's and the palette's.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Command { $($variant),* }

        impl Command {
            pub const ALL: &'static [Command] = &[$(Command::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Command::$variant => $name),* }
            }

            pub fn from_name(name: &str) -> Option<Command> {
                match name { $($name => Some(Command::$variant),)* _ => None }
            }
        }
    };
}

commands! {
    Up = "up",
    Down = "down",
    PageUp = "page_up",
    PageDown = "page_down",
    Top = "top",
    Bottom = "bottom",
    Open = "open",
    Back = "back",
    Quit = "quit",
    NextTab = "next_tab",
    PrevTab = "prev_tab",
    NextImage = "next_image",
    PrevImage = "prev_image",
    Lock = "lock",
    Unlock = "unlock",
    Pending = "pending",
    Pass = "pass",
    Reject = "reject",
    ReturnToSite = "return_to_site",
    Undo = "undo",
    NextCandidate = "next_candidate",
    PrevCandidate = "prev_candidate",
    Zoom = "zoom",
    ZoomIn = "zoom_in",
    ZoomOut = "zoom_out",
    Rotate = "rotate",
    PanLeft = "pan_left",
    PanRight = "pan_right",
    PanUp = "pan_up",
    PanDown = "pan_down",
    Region1 = "region_1",
    Region2 = "region_2",
    Region3 = "region_3",
    Region4 = "region_4",
    Region5 = "region_5",
    Region6 = "region_6",
    Region7 = "region_7",
    Region8 = "region_8",
    Region9 = "region_9",
    OneToOne = "one_to_one",
    Search = "search",
    Palette = "palette",
    Help = "help",
    Reveal = "reveal",
    Feedback = "feedback",
    History = "history",
    Refresh = "refresh",
    Logout = "logout",
    Refused = "refused",
    ShowBytes = "show_bytes",
    Export = "export",
    Stats = "stats",
}

/// Where the keyboard is. Derived from State (see `State::mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Login,
    Queue,
    Candidate,
    Zoom,
    /// The reason picker, list focused.
    Picker,
    /// The reason picker, note focused.
    PickerNote,
    Confirm,
    Help,
    /// A one-line text field (search, palette, feedback).
    Input,
    /// The list of refused decisions.
    Refused,
}

impl Command {
    /// The 3×3 region (1 top-left … 9 bottom-right) a region command jumps to.
    pub fn region(self) -> Option<u8> {
        use Command::*;
        Some(match self {
            Region1 => 1,
            Region2 => 2,
            Region3 => 3,
            Region4 => 4,
            Region5 => 5,
            Region6 => 6,
            Region7 => 7,
            Region8 => 8,
            Region9 => 9,
            _ => return None,
        })
    }

    /// The commands of the full-screen image view alone.
    fn zoom_only(self) -> bool {
        use Command::*;
        self.region().is_some()
            || matches!(
                self,
                ZoomIn | ZoomOut | Rotate | PanLeft | PanRight | PanUp | PanDown | OneToOne
            )
    }

    /// Whether the command does something in `mode` (help and hints list
    /// only these, so they show the live bindings).
    pub fn live_in(self, mode: Mode) -> bool {
        use Command::*;
        match mode {
            Mode::Queue => matches!(
                self,
                Up | Down
                    | PageUp
                    | PageDown
                    | Top
                    | Bottom
                    | Open
                    | Back
                    | Quit
                    | NextTab
                    | PrevTab
                    | NextCandidate
                    | PrevCandidate
                    | Undo
                    | Search
                    | Palette
                    | Help
                    | Refresh
                    | Logout
                    | Refused
                    | ShowBytes
                    | Export
                    | Stats
            ),
            // `/` here goes back to the queue and searches it.
            Mode::Candidate => {
                !self.zoom_only()
                    && !matches!(
                        self,
                        Open | Top | Bottom | PageUp | PageDown | NextTab | PrevTab
                    )
            }
            Mode::Zoom => {
                self.zoom_only()
                    || matches!(
                        self,
                        Zoom | Back
                            | Quit
                            | NextImage
                            | PrevImage
                            | Lock
                            | Unlock
                            | Help
                            | ShowBytes
                    )
            }
            _ => false,
        }
    }
}

/// Bindings of the normal modes (queue, candidate) and of the zoom view.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Keymap {
    pub normal: BTreeMap<Key, Command>,
    pub zoom: BTreeMap<Key, Command>,
}

impl Keymap {
    /// Keys bound to `cmd` in `mode`, in a stable order (for help and hints).
    pub fn keys_for(&self, cmd: Command, mode: Mode) -> Vec<Key> {
        let table = if mode == Mode::Zoom {
            &self.zoom
        } else {
            &self.normal
        };
        let mut v: Vec<Key> = table
            .iter()
            .filter(|(_, c)| **c == cmd)
            .map(|(k, _)| *k)
            .collect();
        if mode == Mode::Zoom {
            // Zoom falls back to the normal table for what it does not bind.
            for (k, c) in &self.normal {
                if *c == cmd && !self.zoom.contains_key(k) && !v.contains(k) {
                    v.push(*k);
                }
            }
        }
        // Plain letters first: they are what people type.
        v.sort_by_key(|k| (k.ctrl || k.alt, !matches!(k.code, KeyCode::Char(_)), *k));
        v
    }

    pub fn lookup(&self, key: Key, mode: Mode) -> Option<Command> {
        if mode == Mode::Zoom
            && let Some(c) = self.zoom.get(&key)
        {
            return Some(*c);
        }
        self.normal.get(&key).copied()
    }
}

/// What a key press means, before `update` sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Command(Command),
    /// A character typed into the focused text field.
    Char(char),
    Backspace,
    Submit,
    Cancel,
    /// Tab in a form: next field / complete / next channel.
    NextField,
    /// The picker: toggle preset n (0-based).
    Toggle(usize),
    /// The picker: move the cursor.
    Move(i32),
    /// The picker: toggle the preset under the cursor.
    ToggleCursor,
    ConfirmYes,
    ConfirmNo,
    /// Help: scroll.
    Scroll(i32),
    /// The refused list: let the selected one go / all of them.
    Dismiss,
    DismissAll,
}

/// Preset labels in the picker: 1–9, 0, then letters (12 image presets).
pub const PICKER_KEYS: [char; 16] = [
    '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'a', 'b', 'c', 'd', 'e', 'f',
];

/// The pure key resolution.
pub fn resolve(key: Key, mode: Mode, keymap: &Keymap) -> Option<KeyAction> {
    use KeyAction as A;
    if key.ctrl && key.code == KeyCode::Char('c') {
        // Ctrl-C always gets the reviewer out of a dialog, then out.
        return Some(match mode {
            Mode::Queue | Mode::Candidate | Mode::Zoom | Mode::Login => A::Command(Command::Quit),
            _ => A::Cancel,
        });
    }
    match mode {
        Mode::Queue | Mode::Candidate | Mode::Zoom => keymap
            .lookup(key, mode)
            .filter(|c| c.live_in(mode))
            .map(A::Command),
        Mode::Login | Mode::Input | Mode::PickerNote => match key.code {
            KeyCode::Enter => Some(A::Submit),
            KeyCode::Esc => Some(A::Cancel),
            KeyCode::Backspace => Some(A::Backspace),
            KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => Some(A::NextField),
            KeyCode::Char(c) if !key.ctrl && !key.alt => Some(A::Char(c)),
            _ => None,
        },
        Mode::Picker => match key.code {
            KeyCode::Enter => Some(A::Submit),
            KeyCode::Esc | KeyCode::Char('q') => Some(A::Cancel),
            KeyCode::Tab | KeyCode::BackTab => Some(A::NextField),
            KeyCode::Up | KeyCode::Char('k') => Some(A::Move(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(A::Move(1)),
            KeyCode::Char(' ') => Some(A::ToggleCursor),
            KeyCode::Char(c) => PICKER_KEYS.iter().position(|k| *k == c).map(A::Toggle),
            _ => None,
        },
        Mode::Confirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(A::ConfirmYes),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                Some(A::ConfirmNo)
            }
            // The lock and unlock keys answer the flagged-image question
            // (`a` again: lock it anyway; `x`: unlock instead).
            _ => keymap
                .lookup(key, Mode::Candidate)
                .filter(|c| matches!(c, Command::Lock | Command::Unlock))
                .map(A::Command),
        },
        Mode::Refused => match key.code {
            KeyCode::Up | KeyCode::Char('k') => Some(A::Move(-1)),
            KeyCode::Down | KeyCode::Char('j') => Some(A::Move(1)),
            KeyCode::Char('d') | KeyCode::Delete => Some(A::Dismiss),
            KeyCode::Char('D') => Some(A::DismissAll),
            KeyCode::Enter => Some(A::Submit),
            KeyCode::Esc | KeyCode::Char('q') | KeyCode::Char('!') => Some(A::Cancel),
            _ => None,
        },
        Mode::Help => match key.code {
            KeyCode::Down | KeyCode::Char('j') => Some(A::Scroll(1)),
            KeyCode::Up | KeyCode::Char('k') => Some(A::Scroll(-1)),
            KeyCode::PageDown => Some(A::Scroll(10)),
            KeyCode::PageUp => Some(A::Scroll(-10)),
            _ => Some(A::Cancel),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_specs() {
        assert_eq!(Key::parse("j"), Some(Key::ch('j')));
        assert_eq!(Key::parse("P"), Some(Key::ch('P')));
        assert_eq!(Key::parse("ctrl-j"), Some(Key::ctrl('j')));
        assert_eq!(Key::parse("Ctrl-J"), Some(Key::ctrl('j')));
        assert_eq!(Key::parse("shift-tab"), Some(Key::plain(KeyCode::BackTab)));
        assert_eq!(Key::parse("space"), Some(Key::ch(' ')));
        assert_eq!(Key::parse("f5"), Some(Key::plain(KeyCode::F(5))));
        assert_eq!(Key::parse("-"), Some(Key::ch('-')));
        assert_eq!(Key::parse("f13"), None);
        assert_eq!(Key::parse("ctrl-"), None);
        assert_eq!(Key::parse("hyper-x"), None);
    }

    #[test]
    fn names_round_trip() {
        for c in Command::ALL {
            assert_eq!(Command::from_name(c.name()), Some(*c));
        }
    }

    #[test]
    fn picker_digits_and_dialogs() {
        let km = Keymap::default();
        assert_eq!(
            resolve(Key::ch('1'), Mode::Picker, &km),
            Some(KeyAction::Toggle(0))
        );
        assert_eq!(
            resolve(Key::ch('0'), Mode::Picker, &km),
            Some(KeyAction::Toggle(9))
        );
        assert_eq!(
            resolve(Key::ch('1'), Mode::PickerNote, &km),
            Some(KeyAction::Char('1'))
        );
        assert_eq!(
            resolve(Key::ch('y'), Mode::Confirm, &km),
            Some(KeyAction::ConfirmYes)
        );
        assert_eq!(
            resolve(Key::ctrl('c'), Mode::Input, &km),
            Some(KeyAction::Cancel)
        );
    }

    #[test]
    fn dead_commands_do_not_resolve() {
        let mut km = Keymap::default();
        km.normal.insert(Key::ch('+'), Command::ZoomIn);
        assert_eq!(resolve(Key::ch('+'), Mode::Queue, &km), None);
        km.normal.insert(Key::ch('a'), Command::Lock);
        assert_eq!(resolve(Key::ch('a'), Mode::Queue, &km), None);
        assert_eq!(
            resolve(Key::ch('a'), Mode::Candidate, &km),
            Some(KeyAction::Command(Command::Lock))
        );
    }
}
