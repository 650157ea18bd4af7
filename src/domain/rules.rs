//! Upload rules and the review window.

use chrono::{Datelike, NaiveDate};

use super::category::MaterialCategory;
use super::image::{ImagePhase, Lock};
use super::imaging::{Format, Sniffed};
use super::review::Reviews;

/// 200 KB, as the candidates' guide says ("单个照片文件大小不超过200k").
pub const MAX_UPLOAD_BYTES: usize = 204_800;

/// The review window (e.g. 02-14 to 03-20), both days inclusive, server
/// local time. Outside it candidates cannot upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReviewWindow {
    pub opens: NaiveDate,
    pub closes: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowParseError {
    #[error("expected START..END, e.g. 02-14..03-20 or 2027-02-14..2027-03-20")]
    Shape,
    #[error("{0:?} is not a date (MM-DD or YYYY-MM-DD)")]
    Date(String),
    #[error("the window closes before it opens")]
    Backwards,
}

impl ReviewWindow {
    /// Parse `MM-DD..MM-DD` (in `year`) or `YYYY-MM-DD..YYYY-MM-DD`.
    pub fn parse(s: &str, year: i32) -> Result<ReviewWindow, WindowParseError> {
        let (a, b) = s.split_once("..").ok_or(WindowParseError::Shape)?;
        let date = |t: &str| -> Result<NaiveDate, WindowParseError> {
            let t = t.trim();
            NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(&format!("{year}-{t}"), "%Y-%m-%d"))
                .map_err(|_| WindowParseError::Date(t.to_string()))
        };
        let w = ReviewWindow {
            opens: date(a)?,
            closes: date(b)?,
        };
        if w.closes < w.opens {
            return Err(WindowParseError::Backwards);
        }
        Ok(w)
    }

    /// The window of the guide, 02-14 to 03-20 of `year`.
    pub fn standard(year: i32) -> ReviewWindow {
        ReviewWindow {
            opens: NaiveDate::from_ymd_opt(year, 2, 14).unwrap_or(NaiveDate::MIN),
            closes: NaiveDate::from_ymd_opt(year, 3, 20).unwrap_or(NaiveDate::MIN),
        }
    }

    /// A window open around `today` (demo data: 30 days ago to 25 days on).
    pub fn around(today: NaiveDate) -> ReviewWindow {
        ReviewWindow {
            opens: today - chrono::Days::new(30),
            closes: today + chrono::Days::new(25),
        }
    }

    pub fn is_open(&self, today: NaiveDate) -> bool {
        self.opens <= today && today <= self.closes
    }

    /// Days left including today; 0 once closed, the full length before it opens.
    pub fn days_left(&self, today: NaiveDate) -> i64 {
        if today > self.closes {
            0
        } else {
            let from = today.max(self.opens);
            (self.closes - from).num_days() + 1
        }
    }

    /// `02-14–03-20`
    pub fn short(&self) -> String {
        format!(
            "{:02}-{:02}–{:02}-{:02}",
            self.opens.month(),
            self.opens.day(),
            self.closes.month(),
            self.closes.day()
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("uploads are accepted only during the review window {0}")]
    WindowClosed(String),
    #[error("materials can be changed only before submission or while 审核待定")]
    NotEditable,
    #[error("the file is {0} bytes; at most {MAX_UPLOAD_BYTES} bytes (200 KB) are allowed")]
    TooLarge(usize),
    #[error("the file is empty")]
    Empty,
    #[error("only jpg/jpeg/png images are accepted; this file is {0}")]
    WrongFormat(&'static str),
    #[error("{category} takes at most {capacity} images")]
    SlotFull {
        category: &'static str,
        capacity: u8,
    },
    #[error("{category} has no slot {slot}")]
    BadSlot { category: &'static str, slot: u8 },
    #[error("the image in this slot is locked (已锁定) and cannot be replaced")]
    Locked,
}

/// The checks that need only the bytes' length, their sniffed format, the
/// window and the candidate's state. Decoding comes after these pass.
pub fn check_upload(
    len: usize,
    sniffed: Sniffed,
    window: &ReviewWindow,
    today: NaiveDate,
    reviews: Reviews,
) -> Result<Format, UploadError> {
    if !window.is_open(today) {
        return Err(UploadError::WindowClosed(window.short()));
    }
    if !reviews.candidate_may_edit() {
        return Err(UploadError::NotEditable);
    }
    if len == 0 {
        return Err(UploadError::Empty);
    }
    if len > MAX_UPLOAD_BYTES {
        return Err(UploadError::TooLarge(len));
    }
    match sniffed {
        Sniffed::Accepted(f) => Ok(f),
        other => Err(UploadError::WrongFormat(other.describe())),
    }
}

/// An image already in the category: its slot, phase and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupant {
    pub slot: u8,
    pub phase: ImagePhase,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A new image in an empty slot.
    New { slot: u8 },
    /// A new generation of an unlocked image, keeping its slot.
    Replace { image_id: i64, slot: u8 },
}

/// Where an upload goes. With a slot: that slot (replacing an unlocked image
/// there). Without: the first empty slot; if all are full and exactly one
/// image is unlocked, that one is replaced (what a candidate means when the
/// reviewer unlocked one side of the ID card).
pub fn place(
    category: MaterialCategory,
    existing: &[Occupant],
    slot: Option<u8>,
) -> Result<Placement, UploadError> {
    let capacity = category.capacity();
    let at = |s: u8| existing.iter().find(|o| o.slot == s);
    match slot {
        Some(s) if s >= capacity => Err(UploadError::BadSlot {
            category: category.code(),
            slot: s,
        }),
        Some(s) => match at(s) {
            None => Ok(Placement::New { slot: s }),
            Some(o) if o.phase.lock() == Lock::Unlocked => Ok(Placement::Replace {
                image_id: o.id,
                slot: s,
            }),
            Some(_) => Err(UploadError::Locked),
        },
        None => {
            if let Some(s) = (0..capacity).find(|s| at(*s).is_none()) {
                return Ok(Placement::New { slot: s });
            }
            let mut unlocked = existing.iter().filter(|o| o.phase.lock() == Lock::Unlocked);
            match (unlocked.next(), unlocked.next()) {
                (Some(o), None) => Ok(Placement::Replace {
                    image_id: o.id,
                    slot: o.slot,
                }),
                _ => Err(UploadError::SlotFull {
                    category: category.code(),
                    capacity,
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::imaging::Format;
    use crate::domain::review::ReviewStatus;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn window() {
        let w = ReviewWindow::parse("02-14..03-20", 2027).expect("parse");
        assert_eq!(w, ReviewWindow::standard(2027));
        assert!(w.is_open(d(2027, 2, 14)) && w.is_open(d(2027, 3, 20)));
        assert!(!w.is_open(d(2027, 3, 21)) && !w.is_open(d(2027, 2, 13)));
        assert_eq!(w.days_left(d(2027, 3, 20)), 1);
        assert_eq!(w.days_left(d(2027, 3, 9)), 12);
        assert_eq!(w.days_left(d(2027, 4, 1)), 0);
        assert_eq!(w.short(), "02-14–03-20");
        assert_eq!(
            ReviewWindow::parse("03-20..02-14", 2027),
            Err(WindowParseError::Backwards)
        );
        assert!(ReviewWindow::parse("2027-02-14..2027-13-01", 2027).is_err());
        assert_eq!(
            ReviewWindow::parse("02-14", 2027),
            Err(WindowParseError::Shape)
        );
    }

    #[test]
    fn upload_checks() {
        let w = ReviewWindow::standard(2027);
        let open = d(2027, 3, 1);
        let jpeg = Sniffed::Accepted(Format::Jpeg);
        let draft = Reviews::DRAFT;
        assert_eq!(check_upload(1000, jpeg, &w, open, draft), Ok(Format::Jpeg));
        assert_eq!(
            check_upload(MAX_UPLOAD_BYTES, jpeg, &w, open, draft),
            Ok(Format::Jpeg)
        );
        assert_eq!(
            check_upload(MAX_UPLOAD_BYTES + 1, jpeg, &w, open, draft),
            Err(UploadError::TooLarge(MAX_UPLOAD_BYTES + 1))
        );
        assert_eq!(
            check_upload(1000, Sniffed::Gif, &w, open, draft),
            Err(UploadError::WrongFormat("gif"))
        );
        assert!(matches!(
            check_upload(1000, jpeg, &w, d(2027, 4, 1), draft),
            Err(UploadError::WindowClosed(_))
        ));
        let under_review = Reviews {
            site: ReviewStatus::AwaitingReview,
            district: ReviewStatus::NotStarted,
        };
        assert_eq!(
            check_upload(1000, jpeg, &w, open, under_review),
            Err(UploadError::NotEditable)
        );
    }

    #[test]
    fn placement() {
        use MaterialCategory::IdProof;
        let occ = |slot, phase, id| Occupant { slot, phase, id };
        assert_eq!(place(IdProof, &[], None), Ok(Placement::New { slot: 0 }));
        let front = occ(0, ImagePhase::Submitted, 1);
        assert_eq!(
            place(IdProof, &[front], None),
            Ok(Placement::New { slot: 1 })
        );
        let back = occ(1, ImagePhase::Submitted, 2);
        assert_eq!(
            place(IdProof, &[front, back], None),
            Err(UploadError::SlotFull {
                category: "ID_PROOF",
                capacity: 2
            })
        );
        assert_eq!(
            place(IdProof, &[front, back], Some(1)),
            Err(UploadError::Locked)
        );
        assert!(matches!(
            place(IdProof, &[], Some(2)),
            Err(UploadError::BadSlot { .. })
        ));
        let unlocked_back = occ(
            1,
            ImagePhase::ReplaceRequested {
                was_accepted: false,
                replaced: false,
            },
            2,
        );
        assert_eq!(
            place(IdProof, &[front, unlocked_back], None),
            Ok(Placement::Replace {
                image_id: 2,
                slot: 1
            })
        );
        assert_eq!(
            place(MaterialCategory::Other, &[front], None),
            Ok(Placement::New { slot: 1 })
        );
    }
}
