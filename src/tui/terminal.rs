//! Terminal setup and teardown. Restoring is idempotent and runs on every
//! way out: quit, error, panic, SIGTERM, SIGHUP, and around Ctrl-Z.

use std::io::{self, Stdout, Write};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, EnableBracketedPaste, EnableFocusChange,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::images::{ByteMeter, CountingWriter};

/// Every frame goes through a byte counter: the status bar's bytes per
/// step are what the terminal was really sent, not an estimate.
pub type Term = Terminal<CrosstermBackend<CountingWriter<Stdout>>>;

static METER: LazyLock<ByteMeter> = LazyLock::new(ByteMeter::new);

/// The counter of bytes written through [`Term`] (all frames since start).
pub fn meter() -> ByteMeter {
    METER.clone()
}

/// Whether we changed the terminal (so a restore is needed).
static ACTIVE: AtomicBool = AtomicBool::new(false);

pub fn enter() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableBracketedPaste,
        // Focus reports: coming back to the console repaints its pictures
        // (tmux forwards them with `focus-events on`).
        EnableFocusChange,
        cursor::Hide
    )
}

/// Put the terminal back as the shell expects it. Safe to call twice, and
/// from a panic hook; errors are ignored (the terminal may be gone: SIGHUP).
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableBracketedPaste,
        DisableFocusChange,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// A fresh terminal over a cleared screen. Not `Terminal::clear`: that
/// asks the terminal where its cursor is, a round trip a slow SSH link
/// pays for and some terminals never answer.
pub fn fresh() -> io::Result<Term> {
    execute!(
        io::stdout(),
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    Terminal::new(CrosstermBackend::new(CountingWriter::new(
        io::stdout(),
        METER.clone(),
    )))
}

pub fn init() -> io::Result<Term> {
    install_panic_hook();
    enter()?;
    fresh()
}

fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Restore first, so the message lands on a sane screen.
        restore();
        tracing::error!(
            "panic: {info}\n{}",
            std::backtrace::Backtrace::force_capture()
        );
        prev(info);
    }));
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
pub fn suspend(t: &mut Term) -> io::Result<()> {
    restore();
    #[cfg(unix)]
    {
        // Raw mode swallows the key, so we send ourselves the stop signal;
        // the default action stops us until the shell sends SIGCONT.
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGTSTP);
    }
    enter()?;
    // The screen is whatever the shell left: redraw all of it (a new
    // Terminal has no previous frame to diff against).
    *t = fresh()?;
    Ok(())
}
