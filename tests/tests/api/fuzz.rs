//! A bounded fuzz run over the request path: contract documents cut,
//! spliced and salted with GraphQL punctuation; variables of every JSON
//! shape; methods, content types, `Accept`, `Authorization` and extension
//! headers of every kind; raw bodies. Whatever comes in, the server answers
//! (no dropped connection, which is what a panic looks like from outside),
//! never with a 5xx, and keeps serving.
//!
//! Deterministic: the seed is printed; `RX_FUZZ_SEED` replays a run and
//! `RX_FUZZ_CASES` makes it longer (default 2,000 per database).

use futures_util::StreamExt;
use futures_util::stream;
use serde_json::{Value, json};

use crate::db_test;
use crate::fixtures::chapter;
use crate::helpers::{TestApp, operations};

/// xorshift64*: small, fast and reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const SALT: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "...",
    "$",
    "@",
    ":",
    "=",
    "!",
    "|",
    "&",
    "#",
    "fragment F on Query { me { id } }",
    "...F",
    "... on Member { id }",
    "@skip(if: true)",
    "@include(if: $x)",
    "__typename",
    "__schema { types { name } }",
    "query",
    "mutation",
    "subscription",
    "\"",
    "\"\"\"",
    "\\u0000",
    "\u{0}",
    "\u{feff}",
    "ü",
    "😀",
    "\n",
    "\r",
    "\t",
    "1e309",
    "-0",
    "99999999999999999999",
    "null",
    "true",
    "$input",
    "node(id: \"x\")",
    "a: me { id } b: me { id }",
    "{{{{{{{{{{",
    "}}}}}}}}",
    "((((((((",
    "\"unterminated",
];

/// A contract document, mutated a few times.
fn document(rng: &mut Rng, docs: &[&String]) -> String {
    let mut text: Vec<char> = rng.pick(docs).chars().collect();
    for _ in 0..rng.below(4) {
        let at = rng.below(text.len() + 1);
        match rng.below(5) {
            0 => {
                let end = (at + rng.below(20)).min(text.len());
                text.drain(at..end);
            }
            1 => {
                let salt: Vec<char> = rng.pick(SALT).chars().collect();
                text.splice(at..at, salt);
            }
            2 => text.truncate(at),
            3 => {
                let other: Vec<char> = rng.pick(docs).chars().collect();
                let from = rng.below(other.len());
                let piece = other[from..(from + rng.below(60)).min(other.len())].to_vec();
                text.splice(at..at, piece);
            }
            _ => {
                if at < text.len() {
                    text[at] = *rng.pick(&['{', '}', '$', '"', ' ', 'x', '\u{0}', ':', '@']);
                }
            }
        }
    }
    text.into_iter().collect()
}

/// Any JSON value, up to `depth` levels.
fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 7 } else { 9 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next() as i64),
        3 => json!(*rng.pick(&[0.5, -1.0, 1e300, f64::MIN_POSITIVE])),
        4 => json!(rng.pick(SALT).repeat(1 + rng.below(3))),
        5 => json!(*rng.pick(&[
            "2026-02-30",
            "1999-12-31",
            "",
            "ACCEPTED",
            "WON",
            "-5",
            "1250.00",
            "abc",
            "00000000-0000-0000-0000-000000000000",
            "x@y",
            "9999-99-99T00:00:00Z",
        ])),
        6 => json!("x".repeat(rng.below(5_000))),
        7 => Value::Array((0..rng.below(5)).map(|_| value(rng, depth - 1)).collect()),
        _ => {
            let keys = [
                "input",
                "id",
                "first",
                "after",
                "status",
                "receiverId",
                "groupId",
                "from",
                "to",
                "prospect",
                "email",
                "closedValue",
                "expectedVersion",
                "temperature",
                "scopes",
            ];
            Value::Object(
                (0..rng.below(6))
                    .map(|_| (rng.pick(&keys).to_string(), value(rng, depth - 1)))
                    .collect(),
            )
        }
    }
}

/// One request: method, path, headers, body.
struct Case {
    get: bool,
    query_string: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn case(rng: &mut Rng, docs: &[&String], tokens: &[String]) -> Case {
    let query = document(rng, docs);
    let variables = if rng.chance(20) {
        value(rng, 0)
    } else {
        value(rng, 3)
    };
    let mut envelope = json!({ "query": query, "variables": variables });
    if rng.chance(20) {
        envelope["operationName"] = value(rng, 0);
    }
    if rng.chance(15) {
        let hashes = [json!("0".repeat(64)), json!("zz"), value(rng, 1)];
        let hash = rng.pick(&hashes).clone();
        envelope["extensions"] = json!({ "persistedQuery": {
            "version": value(rng, 0),
            "sha256Hash": hash,
        }});
    }
    if rng.chance(10) {
        envelope = value(rng, 3);
    }
    let mut body = serde_json::to_vec(&envelope).unwrap();
    match rng.below(20) {
        0 => body.truncate(rng.below(body.len() + 1)),
        1 => body = (0..rng.below(300)).map(|_| rng.next() as u8).collect(),
        2 => body = query.clone().into_bytes(),
        _ => {}
    }
    let mut headers = Vec::new();
    if rng.chance(75) {
        headers.push(("content-type".into(), "application/json".into()));
    } else if rng.chance(60) {
        let content_type = *rng.pick(&[
            "application/json",
            "application/json",
            "application/json; charset=utf-8",
            "application/graphql-response+json",
            "application/graphql",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/x-www-form-urlencoded",
            "application/json; charset=latin1",
            "garbage",
        ]);
        headers.push(("content-type".into(), content_type.into()));
    }
    if rng.chance(30) {
        let accept = *rng.pick(&[
            "application/graphql-response+json",
            "application/json",
            "text/html",
            "*/*",
            "text/event-stream",
            "image/png",
            "application/graphql-response+json;q=0.1, application/json",
        ]);
        headers.push(("accept".into(), accept.into()));
    }
    if rng.chance(60) {
        let auth = match rng.below(6) {
            0 | 1 => format!("Bearer {}", rng.pick(tokens)),
            2 => "Bearer ".into(),
            3 => format!("Bearer rx_{}", "a".repeat(rng.below(80))),
            4 => "Basic dXNlcjpwYXNz".into(),
            _ => format!(
                "Bearer {}.{}.{}",
                "eyJhbGciOiJub25lIn0",
                "e30",
                "x".repeat(rng.below(40))
            ),
        };
        headers.push(("authorization".into(), auth));
    }
    if rng.chance(10) {
        headers.push(("x-forwarded-for".into(), "::1, 10.0.0.1".into()));
    }
    let get = rng.chance(15);
    let query_string = if get {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("query", &query);
        if rng.chance(50) {
            url.append_pair("variables", &value(rng, 2).to_string());
        }
        if rng.chance(10) {
            url.append_pair("extensions", "{\"persistedQuery\":1}");
        }
        url.finish()
    } else {
        String::new()
    };
    Case {
        get,
        query_string,
        headers,
        body,
    }
}

db_test!(
    the_request_path_survives_fuzzing,
    |app: TestApp| async move {
        let c = chapter(&app, 2).await;
        let tokens = vec![
            c.leader.token.clone(),
            c.members[0].token.clone(),
            c.admin.clone(),
        ];
        let docs: Vec<&String> = {
            let mut names: Vec<&String> = operations().keys().collect();
            names.sort();
            names.into_iter().map(|n| &operations()[n]).collect()
        };
        let seed: u64 = std::env::var("RX_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        let cases: usize = std::env::var("RX_FUZZ_CASES")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2_000);
        eprintln!("fuzz: seed {seed}, {cases} cases (RX_FUZZ_SEED / RX_FUZZ_CASES replay)");
        let mut rng = Rng(seed);
        let all: Vec<Case> = (0..cases).map(|_| case(&mut rng, &docs, &tokens)).collect();
        let app = &app;
        let outcomes: Vec<(usize, Result<u16, String>)> = stream::iter(all.iter().enumerate())
            .map(|(i, case)| async move {
                let url = if case.get {
                    format!("{}?{}", app.url("/graphql"), case.query_string)
                } else {
                    app.url("/graphql")
                };
                let mut req = if case.get {
                    app.client.get(url)
                } else {
                    app.client.post(url).body(case.body.clone())
                };
                for (name, value) in &case.headers {
                    req = req.header(name, value);
                }
                let answer = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        // The body must arrive whole, too.
                        match resp.bytes().await {
                            Ok(_) => Ok(status),
                            Err(e) => Err(format!("body cut off: {e}")),
                        }
                    }
                    Err(e) => Err(format!("no answer: {e}")),
                };
                (i, answer)
            })
            .buffer_unordered(8)
            .collect()
            .await;
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        for (i, outcome) in &outcomes {
            let case = &all[*i];
            let describe = || {
                format!(
                    "case {i} of seed {seed}: {} {:?} headers {:?} body {:?}",
                    if case.get { "GET" } else { "POST" },
                    case.query_string,
                    case.headers,
                    String::from_utf8_lossy(&case.body)
                )
            };
            match outcome {
                Ok(status) => {
                    assert!(*status < 500, "{status} for {}", describe());
                    *statuses.entry(*status).or_default() += 1;
                }
                Err(e) => panic!("{e} for {}", describe()),
            }
        }
        eprintln!("fuzz: statuses {statuses:?}");
        // Some cases got through to the resolvers (200), some were refused.
        assert!(
            statuses.contains_key(&200) && statuses.keys().any(|s| *s >= 400),
            "{statuses:?}"
        );
        // Still serving (a fresh member: the fuzzed requests may have
        // signed the others out).
        let (token, _) = app
            .register("after@example.com", "Ada After", "Notary")
            .await;
        let me = app.ok(Some(&token), "Me", json!({})).await;
        assert_eq!(me["me"]["name"], "Ada After");
    }
);
