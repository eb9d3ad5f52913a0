//! Webhooks: registration (leaders), signed deliveries checked by a
//! receiver on 127.0.0.1, retries with backoff, the delivery log, delivery
//! after a restart, and deletion.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::db_test;
use crate::db_test_with;
use crate::fixtures::{advance, chapter, give};
use crate::helpers::{TestApp, code, field};
use crate::partners::{ALL_SCOPES, firm, submit, token};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: String,
}

/// A tiny HTTP server on 127.0.0.1: answers with the scripted statuses in
/// order (then 200), and keeps every request.
#[derive(Clone)]
struct Receiver {
    port: u16,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        Self::start_on(0, script).await
    }

    async fn start_on(port: u16, script: &[u16]) -> Receiver {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(
            script.iter().copied().collect::<VecDeque<u16>>(),
        ));
        let store = got.clone();
        let scripted = script.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let store = store.clone();
                let script = script.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut socket).await else {
                        return;
                    };
                    store.lock().unwrap().push(request);
                    let status = script.lock().unwrap().pop_front().unwrap_or(200);
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Receiver {
            port,
            got,
            script: scripted,
        }
    }

    /// Drops what is left of the script: every later request gets 200.
    fn succeed_from_now(&self) {
        self.script.lock().unwrap().clear();
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hooks/rx", self.port)
    }

    fn requests(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (10 s at most).
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let got = self.requests();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("expected {n} webhook requests, got {:#?}", self.requests());
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let mut headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.insert(":request".into(), request_line);
    let len: usize = headers.get("content-length")?.parse().ok()?;
    while buf.len() < header_end + len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8(buf[header_end..header_end + len].to_vec()).ok()?;
    Some(Received { headers, body })
}

/// Checks `X-RX-Signature` as a receiver should; returns the parsed body.
fn verified(r: &Received, secret: &str) -> Value {
    let header = &r.headers["x-rx-signature"];
    let (t, v1) = header.split_once(",v1=").expect("t=…,v1=…");
    let t = t.strip_prefix("t=").expect("t=");
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{}", r.body).as_bytes());
    mac.verify_slice(&hex::decode(v1).unwrap())
        .expect("signature verifies");
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap();
    assert!((0..60).contains(&age), "fresh timestamp");
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(r.headers[":request"].starts_with("POST /hooks/rx "));
    serde_json::from_str(&r.body).unwrap()
}

async fn register(app: &TestApp, leader: &str, firm: &str, url: &str) -> (String, String) {
    let data = app
        .ok_gql(
            leader,
            "mutation($input: WebhookInput!) { registerWebhook(input: $input) { secret webhook { id url events } } }",
            json!({ "input": { "partnerFirmId": firm, "url": url } }),
        )
        .await;
    let reg = &data["registerWebhook"];
    assert_eq!(reg["webhook"]["url"], json!(url));
    (
        reg["webhook"]["id"].as_str().unwrap().to_string(),
        reg["secret"].as_str().unwrap().to_string(),
    )
}

const DELIVERIES: &str =
    "query($firm: ID!, $first: Int) { webhookDeliveries(partnerFirmId: $firm, first: $first) {
    totalCount edges { node { id event status attemptCount referralId payload
      attempts { number statusCode error } } } } }";

async fn deliveries(app: &TestApp, leader: &str, firm: &str) -> Value {
    let data = app
        .ok_gql(leader, DELIVERIES, json!({ "firm": firm, "first": 100 }))
        .await;
    data["webhookDeliveries"].clone()
}

/// Waits until every delivery of the firm is settled (not PENDING): up to
/// 30 s, since a loaded 2-core CI machine runs several servers at once.
async fn settled(app: &TestApp, leader: &str, firm: &str, n: usize) -> Value {
    for _ in 0..1200 {
        let d = deliveries(app, leader, firm).await;
        let edges = d["edges"].as_array().unwrap();
        if edges.len() >= n && edges.iter().all(|e| e["node"]["status"] != "PENDING") {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "deliveries did not settle: {:#}",
        deliveries(app, leader, firm).await
    );
}

impl TestApp {
    async fn ok_gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let resp = self.gql(Some(token), query, variables).await;
        assert!(resp.get("errors").is_none(), "{resp:#}");
        resp["data"].clone()
    }
}

db_test!(registering_webhooks, |app: TestApp| async move {
    let c = chapter(&app, 1).await;
    let firm_id = firm(&app, &c, "Harbour Bank").await;
    let (id, secret) = register(
        &app,
        &c.leader.token,
        &firm_id,
        "https://hooks.bank.example/rx",
    )
    .await;
    assert!(secret.starts_with("rxwh_") && secret.len() > 40, "{secret}");
    let listed = app
        .ok_gql(
            &c.leader.token,
            "query($g: ID!) { group(id: $g) { partnerFirms { webhooks { id url events deletedAt } } } }",
            json!({ "g": c.group }),
        )
        .await;
    assert_eq!(
        listed["group"]["partnerFirms"][0]["webhooks"],
        json!([{ "id": id, "url": "https://hooks.bank.example/rx",
                 "events": ["referral.created", "referral.status_changed", "referral.thanked"], "deletedAt": null }])
    );

    let before = app.snapshot().await;
    let q = "mutation($input: WebhookInput!) { registerWebhook(input: $input) { secret } }";
    for (url, f) in [
        ("ftp://files.example/x", "input.url"),
        ("not a url", "input.url"),
        ("", "input.url"),
        ("https://user:pw@hooks.example/", "input.url"),
    ] {
        let resp = app
            .gql(
                Some(&c.leader.token),
                q,
                json!({ "input": { "partnerFirmId": firm_id, "url": url } }),
            )
            .await;
        assert_eq!(code(&resp), "BAD_USER_INPUT", "{url}");
        assert_eq!(field(&resp), f);
    }
    let vars = json!({ "input": { "partnerFirmId": firm_id, "url": "https://ok.example/" } });
    let member = &c.members[0];
    let partner = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
    for (t, expected) in [
        (Some(member.token.as_str()), "FORBIDDEN"),
        (Some(partner.as_str()), "FORBIDDEN"),
        (None, "UNAUTHENTICATED"),
    ] {
        assert_eq!(code(&app.gql(t, q, vars.clone()).await), expected);
    }
    let resp = app
        .gql(Some(&member.token), DELIVERIES, json!({ "firm": firm_id }))
        .await;
    assert_eq!(code(&resp), "FORBIDDEN");
    let before_tokens: Vec<_> = before.iter().filter(|t| t.0 != "api_tokens").collect();
    let after = app.snapshot().await;
    let after_tokens: Vec<_> = after.iter().filter(|t| t.0 != "api_tokens").collect();
    assert_eq!(before_tokens, after_tokens);
    // Deleting: leaders only, then gone from the list.
    let del = "mutation($id: ID!) { deleteWebhook(id: $id) { id deletedAt } }";
    assert_eq!(
        code(&app.gql(Some(&member.token), del, json!({ "id": id })).await),
        "FORBIDDEN"
    );
    let gone = app.ok_gql(&c.leader.token, del, json!({ "id": id })).await;
    assert!(gone["deleteWebhook"]["deletedAt"].is_string());
    assert_eq!(
        code(
            &app.gql(Some(&c.leader.token), del, json!({ "id": id }))
                .await
        ),
        "NOT_FOUND"
    );
});

db_test_with!(
    internal_targets_refused_when_configured,
    |s: &mut api::settings::Settings| {
        s.partners.webhook_allow_private_targets = false;
    },
    |app: TestApp| async move {
        let c = chapter(&app, 0).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let q = "mutation($input: WebhookInput!) { registerWebhook(input: $input) { secret } }";
        for url in [
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://169.254.169.254/latest",
        ] {
            let resp = app
                .gql(
                    Some(&c.leader.token),
                    q,
                    json!({ "input": { "partnerFirmId": firm_id, "url": url } }),
                )
                .await;
            assert_eq!(code(&resp), "BAD_USER_INPUT", "{url}");
        }
        register(
            &app,
            &c.leader.token,
            &firm_id,
            "https://hooks.bank.example/rx",
        )
        .await;
    }
);

db_test!(
    signed_deliveries_for_the_firms_events,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let (a, b) = (&c.members[0], &c.members[1]);
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let other_firm = firm(&app, &c, "Quay Law").await;
        let secret_token = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let receiver = Receiver::start(&[]).await;
        let (hook_id, secret) = register(&app, &c.leader.token, &firm_id, &receiver.url()).await;

        // Events that do not concern the firm produce nothing.
        give(&app, a, &b.id).await;
        give(&app, a, &other_firm).await;

        // The firm submits; the member accepts and thanks: three events.
        let id = submit(&app, &secret_token, &a.id, "hook-1").await;
        assert!(
            advance(&app, &a.token, &id, "ACCEPTED", None)
                .await
                .get("errors")
                .is_none()
        );
        app.ok(
            Some(&a.token),
            "ThankGiver",
            json!({ "referralId": id, "note": "Many thanks!" }),
        )
        .await;
        let got = receiver.wait_for(3).await;
        let mut bodies: Vec<(String, Value)> = got
            .iter()
            .map(|r| (r.headers["x-rx-event"].clone(), verified(r, &secret)))
            .collect();
        bodies.sort_by_key(|(_, b)| {
            b["data"]["referral"]["version"].as_i64().unwrap() * 10
                + i64::from(b["type"] == "referral.thanked")
        });
        let events: Vec<&str> = bodies.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(
            events,
            [
                "referral.created",
                "referral.status_changed",
                "referral.thanked"
            ]
        );
        for (event, body) in &bodies {
            assert_eq!(body["type"], json!(event));
            assert_eq!(body["partnerFirmId"], json!(firm_id));
            assert_eq!(body["data"]["referral"]["id"], json!(id));
            assert_eq!(body["data"]["referral"]["direction"], "GIVEN");
            assert_eq!(
                body["data"]["referral"]["giver"],
                json!({ "type": "PARTNER_FIRM", "id": firm_id })
            );
            assert_eq!(
                body["data"]["referral"]["receiver"],
                json!({ "type": "MEMBER", "id": a.id })
            );
            assert!(
                !body.to_string().contains("quinn@prospect.example"),
                "no prospect contact details"
            );
        }
        assert_eq!(bodies[0].1["data"]["referral"]["status"], "SUBMITTED");
        assert_eq!(
            bodies[0].1["data"]["referral"]["absenceReason"],
            "PARTNER_API"
        );
        assert_eq!(bodies[1].1["data"]["referral"]["status"], "ACCEPTED");
        assert_eq!(
            bodies[1].1["data"]["referral"]["previousStatus"],
            "SUBMITTED"
        );
        assert_eq!(bodies[2].1["data"]["note"], "Many thanks!");
        // A referral a member gives to the firm is an event for it too, and a
        // firm's own move is reported back.
        let to_firm = give(&app, b, &firm_id).await;
        crate::partners::partner_advance(&app, &secret_token, &to_firm, "DECLINED", None).await;
        let got = receiver.wait_for(5).await;
        let received: Vec<Value> = got[3..].iter().map(|r| verified(r, &secret)).collect();
        assert!(
            received
                .iter()
                .all(|b| b["data"]["referral"]["direction"] == "RECEIVED")
        );
        // Every delivery id is distinct; the log shows one 200 attempt each.
        let ids: std::collections::HashSet<&String> =
            got.iter().map(|r| &r.headers["x-rx-delivery"]).collect();
        assert_eq!(ids.len(), 5);
        let log = settled(&app, &c.leader.token, &firm_id, 5).await;
        assert_eq!(log["totalCount"], 5);
        for e in log["edges"].as_array().unwrap() {
            assert_eq!(e["node"]["status"], "DELIVERED");
            assert_eq!(e["node"]["attemptCount"], 1);
            assert_eq!(
                e["node"]["attempts"],
                json!([{ "number": 1, "statusCode": 200, "error": null }])
            );
        }
        // Nothing for the other firm, which has no endpoint.
        assert_eq!(app.count("webhook_deliveries").await, 5);

        // After deletion nothing more is sent.
        app.ok_gql(
            &c.leader.token,
            "mutation($id: ID!) { deleteWebhook(id: $id) { id } }",
            json!({ "id": hook_id }),
        )
        .await;
        submit(&app, &secret_token, &a.id, "hook-2").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.requests().len(), 5);
        assert_eq!(app.count("webhook_deliveries").await, 5);
    }
);

db_test!(
    retries_with_backoff_until_delivered,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let a = &c.members[0];
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let partner = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let receiver = Receiver::start(&[500, 503]).await;
        let (_, secret) = register(&app, &c.leader.token, &firm_id, &receiver.url()).await;
        let id = submit(&app, &partner, &a.id, "retry-1").await;
        let got = receiver.wait_for(3).await;
        let log = settled(&app, &c.leader.token, &firm_id, 1).await;
        let node = &log["edges"][0]["node"];
        assert_eq!(node["status"], "DELIVERED");
        assert_eq!(node["referralId"], json!(id));
        assert_eq!(node["attemptCount"], 3);
        assert_eq!(
            node["attempts"],
            json!([
                { "number": 1, "statusCode": 500, "error": "the endpoint answered HTTP 500" },
                { "number": 2, "statusCode": 503, "error": "the endpoint answered HTTP 503" },
                { "number": 3, "statusCode": 200, "error": null },
            ])
        );
        // The same delivery, the same body, each try freshly signed.
        assert_eq!(got.len(), 3);
        for r in &got {
            verified(r, &secret);
            assert_eq!(r.body, got[0].body);
            assert_eq!(r.headers["x-rx-delivery"], got[0].headers["x-rx-delivery"]);
        }
        assert_eq!(node["payload"].as_str().unwrap(), got[0].body);
    }
);

db_test!(
    gives_up_after_the_attempt_limit,
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let partner = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let receiver = Receiver::start(&[500; 10]).await;
        register(&app, &c.leader.token, &firm_id, &receiver.url()).await;
        submit(&app, &partner, &c.members[0].id, "fail-1").await;
        let log = settled(&app, &c.leader.token, &firm_id, 1).await;
        let node = &log["edges"][0]["node"];
        let limit = app.settings.partners.webhook_max_attempts;
        assert_eq!(node["status"], "FAILED");
        assert_eq!(node["attemptCount"], limit);
        assert_eq!(node["attempts"].as_array().unwrap().len(), limit as usize);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.requests().len(), limit as usize);
    }
);

db_test_with!(
    pending_deliveries_survive_a_restart,
    |s: &mut api::settings::Settings| {
        s.partners.webhook_max_attempts = 100;
        s.partners.webhook_backoff_ms = 100;
    },
    |app: TestApp| async move {
        let c = chapter(&app, 1).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let partner = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        // The receiver is down (503) until after the restart. It listens from
        // the start, so no other test can take its port in between.
        let receiver = Receiver::start(&[503; 10_000]).await;
        let url = receiver.url();
        let (_, secret) = register(&app, &c.leader.token, &firm_id, &url).await;
        let id = submit(&app, &partner, &c.members[0].id, "restart-1").await;
        // Wait for a failed try, then stop the server with the delivery pending.
        let mut tried = false;
        for _ in 0..400 {
            let log = deliveries(&app, &c.leader.token, &firm_id).await;
            if log["edges"][0]["node"]["attemptCount"]
                .as_i64()
                .unwrap_or(0)
                >= 1
            {
                assert_eq!(log["edges"][0]["node"]["status"], "PENDING");
                assert_eq!(log["edges"][0]["node"]["attempts"][0]["statusCode"], 503);
                tried = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(tried, "the first try was never made");
        let leader = c.leader.token.clone();
        let app = app.restart().await;
        let failed_before_restart = app.count("webhook_attempts").await;
        assert!(failed_before_restart >= 1);
        // The receiver recovers; the new server delivers what was pending.
        receiver.succeed_from_now();
        let log = settled(&app, &leader, &firm_id, 1).await;
        let node = &log["edges"][0]["node"];
        assert_eq!(node["status"], "DELIVERED");
        let got = receiver.requests();
        let body = verified(got.last().unwrap(), &secret);
        assert_eq!(body["data"]["referral"]["id"], json!(id));
        // Every earlier failure is in the log, then the success.
        let attempts = node["attempts"].as_array().unwrap();
        assert!(attempts.len() as i64 > failed_before_restart);
        assert_eq!(attempts.last().unwrap()["statusCode"], 200);
        assert!(
            attempts[..attempts.len() - 1]
                .iter()
                .all(|a| a["statusCode"] == 503)
        );
        assert_eq!(
            got.len(),
            attempts.len(),
            "one request per attempt, delivered once"
        );
    }
);

db_test!(
    targets_are_checked_again_when_sending,
    |app: TestApp| async move {
        // Registered while private targets were allowed (a development
        // set-up), then the server is redeployed without them: each try
        // resolves the host again and refuses loopback, by name and by IP.
        let c = chapter(&app, 1).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let partner = token(&app, &c.leader.token, &firm_id, ALL_SCOPES).await;
        let receiver = Receiver::start(&[200; 10]).await;
        let by_ip = receiver.url();
        let by_name = by_ip.replace("127.0.0.1", "localhost");
        assert_ne!(by_ip, by_name);
        register(&app, &c.leader.token, &firm_id, &by_ip).await;
        register(&app, &c.leader.token, &firm_id, &by_name).await;
        let leader = c.leader.token.clone();
        let app = app
            .restart_with(|s| {
                s.partners.webhook_allow_private_targets = false;
                s.partners.webhook_max_attempts = 1;
            })
            .await;
        submit(&app, &partner, &c.members[0].id, "private-1").await;
        let log = settled(&app, &leader, &firm_id, 2).await;
        let errors: Vec<String> = log["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["node"]["status"], "FAILED", "{e:#}");
                e["node"]["attempts"][0]["error"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert!(
            errors.iter().any(|e| e.contains("resolves to a loopback")),
            "by name: {errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("the host is a loopback")),
            "by IP: {errors:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(receiver.requests().is_empty(), "nothing reached the target");
    }
);

db_test!(
    two_servers_send_each_delivery_once,
    |app: TestApp| async move {
        // Both servers' workers poll the same table; the conditional claim
        // lets only one of them send each try. (SQLite is one server's
        // database: a second writer process is not a supported deployment.)
        if !app.settings.database_url.starts_with("postgres") {
            return;
        }
        let other = app.second_server().await;
        let c = chapter(&app, 2).await;
        let firm_id = firm(&app, &c, "Harbour Bank").await;
        let receiver = Receiver::start(&[]).await;
        register(&app, &c.leader.token, &firm_id, &receiver.url()).await;
        let writer = token(&app, &c.leader.token, &firm_id, &["REFERRALS_WRITE"]).await;
        // Referrals submitted through both servers, and moved on through both.
        let mut ids = Vec::new();
        for i in 0..6 {
            let server = if i % 2 == 0 { &app } else { &other };
            let member = &c.members[i % 2];
            let id = submit(server, &writer, &member.id, &format!("two-{i}")).await;
            advance(server, &member.token, &id, "ACCEPTED", None).await;
            ids.push(id);
        }
        // Each referral: created, then accepted.
        let expected = ids.len() * 2;
        let log = settled(&app, &c.leader.token, &firm_id, expected).await;
        assert_eq!(log["totalCount"], expected);
        for edge in log["edges"].as_array().unwrap() {
            assert_eq!(edge["node"]["status"], "DELIVERED", "{edge:#}");
            assert_eq!(edge["node"]["attemptCount"], 1, "{edge:#}");
        }
        receiver.wait_for(expected).await;
        // Give a late duplicate time to arrive, then count.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let got = receiver.requests();
        assert_eq!(got.len(), expected, "every delivery sent once, none twice");
        let mut delivery_ids: Vec<&String> =
            got.iter().map(|r| &r.headers["x-rx-delivery"]).collect();
        delivery_ids.sort();
        delivery_ids.dedup();
        assert_eq!(delivery_ids.len(), expected);
    }
);
