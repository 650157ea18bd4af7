//! The single writer: one task owns the write connection, and every write
//! of the process is a job sent to it over a channel. It takes what is
//! waiting (up to [`MAX_BATCH`]), runs each job in its own SAVEPOINT inside
//! one `BEGIN IMMEDIATE` transaction, commits once (one fsync for the whole
//! batch, `synchronous=FULL`), and only then answers each job. A job that
//! fails (a 409, any error, a panic) is rolled back to its savepoint alone;
//! the others in its batch still commit.
//!
//! Jobs run one after another on the same connection, so each sees the
//! writes of the jobs before it in its batch: the serial order is the
//! channel's order, exactly as with one transaction per job, and version
//! checks need no lock of their own. Nobody waits in SQLite's busy handler:
//! requests queue on the channel, and only this connection ever writes
//! (apart from another process on the same file, which the busy timeout
//! still covers).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::{mpsc, oneshot, watch};

use crate::server::store::{StoreError, StoreResult};

/// Most jobs in one transaction: bounds how long the first of them waits
/// for the last, and the work lost to a failed commit.
pub(crate) const MAX_BATCH: usize = 256;
/// Jobs waiting beyond this make senders wait (backpressure, not memory).
const QUEUE: usize = 4096;
/// How often the writer logs what its batches looked like: a debug line
/// per busy second (benches read these), an info line per busy minute.
const DEBUG_EVERY: Duration = Duration::from_secs(1);
const INFO_EVERY: Duration = Duration::from_secs(60);

/// A job's work: its statements on the write connection, inside its own
/// savepoint. It must not commit or roll back.
pub(crate) type Work<T> = Box<
    dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>> + Send + 'static,
>;

/// What the writer knows of a job after running it: whether to keep its
/// savepoint, and how to answer once the batch's fate is known.
struct Ran {
    ok: bool,
    answer: Answer,
}

/// Sends a job's result once its batch committed (`Ok`) or failed (`Err`).
type Answer = Box<dyn FnOnce(Result<(), &str>) + Send>;

type Job = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Ran> + Send>;

/// Batch sizes and commit times, for logs and benches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterStats {
    pub batches: u64,
    pub jobs: u64,
    pub failed_jobs: u64,
    pub failed_batches: u64,
    pub max_batch: usize,
    /// `sizes[k]`: batches of 2^k..2^(k+1)-1 jobs.
    pub sizes: [u64; 10],
    /// Time in the final `COMMIT` (the fsync), summed and at most.
    pub commit_us: u64,
    pub max_commit_us: u64,
}

impl WriterStats {
    fn record(&mut self, o: &Outcome) {
        self.batches += 1;
        self.jobs += o.jobs as u64;
        self.failed_jobs += o.failed as u64;
        if !o.committed {
            self.failed_batches += 1;
        }
        self.max_batch = self.max_batch.max(o.jobs);
        let bucket = (usize::BITS - 1 - o.jobs.max(1).leading_zeros()) as usize;
        self.sizes[bucket.min(self.sizes.len() - 1)] += 1;
        self.commit_us += o.commit_us;
        self.max_commit_us = self.max_commit_us.max(o.commit_us);
    }

    fn log(&self, level: tracing::Level) {
        let commit_ms = self.commit_us as f64 / 1000.0 / self.batches.max(1) as f64;
        let max_commit_ms = self.max_commit_us as f64 / 1000.0;
        macro_rules! line {
            ($lvl:ident) => {
                tracing::$lvl!(
                    batches = self.batches,
                    jobs = self.jobs,
                    mean = format!("{:.2}", self.mean()),
                    max = self.max_batch,
                    sizes = self.histogram(),
                    failed_jobs = self.failed_jobs,
                    failed_batches = self.failed_batches,
                    commit_ms = format!("{commit_ms:.2}"),
                    max_commit_ms = format!("{max_commit_ms:.2}"),
                    "writer batches"
                )
            };
        }
        if level == tracing::Level::DEBUG {
            line!(debug);
        } else {
            line!(info);
        }
    }

    /// Mean jobs per batch.
    pub fn mean(&self) -> f64 {
        if self.batches == 0 {
            0.0
        } else {
            self.jobs as f64 / self.batches as f64
        }
    }

    /// "1:120 2-3:40 4-7:3" — batches per size class, empty classes left out.
    pub fn histogram(&self) -> String {
        let mut out = Vec::new();
        for (k, n) in self.sizes.iter().enumerate() {
            if *n == 0 {
                continue;
            }
            let lo = 1usize << k;
            let hi = (lo << 1) - 1;
            out.push(if lo == hi {
                format!("{lo}:{n}")
            } else {
                format!("{lo}-{hi}:{n}")
            });
        }
        out.join(" ")
    }
}

/// See [`Writer::hold`]; dropping it lets the writer go on.
pub struct Hold {
    _release: oneshot::Sender<()>,
}

/// The sending side, held by the store.
pub(crate) struct Writer {
    tx: mpsc::Sender<Job>,
    stop: watch::Sender<bool>,
    /// Answers when the writer thread has finished.
    done: Mutex<Option<oneshot::Receiver<()>>>,
    stats: Arc<Mutex<WriterStats>>,
}

fn gone() -> StoreError {
    StoreError::Db(sqlx::Error::PoolClosed)
}

/// A job dropped unrun (its batch could not start, or broke before it).
pub(crate) fn not_run() -> StoreError {
    StoreError::Db(sqlx::Error::Io(std::io::Error::other(
        "the write was not run: its batch failed",
    )))
}

impl Writer {
    /// Open the write connection and start the writer task.
    ///
    /// The writer runs on a thread of its own (a single-threaded runtime):
    /// a job is a chain of round trips to the connection's thread, and on
    /// the server's runtime each step waited behind every ready request
    /// task, so under load the writer, not the disk, set the pace.
    pub(crate) async fn start(opts: SqliteConnectOptions) -> StoreResult<Writer> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let (stop, stopped) = watch::channel(false);
        let stats = Arc::new(Mutex::new(WriterStats::default()));
        let (ready_tx, ready) = oneshot::channel::<StoreResult<()>>();
        let (done_tx, done) = oneshot::channel::<()>();
        let thread_stats = stats.clone();
        std::thread::Builder::new()
            .name("shenhe-writer".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Db(sqlx::Error::Io(e))));
                        return;
                    }
                };
                rt.block_on(async move {
                    match SqliteConnection::connect_with(&opts).await {
                        Ok(conn) => {
                            let _ = ready_tx.send(Ok(()));
                            run(conn, opts, rx, stopped, thread_stats).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.into()));
                        }
                    }
                });
                let _ = done_tx.send(());
            })
            .map_err(|e| StoreError::Db(sqlx::Error::Io(e)))?;
        ready.await.map_err(|_| gone())??;
        Ok(Writer {
            tx,
            stop,
            done: Mutex::new(Some(done)),
            stats,
        })
    }

    /// Run `work` in the next batch; resolves once that batch has committed
    /// (or with the job's own error, or the batch's).
    pub(crate) async fn run<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let rx = self.enqueue(Box::new(work)).await?;
        rx.await.map_err(|_| not_run())?
    }

    /// Queue `work` and return the receiver of its answer without waiting
    /// for it: for writes whose caller need not wait for their fsync.
    pub(crate) async fn enqueue<T: Send + 'static>(
        &self,
        work: Work<T>,
    ) -> StoreResult<oneshot::Receiver<StoreResult<T>>> {
        let (tx, rx) = oneshot::channel::<StoreResult<T>>();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                Ran {
                    ok: result.is_ok(),
                    answer: Box::new(move |batch: Result<(), &str>| {
                        let out = match (result, batch) {
                            (Ok(v), Ok(())) => Ok(v),
                            (Err(e), _) => Err(e),
                            (Ok(_), Err(why)) => Err(StoreError::Db(sqlx::Error::Io(
                                std::io::Error::other(format!("batch not committed: {why}")),
                            ))),
                        };
                        // The caller may have gone (client hung up): fine.
                        let _ = tx.send(out);
                    }),
                }
            })
        });
        self.tx.send(job).await.map_err(|_| gone())?;
        Ok(rx)
    }

    /// Keep the writer busy with an empty job until the [`Hold`] is
    /// dropped: whatever is queued meanwhile becomes the next batch, so
    /// tests can make a batch of exactly the jobs they want.
    pub(crate) async fn hold(&self) -> StoreResult<Hold> {
        let (started_tx, started) = oneshot::channel::<()>();
        let (release, released) = oneshot::channel::<()>();
        let work: Work<()> = Box::new(move |_conn| {
            Box::pin(async move {
                let _ = started_tx.send(());
                let _ = released.await;
                Ok(())
            })
        });
        let _answer = self.enqueue(work).await?;
        started.await.map_err(|_| gone())?;
        Ok(Hold { _release: release })
    }

    pub(crate) fn stats(&self) -> WriterStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stop taking jobs, finish those already queued, close the connection.
    pub(crate) async fn close(&self) {
        let _ = self.stop.send(true);
        let done = self.done.lock().ok().and_then(|mut t| t.take());
        if let Some(done) = done {
            let _ = done.await;
        }
    }
}

async fn run(
    conn: SqliteConnection,
    opts: SqliteConnectOptions,
    mut rx: mpsc::Receiver<Job>,
    mut stopped: watch::Receiver<bool>,
    stats: Arc<Mutex<WriterStats>>,
) {
    let mut conn = Some(conn);
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    // Per second and per minute, for the log.
    let mut second = (Instant::now(), WriterStats::default());
    let mut minute = (Instant::now(), WriterStats::default());
    loop {
        let first = tokio::select! {
            biased;
            job = rx.recv() => job,
            res = stopped.changed() => {
                if res.is_err() || *stopped.borrow() {
                    // Refuse new jobs; those already queued still run, and
                    // then `recv` answers None.
                    rx.close();
                }
                continue;
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let c = match conn.take() {
            Some(c) => c,
            None => match SqliteConnection::connect_with(&opts).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "writer: cannot reopen the write connection");
                    // Dropping a job unrun answers it with an error.
                    batch.clear();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (c, outcome) = run_batch(c, &mut batch, &stats).await;
        conn = c;
        for (period, every, level) in [
            (&mut second, DEBUG_EVERY, tracing::Level::DEBUG),
            (&mut minute, INFO_EVERY, tracing::Level::INFO),
        ] {
            if period.1.batches == 0 {
                period.0 = Instant::now();
            }
            period.1.record(&outcome);
            if period.0.elapsed() >= every {
                period.1.log(level);
                *period = (Instant::now(), WriterStats::default());
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

struct Outcome {
    jobs: usize,
    failed: usize,
    committed: bool,
    commit_us: u64,
}

/// How the previous job of the batch ended.
#[derive(Clone, Copy)]
enum Last {
    Nothing,
    Kept,
    Undone,
}

impl Last {
    /// The statements before the next job (one round trip).
    fn then_next(self) -> &'static str {
        match self {
            Last::Nothing => "BEGIN IMMEDIATE; SAVEPOINT job",
            Last::Kept => "RELEASE job; SAVEPOINT job",
            Last::Undone => "ROLLBACK TO job; RELEASE job; SAVEPOINT job",
        }
    }

    /// The statements that end the batch.
    fn then_commit(self) -> Option<&'static str> {
        match self {
            Last::Nothing => None,
            Last::Kept => Some("RELEASE job; COMMIT"),
            Last::Undone => Some("ROLLBACK TO job; RELEASE job; COMMIT"),
        }
    }
}

/// Run one batch. Each boundary between jobs is one round trip to the
/// connection (`RELEASE job; SAVEPOINT job`), so a batch of n jobs costs
/// n + 1 statements of its own. Returns the connection (None if it must be
/// reopened).
async fn run_batch(
    mut conn: SqliteConnection,
    batch: &mut Vec<Job>,
    stats: &Mutex<WriterStats>,
) -> (Option<SqliteConnection>, Outcome) {
    let jobs = batch.len();
    let mut answers: Vec<Answer> = Vec::with_capacity(jobs);
    let mut failed = 0;
    let mut broken: Option<String> = None;
    let mut last = Last::Nothing;
    for job in batch.drain(..) {
        if broken.is_some() {
            // The transaction is gone: dropped unrun, the job is answered
            // with an error by its closed channel.
            continue;
        }
        if let Err(e) = sqlx::raw_sql(last.then_next()).execute(&mut conn).await {
            broken = Some(e.to_string());
            continue;
        }
        let ran = AssertUnwindSafe(job(&mut conn)).catch_unwind().await;
        last = match ran {
            Ok(r) => {
                let ok = r.ok;
                answers.push(r.answer);
                if ok { Last::Kept } else { Last::Undone }
            }
            Err(_) => {
                tracing::error!("writer: a job panicked; its savepoint is rolled back");
                Last::Undone
            }
        };
        if matches!(last, Last::Undone) {
            failed += 1;
        }
    }
    let committing = Instant::now();
    let outcome = match (broken, last.then_commit()) {
        (Some(why), _) => Err(why),
        (None, None) => Ok(()),
        (None, Some(sql)) => sqlx::raw_sql(sql)
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    };
    let commit_us = committing.elapsed().as_micros() as u64;
    match outcome {
        Ok(()) => {
            let o = Outcome {
                jobs,
                failed,
                committed: true,
                commit_us,
            };
            // Counted before anyone is answered: what a caller sees after
            // its answer includes its batch.
            if let Ok(mut s) = stats.lock() {
                s.record(&o);
            }
            for a in answers {
                a(Ok(()));
            }
            (Some(conn), o)
        }
        Err(why) => {
            tracing::error!(error = %why, jobs, "writer: batch not committed");
            // Harmless if no transaction is open; a failure means the
            // connection is unusable.
            let reusable = match sqlx::raw_sql("ROLLBACK").execute(&mut conn).await {
                Ok(_) => true,
                Err(e) => e.to_string().contains("no transaction is active"),
            };
            let o = Outcome {
                jobs,
                failed: jobs,
                committed: false,
                commit_us,
            };
            if let Ok(mut s) = stats.lock() {
                s.record(&o);
            }
            for a in answers {
                a(Err(&why));
            }
            (reusable.then_some(conn), o)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::sqlite::SqliteJournalMode;

    async fn writer(dir: &tempfile::TempDir) -> (Writer, SqliteConnectOptions) {
        let opts = SqliteConnectOptions::new()
            .filename(dir.path().join("w.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let mut c = SqliteConnection::connect_with(&opts)
            .await
            .expect("connect");
        sqlx::raw_sql("CREATE TABLE t (v TEXT NOT NULL)")
            .execute(&mut c)
            .await
            .expect("table");
        c.close().await.expect("close");
        (Writer::start(opts.clone()).await.expect("writer"), opts)
    }

    fn insert(v: &'static str, then: Result<(), &'static str>) -> Work<&'static str> {
        Box::new(move |conn| {
            Box::pin(async move {
                sqlx::query("INSERT INTO t (v) VALUES (?)")
                    .bind(v)
                    .execute(&mut *conn)
                    .await?;
                match then {
                    Ok(()) => Ok(v),
                    Err("panic") => panic!("a job that panics after writing"),
                    Err(why) => Err(StoreError::Corrupt(why.into())),
                }
            })
        })
    }

    /// Queued while the writer is held, so all of them are one batch: the
    /// failed and the panicking job leave nothing, the others commit, each
    /// gets its own answer.
    #[tokio::test]
    async fn one_batch_savepoint_per_job() {
        let dir = tempfile::tempdir().expect("dir");
        let (w, opts) = writer(&dir).await;
        let held = w.hold().await.expect("hold");
        let before = w.stats();
        let jobs = [
            ("a", Ok(())),
            ("b", Err("refused")),
            ("c", Ok(())),
            ("d", Err("panic")),
            ("e", Ok(())),
        ];
        let mut rxs = Vec::new();
        for (v, then) in jobs {
            rxs.push(w.enqueue(insert(v, then)).await.expect("queued"));
        }
        drop(held);
        let mut answers = Vec::new();
        for rx in rxs {
            answers.push(rx.await.map(|r| r.map_err(|e| e.to_string())));
        }
        assert_eq!(answers[0], Ok(Ok("a")));
        assert_eq!(answers[1], Ok(Err("corrupt stored data: refused".into())));
        assert_eq!(answers[2], Ok(Ok("c")));
        assert!(answers[3].is_err(), "the panicked job's answer is dropped");
        assert_eq!(answers[4], Ok(Ok("e")));
        let s = w.stats();
        // The hold's own batch, then the five.
        assert_eq!(
            (
                s.batches - before.batches,
                s.jobs - before.jobs,
                s.failed_jobs,
                s.max_batch
            ),
            (2, 6, 2, 5)
        );
        w.close().await;
        let mut c = SqliteConnection::connect_with(&opts)
            .await
            .expect("connect");
        let rows: Vec<(String,)> = sqlx::query_as("SELECT v FROM t ORDER BY rowid")
            .fetch_all(&mut c)
            .await
            .expect("rows");
        let rows: Vec<&str> = rows.iter().map(|(v,)| v.as_str()).collect();
        assert_eq!(rows, ["a", "c", "e"]);
    }

    /// A job sees the writes of the jobs before it in its batch (the
    /// serial order is the queue's), and close() runs what is queued.
    #[tokio::test]
    async fn later_jobs_see_earlier_ones_and_close_drains() {
        let dir = tempfile::tempdir().expect("dir");
        let (w, _) = writer(&dir).await;
        let first = w.enqueue(insert("x", Ok(()))).await.expect("queued");
        let count: Work<i64> = Box::new(|conn| {
            Box::pin(async move {
                Ok(sqlx::query_scalar("SELECT COUNT(*) FROM t")
                    .fetch_one(&mut *conn)
                    .await?)
            })
        });
        let second = w.enqueue(count).await.expect("queued");
        w.close().await;
        assert_eq!(first.await.expect("answer").expect("ok"), "x");
        assert_eq!(second.await.expect("answer").expect("ok"), 1);
        assert!(w.enqueue(insert("late", Ok(()))).await.is_err(), "closed");
    }
}
