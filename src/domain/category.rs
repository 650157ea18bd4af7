//! Material categories and their slots.

use serde::{Deserialize, Serialize};

/// A kind of material a candidate uploads. Serialised by its stable code.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MaterialCategory {
    IdProof,
    Diploma,
    DegreeRecord,
    TrialAssessment,
    AssistantCert,
    PracticeLicense,
    InstitutionLicense,
    GraduatePledge,
    Other,
}

impl MaterialCategory {
    /// Display order, as on the candidates' upload page.
    pub const ALL: [MaterialCategory; 9] = [
        MaterialCategory::IdProof,
        MaterialCategory::Diploma,
        MaterialCategory::DegreeRecord,
        MaterialCategory::TrialAssessment,
        MaterialCategory::AssistantCert,
        MaterialCategory::PracticeLicense,
        MaterialCategory::InstitutionLicense,
        MaterialCategory::GraduatePledge,
        MaterialCategory::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            MaterialCategory::IdProof => "ID_PROOF",
            MaterialCategory::Diploma => "DIPLOMA",
            MaterialCategory::DegreeRecord => "DEGREE_RECORD",
            MaterialCategory::TrialAssessment => "TRIAL_ASSESSMENT",
            MaterialCategory::AssistantCert => "ASSISTANT_CERT",
            MaterialCategory::PracticeLicense => "PRACTICE_LICENSE",
            MaterialCategory::InstitutionLicense => "INSTITUTION_LICENSE",
            MaterialCategory::GraduatePledge => "GRADUATE_PLEDGE",
            MaterialCategory::Other => "OTHER",
        }
    }

    pub fn from_code(code: &str) -> Option<MaterialCategory> {
        MaterialCategory::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            MaterialCategory::IdProof => "身份证明",
            MaterialCategory::Diploma => "毕业证书",
            MaterialCategory::DegreeRecord => "学历证明",
            MaterialCategory::TrialAssessment => "试用期考核证明",
            MaterialCategory::AssistantCert => "执业助理医师资格证书",
            MaterialCategory::PracticeLicense => "医师执业证书",
            MaterialCategory::InstitutionLicense => "医疗机构执业许可证",
            MaterialCategory::GraduatePledge => "应届毕业生报考承诺书",
            MaterialCategory::Other => "其他",
        }
    }

    /// A short label for the material strip, where space is tight.
    pub fn short_zh(self) -> &'static str {
        match self {
            MaterialCategory::IdProof => "身份证明",
            MaterialCategory::Diploma => "毕业证书",
            MaterialCategory::DegreeRecord => "学历证明",
            MaterialCategory::TrialAssessment => "试用期考核",
            MaterialCategory::AssistantCert => "助理资格证",
            MaterialCategory::PracticeLicense => "执业证书",
            MaterialCategory::InstitutionLicense => "机构许可证",
            MaterialCategory::GraduatePledge => "应届承诺书",
            MaterialCategory::Other => "其他",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            MaterialCategory::IdProof => "Proof of identity",
            MaterialCategory::Diploma => "Diploma",
            MaterialCategory::DegreeRecord => "Degree record",
            MaterialCategory::TrialAssessment => "Trial-period assessment",
            MaterialCategory::AssistantCert => "Assistant physician certificate",
            MaterialCategory::PracticeLicense => "Physician practice licence",
            MaterialCategory::InstitutionLicense => "Medical institution licence",
            MaterialCategory::GraduatePledge => "Graduate pledge",
            MaterialCategory::Other => "Other",
        }
    }

    pub fn short_en(self) -> &'static str {
        match self {
            MaterialCategory::IdProof => "ID",
            MaterialCategory::Diploma => "Diploma",
            MaterialCategory::DegreeRecord => "Degree",
            MaterialCategory::TrialAssessment => "Trial",
            MaterialCategory::AssistantCert => "Asst.cert",
            MaterialCategory::PracticeLicense => "Practice",
            MaterialCategory::InstitutionLicense => "Inst.lic",
            MaterialCategory::GraduatePledge => "Pledge",
            MaterialCategory::Other => "Other",
        }
    }

    /// How many images the category takes; `None` = any number.
    pub fn fixed_count(self) -> Option<u8> {
        match self {
            MaterialCategory::IdProof => Some(2),
            _ => None,
        }
    }

    /// Labels of the fixed slots, (zh, en); empty when the count is free.
    pub fn slot_labels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            MaterialCategory::IdProof => &[("正面", "front"), ("反面", "back")],
            _ => &[],
        }
    }

    /// Upper bound for categories without a fixed count, so that one
    /// candidate cannot fill the store.
    pub const MAX_FREE_IMAGES: u8 = 10;

    /// The most images this category may hold.
    pub fn capacity(self) -> u8 {
        self.fixed_count().unwrap_or(Self::MAX_FREE_IMAGES)
    }
}

impl std::fmt::Display for MaterialCategory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_serialise_as_codes() {
        for c in MaterialCategory::ALL {
            assert_eq!(MaterialCategory::from_code(c.code()), Some(c));
            let json = serde_json::to_string(&c).expect("serialise");
            assert_eq!(json, format!("\"{}\"", c.code()));
        }
        assert_eq!(MaterialCategory::from_code("id_proof"), None);
    }

    #[test]
    fn fixed_counts_match_slot_labels() {
        for c in MaterialCategory::ALL {
            match c.fixed_count() {
                Some(n) => assert_eq!(c.slot_labels().len(), usize::from(n)),
                None => assert!(c.slot_labels().is_empty()),
            }
        }
        assert_eq!(MaterialCategory::IdProof.capacity(), 2);
    }
}
