//! The system feedback messages candidates see at the top of their upload
//! page, in the words of the registration system.

use crate::domain::category::MaterialCategory;
use crate::domain::reason::reason;
use crate::domain::review::Level;

fn reasons_zh(reasons: &[String], note: Option<&str>) -> String {
    let mut out: Vec<String> = reasons
        .iter()
        .map(|c| {
            reason(c).map_or_else(
                || c.clone(),
                |r| r.zh.trim_end_matches("（须说明）").to_string(),
            )
        })
        .collect();
    if out.is_empty() {
        out.push("未说明".into());
    }
    let mut s = out.join("；");
    if let Some(n) = note.map(str::trim).filter(|n| !n.is_empty()) {
        s.push_str(&format!("（{n}）"));
    }
    s
}

fn level_zh(level: Level) -> &'static str {
    match level {
        Level::Site => "考点",
        Level::District => "考区",
    }
}

/// `【身份证明·反面】`, or `【毕业证书·第2张】` for free-count categories.
pub fn material_label(category: MaterialCategory, slot: u8) -> String {
    match category.slot_labels().get(usize::from(slot)) {
        Some((zh, _)) => format!("【{}·{}】", category.name_zh(), zh),
        None => format!("【{}·第{}张】", category.name_zh(), u32::from(slot) + 1),
    }
}

/// Written when a reviewer unlocks an image.
pub fn unlocked(
    level: Level,
    category: MaterialCategory,
    slot: u8,
    reasons: &[String],
    note: Option<&str>,
) -> String {
    format!(
        "{}审核：您上传的{}未锁定，原因：{}。请在审核期内重新上传相关材料后提交。",
        level_zh(level),
        material_label(category, slot),
        reasons_zh(reasons, note)
    )
}

/// Written when a reviewer sets the candidate to 审核待定.
pub fn pending(level: Level, reasons: &[String], note: Option<&str>) -> String {
    format!(
        "{}审核结果：审核待定，原因：{}。请按要求修改或上传相关材料，并在审核期内重新提交。",
        level_zh(level),
        reasons_zh(reasons, note)
    )
}

/// Written when a reviewer rejects the candidate (final).
pub fn rejected(level: Level, reasons: &[String], note: Option<&str>) -> String {
    format!(
        "{}审核结果：审核不通过，原因：{}。",
        level_zh(level),
        reasons_zh(reasons, note)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts() {
        let m = unlocked(
            Level::Site,
            MaterialCategory::IdProof,
            1,
            &["BLURRY".into()],
            None,
        );
        assert_eq!(
            m,
            "考点审核：您上传的【身份证明·反面】未锁定，原因：图片模糊不清。请在审核期内重新上传相关材料后提交。"
        );
        let p = pending(Level::District, &["OTHER".into()], Some("请补交学位证"));
        assert!(
            p.contains("审核待定") && p.contains("其他（请补交学位证）"),
            "{p}"
        );
        assert_eq!(
            material_label(MaterialCategory::Diploma, 1),
            "【毕业证书·第2张】"
        );
    }
}
