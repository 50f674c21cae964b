//! The scenario file format (`tests/scenarios/*.json`, described by `scenario.schema.json` and
//! the README beside them): the client's `ClientOptions` JSON, the mock's settings and fault
//! sets, the steps in order, and what must hold at the end.
//!
//! Parsing refuses unknown keys everywhere (a misspelt expectation must not pass silently) and
//! [`Scenario::check`] refuses steps that name a label that was never sent, so a scenario that
//! cannot mean what it says fails before anything runs.

use chatwire_mock::FaultSpec;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// One scenario file.
///
/// ```
/// let json = r#"{"name":"n","options":{"dialect":"native"},"steps":[
///   {"op":"send","label":"t1","text":"hi"},{"op":"waitTurnEnd","label":"t1"}],
///   "expect":{"labels":{"t1":{"text":"You said: hi","terminal":"turnCompleted","status":"acked"}}}}"#;
/// let scenario = chatwire_scenario::Scenario::parse(json)?;
/// assert_eq!(scenario.labels(), ["t1"]);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Scenario {
    /// Unique name (the file name without `.json`).
    pub name: String,
    /// What the scenario shows, in one or two sentences.
    #[serde(default)]
    pub description: String,
    /// A `ClientOptions` JSON object without `baseUrl` (the orchestrator fills it in).
    pub options: serde_json::Value,
    /// Tokens the runner's token provider hands out, in order (the last one repeats). Present
    /// only when `options.tokenProvider` is true.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// The mock's settings.
    #[serde(default)]
    pub mock: MockSettings,
    /// What happens, in order.
    pub steps: Vec<Step>,
    /// What must hold when the steps are done.
    #[serde(default)]
    pub expect: Expect,
}

/// How the orchestrator starts `chatwire-mock` for the scenario.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MockSettings {
    /// Fault seed (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Delay between streamed words (default 5 ms).
    pub token_delay_ms: Option<u64>,
    /// How long `/slow` waits (default 1500 ms).
    pub slow_delay_ms: Option<u64>,
    /// miptech's `connection_ready` delay (default 20 ms).
    pub init_delay_ms: Option<u64>,
    /// Require this bearer token (openai, native, chat-v2).
    pub bearer_token: Option<String>,
    /// Require this API key (miptech).
    pub api_key: Option<String>,
    /// A fault set installed before the runner starts (a `/_mock/faults` body).
    pub faults: Option<FaultSpec>,
}

/// One step. App steps go to the runner as commands; the orchestrator performs the others.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub enum Step {
    /// App: send a text message.
    #[serde(rename_all = "camelCase")]
    Send {
        /// Names the message in expectations.
        label: String,
        /// The text.
        text: String,
        /// The error code the command must fail with (default: it must succeed).
        expect_code: Option<String>,
    },
    /// App: send `samples` samples of PCM16 silence.
    #[serde(rename_all = "camelCase")]
    SendAudio {
        /// Names the message.
        label: String,
        /// Number of samples.
        samples: usize,
        /// The error code the command must fail with.
        expect_code: Option<String>,
    },
    /// App: `count` sends written back to back, labelled `<label>1..<label>count`, texts
    /// `<text> 1..<text> count`.
    #[serde(rename_all = "camelCase")]
    SendBurst {
        /// Label prefix.
        label: String,
        /// How many.
        count: usize,
        /// Text prefix.
        text: String,
        /// Per message: the code the send must fail with (`null` for success).
        #[serde(default)]
        expect_codes: BTreeMap<String, String>,
    },
    /// App: cancel the running turn.
    #[serde(rename_all = "camelCase")]
    CancelTurn {
        /// The error code the command must fail with.
        expect_code: Option<String>,
    },
    /// App: typing indicator.
    #[serde(rename_all = "camelCase")]
    Typing {
        /// Typing or not.
        active: bool,
        /// The error code the command must fail with.
        expect_code: Option<String>,
    },
    /// App: reconnect now.
    ReconnectNow {},
    /// App: connect now (lazy connect otherwise).
    Connect {},
    /// App: take back a queued message.
    #[serde(rename_all = "camelCase")]
    Discard {
        /// The message.
        label: String,
        /// The error code the command must fail with.
        expect_code: Option<String>,
    },
    /// App: close the client (the runner ends its trace with `end`).
    Close {},
    /// Wait until the trace shows something (see [`WaitFor`]).
    WaitFor(WaitFor),
    /// Wait until the label's turn ended for good.
    #[serde(rename_all = "camelCase")]
    WaitTurnEnd {
        /// The message whose turn must end.
        label: String,
        /// Deadline (default 10 s).
        timeout_ms: Option<u64>,
    },
    /// Restart the mock: drop every connection, refuse new ones for `refuseMs`.
    #[serde(rename_all = "camelCase")]
    RestartServer {
        /// Refusal period after the restart.
        #[serde(default)]
        refuse_ms: u64,
    },
    /// Install a fault set (a `/_mock/faults` body).
    InstallFaults {
        /// The fault set.
        faults: FaultSpec,
    },
    /// Remove the fault set.
    ClearFaults {},
    /// Wait a fixed time (only where nothing observable can be awaited).
    Sleep {
        /// Milliseconds.
        ms: u64,
    },
}

/// `waitFor`: an envelope of type `event`, a connection state, or a delivery status, optionally
/// for one label, seen at least `count` times.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitFor {
    /// An event type (`textDelta`, `turnStarted`, `toolStarted`, `error`, ...).
    pub event: Option<String>,
    /// A connection state kind (`ready`, `reconnecting`, ...).
    pub state: Option<String>,
    /// A delivery status kind (`acked`, `sent`, `failed`), with `label`.
    pub status: Option<String>,
    /// Only events of this message's turns (with `event`) or this message (with `status`).
    pub label: Option<String>,
    /// How many matches (default 1).
    pub count: Option<usize>,
    /// Deadline (default 10 s).
    pub timeout_ms: Option<u64>,
}

/// What must hold at the end. Anything not listed is still judged by the universal rules
/// (gap-free `seq`, nothing twice, one end per turn, each message received at most once).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// Per message label.
    #[serde(default)]
    pub labels: BTreeMap<String, LabelExpect>,
    /// Exact number of `discontinuity` events (default 0).
    #[serde(default)]
    pub discontinuities: usize,
    /// Error codes that must appear (in error events or command results).
    #[serde(default)]
    pub errors_must: BTreeSet<String>,
    /// Error codes that may appear; any other code fails the scenario.
    #[serde(default)]
    pub errors_may: BTreeSet<String>,
    /// The connection state right before `close` (`ready`, `failed`, ...).
    pub final_state: Option<String>,
}

/// The outcome of one message.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelExpect {
    /// The assembled final assistant text of its turn.
    pub text: Option<String>,
    /// The same characters as this text, in any order (dialects whose chunks carry no order).
    pub text_anagram_of: Option<String>,
    /// `turnCompleted`, `turnFailed`, `turnCancelled`, or `none` (no turn at all).
    pub terminal: Option<String>,
    /// Final delivery status: `acked`, `sent`, `failed`, or `failed:<reason>`.
    pub status: Option<String>,
    /// `times_received` on the server (0: never reached it). Default: 1 when the message was
    /// acked or sent, and never more than 1.
    pub received: Option<u32>,
    /// The message may reach the server more than once: it was not acked yet when its
    /// connection was lost, so DESIGN §3.1 re-sends it under the same id (the server dedups).
    #[serde(default)]
    pub may_resend: bool,
    /// Number of completed tool calls in its turn.
    pub tools: Option<usize>,
}

impl Scenario {
    /// Parses and [`check`](Self::check)s a scenario file's text.
    pub fn parse(json: &str) -> Result<Scenario, String> {
        let scenario: Scenario =
            serde_json::from_str(json).map_err(|e| format!("invalid scenario: {e}"))?;
        scenario.check()?;
        Ok(scenario)
    }

    /// Every message label the steps create, in order.
    pub fn labels(&self) -> Vec<String> {
        let mut out = Vec::new();
        for step in &self.steps {
            match step {
                Step::Send { label, .. } | Step::SendAudio { label, .. } => {
                    out.push(label.clone());
                }
                Step::SendBurst { label, count, .. } => {
                    out.extend((1..=*count).map(|i| format!("{label}{i}")));
                }
                _ => {}
            }
        }
        out
    }

    /// Refuses labels used twice, and steps or expectations naming a label never sent.
    pub fn check(&self) -> Result<(), String> {
        let labels = self.labels();
        let unique: BTreeSet<&String> = labels.iter().collect();
        if unique.len() != labels.len() {
            return Err(format!("{}: a label is used twice", self.name));
        }
        let known = |l: &String| unique.contains(l);
        for step in &self.steps {
            let named = match step {
                Step::Discard { label, .. } | Step::WaitTurnEnd { label, .. } => Some(label),
                Step::WaitFor(w) => w.label.as_ref(),
                _ => None,
            };
            if let Some(label) = named.filter(|l| !known(l)) {
                return Err(format!("{}: step names unknown label {label:?}", self.name));
            }
        }
        if let Some(label) = self.expect.labels.keys().find(|l| !known(l)) {
            return Err(format!(
                "{}: expect names unknown label {label:?}",
                self.name
            ));
        }
        if !self.options.is_object() {
            return Err(format!("{}: options must be a JSON object", self.name));
        }
        Ok(())
    }
}
