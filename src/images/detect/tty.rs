//! One query on the terminal's own descriptors: raw mode, one write, a
//! bounded read until a sentinel answer or the deadline.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use super::replies::{Replies, parse_replies};

/// When to stop reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sentinel {
    /// The DSR answer (a direct query).
    Status,
    /// A DA1 answer (the wrapped query to the terminal outside tmux).
    Da1,
}

impl Sentinel {
    fn seen(self, r: &Replies) -> bool {
        match self {
            Sentinel::Status => r.status,
            Sentinel::Da1 => r.da1,
        }
    }
}

/// Write `q` and read answers until `until` answered or the deadline.
pub fn query(
    input: BorrowedFd<'_>,
    output: BorrowedFd<'_>,
    q: &str,
    until: Sentinel,
    timeout: Duration,
) -> io::Result<Replies> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};

    // Answers must arrive unechoed and without waiting for a newline.
    let original = tcgetattr(input)?;
    let mut raw = original.clone();
    raw.local_modes &= !(LocalModes::ICANON | LocalModes::ECHO);
    tcsetattr(input, OptionalActions::Now, &raw)?;
    let result = (|| {
        write_all(output, q.as_bytes())?;
        read_answers(input, timeout, until)
    })();
    if result.as_ref().is_ok_and(|r| !until.seen(r)) {
        // Cut short: drop half-read answers now rather than let the event
        // reader take them for keys (later stragglers cannot be helped).
        let _ = rustix::termios::tcflush(input, rustix::termios::QueueSelector::IFlush);
    }
    let _ = tcsetattr(input, OptionalActions::Now, &original);
    result
}

pub fn write_all(fd: BorrowedFd<'_>, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match rustix::io::write(fd, bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn read_answers(input: BorrowedFd<'_>, timeout: Duration, until: Sentinel) -> io::Result<Replies> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};

    let deadline = Instant::now() + timeout;
    let mut got = Vec::with_capacity(512);
    let mut buf = [0u8; 512];
    loop {
        let r = parse_replies(&got);
        if until.seen(&r) {
            return Ok(r);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(r);
        }
        let ts = Timespec {
            tv_sec: left.as_secs() as _,
            tv_nsec: left.subsec_nanos() as _,
        };
        let mut fds = [PollFd::new(&input, PollFlags::IN)];
        match poll(&mut fds, Some(&ts)) {
            Ok(0) => return Ok(parse_replies(&got)),
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        if !fds[0].revents().contains(PollFlags::IN) {
            // Hang-up or error with nothing to read: stop waiting.
            return Ok(parse_replies(&got));
        }
        match rustix::io::read(input, &mut buf) {
            Ok(0) => return Ok(parse_replies(&got)),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
            Err(e) => return Err(e.into()),
        }
        if got.len() > 64 * 1024 {
            // Someone is typing a novel; whatever was answered is in.
            return Ok(parse_replies(&got));
        }
    }
}
