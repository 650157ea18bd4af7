//! Sixel palette size against bytes, quality and time: for each fixture and
//! pane size, encode the pane's canvas with several palette sizes, decode
//! the result with libsixel's `sixel2png` and print bytes, PSNR and the
//! median encode time. How `sixel::DEFAULT_COLOURS` was chosen.
//!
//! `cargo run --release --example sixel_sweep [--colours 32,64] [--merge 0,20] [--bpp 0,4.5]` (needs sixel2png:
//! `apt-get install libsixel-bin`).

use std::path::Path;
use std::time::Instant;

use ratatui::layout::Size;
use shenhe::domain::imaging::DecodeLimits;
use shenhe::images::pipeline::{self, RenderTarget};
use shenhe::images::{FontSize, ProtocolKind, ViewState, sixel};

fn psnr(a: &image::RgbImage, b: &image::RgbImage) -> f64 {
    let mut se = 0f64;
    for (p, q) in a.as_raw().iter().zip(b.as_raw()) {
        let d = f64::from(*p) - f64::from(*q);
        se += d * d;
    }
    let mse = se / a.as_raw().len() as f64;
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `--colours 32,64 --merge 0,20`: the grid to try.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let list = |flag: &str, default: &str| -> Vec<f32> {
        let v = args
            .iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .map_or(default, String::as_str);
        v.split(',').filter_map(|x| x.parse().ok()).collect()
    };
    let colours = list("--colours", "32,48,64,96");
    let merges = list("--merge", "0");
    let bpps = list("--bpp", "0");
    let mut grid = Vec::new();
    for &c in &colours {
        for &m in &merges {
            for &b in &bpps {
                grid.push(sixel::Options {
                    colours: c as usize,
                    merge: m,
                    bits_per_pixel: b,
                });
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("sixel-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    let target = RenderTarget::new(ProtocolKind::Sixel, FontSize::new(10, 20));
    println!(
        "{:<12} {:>7} {:>7} {:>5} {:>4} {:>9} {:>8} {:>9}",
        "image", "cells", "colours", "merge", "bpp", "bytes", "PSNR dB", "encode ms"
    );
    for name in ["scan_a4.jpg", "id_card.jpg"] {
        let bytes = std::fs::read(root.join(name))?;
        let src = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT)?;
        for cells in [Size::new(60, 30), Size::new(120, 45)] {
            let l = pipeline::layout(src.size(), cells, &ViewState::fit(), &target)?;
            let canvas = pipeline::rasterize(&src.rgb, &l, &target)?;
            for o in &grid {
                let mut times = Vec::new();
                let mut six = String::new();
                for _ in 0..9 {
                    let t = Instant::now();
                    six = sixel::encode(&canvas, o);
                    times.push(t.elapsed().as_secs_f64() * 1e3);
                }
                times.sort_by(f64::total_cmp);
                let sp = dir.join("a.six");
                let pp = dir.join("a.png");
                std::fs::write(&sp, &six)?;
                let st = std::process::Command::new("sixel2png")
                    .arg("-i")
                    .arg(&sp)
                    .arg("-o")
                    .arg(&pp)
                    .status()?;
                if !st.success() {
                    return Err("sixel2png failed".into());
                }
                let back = image::open(&pp)?.to_rgb8();
                println!(
                    "{:<12} {:>7} {:>7} {:>5} {:>4} {:>9} {:>8.2} {:>9.2}",
                    name,
                    format!("{}x{}", cells.width, cells.height),
                    o.colours,
                    o.merge,
                    o.bits_per_pixel,
                    six.len(),
                    psnr(&canvas, &back),
                    times[times.len() / 2]
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
