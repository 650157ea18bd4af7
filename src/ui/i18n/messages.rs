//! The sentences: the status bar, the server's refusals, what an op did.
//! Everything from the server or a candidate is sanitised before it is
//! put into words.

use chrono::{DateTime, Utc};

use super::*;
use crate::app::state::StatusMsg;
use crate::domain::review::Decision;
use crate::domain::text::clean;
use crate::lang::Lang;

fn decision_word(lang: Lang, d: Decision) -> &'static str {
    match (lang, d) {
        (Lang::Zh, Decision::Pass) => "审核通过",
        (Lang::Zh, Decision::Pending) => "审核待定",
        (Lang::Zh, Decision::Reject) => "审核不通过",
        (Lang::Zh, Decision::Return) => "退回考点",
        (Lang::En, Decision::Pass) => "passed",
        (Lang::En, Decision::Pending) => "set pending",
        (Lang::En, Decision::Reject) => "rejected",
        (Lang::En, Decision::Return) => "returned to the site",
    }
}

/// The status bar's words. Everything from the server is sanitised.
pub fn status(lang: Lang, m: &StatusMsg, now: DateTime<Utc>) -> String {
    let zh = lang == Lang::Zh;
    let pick = |a: String, b: String| if zh { a } else { b };
    match m {
        StatusMsg::Locked { left: 0 } => pick(
            "已确认（保持锁定）".into(),
            "Accepted (stays locked)".into(),
        ),
        StatusMsg::Locked { left } => pick(
            format!("已确认（保持锁定）· 还有 {left} 张待确认"),
            format!("Accepted (stays locked) · {left} still to review"),
        ),
        StatusMsg::AllAccepted => pick(
            "全部图片已确认 · 按 P 审核通过并打开下一位".into(),
            "Every image is accepted · P passes and opens the next".into(),
        ),
        StatusMsg::AlreadyAccepted => pick("此图片已确认".into(), "Already accepted".into()),
        StatusMsg::AlreadyUnlocked => pick(
            "此图片已解锁（要求更换），等待考生更换".into(),
            "Already unlocked, waiting for a replacement".into(),
        ),
        StatusMsg::Unlocked => pick(
            "已解锁（要求更换）：考生须重新上传此图片".into(),
            "Unlocked: the candidate must replace it".into(),
        ),
        StatusMsg::Decided { name, decision } => pick(
            format!(
                "{} {} · u 撤销",
                clean(name),
                decision_word(lang, *decision)
            ),
            format!(
                "{} {} · u undoes",
                clean(name),
                decision_word(lang, *decision)
            ),
        ),
        StatusMsg::NotAllAccepted {
            unreviewed,
            replace,
        } => pick(
            format!("不能通过：{unreviewed} 张未审核，{replace} 张已要求更换（可设为审核待定 p）"),
            format!(
                "Cannot pass: {unreviewed} unreviewed, {replace} to be replaced (p sets pending)"
            ),
        ),
        StatusMsg::NotYourTurn => pick(
            "该考生当前不在您的审核环节".into(),
            "This candidate is not at your level's turn".into(),
        ),
        StatusMsg::NoImages => pick("没有图片".into(), "No images".into()),
        StatusMsg::Undone { name, kind, image } => {
            let what = kind_words(lang, kind, image.as_ref());
            pick(
                format!("已撤销：{what} · {}", clean(name)),
                format!("Undone: {what} · {}", clean(name)),
            )
        }
        StatusMsg::Exported {
            path,
            rows,
            withheld,
        } => {
            let more = if *withheld > 0 {
                pick(
                    format!("；另有 {withheld} 人仍在撤销期内，稍后再导出"),
                    format!("; {withheld} more still in their undo window, export again later"),
                )
            } else {
                String::new()
            };
            pick(
                format!("已导出 {rows} 人到 {}{more}", clean(path)),
                format!("{rows} exported to {}{more}", clean(path)),
            )
        }
        StatusMsg::Exporting => pick(
            "正在导出回访名单…".into(),
            "Exporting the follow-up list…".into(),
        ),
        StatusMsg::ExportFailed(e) => pick(
            format!("导出失败：{}", clean(e)),
            format!("Export failed: {}", clean(e)),
        ),
        StatusMsg::SearchInQueue => pick(
            "搜索在队列中进行：已返回队列，输入即筛选".into(),
            "Search works on the queue: back in the queue, type to filter".into(),
        ),
        StatusMsg::Cancelled => pick(
            "已撤回（尚未发送）".into(),
            "Taken back (it was not sent yet)".into(),
        ),
        StatusMsg::NothingToUndo => pick("没有可撤销的操作".into(), "Nothing to undo".into()),
        StatusMsg::UndoWait => pick(
            "上一步正在发送，稍后再撤销".into(),
            "The last action is being sent; undo in a moment".into(),
        ),
        StatusMsg::FeedbackSent => pick("反馈已记录".into(), "Feedback recorded".into()),
        StatusMsg::FeedbackEmpty => pick("请填写内容".into(), "Write a message first".into()),
        StatusMsg::Revealed => pick(
            "已显示完整证件号（已记录）".into(),
            "Full ID shown (audited)".into(),
        ),
        StatusMsg::Conflict { who, at } => {
            let who = who
                .as_deref()
                .map(clean)
                .unwrap_or_else(|| pick("他人".into(), "someone".into()));
            let at = at.map(|a| time(a, now)).unwrap_or_default();
            pick(
                format!("{who} 已于 {at} 先行处理，您的操作未生效，已重新载入"),
                format!("{who} changed it first at {at}; your action was not applied, reloaded"),
            )
        }
        StatusMsg::HeldBy { who, until } => {
            let until = until.map(|u| time(u, now)).unwrap_or_default();
            pick(
                format!("{} 正在审核此考生（至 {until}），n 跳到下一位", clean(who)),
                format!(
                    "{} is reviewing this candidate (until {until}); n for the next",
                    clean(who)
                ),
            )
        }
        StatusMsg::ChangedBy { who } => pick(
            format!("{} 刚修改了此考生，已重新载入", clean(who)),
            format!("{} just changed this candidate; reloaded", clean(who)),
        ),
        StatusMsg::SessionExpired => pick(
            "登录已过期，请重新登录".into(),
            "Session expired, please log in again".into(),
        ),
        StatusMsg::BadCredentials => pick(
            "用户名或密码错误".into(),
            "Wrong username or password".into(),
        ),
        StatusMsg::LoggingIn => pick("正在登录…".into(), "Logging in…".into()),
        StatusMsg::Offline { pending } => pick(
            format!("服务器无响应，{pending} 项操作稍后自动重发"),
            format!("The server is not answering; {pending} action(s) will be resent"),
        ),
        StatusMsg::Reconnected => pick("已重新连接".into(), "Reconnected".into()),
        StatusMsg::ServerSilent => pick(
            "服务器无响应，正在重连；操作会保存并稍后发送".into(),
            "The server is not answering; reconnecting. Actions are kept and sent later".into(),
        ),
        StatusMsg::Dropped { n } => pick(
            format!("{n} 项后续操作未发送，已列入被拒列表"),
            format!("{n} later action(s) were not sent; see the refused list"),
        ),
        StatusMsg::QueueEnd => pick("已到队列末尾".into(), "End of the queue".into()),
        StatusMsg::QueueStart => pick("已到队列开头".into(), "Start of the queue".into()),
        StatusMsg::NotFound => pick(
            "考生不存在或不在您的范围内".into(),
            "No such candidate in your scope".into(),
        ),
        StatusMsg::NeedReason => pick(
            "请至少选择一个原因".into(),
            "Pick at least one reason".into(),
        ),
        StatusMsg::NeedNote => pick("“其他”须填写备注".into(), "\"Other\" needs a note".into()),
        StatusMsg::NoteTooLong => pick("备注过长".into(), "The note is too long".into()),
        StatusMsg::UnknownCommand(c) => pick(
            format!("没有命令 {}", clean(c)),
            format!("No command {}", clean(c)),
        ),
        StatusMsg::NotHere(c) => pick(
            format!("命令 {} 在此处不可用", clean(c)),
            format!("{} does not apply here", clean(c)),
        ),
        StatusMsg::Config(e) => pick(
            format!("配置文件有误，已使用默认设置：{}", clean(e)),
            format!("Config error, using defaults: {}", clean(e)),
        ),
        StatusMsg::Api(e) => api_error(lang, e),
        StatusMsg::Replaying { n } => pick(
            format!("正在发送上次未发送的 {n} 项操作"),
            format!("Sending {n} action(s) left unsent last time"),
        ),
        StatusMsg::JournalFailed(e) => pick(
            format!("无法写入本机待发送记录，操作仅保存在内存中：{}", clean(e)),
            format!(
                "Cannot write the outbox journal; actions are kept in memory only: {}",
                clean(e)
            ),
        ),
        StatusMsg::RefusedDismissed { left: 0 } => pick("已移除".into(), "Dismissed".into()),
        StatusMsg::RefusedDismissed { left } => pick(
            format!("已移除 · 还有 {left} 项被拒"),
            format!("Dismissed · {left} refused left"),
        ),
        StatusMsg::NoRefused => pick("没有被拒绝的操作".into(), "No refused actions".into()),
        StatusMsg::StillLoading => pick(
            "考生资料加载中，请稍候".into(),
            "The dossier is still loading".into(),
        ),
        StatusMsg::DistrictOnly => pick(
            "只有考区可以退回考点".into(),
            "Only a district reviewer can return a candidate".into(),
        ),
    }
}

pub fn api_error(lang: Lang, e: &crate::api::error::ApiError) -> String {
    use crate::api::error::ApiError as E;
    let zh = lang == Lang::Zh;
    match e {
        E::Timeout => {
            if zh {
                "服务器无响应（超时）".into()
            } else {
                "The server did not answer in time".into()
            }
        }
        E::Connect(_) => {
            if zh {
                "无法连接服务器".into()
            } else {
                "Cannot reach the server".into()
            }
        }
        E::Malformed(_) => {
            if zh {
                "服务器返回了无法识别的数据".into()
            } else {
                "The server sent something unreadable".into()
            }
        }
        E::Status { status, .. } => {
            if zh {
                format!("服务器错误 HTTP {status}")
            } else {
                format!("Server error HTTP {status}")
            }
        }
        E::Invalid(m) => {
            if zh {
                format!("请求无效：{}", clean(m))
            } else {
                format!("Invalid request: {}", clean(m))
            }
        }
        E::Problem(p) => {
            let detail = p.detail.as_deref().map(clean).unwrap_or_default();
            let title = clean(&p.title);
            if detail.is_empty() {
                format!("{title} ({})", clean(&p.code))
            } else {
                format!("{title}: {detail}")
            }
        }
    }
}

/// What a queued action does, in words: "确认 身份证明 · 正面".
pub fn op_words(lang: Lang, op: &crate::app::state::Op) -> String {
    kind_words(lang, &op.kind, op.image.as_ref())
}

/// `kind` on `image`, in words: "解锁 身份证明 · 正面（模糊）".
pub fn kind_words(
    lang: Lang,
    kind: &crate::app::state::OpKind,
    image: Option<&crate::outbox::ImageRef>,
) -> String {
    use crate::app::state::OpKind;
    let zh = lang == Lang::Zh;
    let image = image
        .map(|i| {
            let cat = if zh {
                i.category.name_zh()
            } else {
                i.category.name_en()
            };
            // 正面 / front for fixed slots (as on the candidate screen).
            let slot = match i.category.slot_labels().get(usize::from(i.slot)) {
                Some((zh_label, en_label)) => (if zh { *zh_label } else { *en_label }).to_string(),
                None => (u32::from(i.slot) + 1).to_string(),
            };
            format!(" {cat} · {slot}")
        })
        .unwrap_or_default();
    match kind {
        OpKind::Lock { image_id } if image.is_empty() => {
            format!(
                "{} #{image_id}",
                if zh { "确认图片" } else { "accept image" }
            )
        }
        OpKind::Unlock { image_id, .. } if image.is_empty() => {
            format!(
                "{} #{image_id}",
                if zh { "解锁图片" } else { "unlock image" }
            )
        }
        OpKind::Lock { .. } => format!("{}{image}", if zh { "确认" } else { "accept" }),
        OpKind::Unlock { reasons, .. } => {
            let r: Vec<String> = reasons.iter().map(|r| reason_short(lang, r)).collect();
            format!(
                "{}{image}（{}）",
                if zh { "解锁" } else { "unlock" },
                r.join(if zh { "、" } else { ", " })
            )
        }
        OpKind::Decide { decision, .. } => decision_word(lang, *decision).to_string(),
        OpKind::Feedback { channel: c, .. } => format!(
            "{} ({})",
            if zh { "记录反馈" } else { "feedback" },
            channel(lang, *c)
        ),
        OpKind::Undo { .. } => (if zh { "撤销" } else { "undo" }).to_string(),
    }
}

/// Why the server refused an action, in words. Server text is sanitised.
pub fn refusal(lang: Lang, r: &crate::outbox::Refusal, now: DateTime<Utc>) -> String {
    let zh = lang == Lang::Zh;
    let pick = |a: String, b: String| if zh { a } else { b };
    let detail = r.detail.as_deref().map(clean).unwrap_or_default();
    if r.code.as_deref() == Some(crate::outbox::Refusal::DEPENDENT) {
        return pick(
            "未发送：同一考生的前一项操作被拒".into(),
            "Not sent: an earlier action on this candidate was refused".into(),
        );
    }
    if r.code.as_deref() == Some(crate::outbox::Refusal::SERVER_FAILING) {
        let status = r.status.unwrap_or(500);
        return pick(
            format!("服务器反复出错（HTTP {status}，次数：{detail}），已停止重发，未生效"),
            format!(
                "The server kept failing (HTTP {status}, attempts: {detail}); no longer resent, not applied"
            ),
        );
    }
    match r.status {
        Some(409) if r.code.as_deref() == Some("claimed") => pick(
            format!("他人正在审核此考生：{detail}"),
            format!("Someone else holds this candidate: {detail}"),
        ),
        Some(409) => {
            let who = r
                .changed_by
                .as_deref()
                .map(clean)
                .unwrap_or_else(|| pick("他人".into(), "someone".into()));
            match r.changed_at {
                Some(at) => pick(
                    format!("{who} 已于 {} 先行修改", time(at, now)),
                    format!("{who} changed it first at {}", time(at, now)),
                ),
                None => pick(
                    format!("与当前状态冲突：{detail}"),
                    format!("Conflicts with the current state: {detail}"),
                ),
            }
        }
        Some(403 | 404) => pick(
            "不存在或不在您的范围内".into(),
            "Not found, or not in your scope".into(),
        ),
        Some(400 | 422) => pick(
            format!("请求无效：{detail}"),
            format!("Not valid: {detail}"),
        ),
        Some(status) => pick(
            format!("服务器拒绝（HTTP {status}）：{detail}"),
            format!("Refused by the server (HTTP {status}): {detail}"),
        ),
        None => pick(
            format!("未被接受：{detail}"),
            format!("Not accepted: {detail}"),
        ),
    }
}
