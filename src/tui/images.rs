//! The live image painter: fetches image bytes through the API client,
//! hands them to the images engine's worker (decode/resize/encode off the
//! UI thread, latest wins) and draws what it delivers.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use ratatui::Frame;
use ratatui::layout::{Rect, Size};
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;

use crate::api::client::Client;
use crate::api::dto::{CandidateDetail, ImageDto};
use crate::app::state::ZoomView;
use crate::images::bandwidth::StepBytes;
use crate::images::view::{Geometry, Pan, ViewState};
use crate::images::worker::ImageEvents;
use crate::images::{
    ByteMeter, Capabilities, ContentHash, ImageEvent, ImageRequest, ImageWidget, ImageWorker,
    Rendered, RequestId, WorkerConfig,
};
use crate::lang::Lang;
use crate::ui::{ImagePainter, Theme};

/// Image files kept in memory (each at most 200 KB by the upload rules).
const BYTES_KEPT: usize = 64;

type Fetched = (String, Result<bytes::Bytes, crate::api::error::ApiError>);
type Dossier = Result<CandidateDetail, crate::api::error::ApiError>;

/// How long one step may take on the measured link.
const STEP_SECONDS: f64 = 1.0;

/// After this long on one image its full-resolution picture replaces the
/// one fitted to the link.
const SHARPEN_AFTER: std::time::Duration = std::time::Duration::from_millis(1500);

/// Candidates whose dossiers were prefetched (their images' bytes follow).
const DOSSIERS_KEPT: usize = 32;

/// From a next/previous-candidate key to the frame that drew its image.
#[derive(Debug, Clone, Copy)]
struct StepLatency {
    key_at: Instant,
    /// The image's bytes were in memory at the first paint after the key.
    warm: Option<bool>,
    drawn: bool,
}

/// What the pane asked for last: image, pane size, view.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    sha: String,
    area: (u16, u16),
    view: Option<ZoomView>,
}

pub struct LivePainter {
    lang: Lang,
    caps: Capabilities,
    worker: ImageWorker,
    events: ImageEvents,
    client: Client,
    bytes: HashMap<String, Arc<[u8]>>,
    order: VecDeque<String>,
    fetching: HashSet<String>,
    failed: HashMap<String, String>,
    fetch_tx: mpsc::UnboundedSender<Fetched>,
    fetch_rx: mpsc::UnboundedReceiver<Fetched>,
    wanted: Option<(Wanted, RequestId)>,
    delivered: Option<(RequestId, Result<Rendered, String>)>,
    /// The pane as last painted (prefetches render for the same size).
    last_area: Rect,
    meter: ByteMeter,
    step: StepBytes,
    latency: Option<StepLatency>,
    /// The last picture whose placement was logged.
    logged: Option<u64>,
    /// What the terminal absorbs (probe after each large frame).
    link: crate::images::bandwidth::LinkMeter,
    /// The image in the pane and since when (sharpening).
    shown_at: Option<(String, Instant)>,
    /// A sharper picture is due (the pane must be drawn again).
    sharpen_due: bool,
    dossier_tx: mpsc::UnboundedSender<Dossier>,
    dossier_rx: mpsc::UnboundedReceiver<Dossier>,
    dossiers: VecDeque<i64>,
    /// Shared with the effects, which open a fresh copy without a fetch.
    prefetched: crate::app::effects::Prefetched,
}

impl LivePainter {
    /// None when previews are off (or the terminal can show none).
    pub fn new(
        lang: Lang,
        caps: Capabilities,
        client: Client,
        meter: ByteMeter,
        prefetched: crate::app::effects::Prefetched,
    ) -> Option<LivePainter> {
        let target = caps.target()?;
        let (worker, events) =
            ImageWorker::spawn(target, caps.terminal_images(), WorkerConfig::default());
        let (fetch_tx, fetch_rx) = mpsc::unbounded_channel();
        let (dossier_tx, dossier_rx) = mpsc::unbounded_channel();
        Some(LivePainter {
            lang,
            caps,
            worker,
            events,
            client,
            bytes: HashMap::new(),
            order: VecDeque::new(),
            fetching: HashSet::new(),
            failed: HashMap::new(),
            fetch_tx,
            fetch_rx,
            wanted: None,
            delivered: None,
            last_area: Rect::default(),
            meter,
            step: StepBytes::default(),
            latency: None,
            logged: None,
            link: Default::default(),
            shown_at: None,
            sharpen_due: false,
            dossier_tx,
            dossier_rx,
            dossiers: VecDeque::new(),
            prefetched,
        })
    }

    /// A next/previous-candidate key was pressed now: time it to the frame
    /// that draws that candidate's image (a later key supersedes it).
    pub fn step_key(&mut self) {
        self.latency = Some(StepLatency {
            key_at: Instant::now(),
            warm: None,
            drawn: false,
        });
    }

    /// A frame was written to the terminal: if it carried the awaited image,
    /// log the interval (the instrument behind the "one frame warm, 50 ms
    /// cold" goals; the ignored test `step_latency` in tests/it/images_pty.rs
    /// collects these lines).
    pub fn frame_done(&mut self) {
        if let Some(l) = self.latency
            && l.drawn
        {
            self.latency = None;
            let us = l.key_at.elapsed().as_micros();
            tracing::info!(
                target: "shenhe::latency",
                "step_to_image_us={us} warm={} protocol={}",
                l.warm.unwrap_or(false),
                self.caps.protocol.map(|p| p.as_str()).unwrap_or("off"),
            );
        }
    }

    /// Fetch the dossiers of the candidates likely to be opened next, then
    /// their images' bytes, so `n` finds them in memory.
    pub fn prefetch_candidates(&mut self, ids: &[i64]) {
        for &id in ids {
            if self.dossiers.contains(&id) {
                continue;
            }
            self.dossiers.push_back(id);
            if self.dossiers.len() > DOSSIERS_KEPT {
                self.dossiers.pop_front();
            }
            let c = self.client.clone();
            let tx = self.dossier_tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(c.candidate(id).await);
            });
        }
    }

    fn dossier_arrived(&mut self, d: Dossier) {
        let Ok(d) = d else { return };
        self.prefetched.put(d.clone());
        let imgs: Vec<&ImageDto> = d.materials.iter().flat_map(|m| m.images.iter()).collect();
        // The console opens on the first image nobody judged yet: that one
        // first, then the rest of the dossier.
        let first = imgs
            .iter()
            .position(|i| i.verdict == crate::domain::image::Verdict::Unreviewed)
            .unwrap_or(0);
        let order = imgs[first..].iter().chain(imgs[..first].iter());
        for img in order {
            self.fetch(img);
        }
    }

    fn drawn(&mut self, r: &Rendered, area: Rect) {
        if let Some(l) = self.latency.as_mut() {
            l.drawn = true;
        }
        self.sharpen_due = false;
        // Once per picture: where it went, for the real-terminal tests
        // (tests/it/real_terminals.rs) and for anyone reading the log.
        let (canvas, pic) = r.canvas();
        if self.logged != Some(r.key()) && canvas.0 > 0 {
            self.logged = Some(r.key());
            let place = r.placement(area);
            tracing::info!(
                target: "shenhe::paint",
                "painted protocol={} cells={},{},{},{} font={}x{} canvas={}x{} picture={},{},{},{} bytes={}",
                r.protocol(),
                place.x, place.y, place.width, place.height,
                self.caps.font_size.width, self.caps.font_size.height,
                canvas.0, canvas.1,
                pic.0, pic.1, pic.2, pic.3,
                r.payload_bytes(),
            );
        }
    }

    /// Before a frame is drawn.
    pub fn begin_frame(&self) {
        self.worker.terminal().begin_frame();
    }

    /// After a frame: what must still go to the terminal (a classic kitty
    /// placement the frame no longer draws is taken off).
    pub fn end_frame(&self) -> String {
        self.worker.terminal().end_frame()
    }

    /// A frame of `bytes` began to be written at `started`: the link probe
    /// to write after it, if one is due (wrapped for the outer terminal
    /// inside tmux, so the whole path is measured).
    pub fn after_draw(&mut self, bytes: u64, started: Instant) -> String {
        use crate::images::bandwidth::LINK_PROBE;
        self.link
            .expire(Instant::now(), std::time::Duration::from_secs(30));
        if !self.link.probe_sent(bytes, started) {
            return String::new();
        }
        if self.passes_through_tmux() {
            crate::images::detect::replies::tmux_wrap(LINK_PROBE)
        } else {
            LINK_PROBE.to_string()
        }
    }

    /// A terminal reply ended now (perhaps the probe's).
    pub fn probe_answered(&mut self) {
        if let Some((bytes, secs)) = self.link.answered(Instant::now())
            && let Some(r) = self.link.rate()
        {
            tracing::info!(
                target: "shenhe::link",
                "link_rate_bytes_per_s={r:.0} sample_bytes={bytes} sample_s={secs:.3}"
            );
        }
    }

    /// Pictures reach the terminal outside tmux, which tmux does not track.
    pub fn passes_through_tmux(&self) -> bool {
        self.caps.protocol.is_some_and(|p| self.caps.wraps(p))
    }

    /// tmux no longer shows our pane: the sequence, for the outer terminal
    /// itself (not wrapped), that takes our pictures off it.
    pub fn take_down_direct(&self) -> String {
        self.worker.terminal().take_down_direct()
    }

    /// The terminal's pictures are gone or misplaced (tmux redrew the
    /// pane, moved it, a client attached; a resize; focus came back): send
    /// everything again at `pane`.
    pub fn repaint(&self, pane: Option<crate::images::detect::PaneOffset>) {
        let t = self.worker.terminal();
        if let Some(p) = pane {
            t.set_pane(p);
        }
        t.forget_all();
    }

    pub fn capabilities(&self) -> &Capabilities {
        &self.caps
    }

    /// Wait for the next thing that changes what the pane shows.
    pub async fn next(&mut self) {
        // On a measured slow link the first picture is fitted to it; once
        // the reviewer stays, the sharp one is asked for.
        let sharpen_at = self
            .shown_at
            .as_ref()
            .filter(|_| self.link.rate().is_some() && !self.sharpen_due)
            .map(|(_, t)| *t + SHARPEN_AFTER)
            .filter(|t| *t > Instant::now());
        tokio::select! {
            _ = tokio::time::sleep_until(sharpen_at.unwrap_or_else(Instant::now).into()), if sharpen_at.is_some() => {
                self.sharpen_due = true;
            }
            Some((sha, res)) = self.fetch_rx.recv() => {
                self.fetching.remove(&sha);
                match res {
                    Ok(b) => self.keep(sha, Arc::from(b.to_vec())),
                    Err(e) => {
                        tracing::warn!("image {sha}: {e}");
                        self.failed.insert(sha, crate::ui::i18n::api_error(self.lang, &e));
                    }
                }
            }
            Some(ev) = self.events.recv() => self.delivered(ev),
            Some(d) = self.dossier_rx.recv() => self.dossier_arrived(d),
        }
    }

    fn delivered(&mut self, ev: ImageEvent) {
        self.delivered = Some((ev.id, ev.result.map_err(|e| e.to_string())));
    }

    fn keep(&mut self, sha: String, b: Arc<[u8]>) {
        if self.bytes.insert(sha.clone(), b).is_none() {
            self.order.push_back(sha);
        }
        while self.order.len() > BYTES_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.bytes.remove(&old);
            }
        }
    }

    fn fetch(&mut self, img: &ImageDto) {
        if self.bytes.contains_key(&img.sha256)
            || self.fetching.contains(&img.sha256)
            || self.failed.contains_key(&img.sha256)
        {
            return;
        }
        self.fetching.insert(img.sha256.clone());
        let c = self.client.clone();
        let tx = self.fetch_tx.clone();
        let (id, sha) = (img.id, img.sha256.clone());
        tokio::spawn(async move {
            let res = c.image_content(id).await;
            let _ = tx.send((sha, res));
        });
    }

    /// Warm the bytes (and the first render) of images the reviewer is
    /// likely to look at next.
    pub fn prefetch(&mut self, next: &[&ImageDto]) {
        for img in next {
            self.fetch(img);
        }
        let area = self.last_area;
        if !area.is_empty()
            && let Some(img) = next.first()
            && let Some(req) = self.request(img, area, None)
        {
            self.worker.prefetch(req);
        }
    }

    fn request(&self, img: &ImageDto, area: Rect, view: Option<ZoomView>) -> Option<ImageRequest> {
        let bytes = self.bytes.get(&img.sha256)?.clone();
        let sha256 = ContentHash::from_hex(&img.sha256)?;
        // Zoom keeps full detail; so does an image looked at for a while.
        let sharp = view.is_some()
            || self
                .shown_at
                .as_ref()
                .is_some_and(|(s, t)| *s == img.sha256 && t.elapsed() >= SHARPEN_AFTER);
        let budget = if sharp {
            None
        } else {
            self.link.rate().map(|r| (r * STEP_SECONDS) as u32)
        };
        Some(ImageRequest {
            sha256,
            bytes,
            area: Size::new(area.width, area.height),
            view: self.view_state(img, area, view),
            budget,
        })
    }

    /// Replay the zoom keys against this image and pane.
    fn view_state(&self, img: &ImageDto, area: Rect, view: Option<ZoomView>) -> ViewState {
        let Some(z) = view else {
            return ViewState::fit();
        };
        let Some(target) = self.caps.target() else {
            return ViewState::fit();
        };
        let (pw, ph) = target.protocol.pixels_per_cell(target.font);
        // EXIF orientations 5–8 swap width and height.
        let image = if (5..=8).contains(&img.hints.orientation) {
            (img.height, img.width)
        } else {
            (img.width, img.height)
        };
        let g = Geometry {
            image,
            area_px: (u32::from(area.width) * pw, u32::from(area.height) * ph),
        };
        replay(z, g)
    }

    /// A picture drawn smaller than its pane because of the terminal's
    /// sixel limit says so, on the last row of the pane below it.
    fn limit_note(&self, f: &mut Frame, area: Rect, r: &Rendered, theme: &Theme) {
        let Some((w, h)) = r.limited() else { return };
        let place = r.placement(area);
        if place.bottom() >= area.bottom() {
            return;
        }
        let text = match self.lang {
            Lang::Zh => format!("终端 sixel 上限 {w}×{h} 像素, 已缩小显示; z 放大看细节"),
            Lang::En => {
                format!("shown smaller: the terminal draws sixel up to {w}×{h} px; z zooms")
            }
        };
        let row = Rect::new(area.x, area.bottom() - 1, area.width, 1);
        Self::note(f, row, &text, theme);
    }

    fn note(f: &mut Frame, area: Rect, text: &str, theme: &Theme) {
        if area.height == 0 {
            return;
        }
        // Error captions quote decoders and servers: never trust them raw.
        let text = crate::domain::text::sanitize(text);
        let text = text.as_ref();
        let w = u16::try_from(unicode_width::UnicodeWidthStr::width(text))
            .unwrap_or(area.width)
            .min(area.width);
        let r = Rect::new(
            area.x + (area.width - w) / 2,
            area.y + area.height / 2,
            w,
            1,
        );
        f.render_widget(Paragraph::new(Span::styled(text.to_string(), theme.dim)), r);
    }
}

impl ImagePainter for LivePainter {
    fn paint(
        &mut self,
        f: &mut Frame,
        mut area: Rect,
        image: &ImageDto,
        view: Option<ZoomView>,
        hidden: bool,
        theme: &Theme,
    ) {
        if let Some(p) = self.caps.protocol {
            // A sixel reaching the last row scrolls the screen in some
            // terminals.
            area = crate::images::sixel_safe_area(area, f.area(), p);
        }
        if view.is_none() {
            self.last_area = area;
            self.step.shows(&image.sha256, self.meter.total());
        }
        if self
            .shown_at
            .as_ref()
            .is_none_or(|(s, _)| *s != image.sha256)
        {
            self.shown_at = Some((image.sha256.clone(), Instant::now()));
        }
        if let Some(l) = self.latency.as_mut()
            && l.warm.is_none()
        {
            l.warm = Some(self.bytes.contains_key(&image.sha256));
        }
        let loading = match self.lang {
            Lang::Zh => "图像加载中…",
            Lang::En => "loading the image…",
        };
        if let Some(e) = self.failed.get(&image.sha256) {
            let e = e.clone();
            Self::note(f, area, &e, theme);
            return;
        }
        let Some(req) = self.request(image, area, view) else {
            self.fetch(image);
            Self::note(f, area, loading, theme);
            return;
        };
        let wanted = Wanted {
            sha: image.sha256.clone(),
            area: (area.width, area.height),
            view,
        };
        let terminal = self.worker.terminal().clone();
        if let Some(r) = self.worker.cached(&req) {
            f.render_widget(ImageWidget::new(&r, &terminal).hidden(hidden), area);
            self.drawn(&r, area);
            self.limit_note(f, area, &r, theme);
            return;
        }
        let id = match &self.wanted {
            Some((w, id)) if *w == wanted => *id,
            _ => {
                let id = self.worker.request(req);
                self.wanted = Some((wanted, id));
                id
            }
        };
        match &self.delivered {
            Some((d, Ok(r))) if *d == id => {
                let r = r.clone();
                f.render_widget(ImageWidget::new(&r, &terminal).hidden(hidden), area);
                self.drawn(&r, area);
                self.limit_note(f, area, &r, theme);
            }
            Some((d, Err(e))) if *d == id => {
                let e = e.clone();
                Self::note(f, area, &e, theme);
            }
            _ => {
                // Clear what the terminal shows there while the new one comes.
                f.render_widget(ImageWidget::empty(&terminal), area);
                Self::note(f, area, loading, theme);
            }
        }
    }

    fn status_note(&self, lang: Lang, bytes: bool) -> Option<String> {
        let reason = self.caps.reason.text(lang == Lang::En);
        let mut s = match lang {
            Lang::Zh => format!("图像 {reason}"),
            Lang::En => format!("images: {reason}"),
        };
        if bytes {
            // First, so a narrow bar cuts the reason rather than the figure.
            let en = lang == Lang::En;
            let link = self
                .link
                .describe(en)
                .map(|l| format!(" · {l}"))
                .unwrap_or_default();
            s = format!("{}{link} · {s}", self.step.describe(en));
        }
        Some(s)
    }
}

/// The zoom keys, replayed in a fixed order against one image and pane:
/// rotation, zoom steps, region jump, 1:1, then the pans made after it.
fn replay(z: ZoomView, g: Geometry) -> ViewState {
    let mut v = ViewState::fit();
    for _ in 0..z.rotation % 4 {
        v.rotate();
    }
    for _ in 0..z.zoom {
        v.zoom_in(g);
    }
    if z.region != 0 {
        v.jump(z.region, g);
    }
    if z.one_to_one {
        v.toggle_one_to_one(g);
    }
    let steps = |n: i16, neg: Pan, pos: Pan| {
        std::iter::repeat_n(if n < 0 { neg } else { pos }, usize::from(n.unsigned_abs()))
    };
    for p in steps(z.pan_x, Pan::Left, Pan::Right).chain(steps(z.pan_y, Pan::Up, Pan::Down)) {
        v.pan(p, g);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Geometry = Geometry {
        image: (1600, 1000),
        area_px: (800, 500),
    };

    #[test]
    fn region_jump_looks_at_that_third_of_the_page() {
        let z = ZoomView {
            region: 9,
            ..ZoomView::FIT
        };
        let crop = replay(z, G).compute(G).crop;
        // Bottom-right: the window touches the right and bottom edges.
        assert_eq!(crop.x + crop.w, 1600);
        assert_eq!(crop.y + crop.h, 1000);
        assert!(crop.w < 1600 / 2, "zoomed in: {crop:?}");
        let top_left = replay(ZoomView { region: 1, ..z }, G).compute(G).crop;
        assert_eq!((top_left.x, top_left.y), (0, 0));
    }

    #[test]
    fn one_to_one_shows_source_pixels_unscaled() {
        let z = ZoomView {
            one_to_one: true,
            ..ZoomView::FIT
        };
        let v = replay(z, G).compute(G);
        assert_eq!(v.scale, 1.0);
        assert_eq!((v.crop.w, v.crop.h), (800, 500));
        assert_eq!(v.out, (800, 500));
        // Fit halves this image.
        assert_eq!(replay(ZoomView::FIT, G).compute(G).scale, 0.5);
    }
}
