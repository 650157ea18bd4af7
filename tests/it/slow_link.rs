//! A 1 Mbit/s link, for real: the console (sixel) in a pseudo-terminal
//! whose far side reads at 125,000 bytes a second, and answers the
//! console's OSC 11 probe only when it has read everything before it, as a
//! terminal at the end of a slow SSH link does. The console must measure
//! about that rate, then fit each step's picture to about a second of it,
//! and send the sharp picture once the reviewer stays on an image.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

use crate::common::TestServer;

const RATE: f64 = 125_000.0;
const PATIENCE: Duration = Duration::from_secs(120);

fn log_lines(log: &std::path::Path, tag: &str) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(tag))
        .map(str::to_string)
        .collect()
}

fn wait_lines(log: &std::path::Path, tag: &str, n: usize) -> Vec<String> {
    let start = Instant::now();
    loop {
        let v = log_lines(log, tag);
        if v.len() >= n {
            return v;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "waited for {n} {tag} lines; log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn field(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

#[test]
fn a_one_megabit_link_is_measured_and_each_step_fits_it() {
    let _one = crate::support::serial::pty_console();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(TestServer::start_demo(12));
    let token = rt.block_on(srv.login("nanjing"));
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    std::fs::create_dir_all(h.join("config/shenhe")).expect("dir");
    std::fs::write(
        h.join("config/shenhe/config.toml"),
        "image_protocol = \"sixel\"\nshow_bytes = true\n",
    )
    .expect("config");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 1200,
            pixel_height: 800,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.args(["--server", &srv.base_url]);
    cmd.env("HOME", h);
    cmd.env("XDG_CONFIG_HOME", h.join("config"));
    cmd.env("XDG_DATA_HOME", h.join("data"));
    cmd.env("TERM", "xterm-256color");
    cmd.env("SHENHE_TOKEN", &token);
    cmd.env_remove("TMUX");
    cmd.env_remove("SHENHE_SERVER");
    let mut child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let writer = Arc::new(Mutex::new(pair.master.take_writer().expect("writer")));
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let answers = writer.clone();
    // The far end of the link: reads at RATE, answers the probe in order.
    std::thread::spawn(move || {
        let probe = b"\x1b]11;?\x1b\\";
        // A token bucket with a small burst: an idle link does not save up.
        const BURST: f64 = 4096.0;
        let mut credit = BURST;
        let mut last = Instant::now();
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = [0u8; 2048];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            let now = Instant::now();
            credit = (credit + now.duration_since(last).as_secs_f64() * RATE).min(BURST);
            last = now;
            credit -= n as f64;
            if credit < 0.0 {
                std::thread::sleep(Duration::from_secs_f64(-credit / RATE));
                last = Instant::now();
                credit = 0.0;
            }
            tail.extend_from_slice(&buf[..n]);
            let hits = tail.windows(probe.len()).filter(|w| w == probe).count();
            if hits > 0 {
                if let Ok(mut w) = answers.lock() {
                    for _ in 0..hits {
                        let _ = w.write_all(b"\x1b]11;rgb:0000/0000/0000\x1b\\");
                    }
                    let _ = w.flush();
                }
                tail.clear();
            } else if tail.len() > probe.len() {
                tail.drain(..tail.len() - probe.len());
            }
        }
    });
    let log = h.join("data/shenhe/shenhe.log");
    let key = |k: &str| {
        let mut w = writer.lock().expect("writer");
        w.write_all(k.as_bytes()).expect("key");
        w.flush().expect("flush");
    };
    wait_lines(&log, "shenhe::tui: images:", 1);
    std::thread::sleep(Duration::from_secs(2));
    key("\r");
    // The first picture is sent at full size; its probe measures the link.
    let rate = wait_lines(&log, "link_rate_bytes_per_s", 1);
    let measured = field(&rate[0], "link_rate_bytes_per_s").expect("rate");
    println!("measured {measured:.0} B/s on a {RATE:.0} B/s link");
    assert!(
        (RATE * 0.5..=RATE * 1.3).contains(&measured),
        "measured {measured:.0} B/s on a {RATE:.0} B/s link"
    );
    // The next image (not yet shown at the measured rate): fitted to about
    // a second of the link.
    let before = log_lines(&log, "shenhe::paint").len();
    key(" ");
    let painted = wait_lines(&log, "shenhe::paint", before + 1);
    let fitted: Vec<f64> = painted[before..before + 1]
        .iter()
        .filter_map(|l| field(l, "bytes"))
        .collect();
    let budget = log_lines(&log, "link_rate_bytes_per_s")
        .iter()
        .filter_map(|l| field(l, "link_rate_bytes_per_s"))
        .fold(f64::MAX, f64::min);
    println!("steps after the measurement: {fitted:?} bytes (budget {budget:.0})");
    for b in &fitted {
        assert!(
            *b <= budget * 1.25,
            "a step of {b} bytes on a {budget:.0} B/s link"
        );
    }
    // Staying on the image: the sharp picture follows.
    let n = log_lines(&log, "shenhe::paint").len();
    let sharp = wait_lines(&log, "shenhe::paint", n + 1);
    let last = field(&sharp[sharp.len() - 1], "bytes").expect("bytes");
    println!("sharpened picture: {last} bytes");
    assert!(
        last > fitted[fitted.len() - 1],
        "the sharp picture is larger"
    );
    key("\x11");
    let start = Instant::now();
    while child.try_wait().ok().flatten().is_none() && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    std::mem::forget(pair.master);
    rt.block_on(srv.shutdown());
}
