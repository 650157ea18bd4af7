//! Actions (what happened) and effects (what to do about it).

use chrono::{DateTime, Utc};

use crate::api::client::StreamEvent;
use crate::api::dto::{
    AuditList, CandidateDetail, CandidateList, CandidateQuery, ClaimDto, DecisionResponse,
    ImageActionResponse, MeResponse, RevealResponse, SessionResponse, UndoResponse,
};
use crate::api::error::ApiError;

use super::keys::KeyAction;
use super::state::{Op, OutboxEntry, Refusal};
use crate::outbox::Tracked;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Key(KeyAction),
    /// The clock: drives claim renewal, retries and ages in the queue.
    Tick(DateTime<Utc>),
    Resize(u16, u16),
    /// Bracketed paste into the focused text field.
    Paste(String),
    LoginDone(Result<Box<SessionResponse>, ApiError>),
    MeDone(Result<Box<MeResponse>, ApiError>),
    PageDone {
        req: u64,
        result: Result<Box<CandidateList>, ApiError>,
    },
    DetailDone {
        req: u64,
        id: i64,
        result: Result<Box<CandidateDetail>, ApiError>,
    },
    AuditDone {
        id: i64,
        result: Result<AuditList, ApiError>,
    },
    ClaimDone {
        id: i64,
        result: Result<Option<ClaimDto>, ApiError>,
    },
    OpDone {
        op: u64,
        result: Result<OpOk, ApiError>,
    },
    RevealDone {
        id: i64,
        result: Result<RevealResponse, ApiError>,
    },
    Stream(StreamEvent),
    /// The journal for this server and reviewer was opened: its live
    /// entries (pending and refused), oldest first; or why it could not be.
    OutboxLoaded(Result<Vec<Tracked>, String>),
    /// Writing the journal failed: decisions are in memory only.
    JournalFailed(String),
    /// `:export` wrote (path, rows, withheld), or why not.
    ExportDone(Result<(String, usize, i64), String>),
    StatsDone(Result<Box<crate::api::reports::StatsResponse>, ApiError>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum OpOk {
    Image(Box<ImageActionResponse>),
    Decision(Box<DecisionResponse>),
    Feedback,
    Undo(Box<UndoResponse>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Login {
        username: String,
        password: String,
    },
    /// Validate the token we start with (GET /me).
    CheckToken,
    SaveToken {
        token: String,
        expires_at: DateTime<Utc>,
    },
    ForgetToken,
    FetchPage {
        req: u64,
        query: CandidateQuery,
    },
    LoadCandidate {
        req: u64,
        id: i64,
    },
    LoadAudit {
        id: i64,
    },
    Claim {
        id: i64,
        idem: String,
    },
    Release {
        id: i64,
    },
    /// Write to the outbox journal (fsync) before anything is sent.
    Journal(JournalOp),
    Send(Box<Op>),
    Reveal {
        id: i64,
        idem: String,
    },
    /// (Re)start the event-stream reader.
    StartEvents,
    /// Write the follow-up list of `state` as CSV (column titles in `lang`).
    Export {
        state: String,
        lang: crate::lang::Lang,
    },
    LoadStats {
        stale_days: u32,
    },
    Logout,
    Quit,
}

/// What to write to the outbox journal. Run in order with the other
/// effects, so a `Put` is on disk before the `Send` that follows it.
#[derive(Debug, Clone, PartialEq)]
pub enum JournalOp {
    /// Open (or switch to) the journal of this server and reviewer.
    Open {
        server: String,
        reviewer: String,
    },
    Put(Box<OutboxEntry>),
    Rebase {
        key: String,
        expected_version: i64,
    },
    Confirm {
        key: String,
    },
    Refuse {
        key: String,
        refusal: Refusal,
    },
    /// A refused entry dismissed, or a pending one taken back unsent.
    Remove {
        key: String,
    },
}
