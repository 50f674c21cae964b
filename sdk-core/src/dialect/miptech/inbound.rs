//! Inbound side of the miptech dialect: server frames (already normalised by [`super::wire`])
//! to normalized events, acks, turn tracking, ordered text and failures.

use serde_json::json;

use super::wire::{self, ChatRef, Frame, Inbound};
use super::{Miptech, Step, Turn};
use crate::dialect::codec_kit::ErrorBody;
use crate::dialect::codec_kit::errors::{
    FailureClass, classify, error_event, frame_failure, turn_failed,
};
use crate::dialect::{Actions, Decoded};
use crate::event::{AgentStatus, Event, Role, TextChannel, Usage};
use crate::ids::{ClientId, ConnId, Cursor, DedupKey};

impl Miptech {
    /// Stamps conversation, timestamp and raw frame on a decoded event.
    fn wrap(&self, d: Decoded, frame: &Frame) -> Decoded {
        let mut d = d.raw(frame.raw.clone());
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

    /// The open turn, opened (with `TurnStarted`) when there is none.
    fn ensure_turn(
        &mut self,
        reply_to: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) -> String {
        if let Some(turn) = &self.turn {
            return turn.id.clone();
        }
        self.turns_opened += 1;
        let id = reply_to
            .clone()
            .unwrap_or_else(|| format!("turn-{}", self.turns_opened));
        self.turn = Some(Turn {
            id: id.clone(),
            message_id: None,
        });
        let started = Decoded::new(Event::TurnStarted { reply_to }).turn(id.clone());
        out.emit(
            self.wrap(started, frame)
                .dedup(DedupKey::Id(format!("turn:{id}"))),
        );
        id
    }

    pub(super) fn on_frame(&mut self, frame: Frame, out: &mut Actions) {
        if let Step::AwaitReady(conn) = self.step {
            match &frame.kind {
                Inbound::Ready => return self.become_ready(conn, out),
                Inbound::Error(body) => {
                    out.emit(self.wrap(Decoded::new(error_event(None, body)), &frame));
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
                let turn = self.ensure_turn(None, &frame, out);
                let d = Decoded::new(Event::Status {
                    status: AgentStatus::Processing { stage },
                });
                let key = message_id.map(|m| DedupKey::Id(format!("processing:{m}")));
                out.emit(with_key(self.wrap(d.turn(turn), &frame), key));
            }
            Inbound::ResponseStart { message_id } => {
                let turn = self.ensure_turn(None, &frame, out);
                let msg = message_id.unwrap_or_else(|| format!("{turn}:reply"));
                if let Some(t) = self.turn.as_mut() {
                    t.message_id = Some(msg.clone());
                }
                let d = Decoded::new(Event::MessageStarted {
                    role: Role::Assistant,
                });
                let d = d.turn(turn).message(msg.clone());
                out.emit(
                    self.wrap(d, &frame)
                        .dedup(DedupKey::Id(format!("start:{msg}"))),
                );
            }
            Inbound::ResponseChunk {
                message_id,
                content,
                index,
            } => self.on_chunk(message_id, content, index, &frame, out),
            Inbound::ResponseComplete(c) => self.on_complete(c, &frame, out),
            Inbound::ToolStart {
                tool_id,
                name,
                args,
            } => {
                let turn = self.ensure_turn(None, &frame, out);
                let tool_id = tool_id.unwrap_or_else(|| format!("{turn}:{name}"));
                let args = (!args.is_null()).then_some(args);
                let d = Decoded::new(Event::ToolStarted {
                    tool_id: tool_id.clone(),
                    name,
                    args,
                });
                out.emit(
                    self.wrap(d.turn(turn), &frame)
                        .dedup(DedupKey::Id(format!("tool:{tool_id}"))),
                );
            }
            Inbound::ToolEnd {
                tool_id,
                name,
                output,
                error,
            } => {
                let turn = self.ensure_turn(None, &frame, out);
                let tool_id = tool_id
                    .or_else(|| name.map(|n| format!("{turn}:{n}")))
                    .unwrap_or_else(|| format!("{turn}:tool"));
                let event = match error {
                    Some(error) => Event::ToolFailed {
                        tool_id: tool_id.clone(),
                        error,
                    },
                    None => Event::ToolCompleted {
                        tool_id: tool_id.clone(),
                        output,
                    },
                };
                let key = DedupKey::Id(format!("tool-end:{tool_id}"));
                out.emit(self.wrap(Decoded::new(event).turn(turn), &frame).dedup(key));
            }
            Inbound::Typing {
                participant,
                active,
            } => {
                out.emit(self.wrap(
                    Decoded::new(Event::Typing {
                        participant,
                        active,
                    }),
                    &frame,
                ));
            }
            Inbound::Ping => {
                if let Step::Ready(conn) = self.step {
                    out.send_text(conn, r#"{"type":"pong"}"#.to_string());
                }
                out.emit(self.wrap(Decoded::new(Event::Heartbeat), &frame));
            }
            Inbound::Pong => out.emit(self.wrap(Decoded::new(Event::Heartbeat), &frame)),
            Inbound::Error(body) => self.on_error(&body, &frame, out),
            _ => {
                let d = Decoded::new(Event::Unknown {
                    name: frame.name.clone(),
                });
                out.emit(self.wrap(d, &frame));
            }
        }
    }

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
        self.step = Step::Ready(conn);
        if std::mem::take(&mut self.turn_lost) {
            out.discontinuity(
                "re-joined the chat; events of the interrupted turn were not replayed",
            );
        }
        out.ready();
    }

    fn on_ack(
        &mut self,
        message_id: Option<String>,
        client: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        let by_echo = client
            .and_then(|c| c.parse::<ClientId>().ok())
            .filter(|c| self.unacked.contains(c));
        let Some(client_id) = by_echo.or_else(|| self.unacked.front().copied()) else {
            return;
        };
        self.unacked.retain(|c| *c != client_id);
        out.ack(client_id, message_id.clone());
        let turn = self.ensure_turn(Some(client_id.to_string()), frame, out);
        let d = Decoded::new(Event::Status {
            status: AgentStatus::Acknowledged,
        })
        .turn(turn);
        let key = DedupKey::Id(format!(
            "ack:{}",
            message_id.unwrap_or_else(|| client_id.to_string())
        ));
        out.emit(self.wrap(d, frame).dedup(key));
    }

    fn on_chunk(
        &mut self,
        message_id: Option<String>,
        content: String,
        index: Option<i64>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        let turn = self.ensure_turn(None, frame, out);
        let msg = message_id
            .or_else(|| self.turn.as_ref().and_then(|t| t.message_id.clone()))
            .unwrap_or_else(|| format!("{turn}:reply"));
        let hash = DedupKey::content_hash(frame.raw.to_string().as_bytes());
        let order = self.streams.get(&msg, 0);
        let ready = match (index.and_then(|i| u64::try_from(i).ok()), &hash) {
            (Some(i), _) => order.push(i, content),
            (None, DedupKey::Hash(h)) => order.push_unindexed(*h, content).into_iter().collect(),
            (None, _) => Vec::new(),
        };
        for r in ready {
            let key = match index {
                Some(_) => DedupKey::Id(format!("chunk:{msg}:{}", r.index)),
                None => hash.clone(),
            };
            let d = Decoded::text(TextChannel::Text, r.text, Some(r.offset));
            out.emit(
                self.wrap(d.turn(turn.clone()).message(msg.clone()), frame)
                    .dedup(key),
            );
        }
    }

    fn on_complete(&mut self, c: wire::Completed, frame: &Frame, out: &mut Actions) {
        let turn = self.ensure_turn(None, frame, out);
        let streamed = self.turn.as_ref().and_then(|t| t.message_id.clone());
        let msg = c
            .message_id
            .clone()
            .or(streamed.clone())
            .unwrap_or_else(|| format!("{turn}:reply"));
        let was_streamed = streamed.is_some() || self.streams.contains(&msg);
        let event = if was_streamed {
            Event::MessageCompleted {
                text: c.content.clone(),
            }
        } else {
            let metadata = json!({"model": c.model, "totalTokens": c.total_tokens,
                "responseTimeMs": c.response_time_ms});
            Event::Message {
                role: role(&c.role),
                content: c.content.clone(),
                metadata: Some(metadata),
            }
        };
        let d = Decoded::new(event).turn(turn.clone()).message(msg.clone());
        out.emit(
            self.wrap(d, frame)
                .dedup(DedupKey::Id(format!("complete:{msg}"))),
        );
        let usage = c
            .total_tokens
            .map(|t| Usage::new(None, None, u64::try_from(t).ok()));
        let done = Decoded::new(Event::TurnCompleted {
            finish_reason: Some("stop".into()),
            usage,
        });
        out.emit(
            self.wrap(done.turn(turn), frame)
                .dedup(DedupKey::Id(format!("done:{msg}"))),
        );
        self.turn = None;
    }

    fn on_error(&mut self, body: &ErrorBody, frame: &Frame, out: &mut Actions) {
        out.emit(self.wrap(Decoded::new(error_event(None, body)), frame));
        if let Some(turn) = self.turn.take() {
            out.emit(self.wrap(Decoded::new(turn_failed(body)).turn(turn.id), frame));
        }
        let class = classify(None, body);
        if matches!(
            class,
            FailureClass::Auth | FailureClass::Initializing | FailureClass::ServerRestart
        ) {
            out.fail(frame_failure(body));
        }
    }
}

fn with_key(d: Decoded, key: Option<DedupKey>) -> Decoded {
    match key {
        Some(k) => d.dedup(k),
        None => d,
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
