//! Fuzzes `ClientOptions::from_json`, the one options object JS, C and scenario files pass:
//! any text must parse or be refused with a typed error, validation must not panic, and
//! accepted options must survive `to_json` -> `from_json` unchanged. Seeds in `corpus/options`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatwire_fuzz::run_options(data);
});
