//! The orchestrator: runs one scenario against one runner program. It starts an in-process
//! `chatwire-mock` on a free port (so scenarios run concurrently), starts the runner (`sh -c
//! CMD`), sends it the `init` line with the scenario's options (base URL filled in), feeds it
//! the app steps one command a line, performs the orchestrator steps itself (waiting on the
//! trace, faults, restarts), closes the client, and hands the whole trace to the checker.
//!
//! Guarantees: every wait has a deadline, the whole run a [`SCENARIO_GUARD`]; a runner that
//! hangs, dies or writes a line that is not a trace line fails the scenario with a message
//! saying so (with the tail of its stderr), never hangs the orchestrator.

use crate::check::{ExpectedResults, ServerRecord, judge};
use crate::format::{Scenario, Step};
use crate::model::Model;
use crate::trace::TraceLine;
use crate::waits::{describe, op_name, seen, turn_settled};
use chatwire_mock::{MockConfig, MockServer};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;

/// The longest a scenario may take in all.
pub const SCENARIO_GUARD: Duration = Duration::from_secs(60);
/// Default deadline of a wait and of a command's result.
const WAIT: Duration = Duration::from_secs(10);
/// Deadline of the `init` result: it includes starting the runner's platform (a JVM, a page in
/// a browser), which takes seconds on a busy machine before the client exists.
const INIT_WAIT: Duration = Duration::from_secs(30);

/// The result of one scenario run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The scenario's name.
    pub name: String,
    /// Failures in plain words; empty when it passed.
    pub failures: Vec<String>,
    /// The trace: the runner's lines and the orchestrator's step lines, in order.
    pub trace: Vec<TraceLine>,
    /// How long it took.
    pub duration: Duration,
    /// Set when the runner's platform cannot run this scenario at all: its client refused the
    /// `init` line's options with `UNSUPPORTED` (for example a browser, which cannot do what the
    /// options ask). The reason is the runner's message; such a run is neither passed nor failed,
    /// and `chatwire-scenario run` prints it as "not applicable on this platform".
    pub not_applicable: Option<String>,
}

/// `tests/scenarios/` of this repository.
pub fn scenario_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios")
}

/// Runs `scenario` through the runner started by `sh -c runner`, and judges it.
///
/// ```no_run
/// # async fn f() -> Result<(), String> {
/// use chatwire_scenario::{Scenario, run_scenario, scenario_dir};
/// let text = std::fs::read_to_string(scenario_dir().join("native-cancel.json")).map_err(|e| e.to_string())?;
/// let outcome = run_scenario(&Scenario::parse(&text)?, "target/debug/chatwire-scenario-runner").await;
/// for failure in &outcome.failures {
///     println!("{}: {failure}", outcome.name);
/// }
/// # Ok(()) }
/// ```
pub async fn run_scenario(scenario: &Scenario, runner: &str) -> Outcome {
    let start = Instant::now();
    let mut run = Run::default();
    let mut trace = Vec::new();
    match tokio::time::timeout(SCENARIO_GUARD, run.execute(scenario, runner)).await {
        Ok(Ok(server)) => {
            trace = run.snapshot();
            let failures = judge(scenario, &trace, &run.expected, &run.sent, Some(&server));
            run.failures.extend(failures);
        }
        Ok(Err(())) => {
            // The run stopped early: what the trace shows so far still explains why.
            trace = run.snapshot();
            let failures = judge(scenario, &trace, &run.expected, &run.sent, None);
            run.failures.extend(failures);
        }
        Err(_) => run.failures.push(format!(
            "the scenario did not finish within {SCENARIO_GUARD:?}"
        )),
    }
    let protocol: Vec<String> = lock(&run.stderr)
        .iter()
        .filter_map(|l| l.strip_prefix("PROTOCOL: "))
        .map(|l| format!("the runner broke the protocol: {l}"))
        .collect();
    run.failures.extend(protocol);
    if let Some(child) = run.child.as_mut() {
        let _ = child.kill().await;
    }
    if !run.failures.is_empty() {
        let tail = run.stderr_tail();
        if !tail.is_empty() {
            run.failures
                .push(format!("runner stderr (last lines):\n{tail}"));
        }
    }
    let not_applicable = init_refusal(&trace);
    if not_applicable.is_some() {
        run.failures.clear();
    }
    Outcome {
        name: scenario.name.clone(),
        failures: run.failures,
        trace,
        duration: start.elapsed(),
        not_applicable,
    }
}

/// The message of an `init` refused with `UNSUPPORTED`, if the runner refused it so.
fn init_refusal(trace: &[TraceLine]) -> Option<String> {
    trace.iter().find_map(|line| match line {
        TraceLine::Result {
            op,
            ok: false,
            code: Some(code),
            message,
            ..
        } if op == "init" && code == "UNSUPPORTED" => Some(message.clone().unwrap_or_default()),
        _ => None,
    })
}

#[derive(Default)]
struct Run {
    lines: Arc<Mutex<Vec<TraceLine>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    version: Option<watch::Receiver<(usize, bool)>>,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    next_id: u64,
    expected: ExpectedResults,
    sent: BTreeMap<String, String>,
    failures: Vec<String>,
}

impl Run {
    /// Runs the steps; `Err` after a failure that stops the run (already recorded).
    async fn execute(&mut self, s: &Scenario, runner: &str) -> Result<Vec<ServerRecord>, ()> {
        let mock = self.start_mock(s).await?;
        let mut options = s.options.clone();
        options["baseUrl"] = Value::String(mock.base_url());
        self.start_runner(runner)?;
        let init = json!({"op": "init", "options": options, "tokens": s.tokens});
        self.command_within("init".into(), init, None, INIT_WAIT)
            .await?;
        if init_refusal(&self.snapshot()).is_some() {
            // Not applicable on the runner's platform: close and stop, nothing to judge.
            let close = json!({"op": "close"});
            let _ = self.command("the final close".into(), close, None).await;
            return Err(());
        }
        let mut closed = false;
        for (index, step) in s.steps.iter().enumerate() {
            self.push(TraceLine::Step {
                index,
                op: op_name(step),
            });
            let what = format!("step {} ({})", index + 1, describe(step));
            self.step(&mock, step, what).await?;
            closed |= matches!(step, Step::Close {});
        }
        if !closed {
            self.push(TraceLine::Step {
                index: s.steps.len(),
                op: "close".into(),
            });
            self.step(&mock, &Step::Close {}, "the final close".into())
                .await?;
        }
        let server = mock
            .received()
            .into_iter()
            .map(|r| ServerRecord {
                text: r.text,
                times_received: r.times_received,
            })
            .collect();
        mock.shutdown().await;
        Ok(server)
    }

    async fn step(&mut self, mock: &MockServer, step: &Step, what: String) -> Result<(), ()> {
        match step {
            Step::Send {
                label,
                text,
                expect_code,
            } => {
                self.sent.insert(label.clone(), text.clone());
                let cmd = json!({"op": "send", "label": label, "text": text});
                self.command(what, cmd, expect_code.clone()).await
            }
            Step::SendAudio {
                label,
                samples,
                expect_code,
            } => {
                let cmd = json!({"op": "sendAudio", "label": label, "samples": samples});
                self.command(what, cmd, expect_code.clone()).await
            }
            Step::SendBurst {
                label,
                count,
                text,
                expect_codes,
            } => {
                for i in 1..=*count {
                    let (label, text) = (format!("{label}{i}"), format!("{text} {i}"));
                    self.sent.insert(label.clone(), text.clone());
                    let code = expect_codes.get(&label).cloned();
                    let cmd = json!({"op": "send", "label": label, "text": text});
                    self.command(format!("{what}: send {label}"), cmd, code)
                        .await?;
                }
                Ok(())
            }
            Step::CancelTurn { expect_code } => {
                let cmd = json!({"op": "cancelTurn"});
                self.command(what, cmd, expect_code.clone()).await
            }
            Step::Typing {
                active,
                expect_code,
            } => {
                let cmd = json!({"op": "typing", "active": active});
                self.command(what, cmd, expect_code.clone()).await
            }
            Step::ReconnectNow {} => {
                self.command(what, json!({"op": "reconnectNow"}), None)
                    .await
            }
            Step::Connect {} => self.command(what, json!({"op": "connect"}), None).await,
            Step::Discard { label, expect_code } => {
                let id = Model::new(&self.snapshot())
                    .label(label)
                    .and_then(|l| l.client_id.clone());
                let cmd = json!({"op": "discard", "label": label, "clientId": id});
                self.command(what, cmd, expect_code.clone()).await
            }
            Step::Close {} => {
                self.command(what.clone(), json!({"op": "close"}), None)
                    .await?;
                self.wait(&what, WAIT, |lines, _| {
                    lines.iter().any(|l| matches!(l, TraceLine::End {}))
                })
                .await
            }
            Step::WaitFor(w) => {
                let timeout = w.timeout_ms.map_or(WAIT, Duration::from_millis);
                let w = w.clone();
                self.wait(&what, timeout, move |lines, _| seen(&w, lines))
                    .await
            }
            Step::WaitTurnEnd { label, timeout_ms } => {
                let timeout = timeout_ms.map_or(WAIT, Duration::from_millis);
                let waited = self
                    .wait(&what, timeout, |lines, _| turn_settled(lines, label))
                    .await;
                if waited.is_err() {
                    let model = Model::new(&self.snapshot());
                    let l = model.label(label);
                    let ended =
                        l.is_some_and(|l| model.turns_of(l).iter().any(|t| t.ended_for_good()));
                    let status = l.and_then(|l| l.statuses.last().cloned());
                    self.failures.push(format!(
                        "{what}: turn ended for good: {ended}, delivery status: {}",
                        status.as_deref().unwrap_or("none")
                    ));
                }
                waited
            }
            Step::RestartServer { refuse_ms } => {
                mock.restart_with(Duration::from_millis(*refuse_ms));
                Ok(())
            }
            Step::InstallFaults { faults } => mock.set_faults(faults.clone()).map_err(|e| {
                self.failures
                    .push(format!("{what}: the mock refused the faults: {e}"));
            }),
            Step::ClearFaults {} => {
                mock.clear_faults();
                Ok(())
            }
            Step::Sleep { ms } => {
                tokio::time::sleep(Duration::from_millis(*ms)).await;
                Ok(())
            }
        }
    }

    async fn start_mock(&mut self, s: &Scenario) -> Result<MockServer, ()> {
        let m = &s.mock;
        let ms = |v: Option<u64>, default: u64| Duration::from_millis(v.unwrap_or(default));
        let mut config = MockConfig::default()
            .seed(m.seed)
            .token_delay(ms(m.token_delay_ms, 5))
            .slow_delay(ms(m.slow_delay_ms, 1500))
            .init_delay(ms(m.init_delay_ms, 20));
        if let Some(token) = &m.bearer_token {
            config = config.bearer_token(token.clone());
        }
        if let Some(key) = &m.api_key {
            config = config.api_key(key.clone());
        }
        if let Some(faults) = &m.faults {
            config = config.faults(faults.clone());
        }
        chatwire_mock::spawn(config).await.map_err(|e| {
            self.failures.push(format!("the mock did not start: {e}"));
        })
    }

    fn start_runner(&mut self, runner: &str) -> Result<(), ()> {
        let spawned = Command::new("sh")
            .arg("-c")
            .arg(runner)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = spawned.map_err(|e| {
            self.failures
                .push(format!("cannot start the runner {runner:?}: {e}"));
        })?;
        let (tx, rx) = watch::channel((0, false));
        if let Some(out) = child.stdout.take() {
            let lines = self.lines.clone();
            let stderr = self.stderr.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(out).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    if line.trim().is_empty() {
                        continue;
                    }
                    match TraceLine::parse(&line) {
                        Ok(parsed) => push(&lines, parsed),
                        Err(e) => lock(&stderr).push(format!("PROTOCOL: {e}")),
                    }
                    tx.send_modify(|v| v.0 += 1);
                }
                tx.send_modify(|v| v.1 = true);
            });
        }
        if let Some(err) = child.stderr.take() {
            let stderr = self.stderr.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(err).lines();
                while let Ok(Some(line)) = reader.next_line().await {
                    lock(&stderr).push(line);
                }
            });
        }
        self.stdin = child.stdin.take();
        self.child = Some(child);
        self.version = Some(rx);
        Ok(())
    }

    /// Writes one command and waits for its result.
    async fn command(&mut self, what: String, cmd: Value, code: Option<String>) -> Result<(), ()> {
        self.command_within(what, cmd, code, WAIT).await
    }

    /// Writes one command and waits up to `deadline` for its result.
    async fn command_within(
        &mut self,
        what: String,
        mut cmd: Value,
        code: Option<String>,
        deadline: Duration,
    ) -> Result<(), ()> {
        let id = self.next_id;
        self.next_id += 1;
        cmd["id"] = json!(id);
        self.expected.insert(id, (what.clone(), code));
        let line = format!("{cmd}\n");
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .await
                .and(stdin.flush().await),
            None => Err(std::io::Error::other("no stdin")),
        };
        if let Err(e) = written {
            self.failures
                .push(format!("{what}: cannot write to the runner: {e}"));
            return Err(());
        }
        self.wait(&what, deadline, move |lines, _| {
            lines
                .iter()
                .any(|l| matches!(l, TraceLine::Result { id: i, .. } if *i == id))
        })
        .await
    }

    /// Waits until `done` holds on the trace; records a failure on timeout or runner exit.
    async fn wait(
        &mut self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[TraceLine], bool) -> bool,
    ) -> Result<(), ()> {
        let Some(mut rx) = self.version.clone() else {
            return Err(());
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let eof = rx.borrow_and_update().1;
            if done(&self.snapshot(), eof) {
                return Ok(());
            }
            if eof {
                self.failures
                    .push(format!("{what}: the runner exited first"));
                return Err(());
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                self.failures.push(format!(
                    "{what}: not seen within {} ms",
                    timeout.as_millis()
                ));
                return Err(());
            }
        }
    }

    fn push(&self, line: TraceLine) {
        push(&self.lines, line);
    }

    fn snapshot(&self) -> Vec<TraceLine> {
        lock(&self.lines).clone()
    }

    fn stderr_tail(&self) -> String {
        let lines = lock(&self.stderr);
        let skip = lines.len().saturating_sub(15);
        lines[skip..].join("\n")
    }
}

fn push(lines: &Mutex<Vec<TraceLine>>, line: TraceLine) {
    lock(lines).push(line);
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A poisoned lock only means another task panicked mid-push; the data is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
