//! Every label in both languages, in one table. zh-CN uses the words
//! reviewers and candidates know from the registration system (已锁定,
//! 未锁定, 审核待定, 上传相关材料 …).

use chrono::{DateTime, FixedOffset, Utc};

use crate::app::keys::Command;
use crate::domain::audit::FeedbackChannel;
use crate::domain::review::ReviewStatus;
use crate::domain::text::clean;
use crate::lang::Lang;

macro_rules! labels {
    ($($id:ident => ($zh:literal, $en:literal)),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum T { $($id),* }

        pub fn tr(lang: Lang, t: T) -> &'static str {
            match (lang, t) {
                $((Lang::Zh, T::$id) => $zh, (Lang::En, T::$id) => $en,)*
            }
        }
    };
}

labels! {
    App => ("审核台", "Review desk"),
    Window => ("审核期", "Window"),
    DaysLeft => ("剩余", "left"),
    Days => ("天", "days"),
    Closed => ("已截止", "closed"),
    Connected => ("已连接", "connected"),
    Reconnecting => ("重连中", "reconnecting"),
    Connecting => ("连接中", "connecting"),
    Returned => ("退回", "returned"),
    Session => ("本次", "this session"),
    People => ("人", "done"),
    MedianPer => ("中位", "median"),
    SecPerPerson => ("秒/人", "s each"),
    Queue => ("队列", "Queue"),
    ColName => ("姓名", "Name"),
    ColCategory => ("报考类别", "Category"),
    ColRegNo => ("报名号", "Reg. no"),
    ColImages => ("图片", "Imgs"),
    ColAge => ("已等待", "Waiting"),
    ColClaim => ("审核人", "Held by"),
    Loading => ("加载中…", "loading…"),
    Empty => ("（没有考生）", "(no candidates)"),
    More => ("继续加载…", "loading more…"),
    Unsent => ("待发送", "unsent"),
    RefusedCount => ("被拒", "refused"),
    RefusedTitle => ("被拒绝的操作", "Refused actions"),
    RefusedIntro => ("服务器没有接受以下操作，它们未生效。看过后可移除。", "The server did not accept these; they did not take effect. Dismiss them once seen."),
    RefusedKeys => ("j/k 选择 · d 移除 · D 全部移除 · Enter 打开考生 · Esc 关闭", "j/k select · d dismiss · D dismiss all · Enter open candidate · Esc close"),
    LeaveQuit => ("退出审核台？", "Quit the review desk?"),
    LeaveLogout => ("注销登录？", "Log out?"),
    LeaveKept => ("它们已保存在本机，下次登录时自动发送。", "They are saved on this computer and sent at your next login."),
    LeaveLost => ("退出后这些操作将丢失。", "They are lost if you leave now."),
    LeaveKeysQuit => ("y 退出 · n 继续审核", "y quit · n keep working"),
    LeaveKeysLogout => ("y 注销 · n 继续审核", "y log out · n keep working"),
    SiteReview => ("考点", "site"),
    DistrictReview => ("考区", "district"),
    RegNo => ("报名号", "reg."),
    ClaimMine => ("由我审核", "held by me"),
    ClaimAsking => ("认领中", "claiming"),
    ClaimHeld => ("正被审核", "held by"),
    ClaimNone => ("未认领", "not held"),
    Locked => ("已锁定", "locked"),
    UnlockedWord => ("未锁定", "unlocked"),
    Unreviewed => ("待确认", "to review"),
    Accepted => ("已确认 · 已锁定", "accepted · locked"),
    ReplaceRequested => ("已解锁（要求更换）· 未锁定", "unlocked (replacement asked) · unlocked"),
    Replaced => ("考生已更换", "replaced by the candidate"),
    Clear => ("清晰", "clear"),
    Blurry => ("模糊", "blurry"),
    NotUpright => ("方向不正", "not upright"),
    TooSmall => ("尺寸过小", "too small"),
    Duplicate => ("与他人重复", "duplicate of another's"),
    OverSize => ("超过200KB", "over 200 KB"),
    WrongFormat => ("格式不符", "wrong format"),
    NoImages => ("（未上传图片）", "(no images uploaded)"),
    ImagePlaceholder => ("〔图像〕", "[image]"),
    ImagesOff => ("图像预览已关闭", "image previews are off"),
    Feedback => ("反馈记录", "Feedback"),
    AuditLog => ("审核记录", "Audit log"),
    NoFeedback => ("（无）", "(none)"),
    Revealed => ("已显示完整证件号（已记录）", "full ID shown (audited)"),
    RevealedShort => ("已显示·已记录", "shown, audited"),
    PickUnlock => ("解锁 · 要求考生更换", "Unlock · ask for a replacement"),
    PickPending => ("审核待定 · 原因", "Pending (审核待定) · reasons"),
    PickReject => ("审核不通过 · 原因", "Reject · reasons"),
    PickReturn => ("退回考点 · 原因", "Return to site · reasons"),
    Note => ("备注", "Note"),
    PickerKeys => ("数字键选择(可多选) · Tab 备注 · Enter 确认 · Esc 取消", "number keys toggle (several) · Tab note · Enter confirm · Esc cancel"),
    ConfirmReject => ("确认审核不通过？", "Reject this candidate?"),
    ConfirmFinal => ("撤销期过后即为最终结果，考生不能再修改。", "Final once the undo window closes: the candidate cannot change anything after it."),
    ConfirmUndoHint => ("撤销期：{n} 分钟内，或仍在此考生页面时，可按 u 撤销", "Undo window: {n} min, or while you stay on this candidate: u undoes"),
    FlaggedTitle => ("此图片有质量提示", "This image has quality hints"),
    FlaggedAsk => ("仍要确认此图片（保持锁定）吗？", "Accept it anyway (keep it locked)?"),
    FlaggedKeys => ("y 或 a 确认（保持锁定）· x 解锁（要求更换）· n 取消", "y or a accept (keep locked) · x unlock (ask for a replacement) · n cancel"),
    HelpHere => ("本页按键", "Keys here"),
    HelpCandidate => ("考生页面（Enter 打开考生后）", "On a candidate (after Enter)"),
    HelpMore => ("j/k ↓↑ 滚动", "j/k ↓↑ scroll"),
    Undone => ("已撤销", "undone"),
    StatsTitle => ("概览", "Overview"),
    StatsSite => ("考点", "Site"),
    StatsAwaiting => ("待审核", "Await"),
    StatsPending => ("待定", "Pend."),
    StatsPassed => ("通过", "Pass"),
    StatsRejected => ("不通过", "Rej."),
    StatsTotal => ("合计", "Total"),
    StatsStale => ("超期", "Stale"),
    StatsPace => ("日均", "/day"),
    StatsRemaining => ("剩余", "Left"),
    StatsNeeded => ("需天数", "Days"),
    StatsOnTrack => ("按期", "In time"),
    StatsYes => ("能", "yes"),
    StatsNo => ("不能", "no"),
    StatsKeys => ("任意键关闭 · 数字为本级审核状态；超期 = 待审核超过 {n} 天；日均为近 7 天", "any key closes · counts at your level; stale = awaiting over {n} days; per day over 7 days"),
    StatsSiteBacklog => ("考点待审", "@sites"),
    Exporting => ("正在导出…", "exporting…"),
    ConfirmKeys => ("y 确认 · n 取消", "y confirm · n cancel"),
    Help => ("帮助 · 当前可用按键", "Help · live key bindings"),
    HelpFoot => ("任意键关闭 · j/k 滚动 · : 按名称执行命令", "any key closes · j/k scroll · : runs a command by name"),
    HelpPicker => ("原因选择：数字键切换，可多选；Tab 写备注；Enter 确认", "Reason picker: number keys toggle, several allowed; Tab for a note; Enter confirms"),
    Search => ("搜索（姓名/拼音首字母、报名号、证件号后几位）", "Search (name/initials, reg. no, last ID digits)"),
    InputKeys => ("边输入边筛选 · Enter 确定 · Esc 取消", "filters as you type · Enter ok · Esc cancel"),
    Palette => ("命令", "Command"),
    FeedbackTitle => ("记录反馈", "Record feedback"),
    Channel => ("渠道", "Channel"),
    Body => ("内容", "Message"),
    FeedbackKeys => ("Tab 切换渠道 · Enter 发送 · Esc 取消", "Tab channel · Enter send · Esc cancel"),
    Login => ("登录", "Log in"),
    Server => ("服务器", "Server"),
    Username => ("用户名", "Username"),
    Password => ("密码", "Password"),
    LoginKeys => ("Enter 登录 · Tab 切换 · Esc 退出", "Enter log in · Tab switch · Esc quit"),
    Zoom => ("放大查看", "Zoom"),
    ZoomKeys => (
        "方向键 平移 · +/- 缩放 · r 旋转 · 1–9 区域 · 0 原始像素 · z 返回",
        "arrows pan · +/- zoom · r rotate · 1–9 region · 0 1:1 · z back"
    ),
    ShowNotLoggedIn => ("未登录：请先在审核台登录，或设置 SHENHE_TOKEN", "not logged in: log in with the console first, or set SHENHE_TOKEN"),
    ShowTokenRefused => ("登录已失效：请重新在审核台登录，或更新 SHENHE_TOKEN", "the login has expired: log in with the console again, or renew SHENHE_TOKEN"),
    ShowNotFound => ("找不到考生（或不在本考点/考区）：", "no such candidate (or not in your scope):"),
    ShowTrial => ("试用机构", "trial institution"),
    ShowPhone => ("电话", "phone"),
    Male => ("男", "M"),
    Searching => ("搜索", "search"),
}

pub fn status_name(lang: Lang, s: ReviewStatus) -> &'static str {
    match lang {
        Lang::Zh => s.zh(),
        Lang::En => s.en(),
    }
}

pub fn channel(lang: Lang, c: FeedbackChannel) -> &'static str {
    match lang {
        Lang::Zh => c.zh(),
        Lang::En => match c {
            FeedbackChannel::System => "system message",
            FeedbackChannel::Sms => "SMS",
            FeedbackChannel::Phone => "phone",
        },
    }
}

/// Words for the hint bar (short) and help (long).
pub fn command(lang: Lang, c: Command) -> (&'static str, &'static str) {
    use Command::*;
    let (zs, zl, es, el) = match c {
        Up => ("上", "上移 / 上一张图片", "up", "Move up / previous image"),
        Down => ("下", "下移 / 下一张图片", "down", "Move down / next image"),
        PageUp => ("上页", "向上翻页", "pg up", "Page up"),
        PageDown => ("下页", "向下翻页", "pg down", "Page down"),
        Top => ("顶部", "到队列顶部", "top", "Top of the queue"),
        Bottom => ("底部", "到队列末尾", "bottom", "End of the queue"),
        Open => (
            "打开",
            "打开考生（认领）",
            "open",
            "Open the candidate (claims it)",
        ),
        Back => ("返回", "返回 / 退出", "back", "Back / quit"),
        Quit => ("退出", "退出审核台", "quit", "Quit"),
        NextTab => ("下一栏", "下一个状态栏目", "next tab", "Next state tab"),
        PrevTab => ("上一栏", "上一个状态栏目", "prev tab", "Previous state tab"),
        NextImage => ("下一张", "下一张图片", "next img", "Next image"),
        PrevImage => ("上一张", "上一张图片", "prev img", "Previous image"),
        Lock => (
            "确认",
            "确认图片（保持锁定）并前进；有质量提示时先询问",
            "accept",
            "Accept the image (it stays locked) and advance; asks first if it has quality hints",
        ),
        Unlock => (
            "解锁…",
            "解锁（要求更换）：选择原因，考生须重新上传",
            "unlock…",
            "Unlock (ask for a replacement) with reasons: the candidate uploads a new one",
        ),
        Pending => (
            "待定…",
            "审核待定，选择原因",
            "pending…",
            "Set pending (审核待定) with reasons",
        ),
        Pass => (
            "通过",
            "审核通过（全部图片已锁定），打开下一位",
            "pass",
            "Pass (all images locked), open the next",
        ),
        Reject => (
            "不通过",
            "审核不通过（需确认；撤销期过后为最终结果）",
            "reject",
            "Reject (confirmed; final once the undo window closes)",
        ),
        ReturnToSite => (
            "退回",
            "退回考点（考区）",
            "return",
            "Return to the site (district)",
        ),
        Undo => ("撤销", "撤销上一步操作", "undo", "Undo the last action"),
        NextCandidate => (
            "下一位",
            "下一位未被认领的考生",
            "next",
            "Next unclaimed candidate",
        ),
        PrevCandidate => ("上一位", "上一位考生", "prev", "Previous candidate"),
        Zoom => ("放大", "全屏查看图片", "zoom", "Full-screen image"),
        ZoomIn => ("放大", "放大", "zoom in", "Zoom in"),
        ZoomOut => ("缩小", "缩小", "zoom out", "Zoom out"),
        Rotate => ("旋转", "旋转视图", "rotate", "Rotate the view"),
        PanLeft => ("左移", "向左平移", "left", "Pan left"),
        PanRight => ("右移", "向右平移", "right", "Pan right"),
        PanUp => ("上移", "向上平移", "up", "Pan up"),
        PanDown => ("下移", "向下平移", "down", "Pan down"),
        Region1 => (
            "左上",
            "跳到左上区域",
            "top left",
            "Jump to the top-left region",
        ),
        Region2 => ("上", "跳到上方区域", "top", "Jump to the top region"),
        Region3 => (
            "右上",
            "跳到右上区域",
            "top right",
            "Jump to the top-right region",
        ),
        Region4 => ("左", "跳到左侧区域", "left", "Jump to the left region"),
        Region5 => ("中", "跳到中央区域", "centre", "Jump to the centre region"),
        Region6 => ("右", "跳到右侧区域", "right", "Jump to the right region"),
        Region7 => (
            "左下",
            "跳到左下区域",
            "bottom left",
            "Jump to the bottom-left region",
        ),
        Region8 => ("下", "跳到下方区域", "bottom", "Jump to the bottom region"),
        Region9 => (
            "右下",
            "跳到右下区域",
            "bottom right",
            "Jump to the bottom-right region",
        ),
        OneToOne => (
            "1:1",
            "原始像素 1:1（看清小字）",
            "1:1",
            "One image pixel per screen pixel (small print)",
        ),
        Search => (
            "搜索",
            "边输入边筛选：姓名或拼音首字母、报名号任意部分、证件号后几位（考生页面中：返回队列搜索）",
            "search",
            "Filter as you type: name or pinyin initials, any part of the reg. no, last ID digits",
        ),
        Palette => ("命令", "按名称执行命令", "command", "Run a command by name"),
        Help => ("帮助", "帮助", "help", "Help"),
        Reveal => (
            "证件号",
            "显示完整证件号（记录在审核日志）",
            "show ID",
            "Show the full ID number (audited)",
        ),
        Feedback => (
            "反馈",
            "记录反馈（电话/短信/系统消息）",
            "feedback",
            "Record feedback (phone/SMS/message)",
        ),
        History => (
            "记录",
            "反馈与审核记录",
            "history",
            "Feedback and audit history",
        ),
        Refresh => ("刷新", "刷新", "refresh", "Refresh"),
        Logout => ("注销", "注销登录", "log out", "Log out"),
        Refused => (
            "被拒",
            "被服务器拒绝的操作（查看、移除）",
            "refused",
            "Actions the server refused (review, dismiss)",
        ),
        Export => (
            "导出",
            "导出本栏目的回访名单（CSV，含电话、原因）",
            "export",
            "Export this tab's follow-up list (CSV: phone, reasons)",
        ),
        Stats => (
            "概览",
            "各考点概览：数量、超期、进度、能否按期完成",
            "overview",
            "Per-site overview: counts, stale, pace, on track",
        ),
        ShowBytes => (
            "流量",
            "状态栏显示每一步发送到终端的字节数",
            "bytes",
            "Show the bytes each step sends to the terminal",
        ),
    };
    match lang {
        Lang::Zh => (zs, zl),
        Lang::En => (es, el),
    }
}

/// Short words for a reason code in the material strip.
pub fn reason_short(lang: Lang, code: &str) -> String {
    let (zh, en) = match code {
        "BLURRY" => ("模糊", "blurry"),
        "INCOMPLETE" => ("不完整", "incomplete"),
        "ROTATED" => ("方向不正", "rotated"),
        "MISSING_SIDE" => ("缺页", "missing side"),
        "WRONG_CATEGORY" => ("放错类别", "wrong category"),
        "EXPIRED" => ("过期", "expired"),
        "NOT_ORIGINAL" => ("非原件", "not original"),
        "NO_SEAL" => ("无公章", "no seal"),
        "MISMATCH" => ("不符", "mismatch"),
        "WRONG_FORM" => ("表格不符", "wrong form"),
        "ALTERED" => ("涂改", "altered"),
        "SUPPLEMENT" => ("需补充", "supplement"),
        other => return clean(other),
    };
    match lang {
        Lang::Zh => zh.into(),
        Lang::En => en.into(),
    }
}

/// The full words of a reason code.
pub fn reason_long(lang: Lang, code: &str) -> String {
    match crate::domain::reason::reason(code) {
        Some(r) => match lang {
            Lang::Zh => r.zh.into(),
            Lang::En => r.en.into(),
        },
        None => clean(code),
    }
}

pub fn audit_action(lang: Lang, a: &str) -> String {
    let (zh, en) = match a {
        "image.lock" => ("确认（保持锁定）", "accepted (kept locked)"),
        "image.unlock" => ("解锁（要求更换）", "unlocked (replacement asked)"),
        "candidate.decision" => ("审核决定", "decision"),
        "candidate.reveal_id" => ("查看证件号", "revealed ID"),
        "candidate.feedback" => ("反馈", "feedback"),
        "candidate.submit" => ("考生提交", "candidate submitted"),
        "image.upload" => ("上传图片", "uploaded image"),
        "image.delete" => ("删除图片", "deleted image"),
        "undo" => ("撤销", "undo"),
        other => return clean(other),
    };
    match lang {
        Lang::Zh => zh.into(),
        Lang::En => en.into(),
    }
}

fn cst() -> FixedOffset {
    use chrono::Offset;
    // Exam sites are in China; show their wall clock whatever TZ says.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// `10:32` today, `03-01 10:32` otherwise (China Standard Time).
pub fn time(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let a = at.with_timezone(&cst());
    let n = now.with_timezone(&cst());
    if a.date_naive() == n.date_naive() {
        a.format("%H:%M").to_string()
    } else {
        a.format("%m-%d %H:%M").to_string()
    }
}

/// Age since a change: `5分钟`, `2小时`, `3天` / `5m`, `2h`, `3d`.
pub fn age(lang: Lang, since: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let s = (now - since).num_seconds().max(0);
    let (n, zh, en) = if s < 60 {
        (s, "秒", "s")
    } else if s < 3600 {
        (s / 60, "分钟", "m")
    } else if s < 86_400 {
        (s / 3600, "小时", "h")
    } else {
        (s / 86_400, "天", "d")
    };
    match lang {
        Lang::Zh => format!("{n}{zh}"),
        Lang::En => format!("{n}{en}"),
    }
}

/// `1,204`
pub fn thousands(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

mod messages;
pub use messages::{api_error, kind_words, op_words, refusal, status};
