//! A small TCP proxy on 127.0.0.1 that injects network faults between the
//! console's client and the server: delay, cut (FIN), reset (RST),
//! half-close, refuse, and cutting a random share of connections mid-stream.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kill {
    None,
    Fin,
    Rst,
    HalfClose,
}

struct Control {
    upstream: Mutex<SocketAddr>,
    delay_ms: AtomicU64,
    /// Per mille of new connections cut after a random number of bytes.
    cut_permille: AtomicU32,
    refuse: AtomicBool,
    kill: watch::Sender<(u64, Kill)>,
    seed: AtomicU64,
    pub accepted: AtomicU64,
    pub cut: AtomicU64,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    control: Arc<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (kill, _) = watch::channel((0, Kill::None));
        let control = Arc::new(Control {
            upstream: Mutex::new(upstream),
            delay_ms: AtomicU64::new(0),
            cut_permille: AtomicU32::new(0),
            refuse: AtomicBool::new(false),
            kill,
            seed: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            accepted: AtomicU64::new(0),
            cut: AtomicU64::new(0),
        });
        let c = control.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let c = c.clone();
                tokio::spawn(async move { handle(client, c).await });
            }
        });
        FaultProxy {
            addr,
            control,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.control.upstream.lock().expect("lock") = upstream;
    }

    pub fn set_delay(&self, d: Duration) {
        self.control
            .delay_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }

    /// Cut this share (0.0..=1.0) of new connections at a random point.
    pub fn set_cut_ratio(&self, ratio: f64) {
        let pm = (ratio.clamp(0.0, 1.0) * 1000.0).round() as u32;
        self.control.cut_permille.store(pm, Ordering::SeqCst);
    }

    /// Accept new connections and reset them at once (server "down").
    pub fn set_refuse(&self, refuse: bool) {
        self.control.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Close every live connection with a FIN.
    pub fn cut_all(&self) {
        self.kill(Kill::Fin);
    }

    /// Abort every live connection with a RST.
    pub fn reset_all(&self) {
        self.kill(Kill::Rst);
    }

    /// Stop sending to clients, keep reading from them.
    pub fn half_close_all(&self) {
        self.kill(Kill::HalfClose);
    }

    pub fn accepted(&self) -> u64 {
        self.control.accepted.load(Ordering::SeqCst)
    }

    pub fn cut_count(&self) -> u64 {
        self.control.cut.load(Ordering::SeqCst)
    }

    fn kill(&self, k: Kill) {
        self.control.kill.send_modify(|(generation, kind)| {
            *generation += 1;
            *kind = k;
        });
    }
}

fn next_rand(c: &Control) -> u64 {
    // xorshift: deterministic enough for a test proxy, no extra dependency.
    let mut x = c.seed.load(Ordering::SeqCst);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c.seed.store(x, Ordering::SeqCst);
    x
}

fn rst(stream: &TcpStream) {
    // Linger 0 turns the close into a RST (and cannot block: zero wait).
    let _ = stream.set_zero_linger();
}

async fn handle(mut client: TcpStream, c: Arc<Control>) {
    c.accepted.fetch_add(1, Ordering::SeqCst);
    if c.refuse.load(Ordering::SeqCst) {
        rst(&client);
        return;
    }
    let upstream = *c.upstream.lock().expect("lock");
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        rst(&client);
        return;
    };
    let mut budget = if next_rand(&c) % 1000 < u64::from(c.cut_permille.load(Ordering::SeqCst)) {
        // Cut somewhere inside the exchange: often after the request reached
        // the server but before the whole response came back.
        Some(1 + (next_rand(&c) % 600) as usize)
    } else {
        None
    };
    let mut kill = c.kill.subscribe();
    let start_gen = kill.borrow().0;
    let (mut cr, mut cw) = client.split();
    let (mut sr, mut sw) = server.split();
    let mut cbuf = vec![0u8; 16 * 1024];
    let mut sbuf = vec![0u8; 16 * 1024];
    let mut half_closed = false;
    loop {
        tokio::select! {
            changed = kill.changed() => {
                if changed.is_err() { break; }
                let (generation, kind) = *kill.borrow();
                if generation == start_gen { continue; }
                match kind {
                    Kill::Fin | Kill::None => break,
                    Kill::Rst => { rst(&client); return; }
                    Kill::HalfClose => { let _ = cw.shutdown().await; half_closed = true; }
                }
            }
            n = cr.read(&mut cbuf) => {
                let Ok(n) = n else { break };
                if n == 0 { let _ = sw.shutdown().await; continue; }
                delay(&c).await;
                if sw.write_all(&cbuf[..n]).await.is_err() { break; }
            }
            n = sr.read(&mut sbuf), if !half_closed => {
                let Ok(n) = n else { break };
                if n == 0 { break; }
                delay(&c).await;
                let mut n = n;
                if let Some(b) = budget.as_mut() {
                    if *b <= n {
                        n = *b;
                        let _ = cw.write_all(&sbuf[..n]).await;
                        c.cut.fetch_add(1, Ordering::SeqCst);
                        rst(&client);
                        return;
                    }
                    *b -= n;
                }
                if cw.write_all(&sbuf[..n]).await.is_err() { break; }
            }
        }
    }
}

async fn delay(c: &Control) {
    let ms = c.delay_ms.load(Ordering::SeqCst);
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}
