//! `referralReceived` (and the giver's `referralUpdated`) over /graphql/ws
//! with the graphql-transport-ws protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::db_test;
use crate::fixtures::{advance, chapter, day, give};
use crate::helpers::{TestApp, operation};

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub(crate) async fn connect(app: &TestApp, token: Option<&str>) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(app.ws_request())
        .await
        .expect("websocket connects");
    let payload = match token {
        Some(t) => json!({ "Authorization": format!("Bearer {t}") }),
        None => json!({}),
    };
    socket
        .send(Message::Text(
            json!({ "type": "connection_init", "payload": payload }).to_string(),
        ))
        .await
        .unwrap();
    socket
}

/// The next JSON message, or None if the socket closed or nothing came in time.
async fn next_json(socket: &mut Socket) -> Option<Value> {
    next_within(socket, 10_000).await
}

/// `next_json` waiting at most `ms` milliseconds in all.
pub(crate) async fn next_within(socket: &mut Socket, ms: u64) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
    loop {
        let msg = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??
            .ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == "ping" {
                    continue;
                }
                return Some(v);
            }
            Message::Close(_) => return None,
            _ => continue,
        }
    }
}

pub(crate) async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    socket
        .send(Message::Text(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
    // Let the server register the stream before anything is published.
    tokio::time::sleep(Duration::from_millis(300)).await;
}

db_test!(
    receivers_and_delegates_get_pushes,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (giver, receiver, delegate) = (&c.members[0], &c.members[1], &c.members[2]);
        let mut rx = connect(&app, Some(&receiver.token)).await;
        assert_eq!(next_json(&mut rx).await.unwrap()["type"], "connection_ack");
        subscribe(&mut rx, "1", &operation("ReferralReceived")).await;
        let mut giver_socket = connect(&app, Some(&giver.token)).await;
        assert_eq!(
            next_json(&mut giver_socket).await.unwrap()["type"],
            "connection_ack"
        );
        subscribe(
            &mut giver_socket,
            "g",
            "subscription { referralUpdated { id status } }",
        )
        .await;

        let id = give(&app, giver, &receiver.id).await;
        let msg = next_json(&mut rx).await.expect("a push");
        assert_eq!(msg["type"], "next");
        assert_eq!(msg["id"], "1");
        assert_eq!(
            msg["payload"]["data"]["referralReceived"],
            json!({ "id": id, "madeInAbsence": true, "absenceReason": "REMOTE", "prospect": { "name": "Pat Prospect" },
                "giver": { "__typename": "Member", "id": giver.id, "name": "Member 0" } })
        );
        // The giver hears of the next step.
        advance(&app, &receiver.token, &id, "ACCEPTED", None).await;
        let update = next_json(&mut giver_socket)
            .await
            .expect("the giver's push");
        assert_eq!(
            update["payload"]["data"]["referralUpdated"],
            json!({ "id": id, "status": "ACCEPTED" })
        );

        // While the receiver is away, the delegate is pushed too.
        app.ok(
            Some(&receiver.token),
            "DeclareAbsence",
            json!({ "input": { "from": day(0), "to": day(3), "delegateId": delegate.id } }),
        )
        .await;
        let mut dx = connect(&app, Some(&delegate.token)).await;
        assert_eq!(next_json(&mut dx).await.unwrap()["type"], "connection_ack");
        subscribe(&mut dx, "d", &operation("ReferralReceived")).await;
        let second = give(&app, giver, &receiver.id).await;
        for socket in [&mut rx, &mut dx] {
            let msg = next_json(socket).await.expect("a push");
            assert_eq!(
                msg["payload"]["data"]["referralReceived"]["id"],
                json!(second)
            );
            assert_eq!(
                msg["payload"]["data"]["referralReceived"]["absenceReason"],
                "AWAY"
            );
        }
    }
);

db_test!(
    anonymous_websockets_are_refused,
    |app: TestApp| async move {
        let mut socket = connect(&app, None).await;
        let reply = next_json(&mut socket).await;
        assert!(
            reply.as_ref().is_none_or(|r| r["type"] != "connection_ack"),
            "{reply:?}"
        );
        let mut forged = connect(&app, Some("not.a.token")).await;
        let reply = next_json(&mut forged).await;
        assert!(
            reply.as_ref().is_none_or(|r| r["type"] != "connection_ack"),
            "{reply:?}"
        );
    }
);

db_test!(
    others_hear_nothing_and_signing_out_ends_the_stream,
    |app: TestApp| async move {
        let c = chapter(&app, 3).await;
        let (giver, receiver, bystander) = (&c.members[0], &c.members[1], &c.members[2]);
        let mut by = connect(&app, Some(&bystander.token)).await;
        assert_eq!(next_json(&mut by).await.unwrap()["type"], "connection_ack");
        subscribe(&mut by, "b", &operation("ReferralReceived")).await;
        let mut rx = connect(&app, Some(&receiver.token)).await;
        assert_eq!(next_json(&mut rx).await.unwrap()["type"], "connection_ack");
        subscribe(&mut rx, "r", &operation("ReferralReceived")).await;

        let first = give(&app, giver, &receiver.id).await;
        let msg = next_json(&mut rx).await.expect("the receiver's push");
        assert_eq!(
            msg["payload"]["data"]["referralReceived"]["id"],
            json!(first)
        );
        // The receiver signs out: the next referral is not pushed, the stream completes.
        app.ok(Some(&receiver.token), "SignOut", json!({})).await;
        give(&app, giver, &receiver.id).await;
        let after = next_json(&mut rx).await;
        assert!(
            after.as_ref().is_none_or(|m| m["type"] == "complete"),
            "{after:?}"
        );
        // The bystander heard nothing at all (the next thing it sees is a timeout).
        let heard = tokio::time::timeout(Duration::from_millis(500), by.next()).await;
        assert!(heard.is_err(), "{heard:?}");
    }
);

db_test!(
    sockets_serve_members_subscriptions_only,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let member = &c.members[0];
        // A partner token is an HTTP credential: no socket for it.
        let firm = crate::partners::firm(&app, &c, "Bank").await;
        let secret =
            crate::partners::token(&app, &c.leader.token, &firm, &["REFERRALS_READ"]).await;
        let mut partner = connect(&app, Some(&secret)).await;
        let reply = next_json(&mut partner).await;
        assert!(
            reply.as_ref().is_none_or(|r| r["type"] != "connection_ack"),
            "{reply:?}"
        );
        // Queries and mutations over the socket are refused: they belong on
        // HTTP. A subscription past the document limits is refused too.
        let mut socket = connect(&app, Some(&member.token)).await;
        assert_eq!(
            next_json(&mut socket).await.unwrap()["type"],
            "connection_ack"
        );
        let aliases: String = (0..40).map(|i| format!("a{i}: id ")).collect();
        let too_many = format!("subscription {{ referralReceived {{ {aliases} }} }}");
        for (id, query, limit) in [
            ("q", "{ me { id } }", None),
            ("m", "mutation { signOut }", None),
            ("s", too_many.as_str(), Some("aliases")),
        ] {
            socket
                .send(Message::Text(
                    json!({ "id": id, "type": "subscribe", "payload": { "query": query } })
                        .to_string(),
                ))
                .await
                .unwrap();
            let mut reply = next_json(&mut socket).await.expect("a reply");
            while reply["type"] == "complete" {
                reply = next_json(&mut socket).await.expect("a reply");
            }
            assert_eq!(reply["id"], id);
            let errors = if reply["type"] == "error" {
                &reply["payload"]
            } else {
                &reply["payload"]["errors"]
            };
            assert_eq!(
                errors[0]["extensions"]["code"], "BAD_USER_INPUT",
                "{reply:#}"
            );
            if let Some(limit) = limit {
                assert_eq!(errors[0]["extensions"]["limit"], limit, "{reply:#}");
            }
        }
        // The member's session is untouched (signOut did not run).
        app.ok(Some(&member.token), "Me", json!({})).await;
    }
);

/// How the server closed a refused socket: the close frame's reason.
async fn close_reason(socket: &mut Socket) -> String {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server answers connection_init")
            .expect("a frame before the end of the stream")
            .expect("a readable frame");
        match msg {
            Message::Close(Some(frame)) => return frame.reason.to_string(),
            Message::Close(None) => panic!("closed without a reason"),
            Message::Text(t) => panic!("expected a refusal, got {t}"),
            _ => continue,
        }
    }
}

db_test!(socket_refusals_name_their_code, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let mut anonymous = connect(&app, None).await;
    assert_eq!(
        close_reason(&mut anonymous).await,
        "UNAUTHENTICATED: sign in first"
    );
    let mut forged = connect(&app, Some("not.a.token")).await;
    assert!(
        close_reason(&mut forged)
            .await
            .starts_with("UNAUTHENTICATED: "),
        "a forged token is a credential error"
    );
    let firm = crate::partners::firm(&app, &c, "Bank").await;
    let secret = crate::partners::token(&app, &c.leader.token, &firm, &["REFERRALS_READ"]).await;
    let mut partner = connect(&app, Some(&secret)).await;
    assert_eq!(
        close_reason(&mut partner).await,
        "FORBIDDEN: API tokens cannot use member operations"
    );
});

/// The close frame the server ends with: (code, reason). Pings and other
/// frames before it are skipped.
async fn close_frame(socket: &mut Socket) -> (u16, String) {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("the server closes in time")
            .expect("a frame before the end of the stream")
            .expect("a readable frame");
        if let Message::Close(frame) = msg {
            let frame = frame.expect("a close frame with a code");
            return (u16::from(frame.code), frame.reason.to_string());
        }
    }
}

/// The code of the server's close frame, read off the TCP stream itself
/// (server frames are unmasked; pings before it are skipped).
async fn raw_close_code(mut socket: Socket) -> u16 {
    use tokio::io::AsyncReadExt;
    let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = socket.get_mut() else {
        panic!("a plain TCP socket");
    };
    let mut bytes = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut bytes)).await;
    let mut at = 0;
    while at + 2 <= bytes.len() {
        let (opcode, len) = (bytes[at] & 0x0f, usize::from(bytes[at + 1] & 0x7f));
        if opcode == 0x8 && len >= 2 {
            return u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]);
        }
        at += 2 + len;
    }
    panic!("no close frame in {bytes:?}");
}

fn small_sockets(s: &mut api::settings::Settings) {
    s.websocket.max_subscriptions = 2;
    s.websocket.max_message_bytes = 2_048;
}

crate::db_test_with!(
    each_socket_holds_a_bounded_number_of_subscriptions,
    small_sockets,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (giver, receiver) = (&c.members[0], &c.members[1]);
        let mut rx = connect(&app, Some(&receiver.token)).await;
        assert_eq!(next_json(&mut rx).await.unwrap()["type"], "connection_ack");
        subscribe(&mut rx, "1", &operation("ReferralReceived")).await;
        subscribe(&mut rx, "2", &operation("ReferralReceived")).await;
        // A third is refused by id, and the socket stays open.
        subscribe(&mut rx, "3", &operation("ReferralReceived")).await;
        let refused = next_json(&mut rx).await.expect("an answer for 3");
        assert_eq!(refused["type"], "error", "{refused}");
        assert_eq!(refused["id"], "3");
        assert_eq!(refused["payload"][0]["extensions"]["code"], "RATE_LIMITED");
        assert_eq!(
            refused["payload"][0]["message"],
            "at most 2 subscriptions may run on one connection; complete one first"
        );
        // Completing one frees its place: the next subscription runs and hears.
        rx.send(Message::Text(
            json!({ "id": "1", "type": "complete" }).to_string(),
        ))
        .await
        .unwrap();
        let done = next_json(&mut rx).await.expect("complete for 1");
        assert_eq!(
            (done["type"].as_str(), done["id"].as_str()),
            (Some("complete"), Some("1"))
        );
        subscribe(&mut rx, "4", &operation("ReferralReceived")).await;
        let id = give(&app, giver, &receiver.id).await;
        let mut heard = Vec::new();
        for _ in 0..2 {
            let push = next_json(&mut rx).await.expect("a push");
            assert_eq!(push["type"], "next", "{push}");
            assert_eq!(push["payload"]["data"]["referralReceived"]["id"], json!(id));
            heard.push(push["id"].as_str().unwrap().to_string());
        }
        heard.sort();
        assert_eq!(heard, ["2", "4"]);
        // Reusing a running id breaks the protocol: the socket closes (4409).
        subscribe(&mut rx, "2", &operation("ReferralReceived")).await;
        assert_eq!(
            close_frame(&mut rx).await,
            (4409, "Subscriber for 2 already exists".to_string())
        );
        // Other sockets of the same member are not affected.
        let mut again = connect(&app, Some(&receiver.token)).await;
        assert_eq!(
            next_json(&mut again).await.unwrap()["type"],
            "connection_ack"
        );
    }
);

crate::db_test_with!(
    oversized_messages_close_the_socket,
    small_sockets,
    |app: TestApp| async move {
        use tokio_tungstenite::tungstenite::protocol::frame::Frame;
        use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
        let c = chapter(&app, 1).await;
        let member = &c.members[0];
        let padding = " ".repeat(3_000);
        // One frame over the cap.
        let mut one = connect(&app, Some(&member.token)).await;
        assert_eq!(next_json(&mut one).await.unwrap()["type"], "connection_ack");
        let query = format!("subscription {{ referralReceived {{ id }} }}{padding}");
        one.send(Message::Text(
            json!({ "id": "big", "type": "subscribe", "payload": { "query": query } }).to_string(),
        ))
        .await
        .unwrap();
        let (code, reason) = close_frame(&mut one).await;
        assert_eq!(code, 1009);
        assert_eq!(
            reason,
            "BAD_USER_INPUT: a message may be at most 2048 bytes"
        );
        // Frames under the cap whose message is over it, sent as continuations.
        let mut split = connect(&app, Some(&member.token)).await;
        assert_eq!(
            next_json(&mut split).await.unwrap()["type"],
            "connection_ack"
        );
        let half = vec![b' '; 1_500];
        split
            .send(Message::Frame(Frame::message(
                half.clone(),
                OpCode::Data(Data::Text),
                false,
            )))
            .await
            .unwrap();
        split
            .send(Message::Frame(Frame::message(
                half,
                OpCode::Data(Data::Continue),
                true,
            )))
            .await
            .unwrap();
        assert_eq!(close_frame(&mut split).await.0, 1009);
        // A message under the cap is served as usual.
        let mut fine = connect(&app, Some(&member.token)).await;
        assert_eq!(
            next_json(&mut fine).await.unwrap()["type"],
            "connection_ack"
        );
        subscribe(&mut fine, "ok", &operation("ReferralReceived")).await;
        let quiet = tokio::time::timeout(Duration::from_millis(300), fine.next()).await;
        assert!(quiet.is_err(), "nothing to say yet: {quiet:?}");
    }
);

crate::db_test_with!(
    sockets_close_when_the_token_expires,
    |s: &mut api::settings::Settings| {
        // Three seconds: a token's expiry is in whole seconds, so it lives
        // 2-3 s, well past the idle socket's close below (about 1-1.5 s) even
        // on a busy machine (with 2 the two raced under the full suite).
        s.access_token_ttl_secs = 3;
        s.websocket.init_timeout_ms = 500;
        s.websocket.idle_timeout_ms = 1_000;
    },
    |app: TestApp| async move {
        chapter(&app, 1).await;
        // Tokens last three seconds here: each socket signs in just before.
        let sign_in = || async {
            let fresh = app
                .ok(
                    None,
                    "SignIn",
                    json!({ "email": "member.0@example.com", "password": crate::helpers::PASSWORD }),
                )
                .await;
            fresh["signIn"]["accessToken"].as_str().unwrap().to_string()
        };
        // Closed when the token expires, with the code a client reconnects on.
        let token = sign_in().await;
        let started = std::time::Instant::now();
        let mut socket = connect(&app, Some(&token)).await;
        assert_eq!(
            next_json(&mut socket).await.unwrap()["type"],
            "connection_ack"
        );
        subscribe(&mut socket, "1", &operation("ReferralReceived")).await;
        // Keep answering the server's pings (reading does) until the close.
        let (code, reason) = close_frame(&mut socket).await;
        assert_eq!(code, 4401);
        assert_eq!(
            reason,
            "UNAUTHENTICATED: the access token has expired; reconnect with a new one"
        );
        let lasted = started.elapsed();
        assert!(
            lasted > Duration::from_millis(1_900) && lasted < Duration::from_secs(5),
            "closed {lasted:?} after opening"
        );

        // A socket that never sends connection_init is closed (4408).
        let url = app.base.replace("http://", "ws://") + "/graphql/ws";
        let mut request = url.clone().into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (mut silent, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(close_frame(&mut silent).await.0, 4408);

        // A client that stops reading (so never answers a ping) is let go.
        let token = sign_in().await;
        let mut idle = connect(&app, Some(&token)).await;
        assert_eq!(
            next_json(&mut idle).await.unwrap()["type"],
            "connection_ack"
        );
        tokio::time::sleep(Duration::from_millis(1_600)).await;
        // Read the raw frames: through the WebSocket client, reading would
        // first send the pongs it owes, to a socket the server has closed.
        assert_eq!(raw_close_code(idle).await, 1001);

        // No subprotocol: refused before the upgrade.
        let mut bare = url.into_client_request().unwrap();
        bare.headers_mut().remove("Sec-WebSocket-Protocol");
        let refused = tokio_tungstenite::connect_async(bare).await;
        assert!(
            refused.is_err(),
            "upgrade without a subprotocol: {refused:?}"
        );
    }
);
