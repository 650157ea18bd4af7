//! Image bytes reach the terminal only through the image encoder. A real
//! server serves "images" whose bytes carry escape sequences (an OSC 52
//! clipboard write, a DCS request, BEL); the real console shows them in a
//! pseudo-terminal. Every byte the console writes is recorded: none of
//! those sequences may appear, the broken ones must show an error caption,
//! and the one that is a valid PNG (with the sequence in a text chunk)
//! must be drawn as a picture.

use crate::common;
use crate::support;

use common::TestServer;
use shenhe::api::dto::{CandidateDetail, CandidateList};
use shenhe::server::blobs::Blobs;
use support::console::Console;

const ROWS: u16 = 40;
const COLS: u16 = 120;

const OSC52: &[u8] = b"\x1b]52;c;cm0gLXJmIH4=\x07";
const DCS: &[u8] = b"\x1bP+q544e\x1b\\";

/// JPEG magic, then escape sequences: sniffs as JPEG, so the server serves
/// it; the console's decoder must refuse it.
fn jpeg_magic_then_escapes() -> Vec<u8> {
    [&[0xFF, 0xD8, 0xFF, 0xE0][..], OSC52, DCS, b"\x1b[2J"].concat()
}

/// A valid PNG carrying the sequences in a tEXt chunk: it decodes, and only
/// its pixels may reach the terminal.
fn png_with_escape_text() -> Vec<u8> {
    let png = common::doc_png(7, 200, 120);
    // Signature (8) + IHDR chunk (4 + 4 + 13 + 4).
    let at = 8 + 25;
    let data = [b"Comment\0", OSC52, DCS].concat();
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut crc = flate2::Crc::new();
    crc.update(b"tEXt");
    crc.update(&data);
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(&data);
    chunk.extend_from_slice(&crc.sum().to_be_bytes());
    [&png[..at], &chunk, &png[at..]].concat()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Make `image_id` name other bytes (a test reaching behind the server's
/// upload checks, as a compromised or buggy backend would): the bytes go
/// into the blob store under their own hash, which the image row then
/// names, so the server's hash check passes and only its format check
/// stands between them and the console.
async fn poison(db: &std::path::Path, image_id: i64, bytes: &[u8], format: &str) {
    use sha2::Digest;
    use sqlx::Connection;
    let sha = hex::encode(sha2::Sha256::digest(bytes));
    let blobs = Blobs::local(&Blobs::beside(db)).expect("blobs");
    blobs
        .put(&sha, bytes.to_vec().into())
        .await
        .expect("put blob");
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("open db");
    sqlx::query("INSERT OR IGNORE INTO blobs (sha256, format, legacy_bytes) VALUES (?, ?, X'')")
        .bind(&sha)
        .bind(format)
        .execute(&mut c)
        .await
        .expect("blob row");
    sqlx::query("UPDATE images SET format = ?, sha256 = ? WHERE id = ?")
        .bind(format)
        .bind(&sha)
        .bind(image_id)
        .execute(&mut c)
        .await
        .expect("update image");
}

#[test]
fn escape_sequences_in_image_bytes_never_reach_the_terminal() {
    // Poisons image bytes in the SQLite file behind the server.
    if common::sqlite_only("escape_sequences_in_image_bytes_never_reach_the_terminal") {
        return;
    }
    let _one = support::serial::pty_console();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let server = rt.block_on(TestServer::start_demo(24));
    let (token, first) = rt.block_on(async {
        let token = server.login("nanjing").await;
        let list: CandidateList = server
            .get_json(&token, "/api/v1/candidates?state=awaiting_review&limit=50")
            .await;
        let id = list.items.first().expect("a candidate").id;
        let d: CandidateDetail = server
            .get_json(&token, &format!("/api/v1/candidates/{id}"))
            .await;
        (token, d)
    });
    let images: Vec<i64> = first
        .materials
        .iter()
        .flat_map(|m| m.images.iter().map(|i| i.id))
        .collect();
    assert!(images.len() >= 3, "the demo candidate has few images");
    rt.block_on(async {
        poison(&server.db, images[0], &jpeg_magic_then_escapes(), "jpeg").await;
        poison(&server.db, images[1], &png_with_escape_text(), "png").await;
        // Plain text: the server's own sniff refuses to serve it.
        poison(&server.db, images[2], &[OSC52, DCS].concat(), "jpeg").await;
    });

    let home = tempfile::tempdir().expect("home");
    let config = home.path().join("config.toml");
    std::fs::write(&config, "image_protocol = \"halfblocks\"\nlang = \"en\"\n").expect("config");
    let cmd = support::console::command(home.path(), &server.base_url, &token, Some(&config));
    let mut console = Console::start(cmd, COLS, ROWS, true);

    console.wait_for("the queue", |t| t.contains(&first.name));
    console.keys("\r");
    console.wait_for("the decoder's refusal", |t| t.contains("corrupt"));
    console.keys(" ");
    // The PNG is drawn: half blocks, no caption.
    console.wait_for("the PNG drawn", |t| t.contains('▀') || t.contains('▄'));
    console.keys(" ");
    console.wait_for("the server's refusal", |t| t.contains("internal error"));
    console.keys("qq");
    let raw = console.raw.clone();
    console.wait_exit();

    let out = raw.lock().map(|r| r.clone()).unwrap_or_default();
    assert!(!out.is_empty());
    // Besides CSI, the console's own start-up queries (kitty's graphics
    // query, the background colour) and their ST are the only escapes.
    for (i, w) in out.windows(2).enumerate() {
        if w[0] == 0x1b && w[1] != b'[' {
            let rest = &out[i..];
            assert!(
                rest.starts_with(b"\x1b_Gi=3")
                    || rest.starts_with(b"\x1b]11;?\x1b\\")
                    || rest.starts_with(b"\x1b\\"),
                "unexpected escape at {i}: {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(24)])
            );
        }
    }
    for (name, seq) in [
        ("OSC 52", &b"\x1b]52"[..]),
        ("its payload", b"cm0gLXJmIH4="),
        ("DCS", b"\x1bP"),
        ("BEL", b"\x07"),
        ("clear screen from the file", b"\x1b[2J\x1b]"),
    ] {
        assert!(!contains(&out, seq), "{name} reached the terminal");
    }
    rt.block_on(server.shutdown());
}
