//! The event stream survives a dropped connection: the client reports the
//! drop, reconnects by itself (jittered backoff) and reports it connected
//! again, after which the console resyncs (see console_update/stream.rs).

use crate::common;
use crate::support;

use std::time::Duration;

use common::TestServer;
use futures::StreamExt;
use shenhe::api::client::{Client, StreamEvent, Timeouts};
use shenhe::api::dto::QueueEvent;
use shenhe::api::sse::SseParser;
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

/// The client's event reader on `token`, through a fault proxy in front of
/// `server`: (the proxy, what the reader reports, the reader's task).
async fn reader_via_proxy(
    server: &TestServer,
    token: &str,
) -> (
    FaultProxy,
    mpsc::UnboundedReceiver<StreamEvent>,
    tokio::task::JoinHandle<()>,
) {
    let upstream = server
        .base_url
        .trim_start_matches("http://")
        .parse()
        .expect("addr");
    let proxy = FaultProxy::start(upstream).await;
    let client =
        Client::new(&proxy.url(), Some(token.to_string()), Timeouts::default()).expect("client");
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        client.run_events(|ev| tx.send(ev).is_ok()).await;
    });
    (proxy, rx, reader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_reconnects_after_a_cut_and_a_reset() {
    let server = TestServer::start_demo(4).await;
    let token = server.login("nanjing").await;
    let (proxy, mut rx, reader) = reader_via_proxy(&server, &token).await;
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

/// The next change event, past heartbeats.
async fn next_change(rx: &mut mpsc::UnboundedReceiver<StreamEvent>) -> QueueEvent {
    loop {
        match next(rx).await {
            StreamEvent::Event(ev) => return ev,
            StreamEvent::Alive => {}
            other => panic!("expected a change, got {other:?}"),
        }
    }
}

/// Claim and release one candidate `n` times each: 2n changes, alternating.
async fn claims(server: &TestServer, token: &str, id: i64, n: usize) {
    for _ in 0..n {
        let r = server
            .post_json(
                token,
                &format!("/api/v1/candidates/{id}/claim"),
                &serde_json::json!({}),
            )
            .await;
        assert!(r.status().is_success(), "claim: {}", r.status());
        let r = server
            .delete(token, &format!("/api/v1/candidates/{id}/claim"))
            .await;
        assert!(r.status().is_success(), "release: {}", r.status());
    }
}

/// A console whose stream drops while 100 changes happen gets all 100 when
/// it reconnects (it sends the last event's id as `Last-Event-ID`), in
/// order, none twice, and nothing more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_stream_resumes_with_every_change_once_in_order() {
    let server = TestServer::start_demo(24).await;
    let token = server.login("nanjing").await;
    let id = server.candidates(&token, Some("awaiting_review")).await[0]["id"]
        .as_i64()
        .expect("id");
    let (proxy, mut rx, reader) = reader_via_proxy(&server, &token).await;
    assert_eq!(next(&mut rx).await, StreamEvent::Connected);
    claims(&server, &token, id, 1).await;
    assert_eq!(next_change(&mut rx).await.action, "claim");
    assert_eq!(next_change(&mut rx).await.action, "release");

    // Down: the console cannot reach the server while 100 changes happen.
    proxy.set_refuse(true);
    proxy.cut_all();
    loop {
        if let StreamEvent::Disconnected(_) = next(&mut rx).await {
            break;
        }
    }
    claims(&server, &token, id, 50).await;
    proxy.set_refuse(false);
    loop {
        match next(&mut rx).await {
            StreamEvent::Connected => break,
            StreamEvent::Disconnected(_) | StreamEvent::Alive => {}
            other => panic!("before reconnecting: {other:?}"),
        }
    }
    let mut got = Vec::new();
    for _ in 0..100 {
        got.push(next_change(&mut rx).await);
    }
    for (i, ev) in got.iter().enumerate() {
        let want = if i % 2 == 0 { "claim" } else { "release" };
        assert_eq!(ev.action, want, "change {i} of 100 in order");
        assert_eq!(ev.candidate_id, id);
    }
    // Versions only grow: nothing came twice.
    assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
    // And nothing more.
    let more = tokio::time::timeout(Duration::from_millis(1500), async {
        loop {
            match rx.recv().await {
                Some(StreamEvent::Alive) => {}
                other => return other,
            }
        }
    })
    .await;
    assert!(more.is_err(), "an extra event after the 100: {more:?}");
    reader.abort();
    server.shutdown().await;
}

/// The wire: every change carries its number as `id`, resuming after a
/// number sends the ones after it, and a number the log does not hold is
/// answered with `reset`.
#[tokio::test]
async fn event_ids_are_consecutive_and_an_unknown_position_resets() {
    let server = TestServer::start_demo(24).await;
    let token = server.login("nanjing").await;
    let id = server.candidates(&token, Some("awaiting_review")).await[0]["id"]
        .as_i64()
        .expect("id");
    claims(&server, &token, id, 3).await;
    let read = |last: String, want: usize| {
        let server = &server;
        let token = token.clone();
        async move {
            let resp = server
                .req(reqwest::Method::GET, "/api/v1/events", Some(&token))
                .header("Last-Event-ID", last.as_str())
                .send()
                .await
                .expect("events");
            assert_eq!(resp.status(), 200);
            let mut parser = SseParser::default();
            let mut body = resp.bytes_stream();
            let mut out = Vec::new();
            while out.len() < want {
                let chunk = tokio::time::timeout(PATIENCE, body.next())
                    .await
                    .expect("in time")
                    .expect("open")
                    .expect("chunk");
                out.extend(parser.feed(&chunk));
            }
            out
        }
    };
    let all = read("0".into(), 6).await;
    let ids: Vec<i64> = all
        .iter()
        .map(|m| m.id.as_deref().expect("an id").parse().expect("a number"))
        .collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1), "{ids:?}");
    let after = read(ids[2].to_string(), 3).await;
    assert_eq!(
        after.iter().map(|m| m.id.clone()).collect::<Vec<_>>(),
        all[3..].iter().map(|m| m.id.clone()).collect::<Vec<_>>()
    );
    let reset = read("999999999".into(), 1).await;
    assert_eq!(reset[0].event, "reset");
    // Not a number this server sent: said, not silently restarted.
    let bad = server
        .req(reqwest::Method::GET, "/api/v1/events", Some(&token))
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .expect("events");
    common::problem(bad, 400, "invalid_header").await;
    server.shutdown().await;
}
