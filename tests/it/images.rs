//! Image previews end to end on real images: hostile and odd files, EXIF
//! orientation, every protocol's output (sixel through a real decoder),
//! the half-block snapshot, bandwidth, the worker's latest-wins and caches,
//! and `shenhe render-image`.

use std::sync::Arc;
use std::time::Duration;

use crate::support::images::*;
use image::{Rgb, RgbImage};
use ratatui::buffer::Buffer;
use ratatui::layout::{Rect, Size};
use ratatui::widgets::Widget;
use shenhe::domain::imaging::{DecodeError, DecodeLimits};
use shenhe::images::pipeline::{self, RenderTarget};
use shenhe::images::{
    ContentHash, FontSize, ImageError, ImageRequest, ImageWidget, ImageWorker, ProtocolKind,
    Rendered, TerminalImages, ViewState, WorkerConfig, draw_bytes, render_bytes,
};

const FONT: FontSize = FontSize::new(10, 20);

fn target(p: ProtocolKind) -> RenderTarget {
    RenderTarget::new(p, FONT)
}

fn render(bytes: &[u8], p: ProtocolKind, cells: (u16, u16)) -> Result<Rendered, ImageError> {
    render_bytes(
        bytes,
        Size::new(cells.0, cells.1),
        ViewState::fit(),
        &target(p),
        DecodeLimits::DEFAULT,
    )
}

/// What drawing `r` onto a blank screen of its area writes.
fn wire(r: &Rendered, terminal: &TerminalImages) -> Vec<u8> {
    draw_bytes(r.area(), |area, buf| {
        ImageWidget::new(r, terminal).render(area, buf)
    })
    .expect("draw")
}

// ---------------------------------------------------------------- fixtures

#[test]
fn committed_fixtures_exist_and_match_the_generator_limits() {
    let dir = fixtures_dir();
    let regen = std::env::var_os("SHENHE_REGEN_FIXTURES").is_some();
    for (name, make) in [
        ("scan_a4.jpg", scan_jpeg as fn() -> Vec<u8>),
        ("id_card.jpg", id_card_jpeg),
    ] {
        let path = dir.join(name);
        if regen || !path.exists() {
            std::fs::create_dir_all(&dir).expect("mkdir");
            std::fs::write(&path, make()).expect("write fixture");
        }
        let bytes = std::fs::read(&path).expect("read fixture");
        assert!(bytes.len() <= 204_800, "{name} is {} bytes", bytes.len());
        assert!(bytes.len() > 100_000, "{name} is too small to be realistic");
        let d = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT).expect("decodes");
        assert!(d.size().0 >= 1200);
    }
}

// ------------------------------------------------------- hostile and odd files

#[test]
fn decompression_bomb_is_refused_before_allocating() {
    let bomb = bomb_png(30_000, 30_000);
    assert!(bomb.len() < 100);
    let err = render(&bomb, ProtocolKind::Halfblocks, (60, 30)).expect_err("refused");
    assert!(
        matches!(err, ImageError::Decode(DecodeError::TooLarge { .. })),
        "{err:?}"
    );
}

#[test]
fn truncated_jpeg_is_an_error_or_a_picture_never_a_panic() {
    let full = scan_jpeg();
    for keep in [0.02, 0.3, 0.6, 0.95] {
        let cut = &full[..(full.len() as f64 * keep) as usize];
        for p in ProtocolKind::ALL {
            match render(cut, p, (40, 20)) {
                Ok(r) => assert!(r.cells().width <= 40 && r.cells().height <= 20),
                Err(e) => assert!(matches!(e, ImageError::Decode(_)), "{e:?}"),
            }
        }
    }
}

#[test]
fn png_with_wrong_crc_is_an_error_or_the_right_picture() {
    let bytes = wrong_crc_png();
    match pipeline::decode_source(&bytes, DecodeLimits::DEFAULT) {
        Err(e) => assert!(
            matches!(e, ImageError::Decode(DecodeError::Corrupt(_))),
            "{e:?}"
        ),
        Ok(s) => {
            assert_eq!(s.size(), (64, 48));
            assert_eq!(s.rgb.get_pixel(10, 10), &Rgb([40, 50, 90]));
        }
    }
}

#[test]
fn cmyk_jpeg_decodes_to_the_right_colours() {
    let s = pipeline::decode_source(&cmyk_jpeg(), DecodeLimits::DEFAULT).expect("cmyk decodes");
    assert_eq!(s.size(), (64, 64));
    let near = |p: &Rgb<u8>, want: [u8; 3]| {
        p.0.iter()
            .zip(want)
            .all(|(a, b)| (i16::from(*a) - i16::from(b)).abs() < 40)
    };
    let px = |x, y| s.rgb.get_pixel(x, y);
    assert!(
        near(px(8, 8), [255, 0, 0]),
        "red quadrant is {:?}",
        px(8, 8)
    );
    assert!(
        near(px(56, 8), [0, 255, 0]),
        "green quadrant is {:?}",
        px(56, 8)
    );
    assert!(
        near(px(8, 56), [0, 0, 255]),
        "blue quadrant is {:?}",
        px(8, 56)
    );
    assert!(
        near(px(56, 56), [0, 0, 0]),
        "black quadrant is {:?}",
        px(56, 56)
    );
}

#[test]
fn sixteen_bit_png_is_scaled_to_eight_bits() {
    let (bytes, img) = png16();
    let s = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT).expect("decodes");
    assert_eq!(s.size(), (80, 40));
    for (x, y) in [(0, 0), (40, 20), (79, 39)] {
        let want = img.get_pixel(x, y).0.map(|v| (v >> 8) as u8);
        let got = s.rgb.get_pixel(x, y).0;
        for c in 0..3 {
            assert!(
                got[c].abs_diff(want[c]) <= 1,
                "({x},{y}) {got:?} vs {want:?}"
            );
        }
    }
    render(&bytes, ProtocolKind::Sixel, (20, 10)).expect("renders");
}

#[test]
fn exif_orientations_1_to_8_come_out_upright() {
    let upright = quadrants(96, 48);
    for o in 1..=8u8 {
        let stored = stored_for_orientation(&upright, o);
        let bytes = exif_jpeg(&stored, o);
        let probe = shenhe::domain::imaging::probe(&bytes, DecodeLimits::DEFAULT).expect("probe");
        assert_eq!(probe.orientation.0, o, "the APP1 segment is read");
        let s = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT).expect("decodes");
        assert_eq!(s.size(), (96, 48), "orientation {o}");
        for (x, y) in [(20, 10), (76, 10), (20, 38), (76, 38)] {
            let want = upright.get_pixel(x, y).0;
            let got = s.rgb.get_pixel(x, y).0;
            let ok = got.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40);
            assert!(ok, "orientation {o} at ({x},{y}): {got:?}, want {want:?}");
        }
    }
}

#[test]
fn one_by_twenty_thousand_strip_is_refused_and_a_long_strip_renders() {
    let strip = png(&RgbImage::from_fn(1, 20_000, |_, y| {
        Rgb([(y % 256) as u8, 0, 0])
    }));
    for p in ProtocolKind::ALL {
        match render(&strip, p, (60, 30)) {
            Err(e) => assert!(
                matches!(e, ImageError::Decode(DecodeError::TooLarge { .. })),
                "{e:?}"
            ),
            Ok(r) => assert_eq!(r.cells().width, 1),
        }
    }
    // Within the limits the same shape draws as a one-cell column.
    let long = png(&RgbImage::from_fn(1, 11_000, |_, y| {
        Rgb([(y % 256) as u8, 0, 0])
    }));
    for p in ProtocolKind::ALL {
        let r = render(&long, p, (60, 30)).expect("renders");
        assert_eq!(r.cells().width, 1, "{p}");
        assert!(!wire(&r, &TerminalImages::new(false)).is_empty());
    }
}

#[test]
fn garbage_and_other_formats_are_errors() {
    for bytes in [
        &b""[..],
        b"GIF89a....",
        b"%PDF-1.7",
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0],
    ] {
        for p in ProtocolKind::ALL {
            assert!(render(bytes, p, (10, 5)).is_err());
        }
    }
    assert!(matches!(
        render(&scan_jpeg(), ProtocolKind::Sixel, (0, 5)),
        Err(ImageError::EmptyArea)
    ));
}

// ----------------------------------------------------------------- output

#[test]
fn every_protocol_sends_pane_pixels_not_source_pixels() {
    let scan = scan_jpeg();
    for p in ProtocolKind::ALL {
        let r = render(&scan, p, (60, 30)).expect("render");
        // A4 portrait in a 600×600 px pane: fits the height.
        assert_eq!(r.cells().height, 30, "{p}");
        assert!(
            r.cells().width < 60 && r.cells().width >= 40,
            "{p}: {:?}",
            r.cells()
        );
        assert_eq!(r.source_size(), (1240, 1754));
    }
    let out = String::from_utf8_lossy(&wire(
        &render(&scan, ProtocolKind::Iterm2, (60, 30)).expect("iterm2"),
        &TerminalImages::new(false),
    ))
    .into_owned();
    assert!(
        out.contains("width=430px;height=600px"),
        "iTerm2 gets pane pixels"
    );
    let k = render(&scan, ProtocolKind::Kitty, (60, 30)).expect("kitty");
    let out = String::from_utf8_lossy(&wire(&k, &TerminalImages::new(false))).into_owned();
    assert!(
        out.contains("s=430,v=600,c=43,r=30"),
        "kitty gets pane pixels"
    );
}

/// Decode what we wrote with libsixel and compare it with the pixels we fed
/// the encoder.
#[test]
fn sixel_round_trips_through_libsixel() {
    assert!(
        have("sixel2png"),
        "sixel2png not found: apt-get install libsixel-bin (the round trip needs libsixel's decoder)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes, floor) in [
        ("scan", scan_jpeg(), SIXEL_PSNR_FLOOR_SCAN),
        ("id_card", id_card_jpeg(), SIXEL_PSNR_FLOOR_PHOTO),
    ] {
        let t = target(ProtocolKind::Sixel);
        // The pixels render() feeds the encoder: the same scaled decode.
        let src = pipeline::decode_for_view(
            &bytes,
            Size::new(60, 30),
            ViewState::fit(),
            &t,
            DecodeLimits::DEFAULT,
        )
        .expect("decode");
        let l =
            pipeline::layout(src.size(), Size::new(60, 30), &ViewState::fit(), &t).expect("layout");
        let canvas = pipeline::rasterize(&src.rgb, &l, &t).expect("raster");
        let r = render(&bytes, ProtocolKind::Sixel, (60, 30)).expect("render");
        let out = wire(&r, &TerminalImages::new(false));
        let start = out.windows(2).position(|w| w == b"\x1bP").expect("DCS");
        let end = out.windows(2).rposition(|w| w == b"\x1b\\").expect("ST") + 2;
        let six = dir.path().join(format!("{name}.six"));
        let png_path = dir.path().join(format!("{name}.png"));
        std::fs::write(&six, &out[start..end]).expect("write six");
        let st = std::process::Command::new("sixel2png")
            .arg("-i")
            .arg(&six)
            .arg("-o")
            .arg(&png_path)
            .status()
            .expect("run sixel2png");
        assert!(st.success());
        let decoded = image::open(&png_path).expect("png").to_rgb8();
        assert_eq!(decoded.dimensions(), canvas.dimensions(), "{name}");
        let db = psnr(&canvas, &decoded);
        eprintln!("sixel PSNR {name}: {db:.2} dB");
        assert!(db >= floor, "{name}: {db:.2} dB < {floor} dB");
    }
}

/// Floors from measurements (40.03 dB scan, folded to fit the byte budget;
/// 44.01 dB ID card, which fits unfolded), at chafa 1.12's 39.90 dB for the
/// scan and a little below ours for the photo (chafa: 40.63 dB).
const SIXEL_PSNR_FLOOR_SCAN: f64 = 39.9;
const SIXEL_PSNR_FLOOR_PHOTO: f64 = 43.5;

fn halfblock_dump(buf: &Buffer) -> String {
    let mut s = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let hex = |col: ratatui::style::Color| match col {
                ratatui::style::Color::Rgb(r, g, b) => format!("{r:02x}{g:02x}{b:02x}"),
                other => format!("{other:?}"),
            };
            s.push_str(&format!("{}{}/{} ", c.symbol(), hex(c.fg), hex(c.bg)));
        }
        s.push('\n');
    }
    s
}

#[test]
fn halfblock_output_snapshot() {
    let img = RgbImage::from_fn(48, 24, |x, y| {
        if (x / 8 + y / 8) % 2 == 0 {
            Rgb([250, 250, 245])
        } else if x < 24 {
            Rgb([200, 30, 30])
        } else {
            Rgb([20, 20, 30])
        }
    });
    let r = render(&png(&img), ProtocolKind::Halfblocks, (12, 6)).expect("render");
    let mut buf = Buffer::empty(Rect::new(0, 0, 12, 6));
    ImageWidget::new(&r, &TerminalImages::new(false)).render(buf.area, &mut buf);
    insta::assert_snapshot!("halfblocks_12x6", halfblock_dump(&buf));
}

#[test]
fn bytes_per_image_at_60x30_stay_within_budget() {
    // Budgets from the issue: half-blocks ≤ 25 KB, sixel ≤ 150 KB per step
    // (taken as 150,000 bytes, the stricter reading). The dense A4 scan is
    // the hard case: ~147 KB with our sixel encoder (its byte budget), chafa needs 365 KB
    // for the same pixels.
    for (name, bytes, sixel_budget) in [
        ("scan", scan_jpeg(), 150_000),
        ("id_card", id_card_jpeg(), 150_000),
    ] {
        let mut report = Vec::new();
        for p in ProtocolKind::ALL {
            let r = render(&bytes, p, (60, 30)).expect("render");
            let n = wire(&r, &TerminalImages::new(false)).len();
            report.push(format!("{p}={n}"));
            match p {
                ProtocolKind::Halfblocks => {
                    assert!(n <= 25 * 1024, "{name}: half-blocks {n} bytes")
                }
                ProtocolKind::Sixel => assert!(n <= sixel_budget, "{name}: sixel {n} bytes"),
                _ => {}
            }
        }
        eprintln!("bytes at 60x30, {name}: {}", report.join(" "));
    }
}

#[test]
fn kitty_revisit_sends_no_image_data() {
    let terminal = TerminalImages::new(false);
    let a = render(&scan_jpeg(), ProtocolKind::Kitty, (60, 30)).expect("a");
    let b = render(&id_card_jpeg(), ProtocolKind::Kitty, (60, 30)).expect("b");
    let area = Rect::new(0, 0, 60, 30);
    let mut prev = Buffer::empty(area);
    let mut step = |r: &Rendered| {
        let mut next = Buffer::empty(area);
        ImageWidget::new(r, &terminal).render(area, &mut next);
        let bytes = shenhe::images::bandwidth::frame_bytes(&prev, &next).expect("diff");
        prev = next;
        bytes
    };
    let first = step(&a);
    let second = step(&b);
    let back = step(&a);
    let has_pixels = |b: &[u8]| String::from_utf8_lossy(b).contains("a=T");
    assert!(has_pixels(&first) && has_pixels(&second));
    assert!(!has_pixels(&back), "revisit re-placed by id");
    assert!(
        back.len() < 20_000,
        "a re-placement is only placeholders: {}",
        back.len()
    );
    assert_eq!(terminal.kitty_images_held(), 2);
}

#[test]
fn popup_hides_sixel_and_shows_it_again() {
    let terminal = TerminalImages::new(false);
    let r = render(&scan_jpeg(), ProtocolKind::Sixel, (60, 30)).expect("render");
    let area = Rect::new(0, 0, 60, 30);
    let draw = |hidden: bool| {
        let mut b = Buffer::empty(area);
        ImageWidget::new(&r, &terminal)
            .hidden(hidden)
            .render(area, &mut b);
        b
    };
    let shown = draw(false);
    let steady = draw(false);
    let same = shenhe::images::bandwidth::frame_bytes(&shown, &steady).expect("diff");
    assert!(same.len() < 64, "an unchanged sixel is not sent again");
    let hidden = draw(true);
    let hide = shenhe::images::bandwidth::frame_bytes(&steady, &hidden).expect("diff");
    assert!(
        !String::from_utf8_lossy(&hide).contains("\x1bP"),
        "no sixel while hidden"
    );
    // Every cell the picture covered is rewritten once.
    assert!(hide.len() > 60 * 30, "{} bytes", hide.len());
    let again = draw(false);
    let show = shenhe::images::bandwidth::frame_bytes(&hidden, &again).expect("diff");
    assert!(
        String::from_utf8_lossy(&show).contains("\x1bP"),
        "shown again"
    );
}

#[test]
fn low_bandwidth_halves_kitty_pixels_over_the_same_cells() {
    let scan = scan_jpeg();
    let mut t = target(ProtocolKind::Kitty);
    let full = render_bytes(
        &scan,
        Size::new(60, 30),
        ViewState::fit(),
        &t,
        DecodeLimits::DEFAULT,
    )
    .expect("full");
    t.low_bandwidth = true;
    let low = render_bytes(
        &scan,
        Size::new(60, 30),
        ViewState::fit(),
        &t,
        DecodeLimits::DEFAULT,
    )
    .expect("low");
    assert_eq!(full.cells(), low.cells());
    assert!(low.payload_bytes() * 2 < full.payload_bytes());
}

// ---------------------------------------------------------------- worker

fn request(bytes: &Arc<[u8]>, cells: (u16, u16)) -> ImageRequest {
    ImageRequest {
        sha256: ContentHash::of(bytes),
        bytes: bytes.clone(),
        area: Size::new(cells.0, cells.1),
        view: ViewState::fit(),
        budget: None,
    }
}

fn config(debounce_ms: u64) -> WorkerConfig {
    WorkerConfig {
        debounce: Duration::from_millis(debounce_ms),
        ..WorkerConfig::default()
    }
}

async fn next(ev: &mut shenhe::images::worker::ImageEvents) -> shenhe::images::ImageEvent {
    tokio::time::timeout(Duration::from_secs(60), ev.recv())
        .await
        .expect("an event within a minute")
        .expect("worker alive")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_request_wins() {
    let scan: Arc<[u8]> = scan_jpeg().into();
    let card: Arc<[u8]> = id_card_jpeg().into();
    let (w, mut ev) = ImageWorker::spawn(
        target(ProtocolKind::Sixel),
        TerminalImages::new(false),
        config(0),
    );
    // Ten quick requests alternating two images and sizes; only the last
    // may ever be delivered.
    let mut last = None;
    for i in 0..10u16 {
        let bytes = if i % 2 == 0 { &scan } else { &card };
        last = Some(w.request(request(bytes, (40 + i, 20))));
    }
    let last = last.expect("requested");
    let e = next(&mut ev).await;
    assert_eq!(e.id, last, "only the newest request is delivered");
    assert_eq!(e.sha256, ContentHash::of(&card));
    assert_eq!(e.result.expect("rendered").area(), Size::new(49, 20));
    // Nothing older trails behind.
    let more = tokio::time::timeout(Duration::from_millis(300), ev.recv()).await;
    assert!(more.is_err(), "no further event: {more:?}");
    assert!(w.is_current(last));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn superseded_in_flight_result_is_never_delivered() {
    let scan: Arc<[u8]> = scan_jpeg().into();
    let card: Arc<[u8]> = id_card_jpeg().into();
    let (w, mut ev) = ImageWorker::spawn(
        target(ProtocolKind::Sixel),
        TerminalImages::new(false),
        config(0),
    );
    let old = w.request(request(&scan, (60, 30)));
    // Let the old one start its CPU work, then supersede it.
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let new = w.request(request(&card, (30, 15)));
    let e = next(&mut ev).await;
    assert_ne!(e.id, old);
    assert_eq!(e.id, new);
    let more = tokio::time::timeout(Duration::from_millis(300), ev.recv()).await;
    assert!(more.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_hit_is_immediate_and_prefetch_is_silent() {
    let scan: Arc<[u8]> = scan_jpeg().into();
    let card: Arc<[u8]> = id_card_jpeg().into();
    let (w, mut ev) = ImageWorker::spawn(
        target(ProtocolKind::Halfblocks),
        TerminalImages::new(false),
        config(30),
    );
    w.prefetch(request(&card, (60, 30)));
    let id = w.request(request(&scan, (60, 30)));
    let e = next(&mut ev).await;
    assert_eq!(e.id, id);
    // The prefetch fills the cache without being delivered.
    for _ in 0..600 {
        if w.cached(&request(&card, (60, 30))).is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(w.cached(&request(&card, (60, 30))).is_some());
    let s = w.stats();
    assert_eq!(s.delivered, 1);
    assert_eq!(s.decoded, 2);
    // Asking for the prefetched image costs no decode and no encode.
    let id2 = w.request(request(&card, (60, 30)));
    let e = next(&mut ev).await;
    assert_eq!(e.id, id2);
    let s2 = w.stats();
    assert_eq!((s2.decoded, s2.encoded), (s.decoded, s.encoded));
    assert!(s2.cache_hits > s.cache_hits);
    // Same image, new size: decoded source reused, only re-encoded.
    let id3 = w.request(request(&card, (30, 15)));
    assert_eq!(next(&mut ev).await.id, id3);
    assert_eq!(w.stats().decoded, s.decoded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_image_is_reported_not_fatal() {
    let bomb: Arc<[u8]> = bomb_png(30_000, 30_000).into();
    let scan: Arc<[u8]> = scan_jpeg().into();
    let (w, mut ev) = ImageWorker::spawn(
        target(ProtocolKind::Kitty),
        TerminalImages::new(false),
        config(0),
    );
    let id = w.request(request(&bomb, (60, 30)));
    let e = next(&mut ev).await;
    assert_eq!(e.id, id);
    assert!(e.result.is_err());
    let id = w.request(request(&scan, (60, 30)));
    let e = next(&mut ev).await;
    assert_eq!(e.id, id);
    assert!(e.result.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kitty_image_held_by_terminal_is_placed_without_work() {
    let scan: Arc<[u8]> = scan_jpeg().into();
    let terminal = TerminalImages::with_kitty_budget(false, 256 << 20);
    let cfg = WorkerConfig {
        encoded_budget: 1, // nothing stays encoded: only the ledger helps
        ..config(0)
    };
    let (w, mut ev) = ImageWorker::spawn(target(ProtocolKind::Kitty), terminal.clone(), cfg);
    w.request(request(&scan, (60, 30)));
    let r = next(&mut ev).await.result.expect("rendered");
    assert!(r.payload_bytes() > 0);
    let mut buf = Buffer::empty(Rect::new(0, 0, 60, 30));
    ImageWidget::new(&r, &terminal).render(buf.area, &mut buf);
    let encoded = w.stats().encoded;
    w.request(request(&scan, (60, 30)));
    let again = next(&mut ev).await.result.expect("rendered");
    assert_eq!(again.payload_bytes(), 0, "placement only");
    assert_eq!(again.kitty_id(), r.kitty_id());
    assert_eq!(w.stats().encoded, encoded, "no CPU work");
}

// ------------------------------------------------------- render-image CLI

fn shenhe_bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_shenhe"))
}

#[test]
fn render_image_command_writes_the_console_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("scan.jpg");
    let scan = scan_jpeg();
    std::fs::write(&file, &scan).expect("write");
    for p in ProtocolKind::ALL {
        let out = shenhe_bin()
            .arg("render-image")
            .arg(&file)
            .args([
                "--protocol",
                p.as_str(),
                "--cells",
                "60x30",
                "--font-size",
                "10x20",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = wire(
            &render(&scan, p, (60, 30)).expect("render"),
            &TerminalImages::new(false),
        );
        assert_eq!(out.stdout, expected, "{p}: same bytes as the console draw");
    }
}

#[test]
fn render_image_errors_are_messages_with_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.jpg");
    let out = shenhe_bin()
        .arg("render-image")
        .arg(&missing)
        .args(["--protocol", "sixel", "--cells", "60x30"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot read") && err.contains("nope.jpg"),
        "{err}"
    );
    assert!(!err.contains("panicked"));

    let gif = dir.path().join("a.jpg");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00").expect("write");
    let out = shenhe_bin()
        .arg("render-image")
        .arg(&gif)
        .args(["--protocol", "kitty", "--cells", "10x5"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not a JPEG or PNG image (content looks like gif)")
    );

    let bomb = dir.path().join("bomb.png");
    std::fs::write(&bomb, bomb_png(30_000, 30_000)).expect("write");
    let out = shenhe_bin()
        .arg("render-image")
        .arg(&bomb)
        .args(["--protocol", "halfblocks", "--cells", "10x5"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("exceed"));

    let out = shenhe_bin()
        .args([
            "render-image",
            "x.png",
            "--protocol",
            "sixel",
            "--cells",
            "0x3",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "usage errors are clap's");
}

// -------------------------------------------------------------- detection

/// A JPEG decoded at 1/2 or 1/4 in the DCT domain gives the pane the same
/// picture as the full decode resized: only the work is less.
#[test]
fn scaled_jpeg_decode_looks_like_the_full_decode() {
    use shenhe::images::jpeg_scaled;
    let bytes = scan_jpeg();
    let full = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT).expect("full");
    let (w, h) = full.size();
    for want in [
        (w / 2, h / 2),
        (w / 4, h / 4),
        (w / 8, h / 8),
        (w / 16, h / 16),
    ] {
        let d = jpeg_scaled::plan(&bytes, DecodeLimits::DEFAULT, want);
        assert!(d > 1, "{want:?} from {w}x{h}");
        let scaled = jpeg_scaled::decode(&bytes, DecodeLimits::DEFAULT, d)
            .expect("applies")
            .expect("decodes");
        let (sw, sh) = scaled.size();
        assert!(sw >= want.0 && sh >= want.1, "never below the pane");
        let a = image::imageops::resize(
            &full.rgb,
            want.0,
            want.1,
            image::imageops::FilterType::Lanczos3,
        );
        let b = image::imageops::resize(
            &scaled.rgb,
            want.0,
            want.1,
            image::imageops::FilterType::Lanczos3,
        );
        let q = psnr(&a, &b);
        assert!(q > 32.0, "1/{d}: {q:.1} dB against the full decode");
    }
}
