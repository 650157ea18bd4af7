//! The two reports from the console: `:export` writes the current tab's
//! follow-up list as CSV (the effect names the file), `:stats` opens the
//! overview of the reviewer's scope.

use crate::api::error::ApiError;
use crate::app::action::Effect;
use crate::app::state::*;

use super::session::api_error;
use super::{error, info, ok};

/// Awaiting items older than this are counted as stale in the overview.
pub const STALE_DAYS: u32 = 3;

pub(super) fn export(s: &mut State) -> Vec<Effect> {
    info(s, StatusMsg::Exporting);
    vec![Effect::Export {
        state: s.queue.tab.status().as_str().to_string(),
        lang: s.lang,
    }]
}

pub(super) fn export_done(s: &mut State, r: Result<(String, usize, i64), String>) -> Vec<Effect> {
    match r {
        Ok((path, rows, withheld)) => ok(
            s,
            StatusMsg::Exported {
                path,
                rows,
                withheld,
            },
        ),
        Err(e) => error(s, StatusMsg::ExportFailed(e)),
    }
    vec![]
}

pub(super) fn stats(s: &mut State) -> Vec<Effect> {
    s.report = None;
    s.overlay = Some(Overlay::Stats);
    vec![Effect::LoadStats {
        stale_days: STALE_DAYS,
    }]
}

pub(super) fn stats_done(
    s: &mut State,
    r: Result<Box<crate::api::reports::StatsResponse>, ApiError>,
) -> Vec<Effect> {
    match r {
        Ok(st) => {
            s.report = Some(st);
            vec![]
        }
        Err(e) => {
            if s.overlay == Some(Overlay::Stats) {
                s.overlay = None;
            }
            api_error(s, e)
        }
    }
}
