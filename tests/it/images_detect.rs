//! Capability detection against a real pseudo-terminal that plays the
//! terminal (and, inside tmux, tmux and the terminal outside it): the
//! queries that go out, the answers parsed, the decision and its reason.

use std::time::Duration;

use shenhe::images::{FontSize, ProtocolKind};

/// A real pseudo-terminal; the test plays the terminal on the master side.
/// Close-on-exec, as std opens the slave: the other tests of this process
/// spawn children meanwhile, which must not inherit it.
fn pty_pair() -> (std::fs::File, std::fs::File) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master =
        openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().expect("utf8 name"))
        .expect("open slave");
    (std::fs::File::from(master), slave)
}

fn play_terminal(
    mut master: std::fs::File,
    answer: &'static [u8],
) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut seen = Vec::new();
        let mut buf = [0u8; 256];
        while !seen.windows(4).any(|w| w == b"\x1b[5n") {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => return seen,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
        if !answer.is_empty() {
            let _ = master.write_all(answer);
        }
        // Keep the master open until the query side is done reading.
        std::thread::sleep(Duration::from_millis(300));
        seen
    })
}

#[test]
fn detection_reads_a_real_terminals_answers() {
    use shenhe::images::detect::{DetectOptions, EnvHints, detect_on};
    use std::os::fd::AsFd;
    let (master, slave) = pty_pair();
    let term = play_terminal(
        master,
        b"\x1b_Gi=31;OK\x1b\\\x1b_Gi=32;OK\x1b\\\x1bP>|kitty(0.35.2)\x1b\\\x1b[?62;22c\x1b[6;18;9t\x1b[0n",
    );
    let caps = detect_on(
        slave.as_fd(),
        slave.as_fd(),
        &EnvHints::default(),
        &DetectOptions::default(),
    );
    let seen = term.join().expect("terminal thread");
    assert!(seen.starts_with(b"\x1b_Gi=31"), "the query went out first");
    assert_eq!(caps.protocol, Some(ProtocolKind::Kitty));
    assert_eq!(caps.font_size, FontSize::new(9, 18));
    assert!(caps.kitty_zlib);
    assert_eq!(caps.terminal.as_deref(), Some("kitty(0.35.2)"));
    assert_eq!(
        caps.reason.en,
        "kitty graphics, placeholders (kitty(0.35.2))"
    );
}

#[test]
fn detection_of_a_silent_terminal_ends_at_the_deadline() {
    use shenhe::images::detect::{DetectOptions, EnvHints, detect_on};
    use std::os::fd::AsFd;
    let (master, slave) = pty_pair();
    let term = play_terminal(master, b"");
    let opts = DetectOptions {
        timeout: Duration::from_millis(200),
        ..DetectOptions::default()
    };
    let caps = detect_on(slave.as_fd(), slave.as_fd(), &EnvHints::default(), &opts);
    assert_eq!(caps.protocol, Some(ProtocolKind::Halfblocks));
    assert_eq!(caps.reason.zh, "半块字符 (终端未应答查询)");
    drop(slave);
    term.join().expect("terminal thread");
}

/// A terminal inside tmux 3.3a: tmux answers the direct query; the outer
/// terminal (`outer`, or nobody) answers the passthrough-wrapped one.
fn play_tmux(mut master: std::fs::File, outer: &'static [u8]) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        let mut answered_direct = false;
        let wrapped_da1 = b"\x1bPtmux;\x1b\x1b[c\x1b\\";
        loop {
            if !answered_direct && seen.windows(4).any(|w| w == b"\x1b[5n") {
                let _ = master.write_all(b"\x1bP>|tmux 3.3a\x1b\\\x1b[?1;2c\x1b[0n");
                answered_direct = true;
            }
            if answered_direct && seen.windows(wrapped_da1.len()).any(|w| w == wrapped_da1) {
                if !outer.is_empty() {
                    let _ = master.write_all(outer);
                }
                std::thread::sleep(Duration::from_millis(300));
                return seen;
            }
            match master.read(&mut buf) {
                Ok(0) | Err(_) => return seen,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
}

#[test]
fn detection_inside_tmux_asks_the_outer_terminal_through_passthrough() {
    use shenhe::images::detect::{DetectOptions, EnvHints, detect_on};
    use std::os::fd::AsFd;
    let (master, slave) = pty_pair();
    // Debian 12: kitty 0.26.5 outside tmux 3.3a (what it answered under Xvfb).
    let term = play_tmux(
        master,
        b"\x1b_Gi=31;OK\x1b\\\x1bP>|kitty(0.26.5)\x1b\\\x1b[6;17;8t\x1b]11;rgb:0000/0000/0000\x1b\\\x1b[?62;c",
    );
    let env = EnvHints {
        tmux: true,
        ..EnvHints::default()
    };
    let caps = detect_on(
        slave.as_fd(),
        slave.as_fd(),
        &env,
        &DetectOptions::default(),
    );
    let seen = term.join().expect("terminal thread");
    assert!(
        seen.starts_with(b"\x1b[>0q"),
        "the direct query first, no APC for tmux"
    );
    assert!(
        seen.windows(19)
            .any(|w| w == b"\x1bPtmux;\x1b\x1b_Gi=31,s=1"),
        "then the kitty query wrapped for the outer terminal"
    );
    assert_eq!(caps.protocol, Some(ProtocolKind::Kitty));
    assert!(
        !caps.kitty_placeholders,
        "kitty 0.26 has no Unicode placeholders"
    );
    assert_eq!(caps.font_size, FontSize::new(8, 17));
    assert_eq!(caps.terminal.as_deref(), Some("kitty(0.26.5)"));
    assert!(caps.target().expect("target").tmux);
    assert!(
        caps.reason.en.contains("through tmux passthrough"),
        "{}",
        caps.reason.en
    );
}

#[test]
fn detection_inside_tmux_waits_for_the_outer_terminal_only_until_the_deadline() {
    use shenhe::images::detect::{DetectOptions, EnvHints, detect_on};
    use std::os::fd::AsFd;
    let (master, slave) = pty_pair();
    let term = play_tmux(master, b"");
    let env = EnvHints {
        tmux: true,
        ..EnvHints::default()
    };
    let opts = DetectOptions {
        timeout: Duration::from_millis(250),
        ..DetectOptions::default()
    };
    let start = std::time::Instant::now();
    let caps = detect_on(slave.as_fd(), slave.as_fd(), &env, &opts);
    assert!(start.elapsed() < Duration::from_secs(5));
    term.join().expect("terminal thread");
    // tmux 3.3a reports no pixel size and no sixel; nobody outside answers.
    assert_eq!(caps.protocol, Some(ProtocolKind::Halfblocks));
    assert!(caps.reason.zh.contains("tmux"), "{}", caps.reason.zh);
}
