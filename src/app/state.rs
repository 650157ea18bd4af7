//! Everything the console knows. `update` is the only writer; `ui` reads.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use crate::api::dto::{
    AuditEventDto, CandidateDetail, CandidateSummary, Counts, ImageDto, ReviewerDto, WindowDto,
};
use crate::api::error::ApiError;
use crate::domain::audit::FeedbackChannel;
use crate::domain::image::Verdict;
use crate::domain::reason::ReasonCode;
use crate::domain::review::{Decision, Level, ReviewStatus};

use super::keys::{Keymap, Mode};

pub use crate::outbox::{ImageRef, OpKind, OutboxEntry, Refusal};

use crate::lang::Lang;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub reviewer: ReviewerDto,
    pub window: WindowDto,
    pub expires_at: DateTime<Utc>,
    /// The server's undo window (seconds): the reject confirmation says it.
    pub undo_secs: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Before the first session.
    Login,
    Queue,
    Candidate,
    /// The current image full-screen.
    Zoom,
}

/// The queue's state filter (tabs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Awaiting,
    Pending,
    Passed,
    Rejected,
    Returned,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::Awaiting,
        Tab::Pending,
        Tab::Passed,
        Tab::Rejected,
        Tab::Returned,
    ];

    pub fn status(self) -> ReviewStatus {
        match self {
            Tab::Awaiting => ReviewStatus::AwaitingReview,
            Tab::Pending => ReviewStatus::Pending,
            Tab::Passed => ReviewStatus::Passed,
            Tab::Rejected => ReviewStatus::Rejected,
            Tab::Returned => ReviewStatus::Returned,
        }
    }

    pub fn count(self, c: &Counts) -> i64 {
        match self {
            Tab::Awaiting => c.awaiting_review,
            Tab::Pending => c.pending,
            Tab::Passed => c.passed,
            Tab::Rejected => c.rejected,
            Tab::Returned => c.returned,
        }
    }
}

pub fn count_mut(c: &mut Counts, s: ReviewStatus) -> Option<&mut i64> {
    match s {
        ReviewStatus::AwaitingReview => Some(&mut c.awaiting_review),
        ReviewStatus::Pending => Some(&mut c.pending),
        ReviewStatus::Passed => Some(&mut c.passed),
        ReviewStatus::Rejected => Some(&mut c.rejected),
        ReviewStatus::Returned => Some(&mut c.returned),
        ReviewStatus::NotStarted => Some(&mut c.not_started),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Unknown,
    Connected,
    Reconnecting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginField {
    #[default]
    Username,
    Password,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub focus: LoginField,
    pub busy: bool,
    pub error: Option<StatusMsg>,
    /// Checking a stored token failed for want of a connection: retry then.
    pub retry_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub tab: Tab,
    pub query: String,
    pub rows: Vec<CandidateSummary>,
    pub next_cursor: Option<String>,
    /// The request id of the page being fetched, and whether it restarts.
    pub loading: Option<(u64, bool)>,
    pub counts_req: Option<u64>,
    /// An event told us counts changed for a row we do not hold.
    pub counts_stale_since: Option<DateTime<Utc>>,
    pub selected: usize,
    pub offset: usize,
    pub counts: Counts,
    pub loaded: bool,
    /// Search as you type: the query changed at this time and is sent once
    /// typing pauses (see `update::queue::SEARCH_DEBOUNCE_MS`).
    pub search_due: Option<DateTime<Utc>>,
    /// The query before the search line opened (Esc puts it back).
    pub search_before: Option<String>,
    /// Where `rows[0]` is in the whole tab (`G` loads the end first).
    pub base: usize,
    /// Above `rows[0]` (after `G`): the cursor going backwards.
    pub prev_cursor: Option<String>,
    /// A backwards page in flight: (request, true: `G`'s jump to the end;
    /// false: the rows just above).
    pub loading_back: Option<(u64, bool)>,
}

impl Queue {
    pub fn new() -> Queue {
        Queue {
            tab: Tab::Awaiting,
            query: String::new(),
            rows: Vec::new(),
            next_cursor: None,
            loading: None,
            counts_req: None,
            counts_stale_since: None,
            selected: 0,
            offset: 0,
            counts: Counts::default(),
            loaded: false,
            search_due: None,
            search_before: None,
            base: 0,
            prev_cursor: None,
            loading_back: None,
        }
    }
}

impl Default for Queue {
    fn default() -> Self {
        Queue::new()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimState {
    Requesting,
    Mine {
        renewed_at: DateTime<Utc>,
    },
    HeldBy {
        who: String,
        until: Option<DateTime<Utc>>,
    },
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CandidateView {
    pub id: i64,
    /// What the queue row said, for the title while the dossier loads.
    pub summary: Option<CandidateSummary>,
    pub detail: Option<Box<CandidateDetail>>,
    pub loading: Option<u64>,
    /// Index into `images()`.
    pub image: usize,
    pub claim: ClaimState,
    pub panel: bool,
    pub audit: Option<Vec<AuditEventDto>>,
    pub revealed: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// Show this image once the dossier is (re)loaded (after an undo).
    pub focus_image: Option<i64>,
    /// Flagged images the reviewer confirmed locking anyway (asked once).
    pub flag_confirmed: Vec<i64>,
}

impl CandidateView {
    /// Every image of the dossier in display order (material, then slot).
    pub fn images(&self) -> Vec<&ImageDto> {
        self.detail
            .as_ref()
            .map(|d| d.materials.iter().flat_map(|m| m.images.iter()).collect())
            .unwrap_or_default()
    }

    pub fn current_image(&self) -> Option<&ImageDto> {
        self.images().get(self.image).copied()
    }

    pub fn image_mut(&mut self, image_id: i64) -> Option<&mut ImageDto> {
        self.detail.as_mut().and_then(|d| {
            d.materials
                .iter_mut()
                .flat_map(|m| m.images.iter_mut())
                .find(|i| i.id == image_id)
        })
    }

    pub fn name(&self) -> String {
        self.detail
            .as_ref()
            .map(|d| d.name.clone())
            .or_else(|| self.summary.as_ref().map(|s| s.name.clone()))
            .unwrap_or_else(|| format!("#{}", self.id))
    }

    /// (unreviewed, replace requested) image counts.
    pub fn open_work(&self) -> (usize, usize) {
        let imgs = self.images();
        (
            imgs.iter()
                .filter(|i| i.verdict == Verdict::Unreviewed)
                .count(),
            imgs.iter()
                .filter(|i| i.verdict == Verdict::ReplaceRequested)
                .count(),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickerPurpose {
    Unlock { image_id: i64 },
    Pending,
    Reject,
    Return,
}

impl PickerPurpose {
    pub fn decision(self) -> Option<Decision> {
        match self {
            PickerPurpose::Unlock { .. } => None,
            PickerPurpose::Pending => Some(Decision::Pending),
            PickerPurpose::Reject => Some(Decision::Reject),
            PickerPurpose::Return => Some(Decision::Return),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub purpose: PickerPurpose,
    pub options: Vec<&'static ReasonCode>,
    pub chosen: Vec<bool>,
    pub cursor: usize,
    pub note: String,
    pub note_focus: bool,
    pub error: Option<StatusMsg>,
}

impl Picker {
    pub fn codes(&self) -> Vec<String> {
        self.options
            .iter()
            .zip(&self.chosen)
            .filter(|(_, c)| **c)
            .map(|(r, _)| r.code.to_string())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmReject {
    pub candidate_id: i64,
    pub name: String,
    pub reasons: Vec<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Search,
    Palette,
    Feedback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    pub channel: FeedbackChannel,
}

/// Locking an image with quality hints: asked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfirmFlagged {
    pub image_id: i64,
    pub candidate_id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    Picker(Picker),
    Confirm(ConfirmReject),
    ConfirmFlagged(ConfirmFlagged),
    /// The overview of the scope (`:stats`), from `State::report`.
    Stats,
    Help {
        scroll: u16,
    },
    Input(Input),
    /// Leaving (quit, or log out) with decisions not yet sent: ask first.
    ConfirmLeave(ConfirmLeave),
    /// The decisions the server refused.
    Refused {
        cursor: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmLeave {
    pub unsent: usize,
    /// The unsent decisions are in the journal (sent on the next start)
    /// rather than lost.
    pub durable: bool,
    pub logout: bool,
}

/// A mutation waiting to be sent, or in flight. Sent one at a time, in
/// order, so each carries the version the previous one produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub id: u64,
    pub candidate_id: i64,
    /// For messages ("张三 已通过").
    pub name: String,
    pub kind: OpKind,
    /// Idempotency-Key: the same on every retry of this op.
    pub idem: String,
    /// Image version (image ops) or candidate version (decision).
    pub expected_version: i64,
    pub attempts: u32,
    /// Of those, answers that were the server's own failure (5xx): after
    /// [`MAX_SERVER_FAILURES`] the op goes to the refused list.
    pub server_failures: u32,
    pub retry_at: Option<DateTime<Utc>>,
    /// The image an image op is about (for the refused list).
    pub image: Option<ImageRef>,
    /// Sent at least once (or maybe, before a crash): its body is frozen,
    /// since the server refuses a key reused with another body.
    pub sent: bool,
    /// Came from the journal of an earlier run.
    pub replayed: bool,
}

impl Op {
    /// The journal's copy of this op.
    pub fn to_entry(&self, reviewer: &str, server: &str, now: DateTime<Utc>) -> OutboxEntry {
        OutboxEntry {
            key: self.idem.clone(),
            created_at: now,
            reviewer: reviewer.to_string(),
            server: server.to_string(),
            candidate_id: self.candidate_id,
            label: self.name.clone(),
            image: self.image.clone(),
            expected_version: self.expected_version,
            op: self.kind.clone(),
        }
    }

    /// An op of an earlier run, read back from the journal.
    pub fn from_entry(id: u64, e: &OutboxEntry) -> Op {
        Op {
            id,
            candidate_id: e.candidate_id,
            name: e.label.clone(),
            kind: e.op.clone(),
            idem: e.key.clone(),
            expected_version: e.expected_version,
            attempts: 0,
            server_failures: 0,
            retry_at: None,
            image: e.image.clone(),
            sent: false,
            replayed: true,
        }
    }
}

/// A decision the server keeps failing on (5xx, not a lost link) goes to the
/// refused list after this many answers, with the server's reason, rather
/// than being retried forever in silence.
pub const MAX_SERVER_FAILURES: u32 = 6;

/// A decision the server refused: shown until the reviewer dismisses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedOp {
    pub op: Op,
    pub refusal: Refusal,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outbox {
    pub items: VecDeque<Op>,
    pub in_flight: Option<u64>,
    pub next_id: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UndoEntry {
    pub audit_id: i64,
    pub candidate_id: i64,
    pub name: String,
    pub kind: OpKind,
    /// The image an image op was about (undo says which, and goes there).
    pub image: Option<ImageRef>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Ok,
    Warn,
    Error,
}

/// What the status bar says, structured so the ui words it in either
/// language (and tests can match on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMsg {
    Locked {
        left: usize,
    },
    AllAccepted,
    AlreadyAccepted,
    AlreadyUnlocked,
    Unlocked,
    Decided {
        name: String,
        decision: Decision,
    },
    NotAllAccepted {
        unreviewed: usize,
        replace: usize,
    },
    NotYourTurn,
    NoImages,
    Undone {
        name: String,
        kind: OpKind,
        image: Option<ImageRef>,
    },
    /// `:export` wrote the follow-up list.
    Exported {
        path: String,
        rows: usize,
        withheld: i64,
    },
    ExportFailed(String),
    Exporting,
    /// `/` on the candidate screen: the search is the queue's.
    SearchInQueue,
    Cancelled,
    NothingToUndo,
    UndoWait,
    FeedbackSent,
    FeedbackEmpty,
    Revealed,
    Conflict {
        who: Option<String>,
        at: Option<DateTime<Utc>>,
    },
    HeldBy {
        who: String,
        until: Option<DateTime<Utc>>,
    },
    ChangedBy {
        who: String,
    },
    SessionExpired,
    BadCredentials,
    LoggingIn,
    Offline {
        pending: usize,
    },
    Reconnected,
    /// The event stream went silent: the server is not answering.
    ServerSilent,
    Dropped {
        n: usize,
    },
    QueueEnd,
    QueueStart,
    NotFound,
    NeedReason,
    NeedNote,
    NoteTooLong,
    UnknownCommand(String),
    NotHere(String),
    Config(String),
    Api(ApiError),
    /// Decisions of an earlier run, read back from the journal, are being
    /// sent.
    Replaying {
        n: usize,
    },
    /// The journal could not be written: decisions are held in memory only.
    JournalFailed(String),
    RefusedDismissed {
        left: usize,
    },
    NoRefused,
    DistrictOnly,
    StillLoading,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub kind: StatusKind,
    pub msg: StatusMsg,
    pub at: DateTime<Utc>,
}

/// This session's pace, for the header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    pub decided: u32,
    pub seconds: Vec<i64>,
}

impl Stats {
    pub fn median(&self) -> Option<i64> {
        if self.seconds.is_empty() {
            return None;
        }
        let mut v = self.seconds.clone();
        v.sort_unstable();
        Some(v[v.len() / 2])
    }
}

/// The zoom view as the keys left it: steps, not pixels. The images engine
/// replays them against the image and pane size (which only it knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ZoomView {
    /// Zoom steps above "fit" (0 = the whole image).
    pub zoom: u8,
    /// Pan steps (a quarter of the visible width/height each).
    pub pan_x: i16,
    pub pan_y: i16,
    /// Quarter turns clockwise.
    pub rotation: u8,
    /// The 3×3 region last jumped to (1–9), 0 for none. Pans apply after it.
    pub region: u8,
    /// One source pixel per output pixel (reading small print).
    pub one_to_one: bool,
}

impl ZoomView {
    pub const FIT: ZoomView = ZoomView {
        zoom: 0,
        pan_x: 0,
        pan_y: 0,
        rotation: 0,
        region: 0,
        one_to_one: false,
    };
    /// As many steps as the images engine has (ZOOM_STEPS).
    pub const MAX_ZOOM: u8 = 8;
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub lang: Lang,
    pub keymap: Keymap,
    pub server: String,
    pub now: DateTime<Utc>,
    pub size: (u16, u16),
    pub screen: Screen,
    pub overlay: Option<Overlay>,
    /// The token expired: the login form is drawn over the current screen,
    /// which is kept as it was.
    pub relogin: bool,
    pub login: LoginForm,
    pub session: Option<Session>,
    pub conn: Conn,
    /// What `conn` is worked out from (stream up, last heard).
    pub live: super::liveness::Liveness,
    pub queue: Queue,
    pub cand: Option<CandidateView>,
    pub zoom: ZoomView,
    pub outbox: Outbox,
    /// Refused decisions, oldest first, until dismissed.
    pub refused: Vec<RefusedOp>,
    /// The outbox journal is open: unsent decisions survive a crash.
    pub durable: bool,
    pub undo: Vec<UndoEntry>,
    /// The entry an undo in flight takes back (audit id, what, which image).
    pub undone: Option<(i64, OpKind, Option<ImageRef>)>,
    pub status: Option<Status>,
    pub stats: Stats,
    pub next_req: u64,
    /// Set by update when something visible changed; the loop clears it.
    pub dirty: bool,
    pub quit: bool,
    /// Store the token after a successful login (not in demo/automation).
    pub remember_token: bool,
    /// The status bar shows the bytes each navigation step sent to the
    /// terminal (`show_bytes` in the config, or the command of that name).
    pub show_bytes: bool,
    /// Ask before locking an image with quality hints (config
    /// `confirm_flagged_lock`).
    pub confirm_flagged: bool,
    /// Glyphs every terminal font has (config `glyphs`, or detected).
    pub ascii_glyphs: bool,
    /// The overview `:stats` shows (None while it loads).
    pub report: Option<Box<crate::api::reports::StatsResponse>>,
}

impl State {
    pub fn new(lang: Lang, keymap: Keymap, server: String, now: DateTime<Utc>) -> State {
        State {
            lang,
            keymap,
            server,
            now,
            size: (80, 24),
            screen: Screen::Login,
            overlay: None,
            relogin: false,
            login: LoginForm::default(),
            session: None,
            conn: Conn::Unknown,
            live: super::liveness::Liveness::default(),
            queue: Queue::new(),
            cand: None,
            zoom: ZoomView::FIT,
            outbox: Outbox::default(),
            refused: Vec::new(),
            durable: false,
            undo: Vec::new(),
            undone: None,
            status: None,
            stats: Stats::default(),
            next_req: 1,
            dirty: true,
            quit: false,
            remember_token: true,
            show_bytes: false,
            confirm_flagged: true,
            ascii_glyphs: false,
            report: None,
        }
    }

    /// The screen's mode, without overlays.
    pub fn base_mode(&self) -> Mode {
        match self.screen {
            Screen::Login => Mode::Login,
            Screen::Queue => Mode::Queue,
            Screen::Candidate => Mode::Candidate,
            Screen::Zoom => Mode::Zoom,
        }
    }

    /// Where the keyboard is.
    pub fn mode(&self) -> Mode {
        // The question about leaving is asked over the login form too.
        if matches!(self.overlay, Some(Overlay::ConfirmLeave(_))) {
            return Mode::Confirm;
        }
        if self.relogin || self.screen == Screen::Login {
            return Mode::Login;
        }
        match &self.overlay {
            Some(Overlay::Picker(p)) if p.note_focus => Mode::PickerNote,
            Some(Overlay::Picker(_)) => Mode::Picker,
            Some(Overlay::Confirm(_)) | Some(Overlay::ConfirmFlagged(_)) => Mode::Confirm,
            Some(Overlay::Help { .. }) | Some(Overlay::Stats) => Mode::Help,
            Some(Overlay::Input(_)) => Mode::Input,
            Some(Overlay::Refused { .. }) => Mode::Refused,
            Some(Overlay::ConfirmLeave(_)) => Mode::Confirm,
            None => self.base_mode(),
        }
    }

    pub fn level(&self) -> Option<Level> {
        self.session.as_ref().map(|s| s.reviewer.level)
    }

    pub fn username(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.reviewer.username.as_str())
    }

    /// Ops not yet acknowledged by the server (the "⟳ n 待发送" figure).
    pub fn unsent(&self) -> usize {
        self.outbox.items.len()
    }

    pub fn req(&mut self) -> u64 {
        let r = self.next_req;
        self.next_req += 1;
        r
    }

    /// A popup covers part of the image pane (sixel/iTerm2 must hide it).
    pub fn popup_open(&self) -> bool {
        self.overlay.is_some() || self.relogin
    }
}
