//! The event stream survives a dropped connection: the client reports the
//! drop, reconnects by itself (jittered backoff) and reports it connected
//! again, after which the console resyncs (see console_update/stream.rs).

use crate::common;
use crate::support;

use std::time::Duration;

use common::TestServer;
use shenhe::api::client::{Client, StreamEvent, Timeouts};
use support::fault_proxy::FaultProxy;
use tokio::sync::mpsc;

/// Only a guard against hanging forever.
const PATIENCE: Duration = Duration::from_secs(60);

async fn next(rx: &mut mpsc::UnboundedReceiver<StreamEvent>) -> StreamEvent {
    tokio::time::timeout(PATIENCE, rx.recv())
        .await
        .expect("an event in time")
        .expect("the reader is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_reconnects_after_a_cut_and_a_reset() {
    let server = TestServer::start_demo(4).await;
    let upstream = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let proxy = FaultProxy::start(upstream).await;
    let token = server.login("nanjing").await;
    let client = Client::new(&proxy.url(), Some(token), Timeouts::default()).expect("client");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        client.run_events(|ev| tx.send(ev).is_ok()).await;
    });
    assert_eq!(next(&mut rx).await, StreamEvent::Connected);
    for cut in [
        FaultProxy::cut_all as fn(&FaultProxy),
        FaultProxy::reset_all,
    ] {
        cut(&proxy);
        // Events may still be in the pipe; then the drop, then the return.
        loop {
            match next(&mut rx).await {
                StreamEvent::Disconnected(e) => {
                    assert!(!e.is_unauthorized(), "{e}");
                    break;
                }
                StreamEvent::Event(_) | StreamEvent::Resync | StreamEvent::Alive => {}
                StreamEvent::Connected => panic!("connected twice without a drop"),
            }
        }
        loop {
            if next(&mut rx).await == StreamEvent::Connected {
                break;
            }
        }
    }
    reader.abort();
    server.shutdown().await;
}
