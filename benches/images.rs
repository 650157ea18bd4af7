//! decode + resize + encode per protocol for a ~200 KB document scan, at the
//! pane sizes reviewers use (60×30 and 120×45 cells, 10×20 px font), plus
//! the resize alone: fast_image_resize against `image`'s own Lanczos3.
//!
//! `cargo bench --bench images`; the scan is tests/fixtures/images/scan_a4.jpg.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ratatui::layout::Size;
use shenhe::domain::imaging::DecodeLimits;
use shenhe::images::pipeline::{self, RenderTarget};
use shenhe::images::view::CropRect;
use shenhe::images::{
    FontSize, ImageWidget, ProtocolKind, TerminalImages, ViewState, draw_bytes, render_bytes,
    resize,
};

fn scan() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/images/scan_a4.jpg"
    );
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{path}: {e} (run `cargo test --test it images::` once)"))
}

fn pipeline_per_protocol(c: &mut Criterion) {
    let bytes = scan();
    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .warm_up_time(Duration::from_secs(1));
    for cells in [(60u16, 30u16), (120, 45)] {
        for p in ProtocolKind::ALL {
            let target = RenderTarget::new(p, FontSize::new(10, 20));
            let id = BenchmarkId::new(p.as_str(), format!("{}x{}", cells.0, cells.1));
            g.bench_with_input(id, &cells, |b, &(w, h)| {
                b.iter(|| {
                    // What `shenhe render-image` does: every byte on the wire.
                    let r = render_bytes(
                        black_box(&bytes),
                        Size::new(w, h),
                        ViewState::fit(),
                        &target,
                        DecodeLimits::DEFAULT,
                    )
                    .expect("render");
                    let terminal = TerminalImages::new(false);
                    draw_bytes(Size::new(w, h), |area, buf| {
                        ratatui::widgets::Widget::render(ImageWidget::new(&r, &terminal), area, buf)
                    })
                    .expect("draw")
                })
            });
        }
    }
    g.finish();
}

fn stages(c: &mut Criterion) {
    let bytes = scan();
    let src = pipeline::decode_source(&bytes, DecodeLimits::DEFAULT).expect("decode");
    let mut g = c.benchmark_group("stages");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("decode", |b| {
        b.iter(|| {
            pipeline::decode_source(black_box(&bytes), DecodeLimits::DEFAULT).expect("decode")
        })
    });
    let (w, h) = src.size();
    let full = CropRect { x: 0, y: 0, w, h };
    // 60×30 cells at 10×20 px: the scan fits 424×600.
    let out = (424u32, 600u32);
    g.bench_function("resize_fast_image_resize_lanczos3", |b| {
        b.iter(|| resize::resize_crop(black_box(&src.rgb), full, out).expect("resize"))
    });
    g.bench_function("resize_image_crate_lanczos3", |b| {
        b.iter(|| {
            image::imageops::resize(
                black_box(&src.rgb),
                out.0,
                out.1,
                image::imageops::FilterType::Lanczos3,
            )
        })
    });
    g.finish();
}

/// A request whose preview is cached (prefetch warm): from `request` to
/// the event on the channel, through the worker task.
fn warm_request(c: &mut Criterion) {
    use shenhe::images::{ContentHash, ImageRequest, ImageWorker, WorkerConfig};
    use std::sync::Arc;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let bytes: Arc<[u8]> = scan().into();
    let req = ImageRequest {
        sha256: ContentHash::of(&bytes),
        bytes,
        area: Size::new(60, 30),
        view: ViewState::fit(),
        budget: None,
    };
    let mut g = c.benchmark_group("worker");
    g.sample_size(50)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    for p in ProtocolKind::ALL {
        let (worker, mut events) = rt.block_on(async {
            let (w, mut ev) = ImageWorker::spawn(
                RenderTarget::new(p, FontSize::new(10, 20)),
                TerminalImages::new(false),
                WorkerConfig::default(),
            );
            w.request(req.clone());
            ev.recv().await.expect("first render");
            (w, ev)
        });
        g.bench_function(BenchmarkId::new("warm_request", p.as_str()), |b| {
            b.iter(|| {
                rt.block_on(async {
                    worker.request(req.clone());
                    events.recv().await.expect("event")
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline_per_protocol, stages, warm_request);
criterion_main!(benches);
