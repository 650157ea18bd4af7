//! Audit actions and feedback channels.

use serde::{Deserialize, Serialize};

/// What an audit event records. Stored and served as the string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum AuditAction {
    #[serde(rename = "image.lock")]
    ImageLock,
    #[serde(rename = "image.unlock")]
    ImageUnlock,
    #[serde(rename = "candidate.decision")]
    Decision,
    #[serde(rename = "candidate.reveal_id")]
    RevealId,
    #[serde(rename = "candidate.feedback")]
    Feedback,
    #[serde(rename = "candidate.submit")]
    Submit,
    #[serde(rename = "image.upload")]
    Upload,
    #[serde(rename = "image.delete")]
    Delete,
    /// A compensating event; never an erase.
    #[serde(rename = "undo")]
    Undo,
}

impl AuditAction {
    pub const ALL: [AuditAction; 9] = [
        AuditAction::ImageLock,
        AuditAction::ImageUnlock,
        AuditAction::Decision,
        AuditAction::RevealId,
        AuditAction::Feedback,
        AuditAction::Submit,
        AuditAction::Upload,
        AuditAction::Delete,
        AuditAction::Undo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::ImageLock => "image.lock",
            AuditAction::ImageUnlock => "image.unlock",
            AuditAction::Decision => "candidate.decision",
            AuditAction::RevealId => "candidate.reveal_id",
            AuditAction::Feedback => "candidate.feedback",
            AuditAction::Submit => "candidate.submit",
            AuditAction::Upload => "image.upload",
            AuditAction::Delete => "image.delete",
            AuditAction::Undo => "undo",
        }
    }

    pub fn parse(s: &str) -> Option<AuditAction> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Reviewer actions that undo can compensate.
    pub fn undoable(self) -> bool {
        matches!(
            self,
            AuditAction::ImageLock | AuditAction::ImageUnlock | AuditAction::Decision
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackChannel {
    /// Shown at the top of the candidate's upload page.
    System,
    /// An SMS was sent; logged here.
    Sms,
    /// A phone call was made; logged here.
    Phone,
}

impl FeedbackChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackChannel::System => "system",
            FeedbackChannel::Sms => "sms",
            FeedbackChannel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<FeedbackChannel> {
        [
            FeedbackChannel::System,
            FeedbackChannel::Sms,
            FeedbackChannel::Phone,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            FeedbackChannel::System => "系统消息",
            FeedbackChannel::Sms => "短信",
            FeedbackChannel::Phone => "电话",
        }
    }
}

/// Longest feedback body stored.
pub const MAX_FEEDBACK_CHARS: usize = 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(a));
            assert_eq!(
                serde_json::to_string(&a).expect("json"),
                format!("\"{}\"", a.as_str())
            );
        }
    }
}
