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

use crate::api::dto::{DecisionRequest, FeedbackRequest};

/// What a queued decision does, with everything needed to send it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PendingOp {
    Lock {
        image_id: i64,
        expected_version: Option<i64>,
    },
    Unlock {
        image_id: i64,
        reasons: Vec<String>,
        note: Option<String>,
        expected_version: Option<i64>,
    },
    Decision {
        candidate_id: i64,
        request: DecisionRequest,
    },
    Undo {
        event_id: i64,
    },
    Feedback {
        candidate_id: i64,
        request: FeedbackRequest,
    },
}

impl PendingOp {
    /// The candidate this decision concerns, when known without a lookup.
    pub fn candidate_id(&self) -> Option<i64> {
        match self {
            PendingOp::Decision { candidate_id, .. } | PendingOp::Feedback { candidate_id, .. } => {
                Some(*candidate_id)
            }
            _ => None,
        }
    }
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
    /// A short human description for the status bar and the refused list.
    pub label: String,
    pub op: PendingOp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting to be sent (or re-sent).
    Pending,
    /// The server refused it (409, scope, validation): shown to the
    /// reviewer until dismissed, never dropped silently.
    Refused { message: String },
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
    Done { key: String },
    Refused { key: String, message: String },
    Dismissed { key: String },
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
}

pub struct Journal {
    path: PathBuf,
    file: File,
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
        let (entries, skipped_lines) = match File::open(path) {
            Ok(f) => replay(BufReader::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Vec::new(), 0),
            Err(e) => return Err(io_err(e)),
        };
        let file = compact(path, &entries).map_err(io_err)?;
        Ok(Journal {
            path: path.to_path_buf(),
            file,
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

    pub fn refused(&self) -> impl Iterator<Item = (&OutboxEntry, &str)> {
        self.entries.iter().filter_map(|t| match &t.state {
            EntryState::Refused { message } => Some((&t.entry, message.as_str())),
            EntryState::Pending => None,
        })
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
    pub fn refuse(&mut self, key: &str, message: &str) -> Result<(), OutboxError> {
        let idx = self.index(key)?;
        self.append(&Record::Refused {
            key: key.to_string(),
            message: message.to_string(),
        })?;
        self.entries[idx].state = EntryState::Refused {
            message: message.to_string(),
        };
        Ok(())
    }

    /// The reviewer has seen a refused decision and lets it go.
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
            Record::Refused { key, message } => {
                if let Some(t) = entries.iter_mut().find(|t| t.entry.key == key) {
                    t.state = EntryState::Refused { message };
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
            if let EntryState::Refused { message } = &t.state {
                records.push(Record::Refused {
                    key: t.entry.key.clone(),
                    message: message.clone(),
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
            label: format!("lock {key}"),
            op: PendingOp::Lock {
                image_id: 7,
                expected_version: Some(1),
            },
        }
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
            j.refuse("b", "409: suzhou decided first")
                .expect("refuse b");
        }
        let j = Journal::open(&path).expect("reopen");
        let keys: Vec<_> = j.pending().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["c"]);
        let refused: Vec<_> = j.refused().map(|(e, m)| (e.key.as_str(), m)).collect();
        assert_eq!(refused, [("b", "409: suzhou decided first")]);
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
