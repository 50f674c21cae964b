//! Fuzzes the miptech dialect's inbound decoding through the engine: the input is a script of
//! server behaviour (HTTP answers, stream chunks, socket frames, closes, waits; see
//! `chatwire_fuzz::script`), seeded from `corpus/miptech`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    chatwire_fuzz::run_dialect(chatwire_fuzz::Target::Miptech, data);
});
