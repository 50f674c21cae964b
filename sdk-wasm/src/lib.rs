//! chatwire for JavaScript (browser and Node >= 20), built with wasm-bindgen into the `chatwire`
//! npm package (`bindings/js`).
//!
//! This crate is the thin JS face of the core crate `chatwire`: it converts JS arguments, calls
//! the core, converts results, and turns every refusal into a thrown `ChatwireError` with a stable
//! `code` (see [`Error`]). It holds no logic of its own beyond argument checking; the browser/Node
//! driver (WebSocket, fetch, timers) will live here too, as a thin loop around the sans-IO engine.
//!
//! ```js
//! import { version, backoffDelayMs, ChatwireError } from 'chatwire';
//! version();                              // "0.1.0"
//! backoffDelayMs(3, 0.5);                 // 4000
//! backoffDelayMs(1, 0.5, 'rateLimited');  // 5500 (5 s floor, jittered upwards only)
//! ```

mod error;
mod input;
pub mod outputs;
mod platform;
mod session;

use std::time::Duration;

use chatwire::backoff::{BackoffPolicy, RetryContext};
use wasm_bindgen::prelude::*;

pub use error::{CoreError, Error};
pub use input::RETRY_CONTEXTS;
pub use platform::{dialects, header_free_refusal, socket_needs};
pub use session::{WasmSession, error_codes};

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Why the previous connection attempt failed, as far as the retry decision cares. */
export type RetryContext = "network" | "serverRestart" | "initializing" | "rateLimited" | "other";

/** An error raised by chatwire. Branch on `code` (e.g. `"INVALID_INPUT"`), not on `message`. */
export class ChatwireError extends Error {
  constructor(code: string, message: string, retryable?: boolean);
  /** Stable, machine-readable code from the core's `ErrorCode` table (`"INVALID_INPUT"`, ...). */
  readonly code: string;
  /** Whether retrying later can succeed without changing anything. */
  readonly retryable: boolean;
}
"#;

/// The version of the chatwire core compiled into this package (e.g. `"0.1.0"`).
///
/// ```js
/// import { version } from 'chatwire';
/// console.log(version()); // "0.1.0"
/// ```
#[wasm_bindgen]
pub fn version() -> String {
    chatwire::version().to_owned()
}

/// The wait before reconnect attempt `attempt`, in whole milliseconds, from chatwire's default
/// backoff policy: 1 s doubling per attempt, capped at 30 s, +-20 % jitter applied after the cap,
/// within the bounds of the failure `context` (`"serverRestart"` <= 2 s, `"rateLimited"` >= 5 s,
/// `"initializing"` >= 2 s, `"network"` >= 3 s; absent means `"other"`). The bounds are strict:
/// where a floor binds the jitter only goes upwards (floor .. floor + 20 %), where the restart
/// ceiling binds only downwards (2 s - 20 % .. 2 s).
///
/// `attempt` is 1-based (0 counts as 1) and must be an integer >= 0. `unit` is a uniform random
/// draw in `[0, 1)` (pass `Math.random()`; `0.5` means no jitter unless a context bound binds);
/// it must be finite and is clamped into `[0, 1]`. Bad arguments throw a `ChatwireError` with
/// code `"INVALID_INPUT"`.
///
/// ```js
/// import { backoffDelayMs } from 'chatwire';
/// backoffDelayMs(3, 0.5);                   // 4000
/// backoffDelayMs(1_000_000, Math.random()); // between 24000 and 36000
/// backoffDelayMs(10, 0.5, 'serverRestart'); // 1800
/// ```
#[wasm_bindgen(js_name = backoffDelayMs, return_description = "delay in whole milliseconds")]
pub fn backoff_delay_ms(
    #[wasm_bindgen(
        unchecked_param_type = "number",
        param_description = "1-based retry number, an integer >= 0 (0 counts as 1)"
    )]
    attempt: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "number",
        param_description = "uniform random draw in [0, 1), e.g. Math.random(); 0.5 = no jitter"
    )]
    unit: JsValue,
    #[wasm_bindgen(
        unchecked_optional_param_type = "RetryContext",
        param_description = "why the previous attempt failed; default \"other\""
    )]
    context: Option<JsValue>,
) -> Result<f64, Error> {
    let attempt = input::attempt(attempt.as_f64()).map_err(|e| e.got(&shown(&attempt)))?;
    let unit = input::unit(unit.as_f64()).map_err(|e| e.got(&shown(&unit)))?;
    let context = match context {
        // `undefined` and `null` both arrive as `None`.
        None => input::retry_context(None)?,
        Some(value) => {
            let name = value
                .as_string()
                .ok_or_else(|| input::context_not_a_string().got(&shown(&value)))?;
            input::retry_context(Some(&name))?
        }
    };
    Ok(delay_ms(attempt, unit, context))
}

/// How a JS value reads in an error message (`-1`, `NaN`, `"3"`, `undefined`), rendered by the
/// JS glue: formatting floats in Rust would pull ~25 KB of formatting code into the module.
fn shown(value: &JsValue) -> String {
    // `JsValue`'s Debug is `JsValue(<the glue's rendering>)`; keep the rendering.
    let debug = format!("{value:?}");
    match debug
        .strip_prefix("JsValue(")
        .and_then(|s| s.strip_suffix(')'))
    {
        Some(inner) => inner.to_owned(),
        None => debug,
    }
}

/// The core computation behind [`backoff_delay_ms`], on already validated values.
fn delay_ms(attempt: u32, unit: f64, context: RetryContext) -> f64 {
    let delay: Duration = BackoffPolicy::default().delay(attempt, unit, context, None);
    // At most cap * (1 + jitter) = 36 s here, so the u128 -> f64 conversion is exact.
    delay.as_millis() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_follows_the_core_schedule() {
        assert_eq!(delay_ms(3, 0.5, RetryContext::Other), 4000.0);
        assert_eq!(delay_ms(0, 0.5, RetryContext::Other), 1000.0);
        assert_eq!(delay_ms(10, 0.5, RetryContext::ServerRestart), 1800.0);
        assert_eq!(delay_ms(10, 1.0, RetryContext::ServerRestart), 2000.0);
        assert_eq!(delay_ms(1, 0.5, RetryContext::RateLimited), 5500.0);
        assert_eq!(delay_ms(1, 0.0, RetryContext::RateLimited), 5000.0);
        assert_eq!(delay_ms(1, 0.5, RetryContext::Initializing), 2200.0);
        assert_eq!(delay_ms(1, 0.5, RetryContext::Network), 3300.0);
        let far = delay_ms(1_000_000, 0.999_999, RetryContext::Other);
        assert!((24_000.0..=36_000.0).contains(&far), "{far}");
    }

    #[test]
    fn version_is_the_core_version() {
        assert_eq!(version(), chatwire::version());
    }
}
