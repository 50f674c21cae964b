//! Parlant's event reads: `GET /sessions/{id}/events` (inclusive `min_offset`, filters,
//! long-poll with `504` on timeout, or SSE) and `GET /sessions/{id}/events/{event_id}`
//! (`wait_for_completion`, SSE until a streamed message's `chunks` end with `null`).
//!
//! Frame faults apply to both reads of the listing: the SSE stream goes through the streaming
//! writer ([`crate::outlet`]), the long-poll answers through [`super::poll_faults`] (each
//! returned event counts as one frame, per session across polls).

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{D, poll_faults, session_of, unprocessable};
use crate::conn::ConnHandle;
use crate::dialect::{ApiError, Dialect};
use crate::hub::{Conv, Frame};
use crate::outlet;
use crate::server::AppState;

/// Query filters of the event listing.
struct Filter {
    min_offset: u64,
    source: Option<String>,
    kinds: Vec<String>,
    correlation: Option<String>,
}

impl Filter {
    fn parse(q: &HashMap<String, String>) -> Result<Filter, Box<Response>> {
        let min_offset = match q.get("min_offset") {
            None => 0,
            Some(v) => v.parse::<u64>().map_err(|_| {
                Box::new(unprocessable(
                    &["query", "min_offset"],
                    "must be an integer >= 0",
                ))
            })?,
        };
        let kinds: Vec<String> = q
            .get("kinds")
            .map(|k| {
                k.split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(bad) = kinds
            .iter()
            .find(|k| !matches!(k.as_str(), "message" | "tool" | "status" | "custom"))
        {
            return Err(Box::new(unprocessable(
                &["query", "kinds"],
                &format!("unknown kind {bad}"),
            )));
        }
        let correlation = q
            .get("correlation_id")
            .or_else(|| q.get("trace_id"))
            .cloned();
        Ok(Filter {
            min_offset,
            source: q.get("source").cloned(),
            kinds,
            correlation,
        })
    }

    fn matches(&self, f: &Frame) -> bool {
        let e = &f.data;
        e["offset"].as_u64().is_some_and(|o| o >= self.min_offset)
            && self
                .source
                .as_ref()
                .is_none_or(|s| e["source"] == s.as_str())
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| e["kind"] == k.as_str()))
            && self.correlation.as_ref().is_none_or(|c| {
                e["correlation_id"]
                    .as_str()
                    .is_some_and(|x| x.starts_with(c.as_str()))
            })
    }
}

fn wait_secs(q: &HashMap<String, String>) -> Result<u64, Box<Response>> {
    match q.get("wait_for_data") {
        None => Ok(60),
        Some(v) => v.parse::<i64>().map(|n| n.max(0) as u64).map_err(|_| {
            Box::new(unprocessable(
                &["query", "wait_for_data"],
                "must be an integer",
            ))
        }),
    }
}

fn flag(q: &HashMap<String, String>, name: &str) -> bool {
    q.get(name)
        .is_some_and(|v| matches!(v.as_str(), "true" | "1" | "True"))
}

pub(crate) async fn list_events(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let conv = match session_of(&shared, &id) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let (filter, wait) = match (Filter::parse(&q), wait_secs(&q)) {
        (Ok(f), Ok(w)) => (f, w),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    if flag(&q, "sse") {
        let plan = shared.faults.conn_plan(Dialect::Parlant);
        let (wire, body) = outlet::sse_channel();
        let out = outlet::start(wire, plan, ctl);
        tokio::spawn(async move {
            let mut cursor = filter.min_offset;
            let mut changes = conv.watch();
            loop {
                changes.borrow_and_update();
                for f in conv.frames_after(cursor).0 {
                    cursor = f.seq;
                    if filter.matches(&f)
                        && !out.send(Event::default().data(f.data.to_string())).await
                    {
                        return;
                    }
                }
                match tokio::time::timeout(Duration::from_secs(wait.max(1)), changes.changed())
                    .await
                {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
        });
        return Sse::new(body).into_response();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    let mut changes = conv.watch();
    loop {
        changes.borrow_and_update();
        let found: Vec<Value> = conv
            .frames()
            .into_iter()
            .filter(|f| filter.matches(f))
            .map(|f| f.data)
            .collect();
        if !found.is_empty() || wait == 0 {
            return poll_faults::shape(&shared.faults, &conv, found).into_response(ctl);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            _ => {
                return (
                    StatusCode::GATEWAY_TIMEOUT,
                    Json(json!({ "detail": "Request timed out" })),
                )
                    .into_response();
            }
        }
    }
}

fn complete(e: &Value) -> bool {
    match e["data"]["chunks"].as_array() {
        Some(chunks) => chunks.last().is_some_and(Value::is_null),
        None => true,
    }
}

pub(crate) async fn read_event(
    State(shared): AppState,
    ConnectInfo(ConnHandle(ctl)): ConnectInfo<ConnHandle>,
    Path((id, event_id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let conv = match session_of(&shared, &id) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let wait = match wait_secs(&q) {
        Ok(w) => w,
        Err(r) => return *r,
    };
    let wanted = event_id.clone();
    let find = move |conv: &Conv| {
        conv.frames()
            .into_iter()
            .find(|f| f.data["id"] == wanted.as_str())
            .map(|f| f.data)
    };
    let Some(event) = find(&conv) else {
        return ApiError::not_found(format!("Event {event_id} not found")).into_response_for(D);
    };
    let sse = flag(&q, "sse");
    if !sse && (!flag(&q, "wait_for_completion") || complete(&event)) {
        return Json(event).into_response();
    }
    let plan = shared.faults.conn_plan(Dialect::Parlant);
    let (wire, body) = outlet::sse_channel();
    let out = sse.then(|| outlet::start(wire, plan, ctl));
    let mut changes = conv.watch();
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait.max(1));
    let run = async move {
        loop {
            changes.borrow_and_update();
            let current = find(&conv).unwrap_or(Value::Null);
            if current != last {
                if let Some(out) = &out
                    && !out.send(Event::default().data(current.to_string())).await
                {
                    return current;
                }
                last = current.clone();
            }
            if complete(&current) {
                return current;
            }
            if !matches!(
                tokio::time::timeout_at(deadline, changes.changed()).await,
                Ok(Ok(()))
            ) {
                return current;
            }
        }
    };
    if sse {
        tokio::spawn(run);
        Sse::new(body).into_response()
    } else {
        Json(run.await).into_response()
    }
}
