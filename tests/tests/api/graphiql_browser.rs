//! GraphiQL in a real browser: Debian's Chromium, driven headless by
//! `tests/browser/graphiql.mjs` (playwright-core, installed by
//! `scripts/ensure-playwright`), loads the page from the test's server under
//! its strict Content-Security-Policy, runs the default `Me` query with a
//! member's token typed into the Headers tab and finds the member in the
//! result. A screenshot is kept under `target/test-output/graphiql/`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

/// Longest the browser run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace holds tests/")
        .to_path_buf()
}

/// Node and playwright-core, when `scripts/ensure-playwright` installed
/// them. Without them the check skips loudly, unless the suite was told the
/// browser must be there (`RX_REQUIRE_CHROMIUM`, as for Chromium itself).
fn playwright() -> Option<PathBuf> {
    let script = workspace().join("tests/browser/graphiql.mjs");
    let installed = workspace().join("tests/browser/node_modules/playwright-core/package.json");
    // "v20.11.1": playwright-core needs Node.js 20 or newer.
    let node_major = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout);
            v.trim()
                .trim_start_matches('v')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        });
    let missing = match (node_major, installed.exists()) {
        (None, _) => "Node.js is not installed".to_string(),
        (Some(v), _) if v < 20 => format!("Node.js {v} is older than 20"),
        (_, false) => "playwright-core is not installed in tests/browser/node_modules \
            (scripts/ensure-playwright runs npm ci)"
            .to_string(),
        _ => return Some(script),
    };
    assert!(
        std::env::var("RX_REQUIRE_CHROMIUM").is_err(),
        "RX_REQUIRE_CHROMIUM is set but {missing}"
    );
    eprintln!(
        "\n*** SKIPPING the GraphiQL browser check: {missing}; run the suite with scripts/test ***\n"
    );
    None
}

fn output_dir() -> PathBuf {
    let dir = workspace()
        .join("target")
        .join("test-output")
        .join("graphiql");
    std::fs::create_dir_all(&dir).expect("output dir");
    dir
}

db_test!(graphiql_in_chromium, |app: TestApp| async move {
    let (token, id) = app
        .register("grace@example.org", "Grace Hopper", "Rear admiral")
        .await;
    // What the API itself answers, for the page to show.
    let me = app.ok(Some(&token), "Me", json!({})).await;
    assert_eq!(me["me"]["id"], id.as_str());
    let name = me["me"]["name"].as_str().unwrap().to_string();
    let email = me["me"]["email"].as_str().unwrap().to_string();

    let Some(bin) = crate::report_page::chromium() else {
        return;
    };
    let Some(script) = playwright() else { return };

    let backend = if app.settings.database_url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let png = output_dir().join(format!("graphiql-{backend}.png"));
    let _ = std::fs::remove_file(&png);

    let started = Instant::now();
    let mut cmd = std::process::Command::new("timeout");
    cmd.arg("--kill-after=10")
        .arg(BROWSER_TIMEOUT.as_secs().to_string())
        .arg("node")
        .arg(&script)
        .args(["--base", &app.base, "--name", &name, "--email", &email])
        .arg("--screenshot")
        .arg(&png)
        .args(["--chromium", &bin])
        // Not on the command line, where process lists would show it.
        .env("RX_ACCESS_TOKEN", &token);
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .expect("join")
        .expect("node runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains(&token) && !stderr.contains(&token),
        "the token never appears in the browser check's output"
    );
    assert!(
        out.status.code() != Some(124),
        "the browser check did not finish within {BROWSER_TIMEOUT:?}\n{stdout}\n{stderr}"
    );
    assert!(
        out.status.success(),
        "the browser check failed ({}) after {took:?}:\n{stderr}\n{stdout}",
        out.status
    );
    let summary: Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary from the browser check: {stdout}\n{stderr}"));
    assert_eq!(summary["ok"], true, "{summary:#}");
    assert_eq!(summary["cspViolations"], json!([]), "{summary:#}");
    assert_eq!(summary["pageErrors"], json!([]), "{summary:#}");
    let result: Value = serde_json::from_str(summary["result"].as_str().unwrap()).unwrap();
    assert_eq!(
        result,
        json!({ "data": { "me": { "id": id, "name": name, "email": email } } }),
        "the result pane shows the member"
    );

    let bytes = std::fs::read(&png).expect("screenshot written");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 20_000,
        "a real screenshot ({} bytes)",
        bytes.len()
    );
    eprintln!(
        "GraphiQL in Chromium ({}, {backend}): {took:.1?}; screenshot {}; console errors: {}; failed requests: {}",
        summary["browser"].as_str().unwrap_or("?"),
        png.display(),
        summary["consoleErrors"],
        summary["failedRequests"]
    );
});
