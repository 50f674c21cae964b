//! Fuzzes the ai-sdk dialect's inbound decoding through the engine: the input is a script of
//! server behaviour (HTTP answers, stream chunks, closes, waits; see `chatwire_fuzz::script`),
//! seeded from `corpus/ai_sdk` (UI message streams as `chatwire-mock` sends them).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatwire_fuzz::run_dialect(chatwire_fuzz::Target::AiSdk, data);
});
