//! The wire types of the two reports (shared by server and console like
//! `dto`): the follow-up list (whom to call, and why) and the overview
//! of a scope (per site: counts, stale items, pace, the window).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{Counts, WindowDto};
use crate::domain::category::MaterialCategory;
use crate::domain::review::{Level, ReviewStatus};

/// Body of `POST /api/v1/follow-up`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpRequest {
    /// awaiting_review | pending | passed | rejected | returned |
    /// not_started (the state at the caller's level). Default: pending, the
    /// people to call.
    #[serde(default)]
    #[schema(value_type = Option<ReviewStatus>)]
    pub state: Option<String>,
}

/// An image the candidate must replace, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpImage {
    pub category: MaterialCategory,
    pub slot: u8,
    pub reasons: Vec<String>,
    pub note: Option<String>,
}

/// One person to follow up with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpRow {
    pub candidate_id: i64,
    pub reg_no: String,
    pub name: String,
    /// Masked (`3201**********1234`).
    pub id_number: String,
    /// In full: the list is for calling.
    pub phone: String,
    pub site: String,
    /// The state at the caller's level.
    pub state: ReviewStatus,
    /// Reasons of that level's decision (codes).
    pub reasons: Vec<String>,
    pub note: Option<String>,
    pub reviewer: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Images to replace (未锁定 with a request).
    pub images: Vec<FollowUpImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FollowUpList {
    pub state: ReviewStatus,
    pub level: Level,
    pub generated_at: DateTime<Utc>,
    pub items: Vec<FollowUpRow>,
    /// Candidates of the state left out because an action on them can still
    /// be undone: they appear once their undo window has closed.
    pub withheld: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Awaiting items older than this many days are counted as stale
    /// (default 3; at most 365).
    #[param(minimum = 0, maximum = 365)]
    pub stale_days: Option<u32>,
}

/// Decisions made on one day (China time), at the caller's level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayCount {
    pub day: NaiveDate,
    pub decisions: i64,
}

/// One site (or the whole scope, as `total`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SiteStats {
    /// The site's name; "" for the total.
    pub site: String,
    /// By the site's state (what the site reviewer's queue counts).
    pub site_counts: Counts,
    /// By the district's state (what the district's queue counts).
    pub district_counts: Counts,
    /// Awaiting review at the caller's level for longer than `stale_days`.
    pub stale: i64,
    /// The last seven days, oldest first, at the caller's level.
    pub per_day: Vec<DayCount>,
    /// Mean decisions a day over those seven days.
    pub pace: f64,
    /// Still to decide at the caller's level (a district also counts what
    /// its sites have not passed yet).
    pub remaining: i64,
    /// At the current pace; None when nothing was decided lately.
    pub days_needed: Option<f64>,
    /// Done, or on course to be done before the window closes.
    pub on_track: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatsResponse {
    pub generated_at: DateTime<Utc>,
    pub level: Level,
    pub stale_days: u32,
    pub window: WindowDto,
    pub sites: Vec<SiteStats>,
    pub total: SiteStats,
}
