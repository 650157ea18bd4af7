//! The terminal side: init/restore, and the one tokio loop that selects
//! over key events, the action channel, a tick and signals.

pub mod terminal;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind, KeyModifiers};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::api::client::{Client, Timeouts};
use crate::app::effects::Effects;
use crate::app::keys::{Key, KeyCode, resolve};
use crate::app::state::{State, Status, StatusKind, StatusMsg};
use crate::app::{Action, Effect, start, update};
use crate::config::{Config, ConfigError, ImageProtocol};
use crate::ui::{self, ImagePainter, Placeholder, Theme};

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("terminal: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Api(#[from] crate::api::error::ApiError),
}

pub struct RunOptions {
    pub config: Config,
    pub config_error: Option<ConfigError>,
    pub server: String,
    pub token: Option<String>,
    /// Store tokens in `data_dir` after a login (not for SHENHE_TOKEN/demo).
    pub remember_token: bool,
    pub data_dir: Option<PathBuf>,
}

/// Map a crossterm key to ours; None for keys we never bind.
pub fn map_key(k: KeyEvent) -> Option<Key> {
    use crossterm::event::KeyCode as C;
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let shift = k.modifiers.contains(KeyModifiers::SHIFT);
    let code = match k.code {
        C::Char(c) => KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
        C::Enter => KeyCode::Enter,
        C::Esc => KeyCode::Esc,
        C::Tab if shift => KeyCode::BackTab,
        C::Tab => KeyCode::Tab,
        C::BackTab => KeyCode::BackTab,
        C::Backspace => KeyCode::Backspace,
        C::Delete => KeyCode::Delete,
        C::Up => KeyCode::Up,
        C::Down => KeyCode::Down,
        C::Left => KeyCode::Left,
        C::Right => KeyCode::Right,
        C::PageUp => KeyCode::PageUp,
        C::PageDown => KeyCode::PageDown,
        C::Home => KeyCode::Home,
        C::End => KeyCode::End,
        C::F(n) => KeyCode::F(n),
        _ => return None,
    };
    Some(Key { code, ctrl, alt })
}

/// At most ~60 frames a second.
const FRAME: Duration = Duration::from_millis(16);

pub async fn run(opts: RunOptions) -> Result<(), TuiError> {
    let client = Client::new(&opts.server, opts.token.clone(), Timeouts::default())?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let mut effects = Effects::new(
        client,
        tx.clone(),
        opts.remember_token.then(|| opts.data_dir.clone()).flatten(),
    );
    let mut state = State::new(
        opts.config.lang,
        opts.config.keymap.clone(),
        opts.server.clone(),
        Utc::now(),
    );
    state.remember_token = opts.remember_token;
    if let Some(e) = &opts.config_error {
        state.status = Some(Status {
            kind: StatusKind::Error,
            msg: StatusMsg::Config(e.to_string()),
            at: state.now,
        });
    }
    let theme = Theme::new(opts.config.theme, Theme::no_color_env());
    let mut painter: Box<dyn ImagePainter> = Box::new(Placeholder {
        lang: opts.config.lang,
        off: opts.config.image_protocol == ImageProtocol::Off,
    });

    #[cfg(unix)]
    let mut signals = Signals::new()?;

    let mut term = terminal::init()?;
    let size = term.size()?;
    state.size = (size.width, size.height);
    for e in start(&mut state, opts.token.is_some()) {
        effects.run(e);
    }

    let mut keys = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    let result: Result<(), TuiError> = loop {
        if state.dirty && last_draw.elapsed() >= FRAME {
            if let Err(e) = term.draw(|f| ui::draw(f, &state, &theme, painter.as_mut())) {
                break Err(e.into());
            }
            state.dirty = false;
            last_draw = Instant::now();
        }
        let redraw_in = FRAME.saturating_sub(last_draw.elapsed());
        let action = tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    if k.modifiers.contains(KeyModifiers::CONTROL)
                        && matches!(k.code, crossterm::event::KeyCode::Char('z'))
                    {
                        if let Err(e) = terminal::suspend(&mut term) {
                            break Err(e.into());
                        }
                        state.dirty = true;
                        continue;
                    }
                    let Some(key) = map_key(k) else { continue };
                    match resolve(key, state.mode(), &state.keymap) {
                        Some(a) => Action::Key(a),
                        None => continue,
                    }
                }
                Some(Ok(Event::Resize(w, h))) => Action::Resize(w, h),
                Some(Ok(Event::Paste(p))) => Action::Paste(p),
                Some(Ok(_)) => continue,
                // stdin is gone (the SSH session dropped): leave cleanly.
                Some(Err(_)) | None => break Ok(()),
            },
            Some(a) = rx.recv() => a,
            _ = tick.tick() => Action::Tick(Utc::now()),
            _ = tokio::time::sleep(redraw_in), if state.dirty => continue,
            sig = signals.recv() => {
                tracing::info!("signal {sig}: leaving");
                break Ok(());
            }
        };
        let mut quit = false;
        for e in update(&mut state, action) {
            if !effects.run(e) {
                quit = true;
            }
        }
        if quit || state.quit {
            break Ok(());
        }
    };
    // Hand the candidate back before going (it would expire anyway).
    if !state.quit
        && let Some(c) = &state.cand
    {
        effects.run(Effect::Release { id: c.id });
    }
    terminal::restore();
    effects.shutdown().await;
    result
}

#[cfg(unix)]
struct Signals {
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn new() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
