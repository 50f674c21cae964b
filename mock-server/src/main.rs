//! The `chatwire-mock` binary: every chatwire dialect on one port.
//!
//! `chatwire-mock --port 0` picks a free port; the first stdout line is always
//! `listening on http://<host>:<port>`. SIGINT or SIGTERM stop it cleanly (exit code 0).
//! Faults come from `--scenario file.json` (a `/_mock/faults` body) and/or the fault flags,
//! which override the file's fields.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chatwire_mock::{FaultSpec, HttpErrorSpec, MockConfig, MockError};
use clap::Parser;

/// A mock backend speaking every chatwire dialect, with a scripted agent and fault injection.
#[derive(Debug, Parser)]
#[command(name = "chatwire-mock", version)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// JSON fault scenario (same shape as the body of POST /_mock/faults).
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Seed for fault injection.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Delay between streamed tokens, in ms.
    #[arg(long, default_value_t = 10)]
    token_delay_ms: u64,
    /// miptech delay between connection_established and connection_ready, in ms.
    #[arg(long, default_value_t = 50)]
    init_delay_ms: u64,
    /// How long /slow waits before its first token, in ms.
    #[arg(long, default_value_t = 2000)]
    slow_delay_ms: u64,
    /// SSE heartbeat interval, in ms.
    #[arg(long, default_value_t = 15_000)]
    heartbeat_ms: u64,
    /// Native server ping interval, in ms.
    #[arg(long, default_value_t = 30_000)]
    ping_ms: u64,
    /// Require this X-API-Key (miptech).
    #[arg(long)]
    api_key: Option<String>,
    /// Require this bearer token (openai, ai-sdk, native, chat-v2).
    #[arg(long)]
    bearer_token: Option<String>,
    /// Accept only these miptech tenants (repeatable).
    #[arg(long = "tenant")]
    tenants: Vec<String>,
    /// chat-interfaces messages per minute per session.
    #[arg(long, default_value_t = 10)]
    rate_limit: u32,
    /// Number of the first id handed out (`msg-N`, `t-N`, ...), e.g. 9990 to cross 10 000 soon.
    #[arg(long, default_value_t = 1)]
    first_id: u64,
    /// Fault: dialect the fault flags apply to (`*` for all).
    #[arg(long)]
    fault_dialect: Option<String>,
    /// Fault: drop streaming connections after N frames.
    #[arg(long)]
    drop_after_frames: Option<u64>,
    /// Fault: fraction of frames sent twice.
    #[arg(long)]
    duplicate_rate: Option<f64>,
    /// Fault: shuffle frames within windows of N.
    #[arg(long)]
    reorder_window: Option<usize>,
    /// Fault: delay before every frame/response, in ms.
    #[arg(long)]
    delay_ms: Option<u64>,
    /// Fault: extra random delay up to N ms.
    #[arg(long)]
    jitter_ms: Option<u64>,
    /// Fault: answer requests with this HTTP status (with --http-error-rate).
    #[arg(long)]
    http_error_status: Option<u16>,
    /// Fault: fraction of requests that get the HTTP error.
    #[arg(long, default_value_t = 1.0)]
    http_error_rate: f64,
    /// Fault: Retry-After seconds on injected HTTP errors.
    #[arg(long)]
    retry_after_s: Option<u64>,
    /// Fault: go half-open after N frames.
    #[arg(long)]
    half_open_after_frames: Option<u64>,
    /// Fault: refuse connections for N ms from start.
    #[arg(long)]
    refuse_connections_ms: Option<u64>,
    /// Fault: restart (drop every connection, or the --fault-dialect's) N ms after start, then
    /// every N ms (with --once: a single restart).
    #[arg(long)]
    restart_after_ms: Option<u64>,
    /// Fault: after each --restart-after-ms restart, refuse new connections for N ms.
    #[arg(long)]
    restart_refuse_ms: Option<u64>,
    /// Fault: fire once only.
    #[arg(long)]
    once: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chatwire-mock: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    // Tasks still parked (turns mid-sleep) must not hold the exit up.
    runtime.shutdown_timeout(Duration::from_millis(100));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatwire-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), MockError> {
    let mut config = MockConfig::default()
        .bind(SocketAddr::new(args.host, args.port))
        .seed(args.seed)
        .token_delay(Duration::from_millis(args.token_delay_ms))
        .init_delay(Duration::from_millis(args.init_delay_ms))
        .slow_delay(Duration::from_millis(args.slow_delay_ms))
        .heartbeat_interval(Duration::from_millis(args.heartbeat_ms.max(1)))
        .ping_interval(Duration::from_millis(args.ping_ms.max(1)))
        .rate_limit(args.rate_limit, Duration::from_secs(60))
        .first_id(args.first_id);
    if let Some(key) = &args.api_key {
        config = config.api_key(key);
    }
    if let Some(token) = &args.bearer_token {
        config = config.bearer_token(token);
    }
    if !args.tenants.is_empty() {
        config = config.tenants(args.tenants.clone());
    }
    if let Some(spec) = fault_spec(&args)? {
        config = config.faults(spec);
    }
    let server = chatwire_mock::spawn(config).await?;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", server.base_url());
    let _ = stdout.flush();
    wait_for_signal().await;
    server.shutdown().await;
    eprintln!("chatwire-mock: stopped");
    Ok(())
}

fn fault_spec(args: &Args) -> Result<Option<FaultSpec>, MockError> {
    let mut spec = match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| MockError::Scenario(format!("{}: {e}", path.display())))?;
            serde_json::from_str::<FaultSpec>(&text)
                .map_err(|e| MockError::Scenario(format!("{}: {e}", path.display())))?
        }
        None => FaultSpec::default(),
    };
    let overrides = [
        args.drop_after_frames.is_some(),
        args.duplicate_rate.is_some(),
        args.reorder_window.is_some(),
        args.delay_ms.is_some(),
        args.jitter_ms.is_some(),
        args.http_error_status.is_some(),
        args.half_open_after_frames.is_some(),
        args.refuse_connections_ms.is_some(),
        args.restart_after_ms.is_some(),
        args.restart_refuse_ms.is_some(),
    ];
    if args.scenario.is_none() && !overrides.contains(&true) {
        return Ok(None);
    }
    spec.dialect = args.fault_dialect.clone().or(spec.dialect);
    spec.seed = spec.seed.or(Some(args.seed));
    spec.drop_after_frames = args.drop_after_frames.or(spec.drop_after_frames);
    spec.duplicate_rate = args.duplicate_rate.or(spec.duplicate_rate);
    spec.reorder_window = args.reorder_window.or(spec.reorder_window);
    spec.delay_ms = args.delay_ms.or(spec.delay_ms);
    spec.jitter_ms = args.jitter_ms.or(spec.jitter_ms);
    spec.half_open_after_frames = args.half_open_after_frames.or(spec.half_open_after_frames);
    spec.refuse_connections_ms = args.refuse_connections_ms.or(spec.refuse_connections_ms);
    spec.restart_after_ms = args.restart_after_ms.or(spec.restart_after_ms);
    spec.restart_refuse_ms = args.restart_refuse_ms.or(spec.restart_refuse_ms);
    if let Some(status) = args.http_error_status {
        spec.http_error = Some(HttpErrorSpec {
            status,
            rate: args.http_error_rate,
            retry_after_s: args.retry_after_s,
        });
    }
    if args.once {
        spec.once = Some(true);
    }
    spec.validate().map_err(MockError::InvalidFaults)?;
    Ok(Some(spec))
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
