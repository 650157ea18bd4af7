//! Latest wins, in a real pseudo-terminal: the console (half-blocks) against
//! a real server, the first candidate opened, `n` pressed ten times in one
//! burst; when the screen settles it must show the tenth-next candidate and
//! that candidate's image, cell for cell as the images engine renders those
//! bytes, and not an older candidate's picture.

use crate::common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::TestServer;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::style::Color;
use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::{CandidateDetail, CandidateQuery, ImageDto};
use shenhe::domain::imaging::DecodeLimits;
use shenhe::images::{
    FontSize, ImageWidget, ProtocolKind, RenderTarget, TerminalImages, ViewState, render_bytes,
};

const ROWS: u16 = 40;
const COLS: u16 = 120;
const STEPS: usize = 10;
/// Only a guard against hanging, never a speed assertion.
const PATIENCE: Duration = Duration::from_secs(180);

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn portable_pty::Child + Send + Sync>,
}

impl Pty {
    fn screen(&self) -> vt100::Screen {
        self.parser.lock().expect("parser").screen().clone()
    }

    fn wait_for(&self, what: &str, pred: impl Fn(&vt100::Screen) -> bool) -> vt100::Screen {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "waited for {what}; the screen shows:\n{}",
                s.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Until nothing changed for `quiet` (the console has stopped drawing).
    fn settle(&self, quiet: Duration) -> vt100::Screen {
        let start = Instant::now();
        let mut last = self.screen();
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.screen();
            if now.contents_formatted() != last.contents_formatted() {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                return now;
            }
            assert!(start.elapsed() < PATIENCE, "the screen never settled");
        }
    }

    fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).expect("write");
        self.writer.flush().expect("flush");
    }
}

/// The console against `base`, logged in by SHENHE_TOKEN, half-blocks forced.
fn console(home: &std::path::Path, base: &str, token: &str) -> Pty {
    console_with(home, base, token, "")
}

fn console_with(home: &std::path::Path, base: &str, token: &str, extra: &str) -> Pty {
    let cfg = home.join("config/shenhe");
    std::fs::create_dir_all(&cfg).expect("config dir");
    std::fs::write(
        cfg.join("config.toml"),
        format!("image_protocol = \"halfblocks\"\n{extra}"),
    )
    .expect("config");
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.args(["--server", base]);
    cmd.env("HOME", home);
    cmd.env("XDG_CONFIG_HOME", home.join("config"));
    cmd.env("XDG_DATA_HOME", home.join("data"));
    cmd.env("TERM", "xterm-256color");
    cmd.env("COLORTERM", "truecolor");
    cmd.env("SHENHE_TOKEN", token);
    cmd.env_remove("SHENHE_SERVER");
    cmd.env_remove("NO_COLOR");
    cmd.env_remove("TMUX");
    let child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let feed = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 16384];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut p) = feed.lock() {
                p.process(&buf[..n]);
            }
        }
    });
    let writer = pair.master.take_writer().expect("writer");
    // The master must outlive the child; leak it with the test process.
    std::mem::forget(pair.master);
    Pty {
        parser,
        writer,
        child,
    }
}

fn row_text(s: &vt100::Screen, row: u16) -> String {
    s.contents_between(row, 0, row, COLS)
}

/// The picture area of the image pane: inside the caption block, below
/// its verdict line. Found from the borders on screen.
fn picture_area(s: &vt100::Screen) -> Option<(Rect, String)> {
    for row in 0..ROWS {
        let text = row_text(s, row);
        // The caption block's title: "││┌ 身份证明 · 反面 · 2/2 · …", the
        // one block nested inside the candidate's.
        if !text.contains(" · ") {
            continue;
        }
        let Some(left) = (1..COLS)
            .rev()
            .find(|&c| s.cell(row, c).is_some_and(|x| x.contents() == "┌"))
        else {
            continue;
        };
        if s.cell(row, left - 1).is_none_or(|x| x.contents() != "│") {
            continue;
        }
        let right =
            (left + 1..COLS).find(|&c| s.cell(row, c).is_some_and(|x| x.contents() == "┐"))?;
        let bottom =
            (row + 1..ROWS).find(|&r| s.cell(r, left).is_some_and(|x| x.contents() == "└"))?;
        let top = row + 2;
        if bottom <= top {
            return None;
        }
        return Some((
            Rect::new(left + 1, top, right - left - 1, bottom - top),
            text,
        ));
    }
    None
}

fn same(a: Color, b: vt100::Color) -> bool {
    match (a, b) {
        (Color::Rgb(r, g, bl), vt100::Color::Rgb(r2, g2, b2)) => (r, g, bl) == (r2, g2, b2),
        (Color::Reset, vt100::Color::Default) => true,
        _ => false,
    }
}

/// What the console paints for `bytes` in `area`: the engine's half-block
/// rendering drawn into a buffer at the same place.
fn expected(bytes: &[u8], area: Rect) -> (Buffer, Rect) {
    let target = RenderTarget::new(ProtocolKind::Halfblocks, FontSize::FALLBACK);
    let r = render_bytes(
        bytes,
        Size::new(area.width, area.height),
        ViewState::fit(),
        &target,
        DecodeLimits::DEFAULT,
    )
    .expect("render");
    let mut buf = Buffer::empty(Rect::new(0, 0, COLS, ROWS));
    let terminal = TerminalImages::new(false);
    ratatui::widgets::Widget::render(ImageWidget::new(&r, &terminal), area, &mut buf);
    (buf, r.placement(area))
}

/// Share of the picture's cells the screen shows exactly (glyph and colours).
fn agreement(s: &vt100::Screen, buf: &Buffer, placed: Rect) -> f64 {
    let mut ok = 0usize;
    for y in placed.top()..placed.bottom() {
        for x in placed.left()..placed.right() {
            let (Some(want), Some(got)) = (buf.cell((x, y)), s.cell(y, x)) else {
                continue;
            };
            if want.symbol() == got.contents()
                && same(want.fg, got.fgcolor())
                && same(want.bg, got.bgcolor())
            {
                ok += 1;
            }
        }
    }
    ok as f64 / f64::from(placed.width.max(1)) / f64::from(placed.height.max(1))
}

fn flat(d: &CandidateDetail) -> Vec<ImageDto> {
    d.materials.iter().flat_map(|m| m.images.clone()).collect()
}

#[test]
fn ten_fast_next_candidates_end_on_the_last_ones_image() {
    let _one = crate::support::serial::pty_console();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(TestServer::start_demo(120));
    let token = rt.block_on(srv.login("nanjing"));
    let client = Client::new(&srv.base_url, Some(token.clone()), Timeouts::default()).expect("c");
    // The queue as the console lists it: 待审核, first page.
    let rows = rt
        .block_on(client.candidates(&CandidateQuery {
            state: Some("awaiting_review".into()),
            ..CandidateQuery::default()
        }))
        .expect("list")
        .items;
    assert!(
        rows.len() > STEPS,
        "need {} candidates, have {}",
        STEPS + 1,
        rows.len()
    );
    let details: Vec<CandidateDetail> = rows[..=STEPS]
        .iter()
        .map(|r| rt.block_on(client.candidate(r.id)).expect("detail"))
        .collect();

    let home = tempfile::tempdir().expect("home");
    let mut pty = console(home.path(), &srv.base_url, &token);
    pty.wait_for("the queue", |s| s.contents().contains(&details[0].name));
    pty.send("\r");
    pty.wait_for("the first candidate's image", |s| {
        picture_area(s).is_some() && !s.contents().contains("图像加载中")
    });

    // Ten in one burst: the console sees them as fast as it can read.
    pty.send(&"n".repeat(STEPS));
    let last = &details[STEPS];
    pty.wait_for("the tenth-next candidate", |s| {
        s.contents().contains(&last.name) && !s.contents().contains("图像加载中")
    });
    let screen = pty.settle(Duration::from_millis(1500));

    let (area, caption) = picture_area(&screen).expect("an image pane");
    // Its title names the candidate; its caption names one of its images.
    assert!(screen.contents().contains(&format!(" {} · ", last.name)));
    let k = caption
        .split(" · ")
        .find_map(|p| {
            let (a, b) = p.trim().split_once('/')?;
            b.trim().parse::<usize>().ok()?;
            a.trim().parse::<usize>().ok()
        })
        .unwrap_or_else(|| panic!("k/n in the caption {caption:?}:\n{}", screen.contents()));
    let shown = &flat(last)[k - 1];

    let bytes_of = |img: &ImageDto| rt.block_on(client.image_content(img.id)).expect("bytes");
    let (buf, placed) = expected(&bytes_of(shown), area);
    let score = agreement(&screen, &buf, placed);
    assert!(
        score > 0.98,
        "the screen shows {:.1}% of the last candidate's image:\n{}",
        score * 100.0,
        screen.contents()
    );
    // And it is not an older picture that happens to look alike: every
    // earlier candidate's first-shown image (when different) disagrees.
    let mut compared = 0;
    for d in &details[..STEPS] {
        for img in flat(d).iter().filter(|i| i.sha256 != shown.sha256).take(1) {
            let (buf, placed) = expected(&bytes_of(img), area);
            let s = agreement(&screen, &buf, placed);
            assert!(s < 0.5, "{} ({}) matches {:.1}%", d.name, img.id, s * 100.0);
            compared += 1;
        }
    }
    assert!(compared >= 5, "too few distinct images to tell apart");

    pty.send("\x11"); // ctrl-q
    let start = Instant::now();
    while pty.child.try_wait().ok().flatten().is_none() && start.elapsed() < PATIENCE {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = pty.child.kill();
    rt.block_on(srv.shutdown());
}

fn median(v: &mut [u64]) -> Option<u64> {
    v.sort_unstable();
    v.get(v.len() / 2).copied()
}

/// The instrument for the goals "next candidate with prefetch warm: first
/// image drawn within one 60 Hz frame (median); cold within 50 ms against a
/// local server". The console logs, per next-candidate key, the interval to
/// the frame that drew that candidate's image; this walks the queue one
/// key at a time and in bursts of three, then prints the medians, split by
/// whether the image's bytes were in memory at the key ("warm"). On the
/// 2-core machine the prefetch kept up even with bursts, so no cold sample
/// was logged; a cold mode (prefetch off) is still to do. It asserts
/// nothing about time; run it by hand:
///
/// `cargo test --release --test it -- --ignored --nocapture step_latency`
#[test]
#[ignore = "a measurement, not a check: run by hand (see the doc comment)"]
fn step_latency() {
    let _one = crate::support::serial::pty_console();
    // Warm: as the console runs. Cold: prefetch off, every step fetches the
    // dossier and the image bytes from the server first.
    walk_and_time(true);
    walk_and_time(false);
}

fn walk_and_time(prefetch: bool) {
    const WALK: usize = 12;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(TestServer::start_demo(120));
    let token = rt.block_on(srv.login("nanjing"));
    let home = tempfile::tempdir().expect("home");
    let mut pty = console_with(
        home.path(),
        &srv.base_url,
        &token,
        &format!("prefetch = {prefetch}\n"),
    );
    pty.wait_for("the queue", |s| s.contents().contains("队列 1/"));
    pty.send("\r");
    let drawn =
        |s: &vt100::Screen| picture_area(s).is_some() && !s.contents().contains("图像加载中");
    pty.wait_for("the first image", drawn);
    let log = home.path().join("data/shenhe/shenhe.log");
    let lines = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("step_to_image_us="))
            .count()
    };
    for burst in [1usize, 3] {
        for _ in 0..WALK {
            let before = lines();
            // Let the prefetch of the next two finish, as a reviewer looking
            // at the image would.
            pty.settle(Duration::from_millis(400));
            pty.send(&"n".repeat(burst));
            let start = Instant::now();
            while lines() == before && start.elapsed() < PATIENCE {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    let text = std::fs::read_to_string(&log).expect("log");
    let (mut warm, mut cold) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let Some(us) = l
            .split("step_to_image_us=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
        else {
            continue;
        };
        if l.contains("warm=true") {
            warm.push(us);
        } else {
            cold.push(us);
        }
    }
    println!(
        "step to first image drawn (halfblocks, {COLS}x{ROWS}, prefetch {prefetch}): warm n={} median {:?} µs; cold n={} median {:?} µs",
        warm.len(),
        median(&mut warm),
        cold.len(),
        median(&mut cold)
    );
    println!("warm: {warm:?}\ncold: {cold:?}");
    pty.send("\x11");
    std::thread::sleep(Duration::from_millis(500));
    let _ = pty.child.kill();
    rt.block_on(srv.shutdown());
}
