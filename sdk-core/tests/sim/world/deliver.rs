//! The world's deliveries: what the server model asks for ([`Out`]) goes on the wire with the
//! link's latency and order, and what arrives is handed to the engine or the model, unless the
//! link broke, went half-open or lost the answer on the way. Also the outbound check made at
//! the backend: a message must not arrive again once its acknowledgement reached the client.

use super::*;

impl<M: Model> World<M> {
    pub(super) fn server_out(&mut self, outs: Vec<Out>) {
        for o in outs {
            if self.trace {
                println!("{:>8} server -> {o:?}", self.now);
            }
            match o {
                Out::Frame { conn, text, acks } => {
                    if self.live(conn) {
                        let at = self.fifo(conn, 1);
                        self.at(at, Ev::SockFrame(conn, text, acks));
                    }
                }
                Out::Close(conn) => self.break_link(conn, "closed by the server"),
                Out::Respond {
                    req,
                    status,
                    headers,
                    body,
                    acks,
                } => {
                    if self.links.get(&req).is_some_and(|l| !l.closed) {
                        let at = self.fifo(req, 1);
                        let ev = Ev::Response {
                            req,
                            status,
                            headers,
                            body,
                            acks,
                        };
                        self.at(at, ev);
                    }
                }
                Out::Chunk { req, text } => {
                    if self.live(req) {
                        let at = self.fifo(req, 1);
                        self.at(at, Ev::Chunk(req, text));
                    }
                }
                Out::End(req) => {
                    if self.live(req) {
                        let at = self.fifo(req, 1);
                        self.at(at, Ev::End(req));
                    }
                }
                Out::Timer {
                    delay,
                    token,
                    background,
                } => self.at(delay, Ev::Step(token, background)),
                Out::Received { client_id, new } => self.received(client_id, new),
                Out::TurnDone { client_id, turn } => self.records.done.push((client_id, turn)),
            }
        }
    }

    /// The backend got a copy of message `cid`: it must not be one whose acknowledgement the
    /// client already had (openai: whose turn the app already saw complete).
    fn received(&mut self, cid: String, new: bool) {
        *self.records.received.entry(cid.clone()).or_default() += 1;
        if new {
            *self.records.stored.entry(cid.clone()).or_default() += 1;
        }
        let n = self.records.received[&cid];
        if self.model.resends_cut_turns() {
            if self.app.ended_for.contains(&cid) && self.app.completed(&cid) {
                self.app.fail(format!(
                    "message {cid} sent again (copy {n}) after its turn completed"
                ));
            }
        } else if self.records.ack_seen.contains(&cid) {
            self.app.fail(format!(
                "message {cid} sent again (copy {n}) after its acknowledgement reached the client"
            ));
        }
    }

    pub(super) fn dispatch(&mut self, ev: Ev) {
        match ev {
            Ev::SockOpened(c) => {
                if self.live(c) {
                    self.input(Input::SocketOpened { conn: ConnId(c) });
                }
            }
            Ev::SockFrame(c, text, acks) => {
                if self.live(c) {
                    if let Some(cid) = acks {
                        self.records.ack_seen.insert(cid);
                    }
                    let frame = Frame::Text(text);
                    self.input(Input::SocketFrame {
                        conn: ConnId(c),
                        frame,
                    });
                }
            }
            Ev::SockClosed(c, reason) => {
                let Some(l) = self.links.get_mut(&c) else {
                    return;
                };
                if l.half_open || l.reported {
                    return;
                }
                l.reported = true;
                l.closed = true;
                self.input(Input::SocketClosed {
                    conn: ConnId(c),
                    reason,
                });
            }
            Ev::Response {
                req,
                status,
                headers,
                body,
                acks,
            } => self.response(req, status, headers, body, acks),
            Ev::Chunk(req, text) => {
                if self.live(req) {
                    let bytes = text.into_bytes();
                    self.input(Input::HttpChunk {
                        id: RequestId(req),
                        bytes,
                    });
                }
            }
            Ev::End(req) => {
                if self.live(req) {
                    if let Some(l) = self.links.get_mut(&req) {
                        l.closed = true;
                        l.reported = true;
                    }
                    self.input(Input::HttpEnd { id: RequestId(req) });
                    self.at(0, Ev::ServerGone(req));
                }
            }
            Ev::HttpFailed(req, why) => {
                let Some(l) = self.links.get_mut(&req) else {
                    return;
                };
                if l.reported {
                    return;
                }
                l.reported = true;
                let was_open = !l.closed;
                l.closed = true;
                self.input(Input::HttpFailed {
                    id: RequestId(req),
                    error: why.to_string(),
                });
                if was_open {
                    self.at(0, Ev::ServerGone(req));
                }
            }
            Ev::ServerOpen(c, url) => {
                let lat = self.latency();
                if self.down || self.links.get(&c).is_none_or(|l| l.closed) {
                    let reason = CloseReason::refused(None, "refused");
                    self.at(lat, Ev::SockClosed(c, reason));
                } else {
                    let at = self.fifo(c, 1);
                    self.at(at, Ev::SockOpened(c));
                    let outs = self.model.open(c, &url, &mut self.rng);
                    self.server_out(outs);
                }
            }
            Ev::ServerFrame(c, text) => {
                if self.live(c) && !self.down {
                    let outs = self.model.frame(c, &text, &mut self.rng);
                    self.server_out(outs);
                }
            }
            Ev::ServerRequest(req) => {
                if self.down {
                    let id = req.id;
                    if let Some(l) = self.links.get_mut(&id) {
                        l.closed = true;
                    }
                    let lat = self.latency();
                    self.at(lat, Ev::HttpFailed(id, "connection refused"));
                    return;
                }
                let outs = self.model.request(&req, &mut self.rng);
                self.server_out(outs);
            }
            Ev::ServerGone(id) => {
                if self.links.get(&id).is_some_and(|l| l.socket) {
                    self.model.closed(id);
                } else {
                    self.model.request_gone(id);
                }
            }
            Ev::Step(token, _) => {
                if !self.down {
                    let outs = self.model.step(token, &mut self.rng);
                    self.server_out(outs);
                }
            }
            Ev::Up => {
                self.down = false;
                let outs = self.model.up(&mut self.rng);
                self.server_out(outs);
            }
            Ev::FlapEnd => {
                self.flapping = false;
                self.model.set_flapping(false);
                let outs = self.model.up(&mut self.rng);
                self.server_out(outs);
                self.app.flapping = false;
                let since_progress = self.now - self.progress_at.1;
                let late = since_progress > self.plan.give_up_ms + 10_000;
                if !self.app.gave_up && !self.closed_by_app && late {
                    self.app.fail(format!(
                        "flapping backend: still retrying after {} ms ({} reconnects, max_attempts {})",
                        self.now, self.app.reconnects, self.config.max_attempts
                    ));
                }
            }
            Ev::App(a) => self.app_action(a),
            Ev::Fault(f) => self.fault(f),
        }
    }

    fn response(
        &mut self,
        req: u64,
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
        acks: Option<String>,
    ) {
        let Some(l) = self.links.get_mut(&req) else {
            return;
        };
        if l.closed || l.half_open {
            return;
        }
        if l.lose_answer {
            l.closed = true;
            l.reported = true;
            self.input(Input::HttpFailed {
                id: RequestId(req),
                error: "connection reset while reading the response".into(),
            });
            return;
        }
        let ok = (200..300).contains(&status);
        // a 2xx head of a streamed body stays open until its end; anything else is final
        let streaming = ok && l.wants_stream;
        l.streaming = streaming;
        if !streaming {
            l.closed = true;
            l.reported = true;
        }
        if let Some(cid) = acks {
            self.records.ack_seen.insert(cid);
        }
        self.input(Input::HttpResponse {
            id: RequestId(req),
            status,
            headers,
            body: body.into_bytes(),
        });
    }
}
