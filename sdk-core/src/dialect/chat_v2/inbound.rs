//! Inbound side of the chat-v2 dialect: server frames to normalized events. Acked messages form
//! the turn queue; turn frames belong to its head; a turn's end acks its message and pops it.
//! The final `message` always completes the reply as a stream (`MessageStarted`, the text the
//! tokens did not deliver — or a `Replace` with the full text when what they delivered is not a
//! prefix of it — `MessageCompleted`), so reordered or lost tokens never lose or misplace text.

use super::wire::{Frame, Inbound, Token, Tool, ToolStatus};
use super::{ChatV2, Queued};
use crate::dialect::codec_kit::errors::{
    FailureClass, classify, error_event, frame_failure, turn_failed,
};
use crate::dialect::codec_kit::order::{Closing, Ready};
use crate::dialect::codec_kit::str_field;
use crate::dialect::{Actions, Decoded};
use crate::event::{AgentStatus, Event, Role, TextChannel};
use crate::ids::{ClientId, DedupKey};

impl ChatV2 {
    pub(super) fn on_frame(&mut self, frame: Frame, out: &mut Actions) {
        match frame.kind.clone() {
            Inbound::Connected { .. } => {}
            Inbound::Ack {
                client_id,
                message_id,
                ..
            } => self.on_ack(client_id, message_id, &frame, out),
            Inbound::Status { stage } => {
                let status = match stage.as_str() {
                    "typing" => AgentStatus::Typing,
                    "ready" | "idle" => AgentStatus::Ready,
                    "processing" => AgentStatus::Processing { stage: None },
                    _ => AgentStatus::Processing {
                        stage: Some(stage.clone()),
                    },
                };
                let turn = self.head(&frame, out);
                let key = format!("{turn}:status:{stage}");
                self.emit(
                    Decoded::new(Event::Status { status }).turn(turn),
                    &frame,
                    key,
                    out,
                );
            }
            Inbound::Tool(tool) => self.on_tool(tool, &frame, out),
            Inbound::Token(token) => self.on_token(token, &frame, out),
            Inbound::Message {
                message_id,
                content,
                is_final,
            } => {
                if self.reply_ended(message_id.as_deref()) {
                    return; // a repeat of a reply whose turn already ended
                }
                let turn = self.head(&frame, out);
                let reply = message_id.unwrap_or_else(|| format!("{turn}:reply"));
                self.name_reply(&turn, &reply);
                if !is_final {
                    let d = Decoded::replace(TextChannel::Text, content.clone());
                    let key = format!("{turn}:snapshot:{}", content.chars().count());
                    return self.emit(d.turn(turn).message(reply), &frame, key, out);
                }
                self.complete(turn, reply, Some(content), &frame, out);
            }
            Inbound::Transcript { text, is_final } => {
                let turn = self.head(&frame, out);
                let key = format!("{turn}:transcript:{text}:{is_final}");
                let d = Decoded::new(Event::Transcript { text, is_final }).turn(turn);
                self.emit(d, &frame, key, out);
            }
            Inbound::Audio { format, data } => {
                // Synthesized speech may follow the turn's end: it is not tied to the turn.
                let mut d = Decoded::new(Event::AudioChunk { format, data });
                if let Some(m) = str_field(&frame.fields, &["message_id", "messageId"]) {
                    d = d.message(m);
                }
                // No key on the wire, and identical frames are real (repeated silence): keyed
                // by position on the connection, never by content.
                let generation = self.generation();
                self.audio_seq = match self.audio_seq {
                    (g, n) if g == generation => (g, n.saturating_add(1)),
                    _ => (generation, 0),
                };
                let key = format!("audio:g{}:o{}", self.audio_seq.0, self.audio_seq.1);
                out.emit(self.stamp(d, &frame).dedup(DedupKey::Id(key)));
            }
            Inbound::Ping => {
                if let Some(conn) = self.conn {
                    out.send_text(conn, r#"{"type":"pong"}"#.to_string());
                }
                out.emit(self.stamp(Decoded::new(Event::Heartbeat), &frame));
            }
            Inbound::Pong => out.emit(self.stamp(Decoded::new(Event::Heartbeat), &frame)),
            Inbound::Cancelled { message_id } => {
                if self.user_msg_ended(message_id.as_deref()) {
                    return; // a repeat about a turn that already ended
                }
                if let Some(q) = self.take_turn(message_id.as_deref()) {
                    let key = format!("{}:end", q.turn);
                    self.emit(
                        Decoded::new(Event::TurnCancelled).turn(q.turn.clone()),
                        &frame,
                        key,
                        out,
                    );
                    self.end(q, out);
                }
            }
            Inbound::Error { body, message_id } => {
                if self.user_msg_ended(message_id.as_deref()) {
                    return; // a repeat about a turn that already ended
                }
                let class = classify(None, &body);
                let turn = match message_id.as_deref() {
                    Some(m) => self.take_turn(Some(m)),
                    None => None,
                };
                let error = Decoded::new(error_event(None, &body));
                match turn {
                    Some(q) => {
                        let turn = q.turn.clone();
                        out.emit(self.stamp(error.turn(turn.clone()), &frame));
                        let key = format!("{turn}:end");
                        self.emit(
                            Decoded::new(turn_failed(&body)).turn(turn),
                            &frame,
                            key,
                            out,
                        );
                        self.end(q, out);
                    }
                    None => out.emit(self.stamp(error, &frame)),
                }
                if matches!(
                    class,
                    FailureClass::Auth | FailureClass::ServerRestart | FailureClass::Initializing
                ) {
                    out.fail(frame_failure(&body));
                }
            }
            Inbound::Unknown => {
                let d = Decoded::new(Event::Unknown {
                    name: frame.name.clone(),
                });
                out.emit(self.stamp(d, &frame));
            }
        }
    }

    fn on_ack(
        &mut self,
        client: Option<String>,
        user_msg: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        let Some(client_id) = client.and_then(|c| c.parse::<ClientId>().ok()) else {
            return;
        };
        if !self.attempts.contains_key(&client_id) {
            return; // not a message of this client
        }
        if self.ended_messages.contains_key(&client_id) {
            return; // a repeated ack of a message whose turn already ended
        }
        if let Some(q) = self
            .turns
            .iter_mut()
            .find(|q| q.client_id == Some(client_id))
        {
            // A re-ack, or the turn's frames overtook its ack: only the server id is new.
            q.user_msg = user_msg.or(q.user_msg.take());
            let user_msg = q.user_msg.clone();
            self.ack_once(client_id, user_msg, out);
            return;
        }
        let turn = self.queue_turn(client_id, user_msg.clone(), frame, out);
        self.ack_once(client_id, user_msg, out);
        let ack = Decoded::new(Event::Status {
            status: AgentStatus::Acknowledged,
        });
        self.emit(ack.turn(turn.clone()), frame, format!("{turn}:ack"), out);
    }

    /// Queues the turn answering `client_id` (in server order) and starts it.
    fn queue_turn(
        &mut self,
        client_id: ClientId,
        user_msg: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) -> String {
        self.sent.retain(|c| *c != client_id);
        let attempt = self.attempts.get(&client_id).copied().unwrap_or(1);
        let turn = if attempt <= 1 {
            client_id.to_string()
        } else {
            format!("{client_id}#{attempt}")
        };
        if self.turns.len() >= super::QUEUE_CAP {
            self.turns.pop_front();
        }
        self.turns.push_back(Queued {
            client_id: Some(client_id),
            turn: turn.clone(),
            user_msg,
            replace_next: attempt > 1,
            reply: None,
            cut: false,
        });
        let started = Decoded::new(Event::TurnStarted {
            reply_to: Some(client_id.to_string()),
        });
        self.emit(
            started.turn(turn.clone()),
            frame,
            format!("{turn}:started"),
            out,
        );
        turn
    }

    fn on_tool(&mut self, tool: Tool, frame: &Frame, out: &mut Actions) {
        let turn = self.head(frame, out);
        let tool_id = tool
            .tool_id
            .unwrap_or_else(|| format!("{turn}:{}", tool.name));
        let (event, tag) = match tool.status {
            ToolStatus::Start => (
                Event::ToolStarted {
                    tool_id: tool_id.clone(),
                    name: tool.name,
                    args: tool.args,
                },
                "start".to_string(),
            ),
            ToolStatus::Progress => {
                let message =
                    str_field(&frame.fields, &["message", "progress"]).unwrap_or_default();
                let tag = format!("progress:{message}");
                (
                    Event::ToolProgress {
                        tool_id: tool_id.clone(),
                        message,
                    },
                    tag,
                )
            }
            ToolStatus::End => (
                Event::ToolCompleted {
                    tool_id: tool_id.clone(),
                    output: tool.output,
                },
                "end".into(),
            ),
            ToolStatus::Error => {
                let error = tool.error.unwrap_or_else(|| "tool failed".into());
                (
                    Event::ToolFailed {
                        tool_id: tool_id.clone(),
                        error,
                    },
                    "end".into(),
                )
            }
        };
        let key = format!("{turn}:tool:{tool_id}:{tag}");
        self.emit(Decoded::new(event).turn(turn), frame, key, out);
    }

    fn on_token(&mut self, token: Token, frame: &Frame, out: &mut Actions) {
        if self.reply_ended(token.message_id.as_deref()) {
            return; // a late token of a reply whose turn already ended
        }
        let turn = self.head(frame, out);
        let reply = token.message_id.unwrap_or_else(|| format!("{turn}:reply"));
        self.name_reply(&turn, &reply);
        let stream = format!("{turn}/{reply}");
        let started = self.streams.contains(&stream);
        if !started {
            let d = Decoded::new(Event::MessageStarted {
                role: Role::Assistant,
            });
            self.emit(
                d.turn(turn.clone()).message(reply.clone()),
                frame,
                format!("{stream}:start"),
                out,
            );
        }
        let generation = self.generation();
        let order = self.streams.get(&stream, 0);
        // Indexed tokens are ordered and deduplicated by index; unindexed ones are never dropped
        // by content (a repeated token is real text), but keyed by their wire position.
        let ready: Vec<(String, Ready)> = match token.index.and_then(|i| u64::try_from(i).ok()) {
            Some(i) => order
                .push(i, token.content)
                .into_iter()
                .map(|r| (format!("{stream}:{}", r.index), r))
                .collect(),
            None => order
                .push_unindexed(generation, None, token.content)
                .into_iter()
                .map(|u| {
                    (
                        format!("{stream}:g{}:o{}", u.generation, u.ordinal),
                        u.ready,
                    )
                })
                .collect(),
        };
        for (key, r) in ready {
            let replace = self
                .turns
                .front_mut()
                .filter(|q| q.turn == turn)
                .is_some_and(|q| std::mem::take(&mut q.replace_next));
            let d = if replace && r.offset == 0 {
                Decoded::replace(TextChannel::Text, r.text)
            } else {
                Decoded::text(TextChannel::Text, r.text, Some(r.offset))
            };
            self.emit(d.turn(turn.clone()).message(reply.clone()), frame, key, out);
        }
        if token.is_final {
            self.complete(turn, reply, None, frame, out);
        }
    }

    /// Remembers `reply` as the reply of queued turn `turn` (for recovery from the history).
    fn name_reply(&mut self, turn: &str, reply: &str) {
        if let Some(q) = self.turns.iter_mut().find(|q| q.turn == turn) {
            q.reply.get_or_insert_with(|| reply.to_string());
        }
    }

    /// Acks `client_id` to the engine, once.
    fn ack_once(&mut self, client_id: ClientId, user_msg: Option<String>, out: &mut Actions) {
        if self.acked.insert(client_id) {
            out.ack(client_id, user_msg);
        }
    }

    /// The final message: `MessageCompleted` (or a complete `Message` when nothing was
    /// streamed), `TurnCompleted`, and the message is acked.
    pub(super) fn complete(
        &mut self,
        turn: String,
        reply: String,
        text: Option<String>,
        frame: &Frame,
        out: &mut Actions,
    ) {
        // The protocol always streams: the final message completes the reply's stream even when
        // it overtook every token (reordering), delivering what the tokens did not.
        let stream = format!("{turn}/{reply}");
        if !self.streams.contains(&stream) {
            let d = Decoded::new(Event::MessageStarted {
                role: Role::Assistant,
            });
            let key = format!("{stream}:start");
            self.emit(d.turn(turn.clone()).message(reply.clone()), frame, key, out);
        }
        let text = match text {
            Some(t) => t,
            None => self.streams.get(&stream, 0).text().to_string(),
        };
        if let Some(closing) = self.streams.get(&stream, 0).close(&text) {
            // The tail the tokens did not deliver, or the whole text when what they delivered is
            // not a prefix of it (a token lost in the middle, a repeat duplicated on the wire).
            let d = match closing {
                Closing::Tail(tail) => {
                    Decoded::text(TextChannel::Text, tail.text, Some(tail.offset))
                }
                Closing::Replace(full) => Decoded::replace(TextChannel::Text, full),
            };
            let key = format!("{stream}:tail");
            self.emit(d.turn(turn.clone()).message(reply.clone()), frame, key, out);
        }
        let d = Decoded::new(Event::MessageCompleted { text }).turn(turn.clone());
        self.emit(
            d.message(reply.clone()),
            frame,
            format!("{turn}:message"),
            out,
        );
        self.ended_replies.insert(reply);
        let done = Event::TurnCompleted {
            finish_reason: Some("stop".into()),
            usage: None,
        };
        self.emit(
            Decoded::new(done).turn(turn.clone()),
            frame,
            format!("{turn}:end"),
            out,
        );
        if let Some(q) = self.take_by_turn(&turn) {
            let cut = q.cut;
            self.end(q, out);
            // The live frames carry no `reply_to`: a reply streamed to a turn the dropped socket
            // cut may belong to the next turn (the server lost the cut one in a restart). The
            // history pairs each reply with its message; asking it now ends the mix-up at once.
            if cut && frame.name != "history" && self.history_req.is_none() {
                self.fetch_history(out);
            }
        }
    }

    /// The running turn's id: the head of the queue, else the turn of the oldest message sent
    /// and not acked yet (its frames overtook the ack), else a turn this client did not start.
    fn head(&mut self, frame: &Frame, out: &mut Actions) -> String {
        if let Some(q) = self.turns.front() {
            let turn = q.turn.clone();
            self.current = Some(turn.clone());
            return turn;
        }
        if let Some(client_id) = self.sent.front().copied() {
            let turn = self.queue_turn(client_id, None, frame, out);
            self.current = Some(turn.clone());
            return turn;
        }
        self.foreign_turns += 1;
        let turn = format!("turn-{}", self.foreign_turns);
        self.turns.push_back(Queued {
            client_id: None,
            turn: turn.clone(),
            user_msg: None,
            replace_next: false,
            reply: None,
            cut: false,
        });
        self.current = Some(turn.clone());
        let started = Decoded::new(Event::TurnStarted { reply_to: None }).turn(turn.clone());
        self.emit(started, frame, format!("{turn}:started"), out);
        turn
    }

    /// Removes the turn answering user message `user_msg` (the head when unknown).
    fn take_turn(&mut self, user_msg: Option<&str>) -> Option<Queued> {
        let pos = user_msg.and_then(|m| {
            self.turns
                .iter()
                .position(|q| q.user_msg.as_deref() == Some(m))
        });
        self.turns.remove(pos.unwrap_or(0))
    }

    /// Removes queued turn `turn` (for recovery).
    pub(super) fn take_queued(&mut self, turn: &str) -> Option<Queued> {
        self.take_by_turn(turn)
    }

    /// Ends a queued turn taken off the queue: its message counts as answered.
    pub(super) fn finish_queued(&mut self, q: Queued, out: &mut Actions) {
        self.end(q, out);
    }

    fn take_by_turn(&mut self, turn: &str) -> Option<Queued> {
        let pos = self.turns.iter().position(|q| q.turn == turn)?;
        self.turns.remove(pos)
    }

    /// A turn ended: its message is acked.
    fn end(&mut self, q: Queued, out: &mut Actions) {
        if self.current.as_deref() == Some(q.turn.as_str()) {
            self.current = None;
        }
        if let Some(client_id) = q.client_id {
            let _ = self.ended_messages.insert(client_id, q.user_msg.clone());
            self.ack_once(client_id, q.user_msg, out);
        }
    }

    /// Whether `user_msg` is the server id of a message whose turn already ended.
    fn user_msg_ended(&self, user_msg: Option<&str>) -> bool {
        user_msg.is_some_and(|u| {
            self.ended_messages
                .iter()
                .any(|(_, m)| m.as_deref() == Some(u))
        })
    }

    /// Whether `reply` is the id of a reply whose turn already ended.
    pub(super) fn reply_ended(&self, reply: Option<&str>) -> bool {
        reply.is_some_and(|r| self.ended_replies.contains(r))
    }

    /// The generation of the unindexed frames: the current connection.
    fn generation(&self) -> u64 {
        self.conn.map_or(0, |c| c.0)
    }

    fn emit(&self, d: Decoded, frame: &Frame, key: String, out: &mut Actions) {
        out.emit(self.stamp(d, frame).dedup(DedupKey::Id(key)));
    }

    /// Stamps timestamp and raw frame.
    fn stamp(&self, d: Decoded, frame: &Frame) -> Decoded {
        let d = d.raw(frame.raw.clone()).conversation(self.session.clone());
        match frame.timestamp_ms.and_then(|t| u64::try_from(t).ok()) {
            Some(ts) => d.timestamp(ts),
            None => d,
        }
    }
}
