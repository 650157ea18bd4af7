//! The HTML, as maud templates (checked when the crate compiles; every
//! interpolation is escaped). No inline script or style anywhere: the CSP
//! is `default-src 'self'`.

use maud::{DOCTYPE, Markup, html};

use super::assets_static::{css_url, js_url};
use super::examples;
use super::refusal::size_zh;
use super::view::{self, FeedbackItem, Slot};
use crate::api::dto::{CandidateImageDto, CandidateSelf, FeedbackDto};
use crate::domain::audit::FeedbackChannel;
use crate::domain::category::MaterialCategory;
use crate::domain::image::Lock;
use crate::domain::review::Reviews;
use crate::domain::text::clean;

/// The rules every upload dialog repeats (the seed's words).
pub const RULES: &str = "材料照片需保证信息真实、准确、完整、有效。画面保持正向，不得翻转旋转。文件应使用jpg/jpeg/png格式，上传的照片应确保图像清晰，单个照片文件大小不超过200k。";
/// The same, short, beside every file input.
pub const RULES_SHORT: &str = "真实、清晰、正向；jpg/jpeg/png；不超过 200 KB";

fn local(at: chrono::DateTime<chrono::Utc>) -> String {
    at.with_timezone(&chrono::Local)
        .format("%m-%d %H:%M")
        .to_string()
}

fn layout(title: &str, who: Option<(&CandidateSelf, &str)>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · 医师资格考试报名材料上传" }
                link rel="stylesheet" href=(css_url());
                script type="module" src=(js_url()) {}
            }
            body {
                header.top {
                    p.brand { "医师资格考试 · 报名材料上传" }
                    @if let Some((me, csrf)) = who {
                        p.who { (clean(&me.name)) " · 报名号 " (me.reg_no) }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(csrf);
                            button type="submit" { "退出登录" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

/// `GET /`: 报名号 + 密码.
pub fn login(csrf: &str, error: Option<&str>, notice: Option<&str>, reg_no: &str) -> Markup {
    layout(
        "考生登录",
        None,
        html! {
            section.login aria-labelledby="h-login" {
                h1 id="h-login" { "考生登录" }
                @if let Some(n) = notice { p.notice role="status" { (n) } }
                @if let Some(e) = error { p.error role="alert" { (e) } }
                form method="post" action="/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="reg_no" { "报名号" }
                    input id="reg_no" name="reg_no" value=(reg_no) autocomplete="username"
                        inputmode="numeric" required maxlength="32";
                    label for="password" { "密码" }
                    input id="password" name="password" type="password"
                        autocomplete="current-password" required maxlength="128";
                    button.primary type="submit" { "登录" }
                }
                p.hint { "登录后进入报名材料上传界面。忘记密码请联系报名考点。" }
            }
        },
    )
}

fn feedback_item(item: &FeedbackItem) -> Markup {
    html! {
        li.fb {
            p.fb-head {
                @if let Some(id) = item.image {
                    a href=(format!("#img-{id}")) { (item.title) }
                } @else {
                    strong { (item.title) }
                }
                @if let Some(l) = item.level { " · " (l) "审核" }
                @if let Some(at) = item.at { " · " time { (local(at)) } }
                @if item.replaced { " · " span.tag { "已重新上传，待提交审核" } }
            }
            @if !item.reasons.is_empty() {
                p { @if item.image.is_none() { (item.title) } "原因：" }
                ol.reasons { @for r in &item.reasons { li { (r) } } }
            }
            @if let Some(n) = &item.note { p.note { "说明：" (n) } }
        }
    }
}

fn channel_zh(c: FeedbackChannel) -> &'static str {
    match c {
        FeedbackChannel::System => "系统消息",
        FeedbackChannel::Sms => "短信",
        FeedbackChannel::Phone => "电话",
    }
}

fn history(feedback: &[FeedbackDto]) -> Markup {
    html! {
        @if !feedback.is_empty() {
            details.history {
                summary { "全部消息（" (feedback.len()) "）" }
                ol {
                    @for f in feedback {
                        li { span.meta { (channel_zh(f.channel)) " · " time { (local(f.created_at)) } } " " (clean(&f.body)) }
                    }
                }
            }
        }
    }
}

fn status(me: &CandidateSelf, reviews: Reviews) -> Markup {
    let w = &me.window;
    html! {
        section.status aria-labelledby="h-status" {
            h2 id="h-status" { "审核状态" }
            @if let Some(f) = view::final_result(reviews) {
                p.result.pass[f.passed].fail[!f.passed] role="status" {
                    "最终审核结果：" strong { (f.text) }
                }
            }
            dl.levels {
                @for (k, v) in view::state_lines(reviews) { div { dt { (k) } dd { (v) } } }
            }
            p.window {
                "审核期 " (w.opens.format("%m-%d")) " 至 " (w.closes.format("%m-%d"))
                @if w.open { " · 剩余 " strong { (w.days_left) } " 天" } @else { " · 不在审核期内，不能上传或修改" }
            }
            @if let Some(at) = me.submitted_at {
                p { "最近提交：" time { (local(at)) } }
            }
        }
    }
}

fn feedback(items: &[FeedbackItem], all: &[FeedbackDto]) -> Markup {
    html! {
        section.feedback id="feedback" aria-labelledby="h-feedback" {
            h2 id="h-feedback" { "反馈意见" }
            @if items.is_empty() {
                p.none { "暂无需要处理的反馈意见。" }
            } @else {
                ol.fb-list { @for i in items { (feedback_item(i)) } }
            }
            (history(all))
        }
    }
}

fn image_box(s: &Slot, img: &CandidateImageDto) -> Markup {
    let locked = img.lock == Lock::Locked;
    html! {
        div.frame {
            a href=(format!("/images/{}", img.id)) {
                img id=(format!("img-{}", img.id)) src=(format!("/images/{}", img.id))
                    alt=(format!("{}（已上传的图片）", s.input_label()))
                    width=(img.width) height=(img.height);
            }
            @if locked {
                span.lock-badge { "锁定" }
            }
            @if s.can_delete {
                form.del method="get" action=(format!("/images/{}/delete", img.id)) {
                    button.minus type="submit" aria-label=(format!("删除 {}", s.input_label())) title="删除" { "－" }
                }
            }
        }
        p.img-state {
            (if locked { "已锁定" } else { "未锁定" })
            " · " (size_zh(usize::try_from(img.bytes).unwrap_or(0)))
            " · " (img.width) "×" (img.height)
        }
        @if !img.reasons.is_empty() && !locked {
            div.reason role="note" {
                p { strong { "审核人员要求更换（已解锁）：" } (img.reasons.iter().map(|c| view::image_reason_zh(c)).collect::<Vec<_>>().join("；")) }
                @if let Some(n) = &img.note { p { "说明：" (clean(n)) } }
            }
        }
    }
}

fn slot(s: &Slot, csrf: &str, first: bool) -> Markup {
    let id = s.dom_id();
    let button = match (&s.image, s.is_more && !first) {
        (Some(_), _) => "重新上传",
        (None, true) => "继续上传",
        (None, false) => "上传",
    };
    html! {
        div.slot id=(format!("slot-{id}")) data-label=(s.input_label()) {
            h3 { (s.label) }
            @match &s.image {
                Some(img) => (image_box(s, img)),
                None => div.frame.empty { span { "未上传" } },
            }
            @if s.can_upload {
                form.up method="post" enctype="multipart/form-data"
                    action=(format!("/materials/{}/upload", s.category.code())) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="slot" value=(s.slot);
                    label for=(format!("file-{id}")) { (s.input_label()) }
                    input type="file" id=(format!("file-{id}")) name="file"
                        accept="image/jpeg,image/png,.jpg,.jpeg,.png"
                        aria-describedby=(format!("rules-{id}"));
                    p.rules-short id=(format!("rules-{id}")) { (RULES_SHORT) }
                    div.actions {
                        button.primary type="submit" { (button) }
                        button.camera type="button" hidden aria-describedby=(format!("file-{id}")) { "拍照" }
                    }
                    div.progress hidden {
                        progress max="100" value="0" aria-hidden="true" {}
                        p.progress-text aria-hidden="true" {}
                        p.progress-live.sr-only aria-live="polite" {}
                        button.retry type="button" hidden { "重试" }
                    }
                }
            }
        }
    }
}

/// One category's section, also what the script swaps after a change.
pub fn category(m: &crate::api::dto::CandidateMaterialDto, csrf: &str, editable: bool) -> Markup {
    let cat: MaterialCategory = m.category;
    let slots = view::slots(m, editable);
    let count = match cat.fixed_count() {
        Some(n) => format!(
            "{} 张：{}",
            n,
            cat.slot_labels()
                .iter()
                .map(|(zh, _)| *zh)
                .collect::<Vec<_>>()
                .join("、")
        ),
        None => "可上传多张".to_string(),
    };
    let example_slots: Vec<Option<u8>> = match cat.fixed_count() {
        Some(n) => (0..n).map(Some).collect(),
        None => vec![None],
    };
    html! {
        section.cat id=(format!("cat-{}", cat.code())) aria-labelledby=(format!("h-{}", cat.code())) {
            h2 id=(format!("h-{}", cat.code())) { (cat.name_zh()) " " small { (count) } }
            p.req { (view::requirement(cat)) }
            details.example {
                summary { "示例" }
                div.example-imgs {
                    @for es in example_slots {
                        @if examples::exists(cat, es) {
                            figure {
                                img src=(format!("/static/example/{}.jpg", examples::example_name(cat, es)))
                                    alt=(format!("{} 示例", match es {
                                        Some(s) => format!("{} {}", cat.name_zh(), cat.slot_labels().get(usize::from(s)).map_or("", |l| l.0)),
                                        None => cat.name_zh().to_string(),
                                    })) loading="lazy";
                            }
                        }
                    }
                }
            }
            div.slots {
                @for (i, s) in slots.iter().enumerate() { (slot(s, csrf, i == 0)) }
                @if cat.fixed_count().is_some() && !slots.iter().any(|s| s.can_upload) && editable {
                    p.full { "已传满 " (slots.len()) " 张，不能继续上传。" }
                }
            }
        }
    }
}

fn dialogs() -> Markup {
    html! {
        dialog id="prep" aria-labelledby="prep-title" {
            h2 id="prep-title" { "上传 " span.prep-name {} }
            p.rules { (RULES) }
            canvas id="prep-canvas" width="320" height="240" role="img" aria-label="处理后的图片预览" {}
            p id="prep-info" aria-live="polite" { "正在处理图片…" }
            div.actions {
                button type="button" data-rot="-90" { "向左转 90°" }
                button type="button" data-rot="90" { "向右转 90°" }
            }
            div.actions.prep-go {
                button.primary type="button" data-act="upload" disabled { "上传" }
                button type="button" data-act="cancel" { "取消" }
            }
        }
        dialog id="confirm" aria-labelledby="confirm-msg" {
            p id="confirm-msg" {}
            div.actions {
                button.primary type="button" data-act="yes" { "确定" }
                button type="button" data-act="no" { "取消" }
            }
        }
        input id="camera" type="file" accept="image/*" capture="environment" hidden tabindex="-1" aria-hidden="true";
    }
}

/// The materials page; `flash`: a success note, `error`: a refusal.
pub fn materials(
    me: &CandidateSelf,
    reviews: Reviews,
    csrf: &str,
    flash: Option<&str>,
    error: Option<&str>,
) -> Markup {
    let items = view::standing_feedback(me, reviews);
    let editable = me.editable;
    let total: usize = me.materials.iter().map(|m| m.images.len()).sum();
    layout(
        "上传相关材料",
        Some((me, csrf)),
        html! {
            h1 { "上传相关材料" }
            div id="messages" {
                @if let Some(f) = flash { p.notice role="status" { (f) } }
                @if let Some(e) = error { p.error role="alert" { (e) } }
            }
            div id="live-top" {
                (status(me, reviews))
                (feedback(&items, &me.feedback))
            }
            section.rules-box aria-labelledby="h-rules" {
                h2 id="h-rules" { "上传要求" }
                p { (RULES) }
                p { "下面列出医师资格考试所有可能需要的材料，请根据个人情况和考点、考区通知要求，上传必需的材料图片。图片右下角有“锁定”标志的为已锁定，不能修改；未锁定的图片右上角有“－”按钮，可删除后重新上传。" }
            }
            @for m in &me.materials { (category(m, csrf, editable)) }
            section.submit id="submit-box" aria-labelledby="h-submit" {
                h2 id="h-submit" { "提交审核" }
                @if editable {
                    p { "上传完成后请提交审核。提交后所有图片将锁定（已锁定），审核期间不能修改；如审核人员要求更换，相应图片会解锁。" }
                    form.submit-form method="get" action="/submit" {
                        button.primary type="submit" disabled[total == 0] { "提交审核" }
                    }
                } @else if me.submitted_at.is_some() {
                    p { "已提交审核，图片已锁定，请等待考点、考区审核，并留意页面上部的反馈意见。" }
                } @else {
                    p { "现在不能提交。" }
                }
            }
            (dialogs())
        },
    )
}

/// The confirmation page (used without JavaScript; the script shows the
/// same question in a dialog).
pub fn confirm(
    me: &CandidateSelf,
    csrf: &str,
    question: &str,
    action: &str,
    button: &str,
) -> Markup {
    layout(
        "确认",
        Some((me, csrf)),
        html! {
            section.confirm-page aria-labelledby="h-confirm" {
                h1 id="h-confirm" { (question) }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary type="submit" { (button) }
                    " "
                    a href="/materials" { "取消" }
                }
            }
        },
    )
}

/// A plain error page (404, a refused form without a session).
pub fn error(title: &str, text: &str) -> Markup {
    layout(
        title,
        None,
        html! {
            section aria-labelledby="h-error" {
                h1 id="h-error" { (title) }
                p { (text) }
                p { a href="/" { "返回" } }
            }
        },
    )
}
