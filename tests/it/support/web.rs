//! What the candidates' page tests share: a phone-style photo with EXIF
//! orientation 6, PSNR, a fresh candidate, and the browser steps a
//! candidate takes (log in, choose a photo, upload, confirm).
#![allow(dead_code)]

use std::path::Path;

use image::{Rgb, RgbImage};
use serde_json::{Value, json};

use super::webdriver::Browser;

/// An upright A4-ish document page (portrait), as a phone would see it:
/// paper with sensor noise, lines of dark "text", a blue photo, a red seal.
pub fn document(w: u32, h: u32, seed: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(2_654_435_761) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        // Uneven light across the page, as under a desk lamp.
        let shade = 232 - ((x + y) * 18 / (w + h)) as i32;
        Rgb([shade as u8, (shade - 3) as u8, (shade - 12) as u8])
    });
    let line_h = h / 60;
    for line in 0..30 {
        let y0 = h / 8 + line * (h / 40);
        let mut x = w / 10 + next() % (w / 20);
        let end = w * 9 / 10 - next() % (w / 4);
        while x + line_h < end {
            let glyph_w = line_h * 8 / 10;
            for yy in y0..(y0 + line_h).min(h) {
                for xx in x..(x + glyph_w).min(w) {
                    // Strokes, not blocks: a glyph is a few bars.
                    if (xx - x) % (glyph_w / 3).max(1) < 3 || (yy - y0) % (line_h / 3).max(1) < 3 {
                        img.put_pixel(xx, yy, Rgb([35, 35, 45]));
                    }
                }
            }
            x += line_h;
        }
    }
    for yy in h / 8..h / 8 + h / 6 {
        for xx in w * 7 / 10..w * 7 / 10 + w / 6 {
            img.put_pixel(xx, yy, Rgb([70, 95, 150]));
        }
    }
    // The red seal: a ring with a star, where chroma matters.
    let (cx, cy, r) = (w as i32 * 2 / 3, h as i32 * 3 / 4, w as i32 / 8);
    for yy in (cy - r)..(cy + r) {
        for xx in (cx - r)..(cx + r) {
            let d = (((xx - cx).pow(2) + (yy - cy).pow(2)) as f64).sqrt();
            let ring = (d - f64::from(r) * 0.9).abs() < f64::from(r) * 0.06;
            let star = d < f64::from(r) * 0.3;
            if (ring || star) && xx >= 0 && yy >= 0 && (xx as u32) < w && (yy as u32) < h {
                img.put_pixel(xx as u32, yy as u32, Rgb([200, 30, 40]));
            }
        }
    }
    // Sensor noise: what makes a phone photo 3-5 MB.
    for p in img.pixels_mut() {
        let n = (next() % 9) as i32 - 4;
        for c in p.0.iter_mut() {
            *c = (i32::from(*c) + n).clamp(0, 255) as u8;
        }
    }
    img
}

/// A JPEG of `stored` pixels with EXIF orientation `o` (one IFD entry).
pub fn exif_jpeg(stored: &RgbImage, o: u8, quality: u8) -> Vec<u8> {
    let mut tiff = vec![b'I', b'I', 42, 0, 8, 0, 0, 0];
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&[o, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.add_exif_metadata(&tiff).expect("exif");
    enc.encode(
        stored.as_raw(),
        stored.width() as u16,
        stored.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("jpeg");
    out
}

/// The phone photo of the issue: 4000×3000 stored pixels, ~4 MB, EXIF
/// orientation 6 (the sensor was turned: shown upright it is 3000×4000).
/// Returns (file bytes, the upright page).
pub fn phone_photo() -> (Vec<u8>, RgbImage) {
    let upright = document(3000, 4000, 7);
    // Orientation 6 means "turn 90° clockwise to show": store it turned back.
    let stored = image::imageops::rotate270(&upright);
    (exif_jpeg(&stored, 6, 95), upright)
}

/// Peak signal-to-noise ratio (dB) over RGB of two same-sized images.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "psnr of different sizes");
    let mut se = 0f64;
    for (x, y) in a.as_raw().iter().zip(b.as_raw()) {
        let d = f64::from(*x) - f64::from(*y);
        se += d * d;
    }
    let mse = se / a.as_raw().len() as f64;
    if mse == 0.0 {
        return f64::INFINITY;
    }
    10.0 * (255.0f64 * 255.0 / mse).log10()
}

/// `reference` scaled to `w`×`h` (the same filter family a browser uses).
pub fn scaled(reference: &RgbImage, w: u32, h: u32) -> RgbImage {
    image::imageops::resize(reference, w, h, image::imageops::FilterType::Lanczos3)
}

/// Whether JPEG bytes carry an EXIF (APP1 "Exif") segment.
pub fn has_exif(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|w| w == b"Exif\0\0")
}

/// Log in over the API: a reviewer (`/session`) or a candidate.
pub async fn api_token(base: &str, path: &str, body: Value) -> String {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("login");
    assert!(r.status().is_success(), "login {path}: {}", r.status());
    let v: Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}

pub async fn api(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.expect("send");
    let status = r.status().as_u16();
    let v = r.json().await.unwrap_or(Value::Null);
    (status, v)
}

/// A 南京考点 candidate who has not submitted, with an empty dossier:
/// (id, reg_no, candidate API token).
pub async fn fresh_candidate(base: &str) -> (i64, String, String) {
    let site = api_token(
        base,
        "/api/v1/session",
        json!({"username": "nanjing", "password": "demo"}),
    )
    .await;
    let (_, list) = api(
        base,
        &site,
        reqwest::Method::GET,
        "/api/v1/candidates?state=not_started&limit=500",
        None,
    )
    .await;
    let c = list["items"][0].clone();
    let id = c["id"].as_i64().expect("a candidate who has not submitted");
    let reg_no = c["reg_no"].as_str().expect("reg_no").to_string();
    let token = api_token(
        base,
        "/api/v1/candidate/session",
        json!({"reg_no": reg_no, "password": "demo"}),
    )
    .await;
    let (_, me) = api(
        base,
        &token,
        reqwest::Method::GET,
        "/api/v1/candidate/me",
        None,
    )
    .await;
    for img in images(&me) {
        let (status, _) = api(
            base,
            &token,
            reqwest::Method::DELETE,
            &format!("/api/v1/candidate/images/{}", img["id"]),
            None,
        )
        .await;
        assert_eq!(status, 204, "clearing the draft images");
    }
    (id, reg_no, token)
}

pub fn images(me: &Value) -> Vec<Value> {
    me["materials"]
        .as_array()
        .expect("materials")
        .iter()
        .flat_map(|m| m["images"].as_array().cloned().unwrap_or_default())
        .collect()
}

/// The image in `category` slot `slot` of a `/candidate/me` answer.
pub fn image_at(me: &Value, category: &str, slot: u64) -> Option<Value> {
    images(me)
        .into_iter()
        .find(|i| i["category"] == category && i["slot"] == slot)
}

/// Log in on the page as a candidate would.
pub async fn log_in(b: &Browser, base: &str, reg_no: &str) {
    b.goto(&format!("{base}/")).await;
    let user = b.labelled("报名号").await.expect("报名号 field");
    b.type_into(&user, reg_no).await;
    let pass = b.labelled("密码").await.expect("密码 field");
    b.type_into(&pass, "demo").await;
    let login = b.button("main", "登录").await.expect("登录 button");
    b.click(&login).await;
    b.wait_text("上传相关材料").await;
}

/// What the preparation dialog reported: (ms, bytes).
#[derive(Debug, Clone, Copy)]
pub struct Prepared {
    pub ms: f64,
    pub bytes: u64,
}

/// Choose `file` for the slot labelled `label` ("身份证明 正面"), wait for
/// the dialog's result, optionally turn it, and press its 上传; returns
/// what the dialog said once the slot shows the stored image.
pub async fn upload(b: &Browser, label: &str, file: &Path, turns: &[&str]) -> Prepared {
    let input = b
        .labelled(label)
        .await
        .unwrap_or_else(|| panic!("no file input labelled {label:?}"));
    // Mark the slot, so its replacement after the upload can be told apart.
    b.js(
        "arguments[0].closest('.slot').dataset.old = '1';",
        vec![input.json()],
    )
    .await;
    let slot_id: String = serde_json::from_value(
        b.js(
            "return arguments[0].closest('.slot').id;",
            vec![input.json()],
        )
        .await,
    )
    .expect("slot id");
    b.choose_file(&input, file).await;
    let ready = "const d = document.getElementById('prep');\
                 return d.open && d.dataset.bytes && !d.querySelector('[data-act=upload]').disabled;";
    b.wait("the prepared photo", ready).await;
    for t in turns {
        b.js(
            "delete document.getElementById('prep').dataset.bytes;",
            vec![],
        )
        .await;
        let turn = b.button("#prep", t).await.expect("turn button");
        b.click(&turn).await;
        b.wait("the turned photo", ready).await;
    }
    let v = b
        .js(
            "const d = document.getElementById('prep'); return [Number(d.dataset.ms), Number(d.dataset.bytes)];",
            vec![],
        )
        .await;
    let ms = v[0].as_f64().expect("ms");
    let bytes = v[1].as_u64().expect("bytes");
    let go = b.button("#prep", "上传").await.expect("the dialog's 上传");
    b.click(&go).await;
    let done = format!(
        "const s = document.getElementById({}); return s && !s.dataset.old && s.querySelector('img');",
        json!(slot_id)
    );
    b.wait(&format!("{label} uploaded"), &done).await;
    Prepared { ms, bytes }
}

/// Press a button in the page, then confirm in the dialog with `yes`.
pub async fn confirm(b: &Browser, scope: &str, name: &str, yes: &str) {
    let button = b
        .button(scope, name)
        .await
        .unwrap_or_else(|| panic!("no button {name:?} in {scope}"));
    b.click(&button).await;
    b.wait(
        "the confirmation",
        "return document.getElementById('confirm').open;",
    )
    .await;
    let ok = b.button("#confirm", yes).await.expect("confirm button");
    b.click(&ok).await;
}
