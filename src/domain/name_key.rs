//! What a name is searched by besides its characters: the pinyin initials
//! (谢艳佳 → `xyj`), the way reviewers type a name they heard on the phone.

use pinyin::ToPinyin;

/// Surnames whose reading differs from the character's common one.
const SURNAMES: &[(char, char)] = &[
    ('曾', 'z'),
    ('单', 's'),
    ('解', 'x'),
    ('仇', 'q'),
    ('区', 'o'),
    ('朴', 'p'),
    ('查', 'z'),
    ('乐', 'y'),
    ('尉', 'y'),
    ('翟', 'z'),
    ('盖', 'g'),
    ('缪', 'm'),
    ('覃', 'q'),
    ('召', 's'),
    ('万', 'w'),
    ('任', 'r'),
    ('沈', 's'),
];

/// Lower-case initials of every Han character (the first by its surname
/// reading) and of every Latin word; everything else dropped.
pub fn initials(name: &str) -> String {
    let mut out = String::new();
    let mut prev_latin = false;
    for (i, (c, p)) in name.chars().zip(name.to_pinyin()).enumerate() {
        let latin = c.is_ascii_alphabetic();
        let word_start = latin && !prev_latin;
        prev_latin = latin;
        if i == 0
            && let Some((_, s)) = SURNAMES.iter().find(|(h, _)| *h == c)
        {
            out.push(*s);
            continue;
        }
        match p {
            Some(p) => out.push_str(p.first_letter()),
            None if word_start => out.push(c.to_ascii_lowercase()),
            None => {}
        }
    }
    out
}

/// Whether `q` is worth matching against initials: letters only.
pub fn looks_like_initials(q: &str) -> bool {
    !q.is_empty() && q.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_names() {
        assert_eq!(initials("谢艳佳"), "xyj");
        assert_eq!(initials("欧阳娜娜"), "oynn");
        assert_eq!(initials("曾小贤"), "zxx");
        assert_eq!(initials("单田芳"), "stf");
        assert_eq!(initials("Zhang Wei"), "zw");
        assert_eq!(initials("王·五"), "ww");
        assert!(looks_like_initials("XYJ") && !looks_like_initials("x1"));
    }
}
