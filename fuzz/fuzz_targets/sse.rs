//! Fuzzes the SSE parser (`chatwire::sse::Parser`): any bytes, split anywhere, must give the
//! same events as the whole stream at once, and never panic. Seeds in `corpus/sse`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatwire_fuzz::run_sse(data);
});
