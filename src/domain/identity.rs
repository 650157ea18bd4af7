//! Resident ID numbers (GB 11643) and masking of personal data for display.

use chrono::NaiveDate;

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has 18 characters")]
    Length,
    #[error("the first 17 characters must be digits")]
    NotDigits,
    #[error("the birth date in the ID number is not a date")]
    BirthDate,
    #[error("the check digit is wrong (expected {expected})")]
    CheckDigit { expected: char },
}

/// The GB 11643 check character for the first 17 digits.
pub fn check_char(first17: &str) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    CHECK.get((sum % 11) as usize).copied()
}

/// Facts read from a valid resident ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdFacts {
    pub birth_date: NaiveDate,
    /// 17th digit odd = male.
    pub male: bool,
}

/// Validate an 18-character resident ID number. A lowercase `x` is accepted
/// as `X` (people type it that way).
pub fn validate_id_number(id: &str) -> Result<IdFacts, IdNumberError> {
    if id.chars().count() != 18 || !id.is_ascii() {
        return Err(IdNumberError::Length);
    }
    let (first17, last) = id.split_at(17);
    if !first17.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdNumberError::NotDigits);
    }
    let birth = NaiveDate::parse_from_str(&first17[6..14], "%Y%m%d")
        .map_err(|_| IdNumberError::BirthDate)?;
    let expected = check_char(first17).ok_or(IdNumberError::NotDigits)?;
    let given = last.chars().next().map(|c| c.to_ascii_uppercase());
    if given != Some(expected) {
        return Err(IdNumberError::CheckDigit { expected });
    }
    let male = first17.as_bytes()[16] % 2 == 1;
    Ok(IdFacts {
        birth_date: birth,
        male,
    })
}

/// `3201**********1234`: the first four and last four characters. Anything
/// shorter than 9 characters is masked whole, so nothing leaks.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 9 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    let mut out: String = chars[..4].iter().collect();
    out.extend(std::iter::repeat_n('*', n - 8));
    out.extend(&chars[n - 4..]);
    out
}

/// `138****5678` for an 11-digit mobile number.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    let mut out: String = chars[..3].iter().collect();
    out.extend(std::iter::repeat_n('*', n - 7));
    out.extend(&chars[n - 4..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_known_values() {
        // The standard's worked example.
        assert_eq!(check_char("11010519491231002"), Some('X'));
        assert!(validate_id_number("11010519491231002X").is_ok());
        assert!(validate_id_number("11010519491231002x").is_ok());
        assert_eq!(
            validate_id_number("110105194912310021"),
            Err(IdNumberError::CheckDigit { expected: 'X' })
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(validate_id_number("123"), Err(IdNumberError::Length));
        assert_eq!(
            validate_id_number("1101051949123100AX"),
            Err(IdNumberError::NotDigits)
        );
        let bad_date = format!("32010219991399123{}", 'X');
        assert_eq!(validate_id_number(&bad_date), Err(IdNumberError::BirthDate));
        assert_eq!(
            validate_id_number("１１０１０５１９４９１２３１００２X"),
            Err(IdNumberError::Length)
        );
    }

    #[test]
    fn facts() {
        let f = validate_id_number("11010519491231002X").expect("valid");
        assert_eq!(
            f.birth_date,
            NaiveDate::from_ymd_opt(1949, 12, 31).expect("date")
        );
        assert!(!f.male);
    }

    #[test]
    fn masks() {
        assert_eq!(mask_id_number("320102199001011234"), "3201**********1234");
        assert_eq!(mask_id_number("1234"), "****");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("123"), "***");
    }
}
