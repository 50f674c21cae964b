//! The control API under `/_mock/` (never subject to faults).
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /_mock/faults` | a [`FaultSpec`] (every field optional) | `200 {"ok":true,"faults":{...}}`; `400 {"error":...}` on malformed JSON, unknown fields, an unknown dialect or out-of-range values; a set with `restart_after_ms` starts its restart timer (see [`crate::faults`]) |
//! | `GET /_mock/faults` | — | `{"faults": <spec or null>}` |
//! | `DELETE /_mock/faults` | — | `{"ok":true}` (also stops a pending scheduled restart) |
//! | `POST /_mock/restart` | optional `{"refuse_ms":N,"goodbye":true,"dialect":"native"}` | drops every connection (except the one carrying this request), refusing new ones for `refuse_ms`; with `dialect`, only connections that served that dialect, refusing only its requests; with `goodbye`, native sockets get `goodbye` 50 ms before the drop. `{"ok":true,"dropped":N}`; `400` on an unknown dialect |
//! | `GET /_mock/received` | optional `?dialect=` | `[{"dialect","conversation","client_id","text","times_received","first_received_ms","last_received_ms"}]` |
//! | `POST /_mock/reset` | — | forgets conversations, received messages, rate limits and faults: `{"ok":true}` |
//! | `GET /_mock/health` | — | `{"ok":true,"dialects":[...]}` |

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::conn::ConnHandle;
use crate::dialect::Dialect;
use crate::faults::FaultSpec;
use crate::server::{AppState, Shared};

pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_mock/faults",
            post(set_faults).get(get_faults).delete(clear_faults),
        )
        .route("/_mock/restart", post(restart))
        .route("/_mock/received", get(received))
        .route("/_mock/reset", post(reset))
        .route("/_mock/health", get(health))
}

fn bad(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn set_faults(State(shared): AppState, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => return bad(format!("invalid fault spec: {e}")),
    };
    if let Err(e) = spec.validate() {
        return bad(e);
    }
    let echo = json!({ "ok": true, "faults": &spec });
    shared.set_faults(spec);
    Json(echo).into_response()
}

async fn get_faults(State(shared): AppState) -> Response {
    Json(json!({ "faults": shared.faults.current() })).into_response()
}

async fn clear_faults(State(shared): AppState) -> Response {
    shared.clear_faults();
    Json(json!({ "ok": true })).into_response()
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RestartBody {
    #[serde(default)]
    refuse_ms: u64,
    #[serde(default)]
    goodbye: bool,
    #[serde(default)]
    dialect: Option<String>,
}

async fn restart(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    body: Bytes,
) -> Response {
    let params: RestartBody = if body.iter().all(u8::is_ascii_whitespace) {
        RestartBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(p) => p,
            Err(e) => return bad(format!("invalid restart body: {e}")),
        }
    };
    let scope = match params.dialect.as_deref() {
        None | Some("*") => None,
        Some(name) => match Dialect::from_name(name) {
            Some(d) => Some(d),
            None => return bad(format!("unknown dialect {name:?}")),
        },
    };
    let refuse = Duration::from_millis(params.refuse_ms);
    if params.goodbye && matches!(scope, None | Some(Dialect::Native)) {
        shared.restarts.send_modify(|n| {
            n.generation += 1;
            n.retry_after_ms = params.refuse_ms;
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dropped = shared.restart(scope, refuse, Some(ctl.id));
    Json(json!({ "ok": true, "dropped": dropped })).into_response()
}

#[derive(Deserialize)]
struct ReceivedQuery {
    dialect: Option<String>,
}

async fn received(State(shared): AppState, Query(q): Query<ReceivedQuery>) -> Response {
    let filter = match q.dialect.as_deref() {
        None => None,
        Some(name) => match Dialect::from_name(name) {
            Some(d) => Some(d),
            None => return bad(format!("unknown dialect {name:?}")),
        },
    };
    let list: Vec<Value> = shared
        .hub
        .received()
        .into_iter()
        .filter(|r| filter.is_none_or(|d| r.dialect == d))
        .filter_map(|r| serde_json::to_value(r).ok())
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn reset(State(shared): AppState) -> Response {
    shared.reset();
    Json(json!({ "ok": true })).into_response()
}

async fn health() -> Response {
    let dialects: Vec<&str> = Dialect::ALL.iter().map(|d| d.as_str()).collect();
    Json(json!({ "ok": true, "dialects": dialects })).into_response()
}
