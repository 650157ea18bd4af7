//! The people the demo invents: Chinese names (with the odd compound
//! surname), resident ID numbers with a valid GB 11643 check character and
//! real 南京/苏州 region codes, and the exam categories, schools, majors and
//! hospitals a candidate's record is drawn from. Weighted and uniform picks
//! from a seeded RNG, so the demo is the same every time.

use chrono::NaiveDate;
use rand::Rng;
use rand::rngs::StdRng;

use crate::domain::identity::check_char;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "潘", "袁", "蔡", "蒋", "余", "于", "杜", "叶", "程", "魏", "苏", "吕", "丁",
    "沈", "任", "姚", "卢", "钟", "姜", "崔", "谭", "陆", "范", "汪", "廖", "石", "金", "韦", "贾",
];
const COMPOUND_SURNAMES: &[&str] = &[
    "欧阳", "司马", "诸葛", "上官", "东方", "慕容", "夏侯", "皇甫",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "文", "玲", "婷", "宇", "浩", "鑫", "晨", "阳",
    "雪", "琳", "欣", "悦", "子", "涵", "博", "思", "雨", "嘉", "梓", "轩", "佳", "怡", "一", "诺",
    "俊", "辉", "建", "国", "志", "海", "燕", "红", "晓", "慧", "颖", "倩", "楠", "凯", "鹏", "飞",
];

/// (category, needs trial assessment, needs assistant certificate).
pub(super) const EXAM_CATEGORIES: &[(&str, u32)] = &[
    ("临床执业医师", 30),
    ("临床执业助理医师", 20),
    ("中医执业医师", 10),
    ("中医执业助理医师", 6),
    ("口腔执业医师", 8),
    ("口腔执业助理医师", 4),
    ("公共卫生执业医师", 5),
    ("公共卫生执业助理医师", 3),
    ("中西医结合执业医师", 5),
    ("乡村全科执业助理医师", 9),
];

pub(super) const SCHOOLS: &[&str] = &[
    "南京医科大学",
    "苏州大学",
    "南京中医药大学",
    "东南大学",
    "扬州大学",
    "徐州医科大学",
    "南通大学",
    "江苏大学",
    "江苏医药职业学院",
    "江苏卫生健康职业学院",
    "苏州卫生职业技术学院",
];
pub(super) const MAJORS: &[&str] = &[
    "临床医学",
    "中医学",
    "口腔医学",
    "预防医学",
    "中西医临床医学",
    "针灸推拿学",
    "全科医学",
];
pub(super) const EDUCATION: &[(&str, u32)] = &[
    ("本科", 55),
    ("大专", 25),
    ("硕士研究生", 15),
    ("博士研究生", 2),
    ("中专", 3),
];
pub(super) const NANJING_HOSPITALS: &[&str] = &[
    "江苏省人民医院",
    "南京鼓楼医院",
    "南京市第一医院",
    "江苏省中医院",
    "南京市江宁医院",
    "南京市浦口医院",
    "东南大学附属中大医院",
    "南京市口腔医院",
    "栖霞区迈皋桥社区卫生服务中心",
];
pub(super) const SUZHOU_HOSPITALS: &[&str] = &[
    "苏州大学附属第一医院",
    "苏州大学附属第二医院",
    "苏州市立医院",
    "昆山市第一人民医院",
    "常熟市第一人民医院",
    "张家港市第一人民医院",
    "苏州市中医医院",
    "吴江区第一人民医院",
    "相城区黄桥街道社区卫生服务中心",
];
/// Real region codes of 南京市 (3201xx) and 苏州市 (3205xx) districts.
pub(super) const NANJING_REGIONS: &[&str] = &[
    "320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115", "320116",
];
pub(super) const SUZHOU_REGIONS: &[&str] = &[
    "320505", "320506", "320507", "320508", "320509", "320581", "320582", "320583", "320585",
];

pub(super) fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

pub(super) fn weighted<'a>(rng: &mut StdRng, xs: &'a [(&'a str, u32)]) -> &'a str {
    let total: u32 = xs.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (s, w) in xs {
        if r < *w {
            return s;
        }
        r -= w;
    }
    xs[0].0
}

pub(super) fn chinese_name(rng: &mut StdRng) -> String {
    let mut s = String::new();
    if rng.random_bool(0.04) {
        s.push_str(pick(rng, COMPOUND_SURNAMES));
    } else {
        s.push_str(pick(rng, SURNAMES));
    }
    s.push_str(pick(rng, GIVEN));
    if rng.random_bool(0.7) {
        s.push_str(pick(rng, GIVEN));
    }
    s
}

/// A resident ID number with a valid GB 11643 check character: region,
/// birth date, a 3-digit sequence whose parity is the sex, check.
pub(super) fn id_number(rng: &mut StdRng, region: &str, birth: NaiveDate, male: bool) -> String {
    let seq: u32 = rng.random_range(0..50) * 2 + u32::from(male);
    let mut s = format!(
        "{region}{}{}{seq:02}",
        birth.format("%Y%m%d"),
        rng.random_range(0..10u32)
    );
    let check = check_char(&s).unwrap_or('0');
    s.push(check);
    s
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::domain::identity::validate_id_number;

    #[test]
    fn id_numbers_are_valid_and_regional() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..1000 {
            let birth = NaiveDate::from_ymd_opt(1990, 5, 17).expect("date");
            let male = rng.random_bool(0.5);
            let id = id_number(&mut rng, "320106", birth, male);
            let facts = validate_id_number(&id).expect("valid");
            assert_eq!(facts.birth_date, birth);
            assert_eq!(facts.male, male);
            assert!(id.starts_with("320106"));
        }
    }

    #[test]
    fn names_are_two_to_four_characters() {
        let mut rng = StdRng::seed_from_u64(2);
        for _ in 0..1000 {
            let n = chinese_name(&mut rng).chars().count();
            assert!((2..=4).contains(&n), "{n}");
        }
    }
}
