//! Persistence behind a trait, with two engines: SQLite (`sqlite/`, the
//! embedded default) and PostgreSQL (`postgres/`); `any.rs` picks one. Every method is one unit of work: it loads what it needs,
//! asks the domain state machines what may happen, and writes the result,
//! the audit event and any feedback in one transaction.

mod any;
pub mod migrations;
pub mod phash_index;
pub mod postgres;
mod queue_page;
pub(crate) mod row;
pub mod sqlite;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;

use crate::api::dto::{
    AuditEventDto, CandidateDetail, CandidateImageDto, CandidateList, CandidateSelf, ClaimDto,
    DecisionResponse, FeedbackDto, ImageActionResponse, QueueEvent, RevealResponse, ReviewerDto,
    UndoResponse,
};
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::image::ImageTransitionError;
use crate::domain::imaging::Format;
use crate::domain::quality::QualityReport;
use crate::domain::reason::ReasonError;
use crate::domain::review::{Decision, Level, ReviewStatus, ReviewTransitionError, Reviews};
use crate::domain::rules::{ReviewWindow, UploadError};

pub use any::{AnyStore, DbTarget};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Absent, or outside the caller's scope (which must look the same).
    #[error("not found")]
    NotFound,
    #[error("stale version (current {current_version})")]
    Stale {
        changed_by: Option<String>,
        changed_at: Option<DateTime<Utc>>,
        current_version: i64,
    },
    #[error("claimed by {held_by}")]
    Claimed {
        held_by: String,
        held_until: DateTime<Utc>,
    },
    #[error("wrong level: {0}")]
    WrongLevel(String),
    #[error(transparent)]
    Image(ImageTransitionError),
    #[error(transparent)]
    Review(ReviewTransitionError),
    #[error("{0} unlocked image(s)")]
    UnlockedImages(i64),
    #[error("undo conflict: {0}")]
    UndoConflict(String),
    #[error("not undoable: {0}")]
    NotUndoable(String),
    /// The undo window has closed: the action is final.
    #[error("undo window closed: {0}")]
    UndoWindowClosed(String),
    #[error("nothing uploaded")]
    NothingUploaded,
    #[error(transparent)]
    Reasons(#[from] ReasonError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error("{code}: {detail}")]
    Invalid { code: &'static str, detail: String },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    /// A read on SQLite's own thread-free path (`sqlite/direct.rs`).
    #[error("database (direct read): {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> StoreError {
        StoreError::Corrupt(e.to_string())
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A signed-in reviewer and their scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerInfo {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub level: Level,
    pub district: String,
    /// Some for a site reviewer.
    pub site: Option<String>,
}

impl ReviewerInfo {
    /// Whether a candidate of (district, site) is in this reviewer's scope.
    pub fn sees(&self, district: &str, site: &str) -> bool {
        self.district == district && self.site.as_deref().is_none_or(|s| s == site)
    }

    pub fn to_dto(&self) -> ReviewerDto {
        ReviewerDto {
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            level: self.level,
            district: self.district.clone(),
            site: self.site.clone(),
        }
    }
}

/// Who a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Reviewer(i64),
    Candidate(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub subject: Subject,
    pub expires_at: DateTime<Utc>,
    pub revoked: bool,
}

/// A page request of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub state: Option<ReviewStatus>,
    pub q: Option<String>,
    /// Keyset position: (sort_at ms, id) of the last item seen.
    pub after: Option<(i64, i64)>,
    pub limit: u32,
    /// From the end backwards (the cursor then continues backwards).
    pub descending: bool,
}

/// A page of the queue and the keyset position after it.
#[derive(Debug, Clone)]
pub struct ListPage {
    pub list: CandidateList,
    pub next: Option<(i64, i64)>,
}

/// Lock or unlock an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Lock,
    Unlock {
        reasons: Vec<String>,
        note: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    pub level: Level,
    pub decision: Decision,
    pub reasons: Vec<String>,
    pub note: Option<String>,
}

/// Common facts of one mutating call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ctx {
    pub now: DateTime<Utc>,
    pub idempotency_key: Option<String>,
    /// Expected version (image or candidate, by operation).
    pub expected_version: Option<i64>,
    /// Where a judging action (lock, unlock, decision, feedback, undo)
    /// stores its answer, inside its own savepoint: a crash between its
    /// commit and the answer then still leaves the answer to replay.
    pub replay: Option<ReplaySlot>,
}

/// The idempotency layer's slot for a keyed request: whose, which
/// (method, path, key), and the request's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaySlot {
    pub actor: String,
    pub key: String,
    pub fingerprint: String,
}

/// A change to broadcast on the queue's event stream, with the scope that
/// may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its number in the event log (commit order); 0 for a replayed
    /// answer, which changed nothing and is not in the log.
    pub seq: i64,
    pub district: String,
    pub site: String,
    pub event: QueueEvent,
}

impl Change {
    /// Not a change: tells every stream to read the log (a listener that
    /// may have missed notifications). Its number is past any real one,
    /// so a stream never takes it for the next change.
    pub fn wake() -> Change {
        Change {
            seq: i64::MAX,
            district: String::new(),
            site: String::new(),
            event: QueueEvent {
                candidate_id: 0,
                version: 0,
                site_review: ReviewStatus::NotStarted,
                district_review: ReviewStatus::NotStarted,
                claim: None,
                actor: String::new(),
                action: String::new(),
                at: DateTime::<Utc>::UNIX_EPOCH,
            },
        }
    }
}

/// How many of the newest events the log keeps: a console away for longer
/// (about a day of a busy district) is told to reload instead.
pub const RETAINED_EVENTS: i64 = 100_000;

/// A slice of the event log, and the range the log holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLog {
    pub changes: Vec<Change>,
    /// The oldest and newest numbers still in the log (0 when empty).
    pub oldest: i64,
    pub newest: i64,
}

/// Where an image's bytes are: their hash (the key in the blob store,
/// `server::blobs`) and the format recorded at upload. The database keeps
/// no image bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub format: Format,
    pub sha256: String,
}

/// An upload that passed the byte-level checks and was analysed; its bytes
/// are already in the blob store under `sha256` (the store checks them
/// again and records their metadata).
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub category: MaterialCategory,
    pub slot: Option<u8>,
    pub bytes: Vec<u8>,
    pub sha256: String,
    pub report: QualityReport,
}

/// A stored response of a mutating call, for `Idempotency-Key` replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub fingerprint: String,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// What the candidate needs to log in.
#[derive(Debug, Clone)]
pub struct CandidateCredentials {
    pub id: i64,
    pub reg_no: String,
    pub password_hash: String,
}

pub trait Store: Send + Sync + 'static {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>>;
    fn is_empty(&self) -> BoxFuture<'_, StoreResult<bool>>;

    // ------------------------------------------------------------ auth
    fn reviewer_credentials<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<(ReviewerInfo, String)>>>;
    fn reviewer(&self, id: i64) -> BoxFuture<'_, StoreResult<Option<ReviewerInfo>>>;
    fn candidate_credentials<'a>(
        &'a self,
        reg_no: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<CandidateCredentials>>>;
    fn insert_token<'a>(
        &'a self,
        token_hash: &'a str,
        subject: Subject,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    fn token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<Option<TokenRecord>>>;
    fn revoke_token<'a>(&'a self, token_hash: &'a str) -> BoxFuture<'a, StoreResult<()>>;

    /// Failed logins of `key` since `since`: how many, and the oldest.
    fn login_failures<'a>(
        &'a self,
        key: &'a str,
        since: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(u32, Option<DateTime<Utc>>)>>;
    /// Record a failed login of `key` at `at`; failures of any key before
    /// `forget_before` may go.
    fn record_login_failure<'a>(
        &'a self,
        key: &'a str,
        at: DateTime<Utc>,
        forget_before: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;
    /// A successful login clears the key's failures.
    fn clear_login_failures<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<()>>;

    // ------------------------------------------------------------ idempotency
    fn stored_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<StoredResponse>>>;
    fn store_response<'a>(
        &'a self,
        actor: &'a str,
        key: &'a str,
        response: &'a StoredResponse,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<()>>;

    // ------------------------------------------------------------ reviewer side
    fn list_candidates<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        query: ListQuery,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<ListPage>>;
    fn candidate_detail<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateDetail>>;
    fn image_blob<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
    ) -> BoxFuture<'a, StoreResult<BlobRef>>;
    fn judge_image<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        image_id: i64,
        judgement: Judgement,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(ImageActionResponse, Change)>>;
    fn decide<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        input: DecisionInput,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(DecisionResponse, Change)>>;
    fn claim<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<(ClaimDto, Change)>>;
    fn release<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<Option<Change>>>;
    fn add_feedback<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        channel: FeedbackChannel,
        body: String,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<FeedbackDto>>;
    fn audit<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
    ) -> BoxFuture<'a, StoreResult<Vec<AuditEventDto>>>;
    fn undo<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        event_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(UndoResponse, Change)>>;
    fn reveal<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        candidate_id: i64,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<RevealResponse>>;

    // ------------------------------------------------------------ events
    /// Up to `limit` logged changes after `after`, in order, of every scope
    /// (the stream filters them), and the log's range.
    fn events_after(&self, after: i64, limit: u32) -> BoxFuture<'_, StoreResult<EventLog>>;

    // ------------------------------------------------------------ reports
    /// The follow-up list of `state` at the caller's level: only candidates
    /// whose actions are past their undo window, which this makes final.
    fn follow_up<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        state: ReviewStatus,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::FollowUpList>>;
    /// The overview of the caller's scope, per site.
    fn stats<'a>(
        &'a self,
        who: &'a ReviewerInfo,
        stale_days: u32,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<crate::api::reports::StatsResponse>>;

    // ------------------------------------------------------------ candidate side
    fn candidate_reviews(&self, candidate_id: i64) -> BoxFuture<'_, StoreResult<Reviews>>;
    fn candidate_self<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, StoreResult<CandidateSelf>>;
    fn candidate_blob(
        &self,
        candidate_id: i64,
        image_id: i64,
    ) -> BoxFuture<'_, StoreResult<BlobRef>>;
    fn upload<'a>(
        &'a self,
        candidate_id: i64,
        upload: NewUpload,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateImageDto, Change)>>;
    fn delete_image<'a>(
        &'a self,
        candidate_id: i64,
        image_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<Change>>;
    fn submit<'a>(
        &'a self,
        candidate_id: i64,
        window: &'a ReviewWindow,
        ctx: Ctx,
    ) -> BoxFuture<'a, StoreResult<(CandidateSelf, Change)>>;
}
