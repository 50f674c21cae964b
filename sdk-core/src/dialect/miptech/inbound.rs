//! Inbound side of the miptech dialect: server frames (already normalised by [`super::wire`])
//! to normalized events, acks, turn tracking, ordered text, re-join and failures.

use serde_json::json;

use super::wire::{self, ChatRef, Completed, Frame, Inbound};
use super::{Miptech, Step, Turn};
use crate::dialect::codec_kit::ErrorBody;
use crate::dialect::codec_kit::errors::{
    FailureClass, classify, error_event, frame_failure, turn_failed,
};
use crate::dialect::codec_kit::order::{Closing, Ready};
use crate::dialect::{Actions, Decoded};
use crate::event::{AgentStatus, Event, Role, TextChannel, Usage};
use crate::ids::{ClientId, ConnId, Cursor, DedupKey};

impl Miptech {
    pub(super) fn on_frame(&mut self, frame: Frame, out: &mut Actions) {
        if let Step::AwaitReady(conn) = self.step {
            match &frame.kind {
                Inbound::Ready => return self.become_ready(conn, out),
                Inbound::Error(body) => {
                    out.emit(self.wrap(Decoded::new(error_event(None, body)), &frame, None));
                    return out.fail(frame_failure(body));
                }
                _ => {}
            }
        }
        match frame.kind.clone() {
            Inbound::Established { .. } | Inbound::Ready | Inbound::Joined { .. } => {}
            Inbound::MessageReceived {
                message_id,
                client_id,
            } => self.on_ack(message_id, client_id, &frame, out),
            Inbound::Processing { message_id, stage } => {
                let turn = self.turn_for(message_id.as_deref(), &frame, out);
                let key = format!("processing:{turn}:{}", stage.as_deref().unwrap_or(""));
                let status = Event::Status {
                    status: AgentStatus::Processing { stage },
                };
                out.emit(self.wrap(Decoded::new(status).turn(turn), &frame, Some(key)));
            }
            Inbound::ResponseStart {
                message_id,
                reply_to,
            } => {
                let turn = self.turn_for(reply_to.as_deref(), &frame, out);
                let reply = message_id.unwrap_or_else(|| format!("{turn}:reply"));
                let _ = self.replies.insert(reply.clone(), turn.clone());
                if let Some(t) = self.turn.as_mut() {
                    t.reply = Some(reply.clone());
                }
                let d = Decoded::new(Event::MessageStarted {
                    role: Role::Assistant,
                });
                let d = d.turn(turn).message(reply.clone());
                out.emit(self.wrap(d, &frame, Some(format!("start:{reply}"))));
            }
            Inbound::ResponseChunk {
                message_id,
                content,
                index,
            } => self.on_chunk(message_id, content, index, &frame, out),
            Inbound::ResponseComplete(c) => self.on_complete(c, &frame, out),
            Inbound::ToolStart {
                message_id,
                tool_id,
                name,
                args,
            } => {
                let turn = self.turn_for(message_id.as_deref(), &frame, out);
                let tool_id = tool_id.unwrap_or_else(|| format!("{turn}:{name}"));
                let key = format!("tool:{tool_id}:start");
                let args = (!args.is_null()).then_some(args);
                let d = Decoded::new(Event::ToolStarted {
                    tool_id,
                    name,
                    args,
                })
                .turn(turn);
                out.emit(self.wrap(d, &frame, Some(key)));
            }
            Inbound::ToolProgress {
                message_id,
                tool_id,
                message,
            } => {
                let turn = self.turn_for(message_id.as_deref(), &frame, out);
                let tool_id = tool_id.unwrap_or_else(|| format!("{turn}:tool"));
                let key = format!("tool:{tool_id}:progress:{message}");
                let d = Decoded::new(Event::ToolProgress { tool_id, message }).turn(turn);
                out.emit(self.wrap(d, &frame, Some(key)));
            }
            Inbound::ToolEnd {
                message_id,
                tool_id,
                name,
                output,
                error,
            } => {
                let turn = self.turn_for(message_id.as_deref(), &frame, out);
                let tool_id = tool_id
                    .or_else(|| name.map(|n| format!("{turn}:{n}")))
                    .unwrap_or_else(|| format!("{turn}:tool"));
                let key = format!("tool:{tool_id}:end");
                let event = match error {
                    Some(error) => Event::ToolFailed { tool_id, error },
                    None => Event::ToolCompleted { tool_id, output },
                };
                out.emit(self.wrap(Decoded::new(event).turn(turn), &frame, Some(key)));
            }
            Inbound::Typing {
                participant,
                active,
            } => {
                let d = Decoded::new(Event::Typing {
                    participant,
                    active,
                });
                out.emit(self.wrap(d, &frame, None));
            }
            Inbound::Ping => {
                if let Step::Ready(conn) = self.step {
                    out.send_text(conn, r#"{"type":"pong"}"#.to_string());
                }
                out.emit(self.wrap(Decoded::new(Event::Heartbeat), &frame, None));
            }
            Inbound::Pong => out.emit(self.wrap(Decoded::new(Event::Heartbeat), &frame, None)),
            Inbound::Error(body) => self.on_error(&body, &frame, out),
            Inbound::Unknown => {
                let d = Decoded::new(Event::Unknown {
                    name: frame.name.clone(),
                });
                out.emit(self.wrap(d, &frame, None));
            }
        }
    }

    /// `connection_ready`: join the chat, ask the history for the replies of turns the dropped
    /// socket cut (never re-sending their messages), and report ready (queued messages follow,
    /// after `join_chat`).
    fn become_ready(&mut self, conn: ConnId, out: &mut Actions) {
        if let Some(chat) = self.chat_id.clone() {
            let join = wire::Outbound {
                kind: "join_chat",
                data: ChatRef { chat_id: chat },
                timestamp: None,
                client_id: None,
            };
            out.send_text(conn, wire::encode(&join));
        }
        self.fetch_history(out);
        let recoverable = self
            .turn
            .as_ref()
            .is_none_or(|t| self.unfinished.contains_key(t.id.as_str()));
        if !recoverable && let Some(turn) = self.turn.take() {
            out.discontinuity(format!(
                "the chat was re-joined; turn {} cannot be recovered",
                turn.id
            ));
        }
        self.step = Step::Ready(conn);
        out.ready();
    }

    /// Stamps conversation, cursor, timestamp, raw frame and dedup key (the server's `event_id`
    /// when present, else `fallback`) on a decoded event.
    pub(super) fn wrap(&self, d: Decoded, frame: &Frame, fallback: Option<String>) -> Decoded {
        let mut d = d.raw(frame.raw.clone());
        if let Some(key) = frame.event_id.clone().or(fallback) {
            d = d.dedup(DedupKey::Id(key));
        }
        if let Some(chat) = &self.chat_id {
            d = d
                .conversation(chat.clone())
                .cursor(Cursor::new(chat.clone()));
        }
        match frame.timestamp_ms.and_then(|t| u64::try_from(t).ok()) {
            Some(ts) => d.timestamp(ts),
            None => d,
        }
    }

    /// The turn answering user message `user_msg` (the open turn when `None`), opened with a
    /// `TurnStarted` when it is not the open one.
    pub(super) fn turn_for(
        &mut self,
        user_msg: Option<&str>,
        frame: &Frame,
        out: &mut Actions,
    ) -> String {
        match (user_msg, &self.turn) {
            (Some(id), Some(t)) if t.id == id => return t.id.clone(),
            (None, Some(t)) => return t.id.clone(),
            _ => {}
        }
        self.turns_opened = self.turns_opened.saturating_add(1);
        let n = self.turns_opened;
        let id = user_msg
            .map(str::to_string)
            .unwrap_or_else(|| format!("turn-{n}"));
        let reply_to = self.users.get(&id).map(ClientId::to_string);
        self.turn = Some(Turn {
            id: id.clone(),
            reply: None,
        });
        let started = Decoded::new(Event::TurnStarted { reply_to }).turn(id.clone());
        let mut started = self.wrap(started, frame, None);
        started.dedup = Some(DedupKey::Id(format!("turn:{id}")));
        out.emit(started);
        id
    }

    fn on_ack(
        &mut self,
        message_id: Option<String>,
        client: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        let echoed = client.and_then(|c| c.parse::<ClientId>().ok());
        let client_id = match echoed {
            Some(c) => c,
            None => match self.unacked.iter().next() {
                Some(c) => *c,
                None => return,
            },
        };
        let user_msg = message_id.clone().unwrap_or_else(|| client_id.to_string());
        if self.unacked.remove(&client_id) {
            let _ = self.unfinished.insert(user_msg.clone(), client_id);
            out.ack(client_id, message_id);
        }
        let _ = self.users.insert(user_msg.clone(), client_id);
        let turn = self.turn_for(Some(&user_msg), frame, out);
        let d = Decoded::new(Event::Status {
            status: AgentStatus::Acknowledged,
        })
        .turn(turn);
        let mut d = self.wrap(d, frame, None);
        d.dedup = Some(DedupKey::Id(format!("ack:{user_msg}")));
        out.emit(d);
    }

    fn on_chunk(
        &mut self,
        message_id: Option<String>,
        content: String,
        index: Option<i64>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        let known = message_id
            .as_ref()
            .and_then(|m| self.replies.get(m))
            .cloned();
        let turn = self.turn_for(known.as_deref(), frame, out);
        let reply = message_id
            .or_else(|| self.turn.as_ref().and_then(|t| t.reply.clone()))
            .unwrap_or_else(|| format!("{turn}:reply"));
        let generation = match self.step {
            Step::AwaitReady(ConnId(g)) | Step::Ready(ConnId(g)) => g,
            _ => 0,
        };
        let order = self.streams.get(&reply, 0);
        // Indexed chunks: by index. Unindexed: by event id when present, else by position on the
        // connection; never by content (a repeated token is real text).
        let ready: Vec<(DedupKey, Ready)> = match index.and_then(|i| u64::try_from(i).ok()) {
            Some(i) => order
                .push(i, content)
                .into_iter()
                .map(|r| (DedupKey::Id(format!("chunk:{reply}:{}", r.index)), r))
                .collect(),
            None => {
                let wire_key = frame
                    .event_id
                    .as_ref()
                    .map(|e| DedupKey::Id(e.clone()).fingerprint());
                order
                    .push_unindexed(generation, wire_key, content)
                    .into_iter()
                    .map(|u| {
                        let key = match &frame.event_id {
                            Some(e) => DedupKey::Id(e.clone()),
                            None => DedupKey::Id(format!(
                                "chunk:{reply}:g{}:o{}",
                                u.generation, u.ordinal
                            )),
                        };
                        (key, u.ready)
                    })
                    .collect()
            }
        };
        for (key, r) in ready {
            let d = Decoded::text(TextChannel::Text, r.text, Some(r.offset));
            let mut d = self.wrap(d.turn(turn.clone()).message(reply.clone()), frame, None);
            d.dedup = Some(key);
            out.emit(d);
        }
    }

    pub(super) fn on_complete(&mut self, c: Completed, frame: &Frame, out: &mut Actions) {
        let by_reply = c
            .message_id
            .as_ref()
            .and_then(|m| self.replies.get(m))
            .cloned();
        let turn = self.turn_for(c.reply_to.as_deref().or(by_reply.as_deref()), frame, out);
        let streamed = self.turn.as_ref().and_then(|t| t.reply.clone());
        let reply = c
            .message_id
            .clone()
            .or(streamed.clone())
            .unwrap_or_else(|| format!("{turn}:reply"));
        let event = if streamed.is_some() || self.streams.contains(&reply) {
            Event::MessageCompleted {
                text: c.content.clone(),
            }
        } else {
            let metadata = json!({"model": c.model, "totalTokens": c.total_tokens,
                "responseTimeMs": c.response_time_ms});
            let role = role(&c.role);
            Event::Message {
                role,
                content: c.content.clone(),
                metadata: Some(metadata),
            }
        };
        if (streamed.is_some() || self.streams.contains(&reply))
            && let Some(closing) = self.streams.get(&reply, 0).close(&c.content)
        {
            // Chunks lost or still in flight (reordered after the completion): the tail; the
            // whole text when what was streamed is not a prefix of it (a chunk lost in the
            // middle, a repeat duplicated on the wire).
            let d = match closing {
                Closing::Tail(tail) => {
                    Decoded::text(TextChannel::Text, tail.text, Some(tail.offset))
                }
                Closing::Replace(full) => Decoded::replace(TextChannel::Text, full),
            };
            let mut d = self.wrap(d.turn(turn.clone()).message(reply.clone()), frame, None);
            d.dedup = Some(DedupKey::Id(format!("tail:{reply}")));
            out.emit(d);
        }
        let d = Decoded::new(event)
            .turn(turn.clone())
            .message(reply.clone());
        out.emit(self.wrap(d, frame, Some(format!("complete:{reply}"))));
        let usage = c
            .total_tokens
            .map(|t| Usage::new(None, None, u64::try_from(t).ok()));
        let done = Event::TurnCompleted {
            finish_reason: Some("stop".into()),
            usage,
        };
        let mut d = self.wrap(Decoded::new(done).turn(turn.clone()), frame, None);
        d.dedup = Some(DedupKey::Id(format!("done:{turn}")));
        out.emit(d);
        self.end_turn(&turn);
    }

    fn on_error(&mut self, body: &ErrorBody, frame: &Frame, out: &mut Actions) {
        let named = crate::dialect::codec_kit::str_field(&frame.fields, &["messageId"]);
        let turn = match (&named, &self.turn) {
            (Some(id), _) if self.users.contains_key(id) => Some(id.clone()),
            (Some(id), Some(t)) if t.id == *id => Some(id.clone()),
            (None, Some(t)) => Some(t.id.clone()),
            _ => None,
        };
        let turn = turn.map(|t| self.turn_for(Some(&t), frame, out));
        let error = Decoded::new(error_event(None, body));
        let error = match &turn {
            Some(t) => error.turn(t.clone()),
            None => error,
        };
        out.emit(self.wrap(error, frame, None));
        if let Some(turn) = turn {
            let cancelled = body.code.as_deref() == Some("PROCESSING_CANCELLED");
            let end = if cancelled {
                Event::TurnCancelled
            } else {
                turn_failed(body)
            };
            let mut d = self.wrap(Decoded::new(end).turn(turn.clone()), frame, None);
            d.dedup = Some(DedupKey::Id(format!("done:{turn}")));
            out.emit(d);
            self.end_turn(&turn);
        }
        let class = classify(None, body);
        if matches!(
            class,
            FailureClass::Auth | FailureClass::Initializing | FailureClass::ServerRestart
        ) {
            out.fail(frame_failure(body));
        }
    }

    /// The turn answering `user_msg` ended: nothing left to recover.
    fn end_turn(&mut self, turn: &str) {
        self.unfinished.remove(turn);
        if self.turn.as_ref().is_some_and(|t| t.id == turn) {
            self.turn = None;
        }
    }
}

fn role(r: &str) -> Role {
    match r {
        "user" | "customer" => Role::User,
        "system" => Role::System,
        "tool" => Role::Tool,
        _ => Role::Assistant,
    }
}
