//! Real terminals, not pseudo-terminals: under Xvfb, the console against a
//! real server in each of xterm (`-ti vt340`, 256 colour registers,
//! allowWindowOps), kitty (Debian's 0.26.5: no Unicode placeholders),
//! xterm → tmux and kitty → tmux, each on a light and a dark background.
//! It opens the first candidate, takes a screenshot of the X display, and
//! checks that the image pane holds the picture the server sent at pixel
//! resolution: the screenshot's crop against that image, resized the way
//! the console says it drew it (its log names the cells, font and canvas),
//! must beat by a wide margin what half-blocks could show at best (and so
//! blank panes and placeholder glyphs, which score far below that).
//!
//! Missing tools fail the test, saying what to install; they never pass it.
//! The screenshots are kept in `target/real_terminals/` for a person to
//! look at.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use image::RgbImage;
use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::CandidateQuery;
use shenhe::domain::image::Verdict;
use shenhe::domain::imaging::DecodeLimits;

use crate::common::TestServer;

const TOOLS: [(&str, &str); 6] = [
    ("Xvfb", "xvfb"),
    ("xterm", "xterm"),
    ("kitty", "kitty"),
    ("tmux", "tmux"),
    ("/usr/bin/import", "imagemagick"),
    ("xdotool", "xdotool"),
];

fn missing_tools() -> Vec<&'static str> {
    TOOLS
        .iter()
        .filter(|(bin, _)| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {bin}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|(_, pkg)| *pkg)
        .collect()
}

/// An X server of our own on a free display, ended when dropped.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x900x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb");
        let mut out = child.stdout.take().expect("stdout");
        let mut num = String::new();
        let mut b = [0u8; 1];
        while out.read(&mut b).is_ok_and(|n| n == 1) && b[0] != b'\n' {
            num.push(b[0] as char);
        }
        assert!(!num.is_empty(), "Xvfb did not say its display");
        Xvfb {
            child,
            display: format!(":{}", num.trim()),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Term {
    Xterm,
    Kitty,
}

#[derive(Debug, Clone, Copy)]
struct Setup {
    term: Term,
    tmux: bool,
    light: bool,
}

impl Setup {
    fn name(&self) -> String {
        format!(
            "{}{}-{}",
            match self.term {
                Term::Xterm => "xterm",
                Term::Kitty => "kitty",
            },
            if self.tmux { "-tmux" } else { "" },
            if self.light { "light" } else { "dark" }
        )
    }
}

/// What the console logged about the picture it drew.
#[derive(Debug, Clone, PartialEq)]
struct Painted {
    protocol: String,
    cells: (u32, u32, u32, u32),
    font: (u32, u32),
    canvas: (u32, u32),
    picture: (u32, u32, u32, u32),
    /// Escape-sequence bytes the step sent for the picture.
    bytes: u64,
}

fn nums(s: &str, sep: char) -> Vec<u32> {
    s.split(sep).filter_map(|n| n.parse().ok()).collect()
}

fn parse_painted(line: &str) -> Option<Painted> {
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
    };
    let c = nums(field("cells")?, ',');
    let f = nums(field("font")?, 'x');
    let v = nums(field("canvas")?, 'x');
    let p = nums(field("picture")?, ',');
    Some(Painted {
        protocol: field("protocol")?.to_string(),
        cells: (*c.first()?, *c.get(1)?, *c.get(2)?, *c.get(3)?),
        font: (*f.first()?, *f.get(1)?),
        canvas: (*v.first()?, *v.get(1)?),
        picture: (*p.first()?, *p.get(1)?, *p.get(2)?, *p.get(3)?),
        bytes: field("bytes")?.parse().ok()?,
    })
}

fn psnr(a: &RgbImage, b: &RgbImage, ox: i64, oy: i64) -> f64 {
    let mut se = 0f64;
    let mut n = 0f64;
    for (x, y, pb) in b.enumerate_pixels() {
        let (ax, ay) = (i64::from(x) + ox, i64::from(y) + oy);
        if ax < 0 || ay < 0 || ax >= i64::from(a.width()) || ay >= i64::from(a.height()) {
            se += 3.0 * 255.0 * 255.0;
            n += 3.0;
            continue;
        }
        let pa = a.get_pixel(ax as u32, ay as u32);
        for c in 0..3 {
            let d = f64::from(pa[c]) - f64::from(pb[c]);
            se += d * d;
            n += 1.0;
        }
    }
    let mse = (se / n).max(1e-9);
    10.0 * (255.0 * 255.0 / mse).log10()
}

/// The best a half-block rendering could do: one colour per half cell.
fn halfblock_best(expected: &RgbImage, font: (u32, u32)) -> RgbImage {
    let (w, h) = expected.dimensions();
    let cols = (w / font.0).max(1);
    let rows = (h * 2 / font.1).max(1);
    let small =
        image::imageops::resize(expected, cols, rows, image::imageops::FilterType::Triangle);
    image::imageops::resize(&small, w, h, image::imageops::FilterType::Nearest)
}

fn wait_log(log: &Path, what: &str, deadline: Duration, pred: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(l) = text.lines().rev().find(|l| pred(l)) {
            return l.to_string();
        }
        assert!(
            start.elapsed() < deadline,
            "waited {deadline:?} for {what}; the console's log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn shots_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/real_terminals");
    std::fs::create_dir_all(&d).expect("shots dir");
    d
}

/// One set-up: start it, open the first candidate, screenshot, score.
fn run_one(
    x: &Xvfb,
    setup: Setup,
    base_url: &str,
    token: &str,
    expected_src: &RgbImage,
) -> (Painted, f64, f64) {
    let home = tempfile::tempdir().expect("home");
    let h = home.path();
    std::fs::create_dir_all(h.join("config/shenhe")).expect("config");
    std::fs::write(
        h.join("config/shenhe/config.toml"),
        "image_protocol = \"auto\"\n",
    )
    .expect("config");
    let log = h.join("data/shenhe/shenhe.log");
    let script = h.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nunset SHENHE_SERVER NO_COLOR\nexport HOME='{h}' XDG_CONFIG_HOME='{h}/config' XDG_DATA_HOME='{h}/data' SHENHE_TOKEN='{token}'\nexec '{bin}' --server '{base_url}' 2>>'{h}/stderr.txt'\n",
            h = h.display(),
            bin = env!("CARGO_BIN_EXE_shenhe"),
        ),
    )
    .expect("script");
    let sock = format!("shenhe-it-{}-{}", std::process::id(), setup.name());
    let conf = h.join("tmux.conf");
    std::fs::write(&conf, "set -g default-terminal tmux-256color\n").expect("tmux conf");
    let mut inner: Vec<String> = vec!["sh".into(), script.display().to_string()];
    if setup.tmux {
        inner = vec![
            "tmux".into(),
            "-L".into(),
            sock.clone(),
            "-f".into(),
            conf.display().to_string(),
            "new-session".into(),
            format!("sh {}", script.display()),
        ];
    }
    let (fg, bg) = if setup.light {
        ("black", "white")
    } else {
        ("white", "black")
    };
    let mut cmd = match setup.term {
        Term::Xterm => {
            let mut c = Command::new("xterm");
            c.args([
                "-ti",
                "vt340",
                "-xrm",
                "XTerm*numColorRegisters: 256",
                "-xrm",
                "XTerm*allowWindowOps: true",
                "-geometry",
                "120x40+0+0",
                "-fa",
                "DejaVu Sans Mono",
                "-fs",
                "10",
                "-bg",
                bg,
                "-fg",
                fg,
                "-e",
            ]);
            c
        }
        Term::Kitty => {
            let mut c = Command::new("kitty");
            c.env("LIBGL_ALWAYS_SOFTWARE", "1").args([
                "--config",
                "NONE",
                "-o",
                "font_size=10",
                "-o",
                "initial_window_width=960",
                "-o",
                "initial_window_height=680",
                "-o",
                "remember_window_size=no",
                // The score maps cells to screen pixels from the top-left
                // corner; kitty by default centres the cell grid in the
                // pixels left over (680 px = 35 rows of 19 + 15).
                "-o",
                "placement_strategy=top-left",
                "-o",
                &format!("background={bg}"),
                "-o",
                &format!("foreground={fg}"),
            ]);
            c
        }
    };
    cmd.args(&inner)
        .env("DISPLAY", &x.display)
        .env_remove("TMUX")
        .env_remove("TMUX_PANE")
        .env("HOME", h)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut term = cmd.spawn().expect("terminal");
    let patience = Duration::from_secs(60);
    let detected = wait_log(&log, "detection", patience, |l| {
        l.contains("shenhe::tui: images:")
    });
    // The queue comes from the server after detection.
    std::thread::sleep(Duration::from_millis(1500));
    let key = Command::new("xdotool")
        .args(["key", "Return"])
        .env("DISPLAY", &x.display)
        .status()
        .expect("xdotool");
    assert!(key.success());
    let line = wait_log(&log, "the picture", patience, |l| {
        l.contains("shenhe::paint")
    });
    let painted = parse_painted(&line).unwrap_or_else(|| panic!("unparsed: {line}"));
    // The terminal draws what it was sent.
    std::thread::sleep(Duration::from_millis(1500));
    let shot = shots_dir().join(format!("{}.png", setup.name()));
    let ok = Command::new("/usr/bin/import")
        .args(["-display", &x.display, "-window", "root"])
        .arg(&shot)
        .status()
        .expect("import");
    assert!(ok.success(), "screenshot");
    if setup.tmux {
        let _ = Command::new("tmux")
            .args(["-L", &sock, "kill-server"])
            .status();
    }
    let _ = term.kill();
    let _ = term.wait();

    let screen = image::open(&shot).expect("screenshot").to_rgb8();
    // On the screen the canvas covers exactly its cells.
    let (cx, cy, cw, ch) = painted.cells;
    let (fw, fh) = painted.font;
    let sx = f64::from(cw * fw) / f64::from(painted.canvas.0.max(1));
    let sy = f64::from(ch * fh) / f64::from(painted.canvas.1.max(1));
    let (px, py, pw, ph) = painted.picture;
    let (ex, ey) = (
        (f64::from(cx * fw) + f64::from(px) * sx).round() as i64,
        (f64::from(cy * fh) + f64::from(py) * sy).round() as i64,
    );
    let (ew, eh) = (
        ((f64::from(pw) * sx).round() as u32).max(1),
        ((f64::from(ph) * sy).round() as u32).max(1),
    );
    let expected =
        image::imageops::resize(expected_src, ew, eh, image::imageops::FilterType::Lanczos3);
    // The window's own border (xterm's internal border, a few pixels).
    let mut best = f64::MIN;
    for dy in -1..=6 {
        for dx in -1..=6 {
            best = best.max(psnr(&screen, &expected, ex + dx, ey + dy));
        }
    }
    let half = psnr(&halfblock_best(&expected, painted.font), &expected, 0, 0);
    println!(
        "{}: {} — {}; cells {:?} font {:?} canvas {:?}; picture {}x{} px at ({ex},{ey}), {} bytes; PSNR {best:.1} dB (half-blocks at best {half:.1} dB)",
        setup.name(),
        painted.protocol,
        detected.split("images: ").nth(1).unwrap_or(""),
        painted.cells,
        painted.font,
        painted.canvas,
        ew,
        eh,
        painted.bytes,
    );
    (painted, best, half)
}

#[test]
fn real_terminals_show_the_picture_the_server_sent() {
    let missing = missing_tools();
    assert!(
        missing.is_empty(),
        "real-terminal test needs: apt-get install {} (and libgl1-mesa-dri fonts-dejavu-core for kitty and xterm)",
        missing.join(" ")
    );
    let _one = crate::support::serial::pty_console();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let srv = rt.block_on(TestServer::start_demo(12));
    let token = rt.block_on(srv.login("nanjing"));
    let client = Client::new(&srv.base_url, Some(token.clone()), Timeouts::default()).expect("c");
    let rows = rt
        .block_on(client.candidates(&CandidateQuery {
            state: Some("awaiting_review".into()),
            ..CandidateQuery::default()
        }))
        .expect("queue")
        .items;
    let first = rt.block_on(client.candidate(rows[0].id)).expect("detail");
    let imgs: Vec<_> = first
        .materials
        .iter()
        .flat_map(|m| m.images.clone())
        .collect();
    let shown = imgs
        .iter()
        .find(|i| i.verdict == Verdict::Unreviewed)
        .unwrap_or(&imgs[0]);
    let bytes = rt.block_on(client.image_content(shown.id)).expect("bytes");
    let src = shenhe::images::pipeline::decode_source(&bytes, DecodeLimits::DEFAULT)
        .expect("decode")
        .rgb;

    let x = Xvfb::start();
    let mut failures = Vec::new();
    for term in [Term::Xterm, Term::Kitty] {
        for tmux in [false, true] {
            for light in [true, false] {
                let setup = Setup { term, tmux, light };
                let (p, score, half) = run_one(&x, setup, &srv.base_url, &token, &src);
                let want = match term {
                    Term::Xterm => "sixel",
                    Term::Kitty => "kitty",
                };
                if p.protocol != want {
                    failures.push(format!("{}: drew {} not {want}", setup.name(), p.protocol));
                }
                if score < 22.0 || score < half + 4.0 {
                    failures.push(format!(
                        "{}: the pane matches the image at {score:.1} dB (half-blocks at best {half:.1} dB)",
                        setup.name()
                    ));
                }
            }
        }
    }
    drop(x);
    rt.block_on(srv.shutdown());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
