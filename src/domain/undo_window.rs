//! The undo window: how long a reviewer's action stays theirs to take back.
//!
//! Messages an action writes to the candidate's page appear at once and are
//! withdrawn by an undo. Anything that leaves the system (an SMS, a phone
//! list) must not go out while the action can still be undone, so those
//! wait until the window closes: `DEFAULT` after the action, or when the
//! reviewer leaves the candidate, whichever is later. Once something has
//! gone out (the action is *released*), the window is closed for good.

use chrono::{DateTime, Duration, Utc};

/// The server's default; `shenhe serve --undo-window SECS` changes it.
pub const DEFAULT: Duration = Duration::minutes(2);

/// What decides whether an action may still be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// When the action was made.
    pub at: DateTime<Utc>,
    /// The reviewer who made it is still on the candidate (holds a live
    /// claim on it).
    pub actor_present: bool,
    /// Its effect has left the system (exported, sent).
    pub released: bool,
}

/// Whether the action may still be undone at `now`.
pub fn is_open(f: Facts, now: DateTime<Utc>, window: Duration) -> bool {
    !f.released && (now < f.at + window || f.actor_present)
}

/// Whether the action is final: its effects may leave the system.
pub fn is_final(f: Facts, now: DateTime<Utc>, window: Duration) -> bool {
    !is_open(f, now, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(secs_ago: i64, present: bool, released: bool) -> (Facts, DateTime<Utc>) {
        let now = Utc::now();
        (
            Facts {
                at: now - Duration::seconds(secs_ago),
                actor_present: present,
                released,
            },
            now,
        )
    }

    #[test]
    fn the_later_of_two_minutes_and_leaving() {
        // Within two minutes: open, whether the reviewer stayed or left.
        for present in [false, true] {
            let (f, now) = facts(119, present, false);
            assert!(is_open(f, now, DEFAULT));
        }
        // After two minutes: open only while the reviewer is still there.
        let (f, now) = facts(121, true, false);
        assert!(is_open(f, now, DEFAULT));
        let (f, now) = facts(121, false, false);
        assert!(is_final(f, now, DEFAULT));
        // At exactly two minutes it has closed.
        let (f, now) = facts(120, false, false);
        assert!(is_final(f, now, DEFAULT));
    }

    #[test]
    fn released_is_final_for_good() {
        for (ago, present) in [(0, false), (0, true), (500, true)] {
            let (f, now) = facts(ago, present, true);
            assert!(is_final(f, now, DEFAULT), "{ago} {present}");
        }
    }
}
