//! Logs on stderr: a `tracing-subscriber` `EnvFilter` from `RUST_LOG` when it is set, else from
//! the `-v` count (none: quiet, `-v`: info, `-vv`: debug, `-vvv`: trace, for chatwire's own
//! crates; other crates stay at warn unless `RUST_LOG` names them).
//!
//! What the levels show is decided by the core (`chatwire::engine` logs state changes, every
//! retry with its reason, context, server hint and delay, errors and discontinuities) and by
//! the CLI itself (the demo logs each fault it injects). No log line carries a URL query, a
//! header or a body, so credentials never reach stderr; `tests/cli_redaction.rs` checks this at
//! trace level.

use tracing_subscriber::EnvFilter;

/// The filter for `-v` repeated `verbosity` times, when `RUST_LOG` is not set.
///
/// ```text
/// 0 -> "error"   1 -> chatwire crates at info   2 -> debug   3+ -> trace
/// ```
pub fn default_filter(verbosity: u8) -> String {
    let level = match verbosity {
        0 => return "error".to_string(),
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    format!("warn,chatwire={level},chatwire_cli={level},chatwire_mock={level}")
}

/// Installs the global subscriber; a `RUST_LOG` that does not parse is reported and replaced by
/// the `-v` default, never silently ignored.
pub fn init(verbosity: u8, color: bool) {
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let filter = match from_env {
        Some(spec) => match EnvFilter::try_new(&spec) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!(
                    "warning: RUST_LOG={spec:?} is not a valid filter ({e}); using -v levels"
                );
                EnvFilter::new(default_filter(verbosity))
            }
        },
        None => EnvFilter::new(default_filter(verbosity)),
    };
    let installed = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(true)
        .try_init();
    if let Err(e) = installed {
        eprintln!("warning: logging not available: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_maps_to_levels_for_chatwire_crates_only() {
        assert_eq!(default_filter(0), "error");
        assert!(default_filter(1).contains("chatwire=info"));
        assert!(default_filter(2).contains("chatwire_mock=debug"));
        assert!(default_filter(7).contains("chatwire_cli=trace"));
        assert!(default_filter(3).starts_with("warn,"));
        for v in 0..4 {
            assert!(EnvFilter::try_new(default_filter(v)).is_ok());
        }
    }
}
