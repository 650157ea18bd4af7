//! `shenhe show CANDIDATE` end to end: the real binary against the real
//! reference server, stdout captured (not a terminal, so half-blocks).
//! The dossier text, every image's half-block cells, sanitised hostile
//! strings, and the exit codes of the ways it can fail.

use crate::common;

use std::process::{Command, Output};

use common::TestServer;
use shenhe::api::client::{Client, Timeouts};
use shenhe::api::dto::CandidateDetail;
use shenhe::commands::show::{EXIT_NOT_FOUND, EXIT_NOT_LOGGED_IN, EXIT_SERVER};
use shenhe::domain::text::clean;
use shenhe::images::line::fit_image;
use shenhe::images::{FontSize, ProtocolKind};

/// A name a candidate could type: a cursor report request, clear screen,
/// OSC 52 clipboard write, a title change, bidi override, zero-width joiner.
const HOSTILE: &str =
    "王\x1b[6n\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07\x1b]0;pwned\x1b\\\u{202e}evil\u{202c}\u{200d}娜";
const CELLS: (u16, u16) = (40, 16);

fn shenhe(home: &std::path::Path, server: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shenhe"));
    cmd.arg("--server").arg(server).arg("show").args(args);
    // A throwaway home: no stored token, config or log of the user's.
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env_remove("SHENHE_SERVER")
        .env_remove("SHENHE_TOKEN");
    if let Some(t) = token {
        cmd.env("SHENHE_TOKEN", t);
    }
    cmd.output().expect("run shenhe show")
}

async fn detail(base: &str, token: &str, id: i64) -> CandidateDetail {
    let c = Client::new(base, Some(token.to_string()), Timeouts::default()).expect("client");
    c.candidate(id).await.expect("detail")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_prints_the_dossier_and_its_images() {
    // Edits the SQLite file behind the server.
    if common::sqlite_only("show_prints_the_dossier_and_its_images") {
        return;
    }
    let srv = TestServer::start_demo(4).await;
    let token = srv.login("nanjing").await;
    let first = srv.candidates(&token, None).await[0].clone();
    let id = first["id"].as_i64().expect("id");
    let reg_no = first["reg_no"].as_str().expect("reg_no").to_string();

    // The candidate controls their name; a reviewer's note can be pasted.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", srv.db.display()))
        .await
        .expect("db");
    sqlx::query("UPDATE candidates SET name = ? WHERE id = ?")
        .bind(HOSTILE)
        .bind(id)
        .execute(&pool)
        .await
        .expect("hostile name");
    pool.close().await;
    let r = srv
        .post_json(
            &token,
            &format!("/api/v1/candidates/{id}/feedback"),
            &serde_json::json!({"channel": "phone", "body": format!("电话 {HOSTILE}")}),
        )
        .await;
    assert!(r.status().is_success(), "feedback: {}", r.status());

    let d = detail(&srv.base_url, &token, id).await;
    let imgs: Vec<_> = d.materials.iter().flat_map(|m| m.images.clone()).collect();
    assert!(!imgs.is_empty(), "the demo candidate has images");

    let home = tempfile::tempdir().expect("home");
    let cells = format!("{}x{}", CELLS.0, CELLS.1);
    let out = shenhe(
        home.path(),
        &srv.base_url,
        Some(&token),
        &[&reg_no, "--cells", &cells],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    // The dossier: the name sanitised (visible escapes), the ID masked.
    assert!(stdout.contains(&clean(HOSTILE)), "{stdout}");
    assert!(stdout.contains(&reg_no));
    assert!(stdout.contains(&d.id_number) && d.id_number.contains('*'));
    assert!(stdout.contains("考点"));
    for hostile in [
        "\x1b[6n", "\x1b[2J", "\x1b]52", "\x1b]0;", "\u{202e}", "\u{200d}",
    ] {
        assert!(!stdout.contains(hostile), "{hostile:?} got through");
    }

    // Every image: its caption, then exactly the half-block cells that the
    // project's own resize gives for the same bytes (so viuer did print the
    // picture we sized, not one it sized itself).
    let c = Client::new(&srv.base_url, Some(token.clone()), Timeouts::default()).expect("client");
    let mut cells_expected = 0usize;
    for img in &imgs {
        let bytes = c.image_content(img.id).await.expect("bytes");
        let (pic, at) = fit_image(
            &bytes,
            CELLS,
            ProtocolKind::Halfblocks,
            FontSize::FALLBACK,
            false,
        )
        .expect("fit");
        assert_eq!(pic.dimensions(), (u32::from(at.0), 2 * u32::from(at.1)));
        cells_expected += usize::from(at.0) * usize::from(at.1);
        assert!(stdout.contains(&format!("{}×{}", img.width, img.height)));
    }
    let blocks = stdout.matches(['▄', '▀']).count();
    assert_eq!(blocks, cells_expected, "half-block cells printed");
    assert!(stdout.contains("\x1b[48;2;"), "truecolour backgrounds");
    assert_eq!(
        stdout.matches("── ").count(),
        imgs.len(),
        "one caption per image"
    );

    // By id too, and in English with the config's lang.
    std::fs::create_dir_all(home.path().join("config/shenhe")).expect("dir");
    std::fs::write(
        home.path().join("config/shenhe/config.toml"),
        "lang = \"en\"\n",
    )
    .expect("config");
    let out = shenhe(
        home.path(),
        &srv.base_url,
        Some(&token),
        &[&id.to_string(), "--cells", "20x8"],
    );
    assert!(out.status.success());
    let en = String::from_utf8_lossy(&out.stdout);
    assert!(en.contains(&clean(HOSTILE)) && en.contains("site:"), "{en}");

    srv.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_fails_clearly() {
    let srv = TestServer::start_demo(1).await;
    let token = srv.login("nanjing").await;
    let home = tempfile::tempdir().expect("home");

    // No SHENHE_TOKEN and nothing stored.
    let out = shenhe(home.path(), &srv.base_url, None, &["1"]);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_NOT_LOGGED_IN)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("未登录"));

    // A token the server does not know.
    let out = shenhe(home.path(), &srv.base_url, Some("nonsense"), &["1"]);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_NOT_LOGGED_IN)));

    // Nobody by that reg_no or id (or out of scope: the same answer).
    let out = shenhe(home.path(), &srv.base_url, Some(&token), &["999999999"]);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_NOT_FOUND)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("找不到考生"));
    let out = shenhe(home.path(), &srv.base_url, Some(&token), &["张\x1b[2J"]);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_NOT_FOUND)));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("\x1b[2J"));

    // The server is gone.
    let base = srv.base_url.clone();
    srv.shutdown().await;
    let out = shenhe(home.path(), &base, Some(&token), &["1"]);
    assert_eq!(out.status.code(), Some(i32::from(EXIT_SERVER)));
    assert!(String::from_utf8_lossy(&out.stderr).contains("无法连接服务器"));
}
