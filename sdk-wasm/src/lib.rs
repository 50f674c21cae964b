//! chatwire for JavaScript (browser and Node), built with wasm-bindgen.
