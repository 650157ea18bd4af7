#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| shenhe_fuzz::checks::dto(data));
