//! chatwire's scenario corpus machinery: one set of scenario files (`tests/scenarios/*.json`),
//! run through every binding's public API by a small stdio runner, judged by one checker.
//!
//! - [`format`](mod@format): the scenario file format;
//! - [`trace`]: the runner protocol's trace lines;
//! - [`model`] and [`text`]: what a trace says happened (turns per message, assembled text);
//! - [`check`]: the judging, in plain words;
//! - [`orchestrate`]: starts `chatwire-mock`, drives a runner through the steps, judges;
//! - [`diff`]: compares two runners' traces of one scenario.
//!
//! The binaries are `chatwire-scenario` (`run`, `diff`) and `chatwire-scenario-runner`, the
//! Rust reference runner over the public `Client`.

pub mod check;
pub mod diff;
pub mod format;
pub mod model;
pub mod orchestrate;
pub mod text;
pub mod trace;
mod waits;

pub use check::{ServerRecord, judge};
pub use format::{Expect, LabelExpect, Scenario, Step};
pub use orchestrate::{Outcome, run_scenario, scenario_dir};
pub use text::assemble;
pub use trace::{TraceLine, parse_trace};
