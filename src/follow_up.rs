//! The follow-up list as a CSV file a site opens in Excel: UTF-8 with a
//! byte-order mark (without it Excel reads Chinese as mojibake), CRLF rows,
//! every cell quoted, and cells that a spreadsheet would run as a formula
//! (`=`, `+`, `-`, `@`, tab, CR) neutralised with a leading `'`. Pure:
//! `shenhe export` and the console's `:export` write what this returns.

use chrono::Offset;

use crate::api::reports::{FollowUpList, FollowUpRow};
use crate::domain::reason::reason;
use crate::domain::text::clean;
use crate::lang::Lang;

pub const BOM: &str = "\u{feff}";

/// A cell as text a spreadsheet shows, never runs.
pub fn cell(s: &str) -> String {
    let s = clean(s);
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn reason_words(lang: Lang, codes: &[String]) -> String {
    codes
        .iter()
        .map(|c| match (reason(c), lang) {
            (Some(r), Lang::Zh) => r.zh.trim_end_matches("（须说明）").to_string(),
            (Some(r), Lang::En) => r.en.to_string(),
            (None, _) => c.clone(),
        })
        .collect::<Vec<_>>()
        .join(if lang == Lang::Zh { "；" } else { "; " })
}

fn images(lang: Lang, r: &FollowUpRow) -> String {
    r.images
        .iter()
        .map(|i| {
            let slot = match i.category.slot_labels().get(usize::from(i.slot)) {
                Some((zh, en)) => (if lang == Lang::Zh { *zh } else { *en }).to_string(),
                None => (u32::from(i.slot) + 1).to_string(),
            };
            let cat = if lang == Lang::Zh {
                i.category.name_zh()
            } else {
                i.category.name_en()
            };
            let mut s = format!("{cat}·{slot}：{}", reason_words(lang, &i.reasons));
            if let Some(n) = &i.note {
                s.push_str(&format!("（{n}）"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(" / ")
}

fn time(at: Option<chrono::DateTime<chrono::Utc>>) -> String {
    at.map(|a| {
        a.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(chrono::Utc.fix()))
            .format("%Y-%m-%d %H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

/// The column titles, in the console's language.
pub fn header(lang: Lang) -> [&'static str; 11] {
    match lang {
        Lang::Zh => [
            "报名号",
            "姓名",
            "证件号码（隐去中间）",
            "手机号",
            "考点",
            "审核结果",
            "原因",
            "要求更换的材料",
            "备注",
            "审核人",
            "审核时间",
        ],
        Lang::En => [
            "Reg. no",
            "Name",
            "ID number (masked)",
            "Phone",
            "Site",
            "Decision",
            "Reasons",
            "Images to replace",
            "Note",
            "Reviewer",
            "Decided at",
        ],
    }
}

/// The whole file: BOM, header, one row per candidate, CRLF line ends.
pub fn to_csv(list: &FollowUpList, lang: Lang) -> String {
    let mut out = String::from(BOM);
    let line = |cells: Vec<String>| format!("{}\r\n", cells.join(","));
    out.push_str(&line(header(lang).iter().map(|h| cell(h)).collect()));
    for r in &list.items {
        let state = match lang {
            Lang::Zh => r.state.zh(),
            Lang::En => r.state.en(),
        };
        out.push_str(&line(vec![
            cell(&r.reg_no),
            cell(&r.name),
            cell(&r.id_number),
            cell(&r.phone),
            cell(&r.site),
            cell(state),
            cell(&reason_words(lang, &r.reasons)),
            cell(&images(lang, r)),
            cell(r.note.as_deref().unwrap_or("")),
            cell(r.reviewer.as_deref().unwrap_or("")),
            cell(&time(r.decided_at)),
        ]));
    }
    out
}

/// One line on what was written: rows, and how many wait for their undo
/// window.
pub fn summary(list: &FollowUpList, lang: Lang) -> String {
    let (n, w) = (list.items.len(), list.withheld);
    match lang {
        Lang::Zh if w > 0 => {
            format!("已导出 {n} 人；另有 {w} 人的审核操作仍可撤销，撤销期结束后再导出")
        }
        Lang::Zh => format!("已导出 {n} 人"),
        Lang::En if w > 0 => format!(
            "{n} exported; {w} more have an action still in its undo window: export again later"
        ),
        Lang::En => format!("{n} exported"),
    }
}

/// `shenhe-待定-20270309-1032.csv`: the state and the local time.
pub fn file_name(list: &FollowUpList, lang: Lang) -> String {
    let state = match lang {
        Lang::Zh => list.state.zh(),
        Lang::En => list.state.as_str(),
    };
    let at = list
        .generated_at
        .with_timezone(&chrono::Local)
        .format("%Y%m%d-%H%M%S");
    format!("shenhe-{state}-{at}.csv")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_neutralised_and_quotes_doubled() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        for s in ["+1", "-1", "@SUM(A1)"] {
            assert!(cell(s).starts_with("\"'"), "{s}");
        }
        // A leading tab or CR is a control character: `clean` makes it a
        // visible symbol, so the cell no longer starts a formula.
        for s in ["\t=1+1", "\r=1+1"] {
            let c = cell(s);
            assert!(
                !c[1..].starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{s:?} -> {c:?}"
            );
            assert!(!c.contains(['\t', '\r']), "{s:?} -> {c:?}");
        }
        assert_eq!(cell("张三"), "\"张三\"");
    }
}
