//! The preview worker the console owns: requests in, encoded previews out on
//! a tokio channel, all CPU work in `spawn_blocking`.
//!
//! - Latest wins: `request` supersedes every earlier request at once (an
//!   atomic the blocking work checks between stages), a superseded result is
//!   never sent, and [`ImageEvents::recv`] drops any that was already in the
//!   channel. The console still compares ids in `update`, because an event
//!   can wait in its action queue while a newer request is made.
//! - Debounce: while requests come faster than `debounce` apart (a key held
//!   down), only the last one is worked on; the first after a pause starts
//!   at once. Cache hits are answered at once either way.
//! - Prefetch: fills the caches, runs only while no current request is
//!   waiting or running, is never delivered.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ratatui::layout::Size;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::cache::ByteLru;
use super::pipeline::{self, EncodedKey, Source};
use super::target::RenderTarget;
use super::view::{Rotation, ViewState};
use super::{ContentHash, ImageError, ProtocolKind, Rendered, TerminalImages, kitty, resize};
use crate::domain::imaging::DecodeLimits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Quiet time required between repeated requests before work starts.
    pub debounce: Duration,
    /// Decoded (and view-rotated) sources.
    pub decoded_budget: usize,
    /// Encoded previews.
    pub encoded_budget: usize,
    pub limits: DecodeLimits,
    /// Prefetch requests kept waiting; older ones are dropped.
    pub prefetch_queue: usize,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            debounce: Duration::from_millis(30),
            decoded_budget: 192 * 1024 * 1024,
            encoded_budget: 64 * 1024 * 1024,
            limits: DecodeLimits::DEFAULT,
            prefetch_queue: 32,
        }
    }
}

/// One preview wanted: which image (its hash and bytes), where (cells) and
/// how (view).
#[derive(Clone)]
pub struct ImageRequest {
    pub sha256: ContentHash,
    pub bytes: Arc<[u8]>,
    pub area: Size,
    pub view: ViewState,
    /// Bytes the picture may cost on the wire (a slow link), or none.
    pub budget: Option<u32>,
}

impl std::fmt::Debug for ImageRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageRequest")
            .field("sha256", &self.sha256)
            .field("bytes", &self.bytes.len())
            .field("area", &self.area)
            .field("view", &self.view)
            .finish()
    }
}

/// Identifies a `request` call; ids only grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The answer to the current request.
#[derive(Debug, Clone)]
pub struct ImageEvent {
    pub id: RequestId,
    pub sha256: ContentHash,
    pub result: Result<Rendered, ImageError>,
}

/// Counters, for tests and the status bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub decoded: u64,
    pub encoded: u64,
    pub delivered: u64,
    pub superseded: u64,
    pub cache_hits: u64,
    pub kitty_replaced: u64,
    pub prefetched: u64,
    pub decoded_bytes: usize,
    pub encoded_bytes: usize,
}

#[derive(Default)]
struct Counters {
    decoded: AtomicU64,
    encoded: AtomicU64,
    delivered: AtomicU64,
    superseded: AtomicU64,
    cache_hits: AtomicU64,
    kitty_replaced: AtomicU64,
    prefetched: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

struct Caches {
    /// By (image, view rotation, JPEG scale denominator): the fit view of a
    /// small pane keeps a scaled decode, zoom steps share the full one.
    decoded: ByteLru<(ContentHash, Rotation, u32), Arc<Source>>,
    encoded: ByteLru<EncodedKey, Rendered>,
    /// Upright source sizes, so a kitty image the terminal holds can be
    /// placed again without decoding anything.
    sizes: HashMap<ContentHash, (u32, u32)>,
    /// Bytes that do not decode stay that way.
    failed: ByteLru<ContentHash, ImageError>,
}

struct Shared {
    latest: AtomicU64,
    next_id: AtomicU64,
    caches: Mutex<Caches>,
    target: RenderTarget,
    terminal: TerminalImages,
    config: WorkerConfig,
    counters: Counters,
}

impl Shared {
    fn caches(&self) -> MutexGuard<'_, Caches> {
        self.caches.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_latest(&self, id: RequestId) -> bool {
        self.latest.load(Ordering::SeqCst) == id.0
    }

    fn key(&self, req: &ImageRequest) -> EncodedKey {
        let mut target = self.target;
        target.step_budget = req.budget;
        EncodedKey::new(req.sha256, req.area, req.view, target)
    }

    /// A preview without CPU work: cached, or a kitty image the terminal
    /// still holds (placed again by id, no pixels sent).
    fn ready(&self, req: &ImageRequest) -> Option<Result<Rendered, ImageError>> {
        let key = self.key(req);
        let mut c = self.caches();
        if let Some(r) = c.encoded.get(&key) {
            bump(&self.counters.cache_hits);
            return Some(Ok(r));
        }
        if let Some(e) = c.failed.get(&req.sha256) {
            return Some(Err(e));
        }
        if self.target.protocol == ProtocolKind::Kitty {
            let size = *c.sizes.get(&req.sha256)?;
            let hash = key.stable_hash();
            let id = kitty::image_id(hash);
            let cells = self.terminal.kitty_holds(id)?;
            bump(&self.counters.kitty_replaced);
            return Some(Ok(Rendered::kitty_placed(
                hash,
                id,
                req.area,
                cells,
                size,
                self.target.kitty_placeholders,
            )));
        }
        None
    }

    /// Decode → rotate → resize → encode, filling the caches. `id`: the
    /// request this serves, abandoned as soon as it is superseded.
    fn work(
        &self,
        req: &ImageRequest,
        id: Option<RequestId>,
    ) -> Option<Result<Rendered, ImageError>> {
        let live = || id.is_none_or(|id| self.is_latest(id));
        if let Some(r) = self.ready(req) {
            return Some(r);
        }
        if !live() {
            return None;
        }
        let denom = self.denominator(req);
        let source = match self.source(req, Rotation::R0, denom) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        let rotation = req.view.rotation();
        let rotated = if rotation == Rotation::R0 {
            source.clone()
        } else {
            if !live() {
                return None;
            }
            match self.source(req, rotation, denom) {
                Ok(s) => s,
                Err(e) => return Some(Err(e)),
            }
        };
        if !live() {
            return None;
        }
        let key = self.key(req);
        let result = pipeline::render_source(&rotated.rgb, &source, &key);
        bump(&self.counters.encoded);
        if let Ok(r) = &result {
            self.caches().encoded.insert(key, r.clone(), r.weight());
        }
        Some(result)
    }

    /// The JPEG scale for this request: what the pane shows in fit view
    /// (upright, after the view's rotation), full size for zoom.
    fn denominator(&self, req: &ImageRequest) -> u32 {
        if !req.view.is_fit() {
            return 1;
        }
        let (pw, ph) = self.target.protocol.pixels_per_cell(self.target.font);
        let mut want = (
            u32::from(req.area.width) * pw,
            u32::from(req.area.height) * ph,
        );
        if matches!(req.view.rotation(), Rotation::R90 | Rotation::R270) {
            want = (want.1, want.0);
        }
        super::jpeg_scaled::plan(&req.bytes, self.config.limits, want)
    }

    fn source(
        &self,
        req: &ImageRequest,
        rotation: Rotation,
        denom: u32,
    ) -> Result<Arc<Source>, ImageError> {
        if let Some(s) = self.caches().decoded.get(&(req.sha256, rotation, denom)) {
            return Ok(s);
        }
        let s = if rotation == Rotation::R0 {
            let scaled = super::jpeg_scaled::decode(&req.bytes, self.config.limits, denom);
            match scaled.unwrap_or_else(|| pipeline::decode_source(&req.bytes, self.config.limits))
            {
                Ok(s) => {
                    bump(&self.counters.decoded);
                    Arc::new(s)
                }
                Err(e) => {
                    self.caches().failed.insert(req.sha256, e.clone(), 64);
                    return Err(e);
                }
            }
        } else {
            let upright = self.source(req, Rotation::R0, denom)?;
            Arc::new(Source {
                rgb: resize::rotate(&upright.rgb, rotation).into_owned(),
                full: upright.full,
            })
        };
        let mut c = self.caches();
        if rotation == Rotation::R0 {
            if c.sizes.len() > 8192 {
                c.sizes.clear();
            }
            c.sizes.insert(req.sha256, s.full_size());
        }
        c.decoded
            .insert((req.sha256, rotation, denom), s.clone(), s.weight());
        Ok(s)
    }
}

enum Msg {
    Current(RequestId, ImageRequest),
    Prefetch(ImageRequest),
    Cancel,
}

/// Handle to the worker task. Dropping every handle stops it.
pub struct ImageWorker {
    tx: mpsc::UnboundedSender<Msg>,
    shared: Arc<Shared>,
}

/// The receiving end: yields only events for the current request.
pub struct ImageEvents {
    rx: mpsc::Receiver<ImageEvent>,
    shared: Arc<Shared>,
}

impl ImageEvents {
    /// The next event for the current request (stale ones are skipped).
    /// `None` when the worker has stopped.
    pub async fn recv(&mut self) -> Option<ImageEvent> {
        loop {
            let ev = self.rx.recv().await?;
            if self.shared.is_latest(ev.id) {
                return Some(ev);
            }
            bump(&self.shared.counters.superseded);
        }
    }
}

impl ImageWorker {
    /// Start the worker on the current tokio runtime.
    pub fn spawn(
        target: RenderTarget,
        terminal: TerminalImages,
        config: WorkerConfig,
    ) -> (ImageWorker, ImageEvents) {
        let shared = Arc::new(Shared {
            latest: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            caches: Mutex::new(Caches {
                decoded: ByteLru::new(config.decoded_budget),
                encoded: ByteLru::new(config.encoded_budget),
                sizes: HashMap::new(),
                failed: ByteLru::new(64 * 256),
            }),
            target,
            terminal,
            config,
            counters: Counters::default(),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::channel(16);
        tokio::spawn(run(shared.clone(), rx, ev_tx));
        (
            ImageWorker {
                tx,
                shared: shared.clone(),
            },
            ImageEvents { rx: ev_rx, shared },
        )
    }

    /// Ask for a preview; supersedes every earlier request immediately.
    pub fn request(&self, req: ImageRequest) -> RequestId {
        let id = RequestId(self.shared.next_id.fetch_add(1, Ordering::SeqCst));
        self.shared.latest.store(id.0, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Current(id, req));
        id
    }

    /// Warm the caches for something likely to be wanted soon.
    pub fn prefetch(&self, req: ImageRequest) {
        let _ = self.tx.send(Msg::Prefetch(req));
    }

    /// Nothing is wanted any more (the pane closed).
    pub fn cancel(&self) {
        let id = self.shared.next_id.fetch_add(1, Ordering::SeqCst);
        self.shared.latest.store(id, Ordering::SeqCst);
        let _ = self.tx.send(Msg::Cancel);
    }

    /// Whether `id` is still the current request (for the console's update).
    pub fn is_current(&self, id: RequestId) -> bool {
        self.shared.is_latest(id)
    }

    /// A preview available without any work (for drawing in the same frame).
    pub fn cached(&self, req: &ImageRequest) -> Option<Rendered> {
        self.shared.ready(req).and_then(Result::ok)
    }

    pub fn target(&self) -> RenderTarget {
        self.shared.target
    }

    pub fn terminal(&self) -> &TerminalImages {
        &self.shared.terminal
    }

    pub fn stats(&self) -> WorkerStats {
        let c = &self.shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let caches = self.shared.caches();
        WorkerStats {
            decoded: load(&c.decoded),
            encoded: load(&c.encoded),
            delivered: load(&c.delivered),
            superseded: load(&c.superseded),
            cache_hits: load(&c.cache_hits),
            kitty_replaced: load(&c.kitty_replaced),
            prefetched: load(&c.prefetched),
            decoded_bytes: caches.decoded.bytes(),
            encoded_bytes: caches.encoded.bytes(),
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    events: mpsc::Sender<ImageEvent>,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<bool>();
    let mut pending: Option<(RequestId, ImageRequest, Instant)> = None;
    let mut last_request: Option<Instant> = None;
    let mut prefetch: VecDeque<ImageRequest> = VecDeque::new();
    let mut current_running = 0usize;
    let mut prefetch_running = false;

    loop {
        // Start a prefetch only when nothing current is waiting or running.
        if pending.is_none() && current_running == 0 && !prefetch_running {
            while let Some(req) = prefetch.pop_front() {
                if shared.ready(&req).is_some() {
                    continue;
                }
                prefetch_running = true;
                let (s, done) = (shared.clone(), done_tx.clone());
                tokio::spawn(async move {
                    let s2 = s.clone();
                    let _ = tokio::task::spawn_blocking(move || s2.work(&req, None)).await;
                    bump(&s.counters.prefetched);
                    let _ = done.send(false);
                });
                break;
            }
        }

        let wake = pending.as_ref().map(|p| p.2);
        tokio::select! {
            msg = rx.recv() => {
                let Some(msg) = msg else { break };
                match msg {
                    Msg::Current(id, req) => {
                        let now = Instant::now();
                        let repeat = last_request
                            .is_some_and(|t| now.duration_since(t) < shared.config.debounce);
                        last_request = Some(now);
                        if let Some(ready) = shared.ready(&req) {
                            pending = None;
                            deliver(&shared, &events, id, req.sha256, ready).await;
                            continue;
                        }
                        let start = if repeat { now + shared.config.debounce } else { now };
                        pending = Some((id, req, start));
                    }
                    Msg::Prefetch(req) => {
                        if !prefetch.iter().any(|p| p.sha256 == req.sha256 && p.area == req.area && p.view == req.view) {
                            prefetch.push_back(req);
                            while prefetch.len() > shared.config.prefetch_queue {
                                prefetch.pop_front();
                            }
                        }
                    }
                    Msg::Cancel => pending = None,
                }
            }
            _ = sleep_until(wake), if wake.is_some() => {
                let Some((id, req, _)) = pending.take() else { continue };
                if !shared.is_latest(id) {
                    bump(&shared.counters.superseded);
                    continue;
                }
                current_running += 1;
                let (s, ev, done) = (shared.clone(), events.clone(), done_tx.clone());
                tokio::spawn(async move {
                    let s2 = s.clone();
                    let req2 = req.clone();
                    let out = tokio::task::spawn_blocking(move || s2.work(&req2, Some(id))).await;
                    match out {
                        Ok(Some(result)) => deliver(&s, &ev, id, req.sha256, result).await,
                        Ok(None) => bump(&s.counters.superseded),
                        Err(join) => {
                            // A panic in a codec must not take the console
                            // down; report it as a broken image.
                            let e = ImageError::Encode {
                                protocol: s.target.protocol,
                                message: format!("worker failed: {join}"),
                            };
                            deliver(&s, &ev, id, req.sha256, Err(e)).await;
                        }
                    }
                    let _ = done.send(true);
                });
            }
            Some(was_current) = done_rx.recv() => {
                if was_current {
                    current_running = current_running.saturating_sub(1);
                } else {
                    prefetch_running = false;
                }
            }
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    if let Some(t) = t {
        tokio::time::sleep_until(t).await;
    }
}

async fn deliver(
    shared: &Shared,
    events: &mpsc::Sender<ImageEvent>,
    id: RequestId,
    sha256: ContentHash,
    result: Result<Rendered, ImageError>,
) {
    if !shared.is_latest(id) {
        bump(&shared.counters.superseded);
        return;
    }
    bump(&shared.counters.delivered);
    let _ = events.send(ImageEvent { id, sha256, result }).await;
}
