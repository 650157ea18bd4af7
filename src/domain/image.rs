//! The image state machine: lock (已锁定 / 未锁定) and verdict.

use serde::{Deserialize, Serialize};

/// 已锁定 / 未锁定, as the candidate sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Lock {
    Locked,
    Unlocked,
}

/// The reviewer's judgement of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Unreviewed,
    Accepted,
    ReplaceRequested,
}

/// Where an image is in its life. Lock and verdict are derived from it, so
/// an image can never be both accepted and unlocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum ImagePhase {
    /// Uploaded, the candidate has not submitted yet.
    Draft,
    /// Submitted and locked, nobody has judged it.
    Submitted,
    /// Locked and accepted by a reviewer.
    Accepted,
    /// Unlocked by a reviewer; the candidate must replace it.
    ReplaceRequested {
        /// Verdict to restore if the reviewer locks it again unreplaced.
        was_accepted: bool,
        /// The candidate has uploaded a new generation since.
        replaced: bool,
    },
}

impl ImagePhase {
    pub fn lock(self) -> Lock {
        match self {
            ImagePhase::Draft | ImagePhase::ReplaceRequested { .. } => Lock::Unlocked,
            ImagePhase::Submitted | ImagePhase::Accepted => Lock::Locked,
        }
    }

    pub fn verdict(self) -> Verdict {
        match self {
            ImagePhase::Draft | ImagePhase::Submitted => Verdict::Unreviewed,
            ImagePhase::Accepted => Verdict::Accepted,
            ImagePhase::ReplaceRequested { .. } => Verdict::ReplaceRequested,
        }
    }

    /// Every phase, for exhaustive tests and for the store's decoding.
    pub const ALL: [ImagePhase; 7] = [
        ImagePhase::Draft,
        ImagePhase::Submitted,
        ImagePhase::Accepted,
        ImagePhase::ReplaceRequested {
            was_accepted: false,
            replaced: false,
        },
        ImagePhase::ReplaceRequested {
            was_accepted: true,
            replaced: false,
        },
        ImagePhase::ReplaceRequested {
            was_accepted: false,
            replaced: true,
        },
        ImagePhase::ReplaceRequested {
            was_accepted: true,
            replaced: true,
        },
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageEvent {
    /// Reviewer accepts (or re-locks an unreplaced unlocked image).
    Lock,
    /// Reviewer asks for a replacement (reasons are checked elsewhere).
    Unlock,
    /// Candidate uploads a new generation into the image's slot.
    Replace,
    /// Candidate submits (first time or after replacing).
    Submit,
    /// Candidate removes the image.
    Delete,
}

impl ImageEvent {
    pub const ALL: [ImageEvent; 5] = [
        ImageEvent::Lock,
        ImageEvent::Unlock,
        ImageEvent::Replace,
        ImageEvent::Submit,
        ImageEvent::Delete,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ImageTransitionError {
    #[error("the candidate has not submitted this image yet")]
    NotSubmitted,
    #[error("the image is already locked and accepted")]
    AlreadyAccepted,
    #[error("the image is already unlocked")]
    AlreadyUnlocked,
    #[error("the image is locked (已锁定) and cannot be changed")]
    Locked,
    #[error("the candidate has replaced this image; it can be judged after resubmission")]
    AwaitingResubmission,
    #[error("this image must be replaced before submitting")]
    NotReplaced,
}

/// What an event does to an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageOutcome {
    Phase(ImagePhase),
    /// The image is gone (candidate deleted it).
    Removed,
}

/// The table. Every (phase, event) pair has a result or a typed error.
pub fn transition(
    phase: ImagePhase,
    event: ImageEvent,
) -> Result<ImageOutcome, ImageTransitionError> {
    use ImageEvent as E;
    use ImageOutcome::{Phase as P, Removed};
    use ImagePhase as S;
    use ImageTransitionError as Err;
    match (phase, event) {
        (S::Draft, E::Lock | E::Unlock) => Result::Err(Err::NotSubmitted),
        (S::Draft, E::Replace) => Ok(P(S::Draft)),
        (S::Draft, E::Submit) => Ok(P(S::Submitted)),
        (S::Draft, E::Delete) => Ok(Removed),

        (S::Submitted, E::Lock) => Ok(P(S::Accepted)),
        (S::Submitted, E::Unlock) => Ok(P(S::ReplaceRequested {
            was_accepted: false,
            replaced: false,
        })),
        // A resubmission leaves locked images as they are.
        (S::Submitted, E::Submit) => Ok(P(S::Submitted)),
        (S::Submitted, E::Replace | E::Delete) => Result::Err(Err::Locked),

        (S::Accepted, E::Lock) => Result::Err(Err::AlreadyAccepted),
        (S::Accepted, E::Unlock) => Ok(P(S::ReplaceRequested {
            was_accepted: true,
            replaced: false,
        })),
        (S::Accepted, E::Submit) => Ok(P(S::Accepted)),
        (S::Accepted, E::Replace | E::Delete) => Result::Err(Err::Locked),

        (
            S::ReplaceRequested {
                was_accepted,
                replaced: false,
            },
            E::Lock,
        ) => Ok(P(if was_accepted {
            S::Accepted
        } else {
            S::Submitted
        })),
        (S::ReplaceRequested { replaced: true, .. }, E::Lock) => {
            Result::Err(Err::AwaitingResubmission)
        }
        (S::ReplaceRequested { .. }, E::Unlock) => Result::Err(Err::AlreadyUnlocked),
        (S::ReplaceRequested { was_accepted, .. }, E::Replace) => Ok(P(S::ReplaceRequested {
            was_accepted,
            replaced: true,
        })),
        (
            S::ReplaceRequested {
                replaced: false, ..
            },
            E::Submit,
        ) => Result::Err(Err::NotReplaced),
        (S::ReplaceRequested { replaced: true, .. }, E::Submit) => Ok(P(S::Submitted)),
        (S::ReplaceRequested { .. }, E::Delete) => Ok(Removed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes out the whole table so a change to it shows in review.
    #[test]
    fn table_is_total_and_as_designed() {
        let mut lines = Vec::new();
        for p in ImagePhase::ALL {
            for e in ImageEvent::ALL {
                lines.push(format!("{p:?} + {e:?} => {:?}", transition(p, e)));
            }
        }
        assert_eq!(lines.len(), 35);
        insta::assert_snapshot!(lines.join("\n"));
    }

    #[test]
    fn invariants_hold_for_every_result() {
        for p in ImagePhase::ALL {
            // Never accepted and unlocked at once.
            assert!(!(p.verdict() == Verdict::Accepted && p.lock() == Lock::Unlocked));
            for e in ImageEvent::ALL {
                if let Ok(ImageOutcome::Phase(next)) = transition(p, e) {
                    assert!(ImagePhase::ALL.contains(&next));
                    // Candidates can only change unlocked images.
                    if matches!(e, ImageEvent::Replace | ImageEvent::Delete) {
                        assert_eq!(p.lock(), Lock::Unlocked);
                    }
                }
            }
        }
    }

    #[test]
    fn relock_restores_previous_verdict() {
        for was_accepted in [false, true] {
            let start = if was_accepted {
                ImagePhase::Accepted
            } else {
                ImagePhase::Submitted
            };
            let Ok(ImageOutcome::Phase(unlocked)) = transition(start, ImageEvent::Unlock) else {
                panic!("unlock failed");
            };
            assert_eq!(
                transition(unlocked, ImageEvent::Lock),
                Ok(ImageOutcome::Phase(start))
            );
        }
    }
}
