//! The server's refusals in plain Chinese. The page's script shows them as
//! they are; without JavaScript they also say how to make a file fit, since
//! nobody compressed it for the candidate.

use crate::domain::rules::MAX_UPLOAD_BYTES;
use crate::server::error::ApiError;

/// "3.9 MB", "183 KB": sizes as a phone's gallery shows them.
pub fn size_zh(bytes: usize) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}

/// How to shrink a photo by hand, for the form without JavaScript.
pub const HOW_TO_FIT: &str = "请用手机相册的“编辑”功能裁掉多余的边缘，或用“压缩/调整大小”把图片缩到长边 1600 像素左右，另存为 jpg 后再上传；也可以在浏览器中开启 JavaScript，本页面会自动把照片压缩到 200 KB 以内。";

/// The refusal of an upload (`size`: the file's real size, when known).
pub fn upload(e: &ApiError, size: Option<usize>, scripted: bool) -> String {
    let base = match e.code {
        "file_too_large" | "payload_too_large" => {
            let s = size.map_or_else(String::new, |s| format!("（此文件 {}）", size_zh(s)));
            format!("文件太大{s}：每张图片不能超过 200 KB（{MAX_UPLOAD_BYTES} 字节）。")
        }
        "unsupported_format" => {
            "只接受 jpg/jpeg/png 格式的图片（按文件内容判断，改扩展名无效）。".into()
        }
        "invalid_image" => "图片文件已损坏或无法读取，请重新拍摄或另存后再上传。".into(),
        "window_closed" => "不在审核期内，现在不能上传或修改材料。".into(),
        "not_editable" => {
            "材料已提交审核并锁定，现在不能修改。若审核人员要求更换，解锁后即可重新上传。".into()
        }
        "slot_full" => "这一类材料已传满规定数量，不能继续上传。如需更换，请先删除原图片。".into(),
        "bad_slot" => "这一类材料没有这个位置，请刷新页面后再试。".into(),
        "image_locked" => "这张图片已锁定，不能修改。".into(),
        "rate_limited" => format!(
            "上传过于频繁，请 {} 秒后再试。",
            e.retry_after.unwrap_or(60)
        ),
        "invalid_multipart" | "invalid_field" => "没有收到图片文件，请先选择图片再上传。".into(),
        _ => return general(e),
    };
    let hint = matches!(
        e.code,
        "file_too_large" | "payload_too_large" | "unsupported_format"
    );
    if hint && !scripted {
        format!("{base}{HOW_TO_FIT}")
    } else {
        base
    }
}

/// Any other refusal (delete, submit, session).
pub fn general(e: &ApiError) -> String {
    match e.code {
        "not_found" => "找不到这张图片，它可能已被删除。请刷新页面。".into(),
        "image_locked" => "这张图片已锁定，不能删除。".into(),
        "window_closed" => "不在审核期内，现在不能修改或提交材料。".into(),
        "not_editable" => "材料已提交审核，现在不能修改。".into(),
        "nothing_uploaded" => "还没有上传任何材料，请先上传再提交审核。".into(),
        "invalid_transition" => {
            "还有审核人员要求更换的图片未重新上传，请先更换标有原因的图片再提交审核。".into()
        }
        "rate_limited" => format!(
            "操作过于频繁，请 {} 秒后再试。",
            e.retry_after.unwrap_or(60)
        ),
        "unauthorized" | "token_expired" => "登录已过期，请重新登录。".into(),
        "csrf" => "页面已过期，请刷新页面后再操作。".into(),
        _ => "服务器暂时无法处理，请稍后重试。".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn too_large_says_how_to_fit_without_script() {
        let e = ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "file_too_large", "x");
        let plain = upload(&e, Some(4_100_000), false);
        assert!(
            plain.contains("3.9 MB") && plain.contains("200 KB") && plain.contains("压缩"),
            "{plain}"
        );
        let scripted = upload(&e, Some(300_000), true);
        assert!(!scripted.contains(HOW_TO_FIT));
    }

    #[test]
    fn sizes() {
        assert_eq!(size_zh(204_800), "200 KB");
        assert_eq!(size_zh(1), "1 KB");
        assert_eq!(size_zh(4 * 1024 * 1024), "4.0 MB");
    }
}
