//! How fast hostile GraphQL documents are refused, and what they cost the
//! other clients — as ratios against the floor measured in the same run, so
//! a busy machine moves both sides alike.
//!
//! `cargo bench -p tests --bench refusals` (or `scripts/bench`): an
//! in-process server on a temporary SQLite database, release build.
//! - Each hostile shape is sent `ROUNDS` times, one at a time; its p50 and
//!   p99 are set against `{ __typename }` (the floor of the HTTP + GraphQL
//!   path) measured the same way.
//! - Then a member's `Me` is timed alone and while eight clients keep
//!   sending the worst shape: the ratio is what the flood costs others.

use std::time::{Duration, Instant};

use api::settings::Settings;
use api::startup::Application;
use serde_json::{Value, json};

const ROUNDS: usize = 300;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

struct Figures {
    p50: Duration,
    p99: Duration,
}

async fn time(client: &reqwest::Client, url: &str, token: Option<&str>, body: &Value) -> Figures {
    let mut took = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let mut req = client.post(url).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let started = Instant::now();
        let resp = req.send().await.expect("answered");
        resp.bytes().await.expect("whole body");
        took.push(started.elapsed());
    }
    took.sort();
    Figures {
        p50: percentile(&took, 0.5),
        p99: percentile(&took, 0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/bench.db?mode=rwc", dir.path().display());
        let mut settings = Settings::for_database(&url);
        settings.workers = 2;
        let app = Application::build(settings).await.expect("server builds");
        let base = format!("http://127.0.0.1:{}/graphql", app.port());
        tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();

        let floor = time(&client, &base, None, &json!({ "query": "{ __typename }" })).await;
        println!("| document | bytes | p50 | p99 | p50 ÷ floor |");
        println!("|---|---|---|---|---|");
        println!(
            "| `{{ __typename }}` (the floor) | 14 | {} | {} | 1.0 |",
            ms(floor.p50),
            ms(floor.p99)
        );
        for (what, doc, _) in tests::hostile() {
            let f = time(&client, &base, None, &json!({ "query": doc })).await;
            println!(
                "| {what} | {} | {} | {} | {:.1} |",
                doc.len(),
                ms(f.p50),
                ms(f.p99),
                f.p50.as_secs_f64() / floor.p50.as_secs_f64()
            );
        }

        // What a flood of the worst shape costs a member's `Me`.
        let register = json!({
            "query": "mutation($i: RegisterInput!) { register(input: $i) { accessToken } }",
            "variables": { "i": { "email": "bench@example.com", "password": "correct horse battery",
                "name": "Bea Bench", "profession": "Notary" } },
        });
        let r: Value = client
            .post(&base)
            .json(&register)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = r["data"]["register"]["accessToken"]
            .as_str()
            .unwrap()
            .to_string();
        let me = json!({ "query": "{ me { id name email } }" });
        let alone = time(&client, &base, Some(&token), &me).await;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut flood = Vec::new();
        for _ in 0..8 {
            let (client, base, stop) = (client.clone(), base.clone(), stop.clone());
            let body = json!({ "query": tests::fan_out(9, 10) });
            flood.push(tokio::spawn(async move {
                let mut sent = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = client
                        .post(&base)
                        .json(&body)
                        .send()
                        .await
                        .map(|r| r.bytes());
                    sent += 1;
                }
                sent
            }));
        }
        let started = Instant::now();
        let flooded = time(&client, &base, Some(&token), &me).await;
        let elapsed = started.elapsed();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut refused = 0;
        for f in flood {
            refused += f.await.unwrap();
        }
        println!();
        println!("| `{{ me {{ id name email }} }}` | p50 | p99 |");
        println!("|---|---|---|");
        println!("| alone | {} | {} |", ms(alone.p50), ms(alone.p99));
        println!(
            "| with 8 clients sending the 10 × 9 fan-out ({:.0} refusals/s) | {} | {} |",
            refused as f64 / elapsed.as_secs_f64(),
            ms(flooded.p50),
            ms(flooded.p99)
        );
        println!(
            "| ratio (flooded ÷ alone), p50 | {:.1} | |",
            flooded.p50.as_secs_f64() / alone.p50.as_secs_f64()
        );
    });
}
