//! Bytes written to the terminal: a counting writer for the console's
//! backend (real numbers per navigation step), and `draw_bytes` to produce
//! exactly what ratatui's crossterm backend would write for one frame.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};

/// A shared byte counter. Clone it into a [`CountingWriter`]; read it from
/// the UI (e.g. "bytes this step" in the status bar).
#[derive(Debug, Clone, Default)]
pub struct ByteMeter(Arc<AtomicU64>);

impl ByteMeter {
    pub fn new() -> Self {
        ByteMeter::default()
    }

    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes counted since the start.
    pub fn total(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Bytes counted since `mark` (an earlier `total()`).
    pub fn since(&self, mark: u64) -> u64 {
        self.total().saturating_sub(mark)
    }
}

/// Bytes the terminal was sent per navigation step, from a [`ByteMeter`]
/// read at the writer. A step begins when the pane shows a different image
/// (next image, next candidate) and ends when the next one begins.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StepBytes {
    /// What the current step shows, and the meter when it began.
    key: Option<String>,
    mark: u64,
    last: Option<u64>,
    steps: u64,
    total: u64,
}

impl StepBytes {
    /// The pane shows `key` with the meter at `meter_total`.
    pub fn shows(&mut self, key: &str, meter_total: u64) {
        if self.key.as_deref() == Some(key) {
            return;
        }
        if self.key.is_some() {
            let n = meter_total.saturating_sub(self.mark);
            self.last = Some(n);
            self.steps += 1;
            self.total += n;
        }
        self.key = Some(key.to_string());
        self.mark = meter_total;
    }

    /// Bytes of the last finished step.
    pub fn last(&self) -> Option<u64> {
        self.last
    }

    /// Mean bytes of the finished steps.
    pub fn mean(&self) -> Option<u64> {
        self.total.checked_div(self.steps)
    }

    /// "上一步 1.2 KB · 平均 3.4 KB/步" for the status bar.
    pub fn describe(&self, english: bool) -> String {
        let kb = |n: u64| format!("{:.1} KB", n as f64 / 1024.0);
        match (english, self.last, self.mean()) {
            (false, Some(l), Some(m)) => format!("上一步 {} · 平均 {}/步", kb(l), kb(m)),
            (true, Some(l), Some(m)) => format!("last step {} · mean {}/step", kb(l), kb(m)),
            (false, _, _) => "每步字节：尚无".to_string(),
            (true, _, _) => "bytes per step: none yet".to_string(),
        }
    }
}

/// What the terminal really absorbs. After a frame that carried a picture
/// the console asks for the background colour (OSC 11); the terminal
/// answers only once it has consumed everything before it, so the answer's
/// delay over the bytes written is the rate of the whole path (link, sshd,
/// tmux, the terminal's own drawing).
#[derive(Debug, Clone, Default)]
pub struct LinkMeter {
    pending: Option<(u64, std::time::Instant)>,
    /// Bytes a second, smoothed.
    rate: Option<f64>,
    samples: u32,
}

/// The probe: every terminal answers it, tmux passes it through, and the
/// answer arrives as keys that the console swallows as a late reply.
pub const LINK_PROBE: &str = "\x1b]11;?\x1b\\";

/// Frames smaller than this say more about the round trip than the rate.
pub const PROBE_MIN_BYTES: u64 = 24 * 1024;

impl LinkMeter {
    /// A probe went out after `bytes` that began to be written at `at`.
    /// False when one is still out (it is not sent then).
    pub fn probe_sent(&mut self, bytes: u64, at: std::time::Instant) -> bool {
        if self.pending.is_some() || bytes < PROBE_MIN_BYTES {
            return false;
        }
        self.pending = Some((bytes, at));
        true
    }

    /// An answer arrived at `now`: the sample (bytes, seconds), if it was
    /// the probe's.
    pub fn answered(&mut self, now: std::time::Instant) -> Option<(u64, f64)> {
        let (bytes, at) = self.pending.take()?;
        let secs = now.duration_since(at).as_secs_f64().max(1e-3);
        let r = bytes as f64 / secs;
        self.samples += 1;
        // The slowest recent sample weighs most: a step must fit the link
        // when it is at its slowest, not on average.
        self.rate = Some(match self.rate {
            None => r,
            Some(old) if r < old => r,
            Some(old) => old * 0.7 + r * 0.3,
        });
        Some((bytes, secs))
    }

    /// A probe older than `max` is given up (a terminal that does not
    /// answer OSC 11).
    pub fn expire(&mut self, now: std::time::Instant, max: std::time::Duration) {
        if self
            .pending
            .is_some_and(|(_, at)| now.duration_since(at) > max)
        {
            self.pending = None;
        }
    }

    /// Measured bytes a second.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// "链路 1.0 Mbit/s" for the status bar.
    pub fn describe(&self, english: bool) -> Option<String> {
        let r = self.rate? * 8.0;
        let v = if r >= 1e6 {
            format!("{:.1} Mbit/s", r / 1e6)
        } else {
            format!("{:.0} kbit/s", r / 1e3)
        };
        Some(if english {
            format!("link {v}")
        } else {
            format!("链路 {v}")
        })
    }
}

/// Wraps the terminal's writer and counts every byte that reaches it.
#[derive(Debug)]
pub struct CountingWriter<W> {
    inner: W,
    meter: ByteMeter,
}

impl<W: Write> CountingWriter<W> {
    pub fn new(inner: W, meter: ByteMeter) -> Self {
        CountingWriter { inner, meter }
    }

    pub fn meter(&self) -> &ByteMeter {
        &self.meter
    }

    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The bytes ratatui's crossterm backend writes to turn `prev` into `next`
/// (same size): what one frame costs on the wire.
pub fn frame_bytes(prev: &Buffer, next: &Buffer) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut backend = CrosstermBackend::new(&mut out);
        let updates = prev.diff(next);
        backend.draw(updates.into_iter())?;
        Backend::flush(&mut backend)?;
    }
    Ok(out)
}

/// Render with `draw` into a fresh `size` screen and return the bytes of
/// that frame as the console would write them onto a blank screen.
pub fn draw_bytes(size: Size, draw: impl FnOnce(Rect, &mut Buffer)) -> io::Result<Vec<u8>> {
    let area = Rect::new(0, 0, size.width, size.height);
    let prev = Buffer::empty(area);
    let mut next = Buffer::empty(area);
    draw(area, &mut next);
    frame_bytes(&prev, &next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::style::{Color, Style};

    #[test]
    fn link_rate_from_the_probes_delay() {
        let t = std::time::Instant::now();
        let mut m = LinkMeter::default();
        assert!(!m.probe_sent(1000, t), "too small to say");
        assert!(m.probe_sent(125_000, t));
        assert!(!m.probe_sent(125_000, t), "one at a time");
        m.answered(t + std::time::Duration::from_secs(1));
        assert_eq!(m.rate(), Some(125_000.0));
        assert_eq!(m.describe(false).as_deref(), Some("链路 1.0 Mbit/s"));
    }

    #[test]
    fn counting_writer_counts() {
        let meter = ByteMeter::new();
        let mut w = CountingWriter::new(Vec::new(), meter.clone());
        w.write_all(b"hello").expect("write");
        let mark = meter.total();
        w.write_all(b", world").expect("write");
        assert_eq!(meter.total(), 12);
        assert_eq!(meter.since(mark), 7);
        assert_eq!(w.into_inner(), b"hello, world");
    }

    #[test]
    fn unchanged_frame_costs_nothing_but_a_reset() {
        let area = Rect::new(0, 0, 4, 2);
        let mut a = Buffer::empty(area);
        a.set_string(0, 0, "ab", Style::default().fg(Color::Red));
        let same = frame_bytes(&a, &a.clone()).expect("diff");
        let fresh = draw_bytes(Size::new(4, 2), |_, b| {
            b.set_string(0, 0, "ab", Style::default().fg(Color::Red))
        })
        .expect("draw");
        assert!(same.len() < fresh.len());
        assert!(String::from_utf8_lossy(&fresh).contains("ab"));
    }
}
