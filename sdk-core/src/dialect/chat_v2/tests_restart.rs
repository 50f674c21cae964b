//! A turn the server lost in a restart: acked and processing when the socket dropped, it never
//! ends on the new socket, and the live frames name no user message. The next reply streams to
//! it (the head of the queue); the history, asked as soon as that reply completes, pairs the
//! reply with the later message, whose turn then ends without showing the reply a second time,
//! and the replies after it go to their own turns.

use super::tests::{ack, f, feed, ready};
use super::*;
use crate::dialect::Action;
use crate::dialect::codec_kit::testkit::*;
use crate::io::CloseReason;
use serde_json::json;

fn send(d: &mut ChatV2, c: ClientId, out: &mut Actions) {
    let msg = Outbound::Message {
        client_id: c,
        text: "x",
        resend: false,
    };
    d.encode(msg, out).unwrap();
}

fn reply(id: &str, text: &str) -> [String; 2] {
    [
        f(json!({"type":"token","content": text,"is_final": false,"message_id": id,"index": 0})),
        f(
            json!({"type":"message","role":"assistant","content": text,"is_final": true,"message_id": id}),
        ),
    ]
}

fn answer(d: &mut ChatV2, req: RequestId, listing: serde_json::Value, out: &mut Actions) {
    let body = listing.to_string();
    d.on_transport(
        TransportEvent::HttpResponse {
            id: req,
            status: 200,
            headers: &[],
            body: body.as_bytes(),
        },
        out,
    );
}

#[test]
fn a_reply_streamed_to_a_lost_turn_is_shown_once_and_the_queue_catches_up() {
    let mut d = ChatV2::new("http://127.0.0.1:7");
    let (conn, mut out) = ready(&mut d);
    let (a, c, e) = (client(1), client(3), client(5));
    send(&mut d, a, &mut out);
    let processing = f(json!({"type":"status","status":"processing"}));
    feed(&mut d, conn, &[ack(a, "m-1", false), processing], &mut out);
    out.take();
    // the server restarts: the socket drops, turn m-1 dies there
    let closed = CloseReason::closed(None, "connection reset");
    d.on_transport(
        TransportEvent::SocketClosed {
            conn,
            reason: &closed,
        },
        &mut out,
    );
    d.disconnect(Disconnect::Reconnecting, &mut out);
    out.take();
    d.connect(&ConnectContext::new(1, None), &mut out);
    let (conn, _, _) = opened(&out.take()).unwrap();
    d.on_transport(TransportEvent::SocketOpened { conn }, &mut out);
    let (req, _) = one_request(&out.take());
    let user = |id: &str| json!({"id": id, "role": "user", "content": "x"});
    answer(&mut d, req, json!({"messages": [user("m-1")]}), &mut out);
    assert!(emitted(&out.take()).is_empty(), "m-1 may still be running");

    // a new message; its reply streams live to the head of the queue (m-1's turn)
    send(&mut d, c, &mut out);
    feed(&mut d, conn, &[ack(c, "m-3", false)], &mut out);
    feed(&mut d, conn, &reply("r4", "four"), &mut out);
    let live = out.take();
    assert_eq!(
        names(&live)
            .iter()
            .filter(|n| **n == "messageCompleted")
            .count(),
        1
    );
    let (req, spec) = one_request(&live);
    assert!(spec.url.ends_with("/v2/chat/demo-session/history"));
    let r4 = json!({"id":"r4","role":"assistant","content":"four","reply_to":"m-3"});
    answer(
        &mut d,
        req,
        json!({"messages": [user("m-1"), user("m-3"), r4]}),
        &mut out,
    );
    let fixed = out.take();
    let ev = emitted(&fixed);
    assert_eq!(names(&fixed), ["turnCompleted"], "r4 is not shown again");
    assert_eq!(ev[0].turn_id, Some(c.to_string()));
    assert!(d.turns.is_empty());

    // the next reply goes to its own turn
    send(&mut d, e, &mut out);
    feed(&mut d, conn, &[ack(e, "m-5", false)], &mut out);
    feed(&mut d, conn, &reply("r6", "six"), &mut out);
    let next = out.take();
    let r6: Vec<_> = emitted(&next)
        .into_iter()
        .filter(|x| x.message_id.as_deref() == Some("r6"))
        .collect();
    assert!(!r6.is_empty());
    assert!(r6.iter().all(|x| x.turn_id == Some(e.to_string())));
    assert!(
        !next.iter().any(|x| matches!(x, Action::Http { .. })),
        "no history request for a turn no drop cut"
    );
}
