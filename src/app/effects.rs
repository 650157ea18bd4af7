//! The only place that spawns tasks: runs each Effect against the API
//! client and sends the result back as an Action.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use crate::api::client::{Client, StreamEvent};
use crate::api::dto::{CandidateDetail, DecisionRequest, FeedbackRequest, UnlockRequest};

use super::action::{Action, Effect, JournalOp, OpOk};
use super::state::{Op, OpKind};
use crate::outbox::Journal;

/// The token file: reused until it expires, for this server only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    pub server: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub fn token_path(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("token.json")
}

/// A stored token for `server` that has not expired.
pub fn load_token(data_dir: &std::path::Path, server: &str, now: DateTime<Utc>) -> Option<String> {
    let text = std::fs::read_to_string(token_path(data_dir)).ok()?;
    let t: StoredToken = serde_json::from_str(&text).ok()?;
    (t.server == server && t.expires_at > now).then_some(t.token)
}

/// Write the token readable by the owner only (mode 0600), atomically.
pub fn save_token(data_dir: &std::path::Path, t: &StoredToken) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join("token.json.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(
        serde_json::to_string(t)
            .map_err(std::io::Error::other)?
            .as_bytes(),
    )?;
    f.sync_all()?;
    std::fs::rename(&tmp, token_path(data_dir))
}

/// The outbox journal of `reviewer` at `server`: one file each, so two
/// accounts (or two servers) never mix their decisions.
pub fn journal_path(data_dir: &std::path::Path, server: &str, reviewer: &str) -> PathBuf {
    fn slug(s: &str) -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
    data_dir
        .join("outbox")
        .join(slug(server.trim_end_matches('/')))
        .join(format!("{}.jsonl", slug(reviewer)))
}

/// Dossiers fetched ahead by the image painter for the next candidates, so
/// that `n` opens one without a network round trip (and without a "loading"
/// frame taking the next frame slot). Only a copy a few seconds old that no
/// queue event has touched since is used, and only once.
#[derive(Clone, Default)]
pub struct Prefetched(Arc<Mutex<HashMap<i64, (Instant, CandidateDetail)>>>);

impl Prefetched {
    /// Older than this, the dossier is fetched again.
    pub const FRESH: Duration = Duration::from_secs(10);

    pub fn put(&self, d: CandidateDetail) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(d.id, (Instant::now(), d));
        }
    }

    /// Drop what an action says may be stale: the candidate an event names,
    /// or everything when the event stream itself changed state.
    pub fn observe(&self, action: &Action) {
        match action {
            Action::Stream(StreamEvent::Event(ev)) => self.forget(ev.candidate_id),
            Action::Stream(_) => self.clear(),
            _ => {}
        }
    }

    pub fn take(&self, id: i64) -> Option<CandidateDetail> {
        let (at, d) = self.0.lock().ok()?.remove(&id)?;
        (at.elapsed() <= Self::FRESH).then_some(d)
    }

    /// Someone changed the candidate: the copy is stale.
    pub fn forget(&self, id: i64) {
        if let Ok(mut m) = self.0.lock() {
            m.remove(&id);
        }
    }

    /// Events may have been missed (reconnect, resync): trust none.
    pub fn clear(&self) {
        if let Ok(mut m) = self.0.lock() {
            m.clear();
        }
    }
}

pub struct Effects {
    client: Client,
    tx: UnboundedSender<Action>,
    /// None: do not store tokens (demo, SHENHE_TOKEN).
    data_dir: Option<PathBuf>,
    /// Where outbox journals live; None: decisions are kept in memory only
    /// (the throwaway demo).
    journal_dir: Option<PathBuf>,
    journal: Option<Journal>,
    prefetched: Prefetched,
    events: Option<JoinHandle<()>>,
    /// Releases still running, awaited (briefly) before exit.
    releases: Vec<JoinHandle<()>>,
}

impl Effects {
    pub fn new(
        client: Client,
        tx: UnboundedSender<Action>,
        data_dir: Option<PathBuf>,
        journal_dir: Option<PathBuf>,
    ) -> Effects {
        Effects {
            client,
            tx,
            data_dir,
            journal_dir,
            journal: None,
            prefetched: Prefetched::default(),
            events: None,
            releases: Vec::new(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn prefetched(&self) -> &Prefetched {
        &self.prefetched
    }

    fn spawn<F>(&self, fut: F)
    where
        F: std::future::Future<Output = Option<Action>> + Send + 'static,
    {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            if let Some(a) = fut.await {
                // The loop is gone when the console quits; nothing to do.
                let _ = tx.send(a);
            }
        });
    }

    /// Run one effect. Returns false for Quit (the loop ends).
    pub fn run(&mut self, effect: Effect) -> bool {
        let c = self.client.clone();
        match effect {
            Effect::Quit => return false,
            Effect::Login { username, password } => self.spawn(async move {
                Some(Action::LoginDone(
                    c.login(&username, &password).await.map(Box::new),
                ))
            }),
            Effect::CheckToken => {
                self.spawn(async move { Some(Action::MeDone(c.me().await.map(Box::new))) })
            }
            Effect::SaveToken { token, expires_at } => {
                if let Some(dir) = &self.data_dir {
                    let t = StoredToken {
                        server: c.base_url().to_string(),
                        token,
                        expires_at,
                    };
                    if let Err(e) = save_token(dir, &t) {
                        tracing::warn!("cannot store the token: {e}");
                    }
                }
            }
            Effect::ForgetToken => {
                if let Some(dir) = &self.data_dir {
                    let _ = std::fs::remove_file(token_path(dir));
                }
            }
            Effect::FetchPage { req, query } => self.spawn(async move {
                Some(Action::PageDone {
                    req,
                    result: c.candidates(&query).await.map(Box::new),
                })
            }),
            Effect::LoadCandidate { req, id } => match self.prefetched.take(id) {
                Some(d) => {
                    let _ = self.tx.send(Action::DetailDone {
                        req,
                        id,
                        result: Ok(Box::new(d)),
                    });
                }
                None => self.spawn(async move {
                    Some(Action::DetailDone {
                        req,
                        id,
                        result: c.candidate(id).await.map(Box::new),
                    })
                }),
            },
            Effect::LoadAudit { id } => self.spawn(async move {
                Some(Action::AuditDone {
                    id,
                    result: c.audit(id).await,
                })
            }),
            Effect::Claim { id, idem } => self.spawn(async move {
                Some(Action::ClaimDone {
                    id,
                    result: c.claim(id, &idem).await,
                })
            }),
            Effect::Release { id } => {
                self.releases.retain(|h| !h.is_finished());
                self.releases.push(tokio::spawn(async move {
                    if let Err(e) = c.release(id).await {
                        tracing::info!("release {id}: {e}");
                    }
                }));
            }
            Effect::Reveal { id, idem } => self.spawn(async move {
                Some(Action::RevealDone {
                    id,
                    result: c.reveal(id, &idem).await,
                })
            }),
            Effect::Journal(j) => self.journal(j),
            Effect::Send(op) => self.spawn(async move {
                let id = op.id;
                Some(Action::OpDone {
                    op: id,
                    result: send(&c, *op).await,
                })
            }),
            Effect::Export { state, lang } => {
                let dirs = self.export_dirs();
                self.spawn(async move {
                    let r = match c.follow_up(Some(&state)).await {
                        Ok(list) => write_export(&list, lang, &dirs),
                        Err(e) => Err(e.to_string()),
                    };
                    Some(Action::ExportDone(r))
                })
            }
            Effect::LoadStats { stale_days } => self.spawn(async move {
                Some(Action::StatsDone(c.stats(stale_days).await.map(Box::new)))
            }),
            Effect::StartEvents => {
                if let Some(h) = self.events.take() {
                    h.abort();
                }
                let tx = self.tx.clone();
                self.events = Some(tokio::spawn(async move {
                    c.run_events(|ev| tx.send(Action::Stream(ev)).is_ok()).await;
                }));
            }
            Effect::Logout => {
                if let Some(h) = self.events.take() {
                    h.abort();
                }
                self.spawn(async move {
                    let _ = c.logout().await;
                    c.set_token(None);
                    None
                });
            }
        }
        true
    }

    /// Where `:export` writes: the directory the console was started in,
    /// else the data directory.
    fn export_dirs(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::env::current_dir().into_iter().collect();
        v.extend(self.journal_dir.clone().or_else(|| self.data_dir.clone()));
        v
    }

    /// Journal writes run here, synchronously and in effect order: the
    /// `Put` of a decision is on disk (fsynced) before its `Send` spawns.
    fn journal(&mut self, op: JournalOp) {
        let result = match op {
            JournalOp::Open { server, reviewer } => {
                self.open_journal(&server, &reviewer);
                return;
            }
            _ if self.journal.is_none() => return,
            JournalOp::Put(entry) => self.with_journal(|j| j.push(*entry)),
            JournalOp::Rebase {
                key,
                expected_version,
            } => self.with_journal(|j| j.rebase(&key, expected_version)),
            JournalOp::Confirm { key } => self.with_journal(|j| j.confirm(&key)),
            JournalOp::Refuse { key, refusal } => self.with_journal(|j| j.refuse(&key, &refusal)),
            JournalOp::Remove { key } => self.with_journal(|j| j.dismiss(&key)),
        };
        match result {
            Ok(()) => {}
            // An entry the journal never had (written while it was failing):
            // nothing to record.
            Err(crate::outbox::OutboxError::UnknownKey(k)) => {
                tracing::debug!("outbox: {k} not in the journal");
            }
            Err(e) => {
                tracing::error!("{e}");
                let _ = self.tx.send(Action::JournalFailed(e.to_string()));
            }
        }
    }

    fn with_journal(
        &mut self,
        f: impl FnOnce(&mut Journal) -> Result<(), crate::outbox::OutboxError>,
    ) -> Result<(), crate::outbox::OutboxError> {
        match self.journal.as_mut() {
            Some(j) => f(j),
            None => Ok(()),
        }
    }

    fn open_journal(&mut self, server: &str, reviewer: &str) {
        let Some(dir) = &self.journal_dir else { return };
        let path = journal_path(dir, server, reviewer);
        if self.journal.as_ref().is_none_or(|j| j.path() != path) {
            self.journal = None;
            match Journal::open(&path) {
                Ok(j) => {
                    if j.skipped_lines > 0 {
                        tracing::warn!(
                            "outbox {}: {} torn line(s) skipped",
                            path.display(),
                            j.skipped_lines
                        );
                    }
                    self.journal = Some(j);
                }
                Err(e) => {
                    tracing::error!("{e}");
                    let _ = self.tx.send(Action::OutboxLoaded(Err(e.to_string())));
                    return;
                }
            }
        }
        let live = self
            .journal
            .as_ref()
            .map(|j| {
                j.entries()
                    .iter()
                    // Never replayed against another server or as another
                    // reviewer, whatever the file's name says.
                    .filter(|t| t.entry.server == server && t.entry.reviewer == reviewer)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let _ = self.tx.send(Action::OutboxLoaded(Ok(live)));
    }

    /// Before exit: let claim releases finish, briefly (a claim would
    /// expire by itself; this just frees the candidate sooner).
    pub async fn shutdown(&mut self) {
        let all = futures::future::join_all(self.releases.drain(..));
        let _ = tokio::time::timeout(std::time::Duration::from_millis(1500), all).await;
    }
}

impl Drop for Effects {
    fn drop(&mut self) {
        if let Some(h) = self.events.take() {
            h.abort();
        }
    }
}

/// Write the list into the first directory that takes it.
fn write_export(
    list: &crate::api::reports::FollowUpList,
    lang: crate::lang::Lang,
    dirs: &[PathBuf],
) -> Result<(String, usize, i64), String> {
    let csv = crate::follow_up::to_csv(list, lang);
    let name = crate::follow_up::file_name(list, lang);
    let mut last = String::from("no directory to write to");
    for d in dirs {
        let path = d.join(&name);
        match std::fs::write(&path, csv.as_bytes()) {
            Ok(()) => {
                return Ok((path.display().to_string(), list.items.len(), list.withheld));
            }
            Err(e) => last = format!("{}: {e}", path.display()),
        }
    }
    Err(last)
}

async fn send(c: &Client, op: Op) -> Result<OpOk, crate::api::error::ApiError> {
    match op.kind {
        OpKind::Lock { image_id } => c
            .lock(image_id, op.expected_version, &op.idem)
            .await
            .map(|r| OpOk::Image(Box::new(r))),
        OpKind::Unlock {
            image_id,
            reasons,
            note,
        } => c
            .unlock(
                image_id,
                &UnlockRequest {
                    reasons,
                    note,
                    expected_version: Some(op.expected_version),
                },
                &op.idem,
            )
            .await
            .map(|r| OpOk::Image(Box::new(r))),
        OpKind::Decide {
            level,
            decision,
            reasons,
            note,
        } => c
            .decide(
                op.candidate_id,
                &DecisionRequest {
                    level,
                    decision,
                    reasons,
                    note,
                    expected_version: Some(op.expected_version),
                },
                &op.idem,
            )
            .await
            .map(|r| OpOk::Decision(Box::new(r))),
        OpKind::Feedback { channel, body } => c
            .feedback(
                op.candidate_id,
                &FeedbackRequest { channel, body },
                &op.idem,
            )
            .await
            .map(|()| OpOk::Feedback),
        OpKind::Undo { audit_id } => c
            .undo(audit_id, &op.idem)
            .await
            .map(|r| OpOk::Undo(Box::new(r))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefetched_dossier_is_used_once_and_never_after_a_change() {
        let p = Prefetched::default();
        let d = crate::app::fixtures::detail();
        let id = d.id;
        p.put(d.clone());
        assert_eq!(p.take(id).map(|x| x.id), Some(id));
        assert!(p.take(id).is_none(), "used once");
        p.put(d.clone());
        p.forget(id);
        assert!(p.take(id).is_none(), "an event touched it");
        p.put(d);
        p.clear();
        assert!(p.take(id).is_none(), "events may have been missed");
    }

    #[test]
    fn journals_are_per_server_and_reviewer() {
        let d = std::path::Path::new("/d");
        let a = journal_path(d, "http://127.0.0.1:8080/", "nanjing");
        assert_eq!(a, d.join("outbox/http___127.0.0.1_8080/nanjing.jsonl"));
        assert_ne!(a, journal_path(d, "http://127.0.0.1:8080", "suzhou"));
        assert_ne!(a, journal_path(d, "https://127.0.0.1:8080", "nanjing"));
    }

    #[test]
    fn token_file_is_private_and_scoped() {
        let dir = tempfile::tempdir().expect("dir");
        let now = chrono::Utc::now();
        let t = StoredToken {
            server: "http://a:1".into(),
            token: "secret".into(),
            expires_at: now + chrono::Duration::hours(1),
        };
        save_token(dir.path(), &t).expect("save");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(token_path(dir.path()))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(
            load_token(dir.path(), "http://a:1", now).as_deref(),
            Some("secret")
        );
        // Another server's console does not get it; nor does anyone after expiry.
        assert_eq!(load_token(dir.path(), "http://b:1", now), None);
        assert_eq!(
            load_token(dir.path(), "http://a:1", now + chrono::Duration::hours(2)),
            None
        );
        // Saving again replaces it.
        save_token(
            dir.path(),
            &StoredToken {
                token: "new".into(),
                ..t
            },
        )
        .expect("save");
        assert_eq!(
            load_token(dir.path(), "http://a:1", now).as_deref(),
            Some("new")
        );
    }
}
