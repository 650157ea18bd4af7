//! The terminal side: init/restore, and the one tokio loop that selects
//! over key events, the action channel, a tick and signals.

pub mod images;
pub mod late_replies;
pub mod terminal;
pub mod tmux_watch;

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
    /// Where the outbox journal lives (None: decisions in memory only).
    pub journal_dir: Option<PathBuf>,
    /// --low-bandwidth (or the config's low_bandwidth).
    pub low_bandwidth: bool,
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
    let client = Client::with_ca_file(
        &opts.server,
        opts.token.clone(),
        Timeouts::default(),
        opts.config.ca_file.as_deref(),
    )?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Action>();
    let mut effects = Effects::new(
        client,
        tx.clone(),
        opts.remember_token.then(|| opts.data_dir.clone()).flatten(),
        opts.journal_dir.clone(),
    );
    let mut state = State::new(
        opts.config.lang,
        opts.config.keymap.clone(),
        opts.server.clone(),
        Utc::now(),
    );
    state.remember_token = opts.remember_token;
    state.show_bytes = opts.config.show_bytes;
    state.confirm_flagged = opts.config.confirm_flagged_lock;
    state.ascii_glyphs = opts.config.glyphs.ascii(
        std::env::var("TERM").ok().as_deref(),
        std::env::var_os("MLTERM").is_some(),
    );
    if let Some(e) = &opts.config_error {
        state.status = Some(Status {
            kind: StatusKind::Error,
            msg: StatusMsg::Config(e.to_string()),
            at: state.now,
        });
    }

    #[cfg(unix)]
    let mut signals = Signals::new()?;

    let mut term = terminal::init()?;
    // The one capability query: after entering the alternate screen, before
    // anything reads events (the answers arrive on stdin).
    let caps = (opts.config.image_protocol != ImageProtocol::Off).then(|| {
        crate::images::detect(&crate::images::DetectOptions {
            setting: protocol_setting(opts.config.image_protocol),
            low_bandwidth: opts.low_bandwidth || opts.config.low_bandwidth,
            timeout: Duration::from_millis(1000),
        })
    });
    // Light or dark by the background the terminal reported.
    let theme = Theme::resolve(
        opts.config.theme,
        Theme::no_color_env(),
        caps.as_ref().and_then(|c| c.background),
    );
    let mut live = caps.and_then(|mut caps| {
        tracing::info!("images: {} ({:?})", caps.reason.en, caps.terminal);
        // The margins around a picture in the colour the theme paints.
        if let Some(ratatui::style::Color::Rgb(r, g, b)) = theme.base.bg {
            caps.background = Some([r, g, b]);
        }
        images::LivePainter::new(
            opts.config.lang,
            caps,
            effects.client().clone(),
            terminal::meter(),
            effects.prefetched().clone(),
        )
    });
    // Pictures passed through tmux are ours to keep in place.
    let mut watch = live.as_ref().filter(|p| p.passes_through_tmux()).map(|p| {
        if let Some(st) = crate::images::detect::tmux::pane_state() {
            p.repaint(Some(st.offset));
        }
        tmux_watch::TmuxWatch::default()
    });
    let mut watch_tick = tokio::time::interval(tmux_watch::EVERY);
    watch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut placeholder = Placeholder {
        lang: opts.config.lang,
        off: live.is_none(),
    };
    let size = term.size()?;
    state.size = (size.width, size.height);
    for e in start(&mut state, opts.token.is_some()) {
        effects.run(e);
    }

    let mut keys = EventStream::new();
    let mut late_replies = late_replies::LateReplies::default();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_draw = Instant::now() - FRAME;
    // An image the pane is waiting for is drawn at once: the frame cap is for
    // floods of keys and events, and the worker answers once per request.
    let mut image_ready = false;
    let result: Result<(), TuiError> = loop {
        if state.dirty && (image_ready || last_draw.elapsed() >= FRAME) {
            image_ready = false;
            if let Some(p) = live.as_ref() {
                p.begin_frame();
            }
            let (frame_start, bytes_before) = (Instant::now(), terminal::meter().total());
            let drawn = term.draw(|f| {
                let painter: &mut dyn ImagePainter = match live.as_mut() {
                    Some(p) => p,
                    None => &mut placeholder,
                };
                ui::draw(f, &state, &theme, painter)
            });
            if let Err(e) = drawn {
                break Err(e.into());
            }
            if let Some(p) = live.as_mut() {
                let mut rest = p.end_frame();
                rest.push_str(&p.after_draw(terminal::meter().since(bytes_before), frame_start));
                if let Err(e) = write_now(&mut term, &rest) {
                    break Err(e.into());
                }
            }
            if let (Some(p), Some(c), true) =
                (live.as_mut(), state.cand.as_ref(), opts.config.prefetch)
            {
                // The next images of this candidate, so `a` shows the next
                // one at once.
                let imgs = c.images();
                let next: Vec<_> = imgs.iter().skip(c.image + 1).take(3).copied().collect();
                p.prefetch(&next);
                // The next two candidates' dossiers and images, so `n`
                // finds them in memory.
                let rows = &state.queue.rows;
                if let Some(i) = rows.iter().position(|r| r.id == c.id) {
                    let ids: Vec<i64> = rows.iter().skip(i + 1).take(2).map(|r| r.id).collect();
                    p.prefetch_candidates(&ids);
                }
            }
            if let Some(p) = live.as_mut() {
                p.frame_done();
            }
            state.dirty = false;
            last_draw = Instant::now();
        }
        let redraw_in = FRAME.saturating_sub(last_draw.elapsed());
        let action = tokio::select! {
            ev = keys.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    if late_replies.swallow(&k, Instant::now()) {
                        if late_replies.take_completed()
                            && let Some(p) = live.as_mut()
                        {
                            p.probe_answered();
                        }
                        tracing::trace!("late terminal reply swallowed: {:?}", k.code);
                        continue;
                    }
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
                        Some(a) => {
                            if let (Some(p), crate::app::keys::KeyAction::Command(
                                crate::app::keys::Command::NextCandidate
                                | crate::app::keys::Command::PrevCandidate,
                            )) = (live.as_mut(), &a)
                            {
                                p.step_key();
                            }
                            Action::Key(a)
                        }
                        None => continue,
                    }
                }
                Some(Ok(Event::Resize(w, h))) => {
                    // tmux redraws the pane on a resize; passed-through
                    // pictures are lost and sent again.
                    if let Some(p) = live.as_ref().filter(|p| p.passes_through_tmux()) {
                        p.repaint(None);
                    }
                    Action::Resize(w, h)
                }
                Some(Ok(Event::FocusGained)) => {
                    // Back from another tmux window or application: what
                    // the terminal shows of our pictures cannot be trusted.
                    if let Some(p) = live.as_ref().filter(|p| p.passes_through_tmux()) {
                        p.repaint(None);
                        // A new terminal draws every cell: not Terminal::clear,
                        // which asks for the cursor position (tmux may not
                        // answer in time).
                        match terminal::fresh() {
                            Ok(t) => term = t,
                            Err(e) => break Err(e.into()),
                        }
                        state.dirty = true;
                    }
                    continue;
                }
                Some(Ok(Event::Paste(p))) => Action::Paste(p),
                Some(Ok(_)) => continue,
                // stdin is gone (the SSH session dropped): leave cleanly.
                Some(Err(_)) | None => break Ok(()),
            },
            Some(a) = rx.recv() => a,
            _ = tick.tick() => Action::Tick(Utc::now()),
            _ = tokio::time::sleep(redraw_in), if state.dirty => continue,
            _ = async {
                match live.as_mut() {
                    Some(p) => p.next().await,
                    None => std::future::pending().await,
                }
            } => {
                state.dirty = true;
                image_ready = true;
                continue;
            }
            _ = watch_tick.tick(), if watch.is_some() => {
                let change = match watch.as_mut() {
                    Some(w) => w.poll().await,
                    None => None,
                };
                match (change, live.as_ref()) {
                    (Some(tmux_watch::PaneChange::Hidden(client)), Some(p)) => {
                        // tmux passes nothing through from a pane it does
                        // not show: the outer terminal is told directly.
                        tmux_watch::write_to_client(client.as_deref(), &p.take_down_direct());
                    }
                    (Some(tmux_watch::PaneChange::Redraw(st)), Some(p)) => {
                        p.repaint(Some(st.offset));
                        // A new terminal draws every cell: not Terminal::clear,
                        // which asks for the cursor position (tmux may not
                        // answer in time).
                        match terminal::fresh() {
                            Ok(t) => term = t,
                            Err(e) => break Err(e.into()),
                        }
                        state.dirty = true;
                    }
                    _ => {}
                }
                continue;
            }
            sig = signals.recv() => {
                tracing::info!("signal {sig}: leaving");
                break Ok(());
            }
        };
        let mut quit = false;
        // Apply what is already waiting before the next draw, so a dossier
        // served from the prefetch lands in the same frame as its key.
        let mut batch = vec![action];
        while batch.len() < 64
            && let Ok(a) = rx.try_recv()
        {
            batch.push(a);
        }
        for action in batch {
            effects.prefetched().observe(&action);
            for e in update(&mut state, action) {
                if !effects.run(e) {
                    quit = true;
                }
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
    // restore() showed the cursor already. Dropping the Terminal would try
    // again and, on a terminal that is gone (SIGHUP), eprintln! an error,
    // which panics when stderr is gone too.
    std::mem::forget(term);
    effects.shutdown().await;
    result
}

/// Write `s` to the terminal now, outside a frame.
fn write_now(term: &mut terminal::Term, s: &str) -> std::io::Result<()> {
    use std::io::Write;
    if s.is_empty() {
        return Ok(());
    }
    let b = term.backend_mut();
    b.write_all(s.as_bytes())?;
    b.flush()
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

pub fn protocol_setting(p: ImageProtocol) -> crate::images::ImageProtocolSetting {
    use crate::images::ImageProtocolSetting as S;
    match p {
        ImageProtocol::Auto => S::Auto,
        ImageProtocol::Kitty => S::Kitty,
        ImageProtocol::Sixel => S::Sixel,
        ImageProtocol::Iterm2 => S::Iterm2,
        ImageProtocol::Halfblocks => S::Halfblocks,
        ImageProtocol::Off => S::Off,
    }
}
