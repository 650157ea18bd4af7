//! The console's durable outbox: every decision is written (and fsynced) to a
//! journal before it is sent, and leaves it only when the server confirms.
//!
//! The journal is a JSON-lines log of records (`put`, `done`, `refused`,
//! `dismissed`). Appending a line and `fdatasync` is the commit point; a
//! crash can leave at most a torn last line, which is ignored on open (its
//! decision was never acknowledged to the reviewer, so nothing is lost).
//! On open the live entries are rewritten to a fresh file (write, fsync,
//! rename, fsync the directory), so the log does not grow without bound.
//!
//! Replaying an entry is harmless: each carries its idempotency key and the
//! server returns the first result for a key it has seen.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::error::ApiError;
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::review::{Decision, Level};

/// What a decision does, with everything needed to send it again. The
/// console's in-memory queue uses the same type (`app::state::OpKind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpKind {
    Lock {
        image_id: i64,
    },
    Unlock {
        image_id: i64,
        reasons: Vec<String>,
        note: Option<String>,
    },
    Decide {
        level: Level,
        decision: Decision,
        reasons: Vec<String>,
        note: Option<String>,
    },
    Feedback {
        channel: FeedbackChannel,
        body: String,
    },
    Undo {
        audit_id: i64,
    },
}

impl OpKind {
    pub fn undoable(&self) -> bool {
        matches!(
            self,
            OpKind::Lock { .. } | OpKind::Unlock { .. } | OpKind::Decide { .. }
        )
    }
}

/// Which image an image decision was about, for the refused list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub category: MaterialCategory,
    pub slot: u8,
    pub slot_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// The Idempotency-Key sent with every attempt.
    pub key: String,
    pub created_at: DateTime<Utc>,
    /// Reviewer and server it belongs to: a journal is never replayed
    /// against another server or as another reviewer.
    pub reviewer: String,
    pub server: String,
    pub candidate_id: i64,
    /// The candidate's name, for the status bar and the refused list.
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageRef>,
    /// Image version (image ops) or candidate version (decisions). Part of
    /// the request body, so a replay sends exactly the bytes sent before.
    pub expected_version: i64,
    pub op: OpKind,
}

/// Why the server refused a decision, kept structured so the console can
/// word it in the reviewer's language after a restart too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The problem's `code`, or [`Refusal::DEPENDENT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The server's own words (sanitised before drawing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<DateTime<Utc>>,
}

impl Refusal {
    /// Not sent: an earlier decision on the same candidate was refused and
    /// this one assumed it had worked.
    pub const DEPENDENT: &'static str = "depends_on_refused";
    /// Given up after the server failed (5xx) this many times in a row.
    pub const SERVER_FAILING: &'static str = "server_failing";

    /// The server kept failing on it: `n` answers, the last one `e`.
    pub fn server_failing(e: &ApiError, n: u32, at: DateTime<Utc>) -> Refusal {
        let last = Refusal::from_error(e, at);
        Refusal {
            code: Some(Refusal::SERVER_FAILING.to_string()),
            detail: Some(format!(
                "{n}: {}",
                last.detail.unwrap_or_else(|| e.to_string())
            )),
            ..last
        }
    }

    pub fn from_error(e: &ApiError, at: DateTime<Utc>) -> Refusal {
        let p = e.problem();
        Refusal {
            at,
            status: e.status(),
            code: p.map(|p| p.code.clone()),
            detail: match e {
                ApiError::Problem(p) => p.detail.clone().or_else(|| Some(p.title.clone())),
                other => Some(other.to_string()),
            },
            changed_by: p.and_then(|p| p.changed_by.clone()),
            changed_at: p.and_then(|p| p.changed_at),
        }
    }

    pub fn dependent(at: DateTime<Utc>) -> Refusal {
        Refusal {
            at,
            status: None,
            code: Some(Refusal::DEPENDENT.to_string()),
            detail: None,
            changed_by: None,
            changed_at: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting to be sent (or re-sent).
    Pending,
    /// The server refused it (409, scope, validation): shown to the
    /// reviewer until dismissed, never dropped silently.
    Refused(Refusal),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub entry: OutboxEntry,
    pub state: EntryState,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Record {
    Put(OutboxEntry),
    /// A queued, never-sent entry now expects another version (an earlier
    /// decision on the same candidate bumped it).
    Rebase {
        key: String,
        expected_version: i64,
    },
    Done {
        key: String,
    },
    Refused {
        key: String,
        refusal: Refusal,
    },
    Dismissed {
        key: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("outbox entry {0} is not in the journal")]
    UnknownKey(String),
    #[error("outbox journal {0} is in use by another shenhe of the same reviewer")]
    Busy(PathBuf),
}

pub struct Journal {
    path: PathBuf,
    file: File,
    /// Held while open: two consoles of one reviewer (two tmux panes) would
    /// otherwise each compact the file and drop the other's entries. A
    /// separate file, because compaction renames the journal itself.
    _lock: File,
    entries: Vec<Tracked>,
    /// Lines skipped on open because they were torn or unreadable.
    pub skipped_lines: usize,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl Journal {
    /// Open (or create) the journal at `path`, recover its live entries and
    /// compact it.
    pub fn open(path: &Path) -> Result<Journal, OutboxError> {
        let io_err = |source| OutboxError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err)?;
        }
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.with_extension("lock"))
            .map_err(io_err)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(OutboxError::Busy(path.to_path_buf()));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io_err(e)),
        }
        let (entries, skipped_lines) = match File::open(path) {
            Ok(f) => replay(BufReader::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), 0),
            Err(e) => return Err(io_err(e)),
        };
        let file = compact(path, &entries).map_err(io_err)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
            _lock: lock,
            entries,
            skipped_lines,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every live entry, oldest first.
    pub fn entries(&self) -> &[Tracked] {
        &self.entries
    }

    /// Entries still to be sent, oldest first.
    pub fn pending(&self) -> impl Iterator<Item = &OutboxEntry> {
        self.entries
            .iter()
            .filter(|t| t.state == EntryState::Pending)
            .map(|t| &t.entry)
    }

    pub fn pending_count(&self) -> usize {
        self.pending().count()
    }

    pub fn refused(&self) -> impl Iterator<Item = (&OutboxEntry, &Refusal)> {
        self.entries.iter().filter_map(|t| match &t.state {
            EntryState::Refused(r) => Some((&t.entry, r)),
            EntryState::Pending => None,
        })
    }

    /// Whether `key` is in the journal (pending or refused).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.iter().any(|t| t.entry.key == key)
    }

    /// Make the decision durable. Returns only after the data is on disk.
    pub fn push(&mut self, entry: OutboxEntry) -> Result<(), OutboxError> {
        if self.entries.iter().any(|t| t.entry.key == entry.key) {
            return Ok(());
        }
        self.append(&Record::Put(entry.clone()))?;
        self.entries.push(Tracked {
            entry,
            state: EntryState::Pending,
        });
        Ok(())
    }

    /// The server confirmed the decision (or an idempotent replay of it).
    pub fn confirm(&mut self, key: &str) -> Result<(), OutboxError> {
        let idx = self.index(key)?;
        self.append(&Record::Done {
            key: key.to_string(),
        })?;
        self.entries.remove(idx);
        Ok(())
    }

    /// The server refused the decision; keep it visible until dismissed.
    pub fn refuse(&mut self, key: &str, refusal: &Refusal) -> Result<(), OutboxError> {
        let idx = self.index(key)?;
        self.append(&Record::Refused {
            key: key.to_string(),
            refusal: refusal.clone(),
        })?;
        self.entries[idx].state = EntryState::Refused(refusal.clone());
        Ok(())
    }

    /// A queued entry that was never sent now expects `expected_version`.
    /// (Once sent, an entry is never rebased: the server refuses a key
    /// reused with another body.)
    pub fn rebase(&mut self, key: &str, expected_version: i64) -> Result<(), OutboxError> {
        let idx = self.index(key)?;
        if self.entries[idx].entry.expected_version == expected_version {
            return Ok(());
        }
        self.append(&Record::Rebase {
            key: key.to_string(),
            expected_version,
        })?;
        self.entries[idx].entry.expected_version = expected_version;
        Ok(())
    }

    /// The reviewer has seen a refused decision and lets it go (or took
    /// back a pending one before it was sent).
    pub fn dismiss(&mut self, key: &str) -> Result<(), OutboxError> {
        let idx = self.index(key)?;
        self.append(&Record::Dismissed {
            key: key.to_string(),
        })?;
        self.entries.remove(idx);
        Ok(())
    }

    fn index(&self, key: &str) -> Result<usize, OutboxError> {
        self.entries
            .iter()
            .position(|t| t.entry.key == key)
            .ok_or_else(|| OutboxError::UnknownKey(key.to_string()))
    }

    fn append(&mut self, record: &Record) -> Result<(), OutboxError> {
        let io_err = |source| OutboxError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(record).map_err(|e| io_err(io::Error::other(e)))?;
        line.push(b'\n');
        // One write call per record so a crash tears at most this line.
        self.file.write_all(&line).map_err(io_err)?;
        self.file.sync_data().map_err(io_err)?;
        Ok(())
    }
}

fn replay(reader: impl BufRead) -> (Vec<Tracked>, usize) {
    let mut entries: Vec<Tracked> = Vec::new();
    let mut skipped = 0;
    for line in reader.split(b'\n') {
        let Ok(line) = line else {
            skipped += 1;
            break;
        };
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(record) = serde_json::from_slice::<Record>(&line) else {
            skipped += 1;
            continue;
        };
        match record {
            Record::Put(entry) => {
                if !entries.iter().any(|t| t.entry.key == entry.key) {
                    entries.push(Tracked {
                        entry,
                        state: EntryState::Pending,
                    });
                }
            }
            Record::Done { key } | Record::Dismissed { key } => {
                entries.retain(|t| t.entry.key != key);
            }
            Record::Refused { key, refusal } => {
                if let Some(t) = entries.iter_mut().find(|t| t.entry.key == key) {
                    t.state = EntryState::Refused(refusal);
                }
            }
            Record::Rebase {
                key,
                expected_version,
            } => {
                if let Some(t) = entries.iter_mut().find(|t| t.entry.key == key) {
                    t.entry.expected_version = expected_version;
                }
            }
        }
    }
    (entries, skipped)
}

/// Rewrite the journal to hold only live entries, atomically.
fn compact(path: &Path, entries: &[Tracked]) -> io::Result<File> {
    let tmp = path.with_extension("compact");
    {
        let mut f = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&tmp)?;
        restrict(&f)?;
        for t in entries {
            let mut records = vec![Record::Put(t.entry.clone())];
            if let EntryState::Refused(refusal) = &t.state {
                records.push(Record::Refused {
                    key: t.entry.key.clone(),
                    refusal: refusal.clone(),
                });
            }
            for r in records {
                let mut line = serde_json::to_vec(&r).map_err(io::Error::other)?;
                line.push(b'\n');
                f.write_all(&line)?;
            }
        }
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        // Make the rename itself durable.
        File::open(dir)?.sync_all()?;
    }
    OpenOptions::new().append(true).open(path)
}

/// Decisions name candidates: keep the journal private to the reviewer.
#[cfg(unix)]
fn restrict(f: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_f: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> OutboxEntry {
        OutboxEntry {
            key: key.into(),
            created_at: Utc::now(),
            reviewer: "nanjing".into(),
            server: "http://127.0.0.1:1".into(),
            candidate_id: 1,
            label: format!("lock {key}"),
            image: None,
            expected_version: 1,
            op: OpKind::Lock { image_id: 7 },
        }
    }

    fn refusal() -> Refusal {
        Refusal {
            // Fixed, so two calls compare equal.
            at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            status: Some(409),
            code: Some("stale_version".into()),
            detail: None,
            changed_by: Some("suzhou".into()),
            changed_at: None,
        }
    }

    #[test]
    fn a_second_console_of_the_same_reviewer_is_refused_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nanjing.jsonl");
        let mut first = Journal::open(&path).expect("open");
        first.push(entry("k1")).expect("push");
        assert!(matches!(Journal::open(&path), Err(OutboxError::Busy(_))));
        // The refused open touched nothing; after the first closes, the
        // entry is there for the next console.
        drop(first);
        let again = Journal::open(&path).expect("reopen");
        assert_eq!(again.pending_count(), 1);
    }

    #[test]
    fn survives_reopen_and_forgets_confirmed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.jsonl");
        {
            let mut j = Journal::open(&path).expect("open");
            j.push(entry("a")).expect("push a");
            j.push(entry("b")).expect("push b");
            j.push(entry("c")).expect("push c");
            j.confirm("a").expect("confirm a");
            j.refuse("b", &refusal()).expect("refuse b");
            j.rebase("c", 4).expect("rebase c");
        }
        let j = Journal::open(&path).expect("reopen");
        let keys: Vec<_> = j.pending().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["c"]);
        assert_eq!(j.pending().map(|e| e.expected_version).sum::<i64>(), 4);
        let refused: Vec<_> = j.refused().map(|(e, r)| (e.key.as_str(), r)).collect();
        assert_eq!(refused, [("b", &refusal())]);
        // Compaction kept the rebase and the refusal; a second reopen agrees.
        drop(j);
        let j = Journal::open(&path).expect("reopen again");
        assert_eq!(j.pending().map(|e| e.expected_version).sum::<i64>(), 4);
        assert_eq!(j.refused().count(), 1);
    }

    #[test]
    fn torn_last_line_is_ignored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.jsonl");
        {
            let mut j = Journal::open(&path).expect("open");
            j.push(entry("a")).expect("push");
        }
        let mut f = OpenOptions::new().append(true).open(&path).expect("append");
        f.write_all(b"{\"put\":{\"key\":\"b\",\"creat")
            .expect("write");
        drop(f);
        let j = Journal::open(&path).expect("reopen");
        assert_eq!(j.pending_count(), 1);
        assert_eq!(j.skipped_lines, 1);
        // Compaction dropped the torn line for good.
        let text = fs::read_to_string(&path).expect("read");
        assert!(!text.contains("creat\n") && text.lines().count() == 1);
    }

    #[test]
    fn duplicate_push_is_one_entry_and_unknown_keys_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal::open(&dir.path().join("o.jsonl")).expect("open");
        j.push(entry("a")).expect("push");
        j.push(entry("a")).expect("push again");
        assert_eq!(j.pending_count(), 1);
        assert!(matches!(j.confirm("zz"), Err(OutboxError::UnknownKey(_))));
    }

    #[cfg(unix)]
    #[test]
    fn journal_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("o.jsonl");
        let _j = Journal::open(&path).expect("open");
        let mode = fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
