//! The fault-injection proxy itself behaves as the chaos tests assume.

use crate::support;

use std::time::Duration;

use support::fault_proxy::FaultProxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn echo_server() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn passes_bytes_through_and_cuts_on_command() {
    let proxy = FaultProxy::start(echo_server().await).await;
    let mut s = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect");
    s.write_all(b"hello").await.expect("write");
    let mut buf = [0u8; 5];
    s.read_exact(&mut buf).await.expect("read");
    assert_eq!(&buf, b"hello");

    proxy.reset_all();
    // After a reset the connection reads EOF or an error, never more data.
    let mut rest = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
    assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
}

#[tokio::test]
async fn refuse_and_cut_ratio() {
    let proxy = FaultProxy::start(echo_server().await).await;
    proxy.set_refuse(true);
    let mut s = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect");
    let _ = s.write_all(b"x").await;
    let mut buf = [0u8; 1];
    let r = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await;
    assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "{r:?}");
    proxy.set_refuse(false);

    proxy.set_cut_ratio(1.0);
    let mut s = tokio::net::TcpStream::connect(proxy.addr)
        .await
        .expect("connect");
    s.write_all(&[7u8; 2000]).await.expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
    assert!(
        got.len() < 2000,
        "a cut connection must not deliver everything"
    );
    assert_eq!(proxy.cut_count(), 1);
}
