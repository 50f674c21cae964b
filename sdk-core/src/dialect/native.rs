//! The `native` dialect: chatwire's own WebSocket protocol, the reference for what the guarantees
//! look like when the server cooperates (sequence numbers, acks by client id, resume).
//!
//! # Wire format (version 1)
//!
//! Transport: one WebSocket at `GET {base}/native/v1/ws` (`http` -> `ws`, `https` -> `wss`).
//! Every frame is a UTF-8 **text** frame holding one JSON object with a string field `type`.
//! Unknown fields are ignored by both sides; unknown `type`s from the server are surfaced to the
//! app as `Unknown` events. Binary frames are a protocol error. Frames are at most 1 MiB.
//!
//! ## Handshake
//!
//! The client speaks first, once per connection:
//!
//! ```json
//! {"type":"hello","conversation_id":"c-42","since_seq":17,"token":"optional bearer token"}
//! ```
//!
//! - `conversation_id` (string, required): the server creates the conversation on first use.
//! - `since_seq` (integer >= 0, optional, default 0): the highest `seq` the client has already
//!   processed. The server replays every retained event with `seq > since_seq`, in order, right
//!   after `welcome`.
//! - `token` (string, optional): checked only when the server is configured with one. The same
//!   token may instead arrive as an `Authorization: Bearer` header on the upgrade request.
//!
//! The server answers with exactly one `welcome` (or an `error` followed by a close):
//!
//! ```json
//! {"type":"welcome","conversation_id":"c-42","last_seq":23,"resumed":true,"heartbeat_ms":30000}
//! ```
//!
//! - `last_seq`: the highest `seq` assigned in this conversation so far (0 when none).
//! - `resumed`: `true` when every event after `since_seq` is still retained and will be replayed;
//!   `false` when some were evicted (the server keeps at least the last 1000 events per
//!   conversation). On `false` the server replays what it still has and the client reports one
//!   `Discontinuity` to the app.
//! - `heartbeat_ms`: how often the server pings; the client may ping on its own schedule too.
//!
//! A client must not send anything but `hello` before `welcome`; the connection is *ready* once
//! `welcome` arrived.
//!
//! ## Client -> server
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"send","client_id":"<uuid>","text":"hi"}` | a user message; `client_id` is the idempotency key |
//! | `{"type":"typing","active":true}` | user typing indicator |
//! | `{"type":"cancel"}` | cancel the turn in progress (no-op when none) |
//! | `{"type":"ping","nonce":7}` | liveness probe; the server answers `pong` with the same nonce |
//! | `{"type":"pong","nonce":7}` | answer to a server `ping` |
//!
//! ## Server -> client
//!
//! Control frames carry no `seq`:
//!
//! | frame | meaning |
//! |---|---|
//! | `{"type":"ack","client_id":"<uuid>","message_id":"m-3","duplicate":false}` | the message with that client id is stored; a re-send of a known client id gets an ack with the **same** `message_id` and `"duplicate":true` and starts no new turn |
//! | `{"type":"ping","nonce":9}` / `{"type":"pong","nonce":7}` | liveness |
//! | `{"type":"error","code":"bad_request","message":"...","retryable":false}` | a problem with the last client frame or the connection; codes: `bad_request`, `unauthorized`, `rate_limited`, `server_error`, `restarting` |
//! | `{"type":"goodbye","reason":"restart","retry_after_ms":500}` | the server is about to close; `reason` is `restart`, `shutdown` or `idle`; the client should reconnect (and resume) after `retry_after_ms` |
//!
//! Conversation events carry a per-conversation `seq` (1, 2, 3, ... with no gaps, assigned by the
//! server, retained for resume), a server timestamp `ts` (Unix milliseconds) and a `kind`:
//!
//! ```json
//! {"type":"event","seq":18,"ts":1763800000000,"kind":"text_delta","turn_id":"t-5",
//!  "message_id":"m-6","offset":9,"text":"world "}
//! ```
//!
//! | `kind` | extra fields | meaning |
//! |---|---|---|
//! | `turn_started` | `turn_id`, `reply_to` (client id) | the agent starts answering |
//! | `status` | `turn_id`, `stage` (`acknowledged`, `processing`, `typing`, `ready`) | agent progress |
//! | `message_started` | `turn_id`, `message_id`, `role` (`assistant`) | a streamed message begins |
//! | `text_delta` | `turn_id`, `message_id`, `offset`, `text` | `text` goes at character (Unicode scalar) `offset` of the message; offsets make replays idempotent |
//! | `message_completed` | `turn_id`, `message_id`, `text` | the full text of the message |
//! | `tool_started` | `turn_id`, `tool_id`, `name`, `args` (JSON) | a tool call begins |
//! | `tool_progress` | `turn_id`, `tool_id`, `message` | progress text |
//! | `tool_completed` | `turn_id`, `tool_id`, `output` (JSON) | the tool call ended well |
//! | `tool_failed` | `turn_id`, `tool_id`, `error` | the tool call failed |
//! | `turn_completed` | `turn_id`, `finish_reason` (`stop`, `length`, `tool_error`) | the turn ended well |
//! | `turn_failed` | `turn_id`, `error` | the turn failed |
//! | `turn_cancelled` | `turn_id` | the turn was cancelled |
//! | `typing` | `participant`, `active` | someone (agent or other participant) types |
//!
//! Every turn ends with exactly one of `turn_completed`, `turn_failed`, `turn_cancelled`; every
//! tool call with exactly one of `tool_completed`, `tool_failed`. A turn's events are appended to
//! the conversation log in the order above, so a resumed client sees them exactly as a connected
//! one would.
//!
//! ## Resume and idempotency, end to end
//!
//! After a disconnect the client reconnects, sends `hello` with the highest `seq` it processed,
//! receives the missed events, then re-sends every message that was not yet acked with the same
//! `client_id`. The server acks known ids again (`duplicate: true`) without a second turn, so
//! nothing is lost and nothing is doubled.
