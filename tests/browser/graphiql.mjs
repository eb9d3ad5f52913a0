// GraphiQL in a real browser: Debian's Chromium, driven headless through
// playwright-core, opens the server's GraphiQL page, puts a member's access
// token in the Headers tab, runs the default `Me` query and checks that the
// member's name and email come back. Any Content-Security-Policy violation or
// uncaught page error fails the run. A screenshot is saved, and one JSON line
// on stdout summarises what happened; on failure the process exits non-zero
// and says why on stderr (the screenshot is still taken if the page exists).
//
//   RX_ACCESS_TOKEN=<token> node tests/browser/graphiql.mjs \
//     --base http://127.0.0.1:8080 --name 'Ann Example' --email ann@example.org \
//     --screenshot target/test-output/graphiql/graphiql.png --chromium /usr/bin/chromium
//
// The token comes from the environment so it does not show in process lists.
// Run by the Rust test `graphiql_in_chromium` (tests/tests/api/graphiql_browser.rs);
// `scripts/ensure-playwright` installs playwright-core (`npm ci`).

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';

const started = Date.now();
const { values: opts } = parseArgs({
  options: {
    base: { type: 'string' },
    name: { type: 'string' },
    email: { type: 'string' },
    screenshot: { type: 'string' },
    chromium: { type: 'string', default: process.env.RX_CHROMIUM },
    timeout: { type: 'string', default: '30000' },
  },
});
const token = process.env.RX_ACCESS_TOKEN;
for (const [what, value] of Object.entries({ ...opts, 'RX_ACCESS_TOKEN': token })) {
  if (!value) {
    console.error(`graphiql.mjs: missing ${what.startsWith('RX_') ? what : `--${what}`}`);
    process.exit(2);
  }
}
const timeout = Number(opts.timeout);

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error(`graphiql.mjs: playwright-core is not installed (run scripts/ensure-playwright): ${e.message}`);
  process.exit(3);
}

const summary = {
  ok: false,
  url: `${opts.base}/graphql`,
  browser: null,
  cspViolations: [],
  pageErrors: [],
  consoleErrors: [],
  failedRequests: [],
  headers: null,
  result: null,
  screenshot: null,
  ms: null,
};

let browser;
let page;
let failure = null;
try {
  browser = await chromium.launch({
    executablePath: opts.chromium,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    timeout,
  });
  summary.browser = browser.version();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(timeout);

  // Violations are reported to the page as events (and logged to the console);
  // the init script is injected by the browser, so the CSP does not apply to it.
  await page.exposeFunction('__rxCspViolation', (v) => summary.cspViolations.push(v));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__rxCspViolation({
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        source: e.sourceFile ? `${e.sourceFile}:${e.lineNumber}:${e.columnNumber}` : null,
        sample: e.sample || null,
      });
    });
  });
  page.on('pageerror', (e) => summary.pageErrors.push(String(e.stack || e)));
  page.on('console', (m) => {
    if (m.type() === 'error') {
      const at = m.location()?.url;
      summary.consoleErrors.push(at ? `${m.text()} (${at})` : m.text());
    }
  });
  page.on('requestfailed', (r) =>
    summary.failedRequests.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400) summary.failedRequests.push(`${r.request().method()} ${r.url()}: HTTP ${r.status()}`);
  });

  const response = await page.goto(summary.url, { waitUntil: 'load' });
  if (!response || response.status() !== 200) {
    throw new Error(`GET ${summary.url} answered ${response?.status()}`);
  }
  const csp = response.headers()['content-security-policy'] || '';
  if (!csp.includes("script-src 'self'")) {
    throw new Error(`the page came without its strict Content-Security-Policy: ${JSON.stringify(csp)}`);
  }

  // The query editor is up and holds the default `Me` query.
  const query = page.locator('.graphiql-query-editor .CodeMirror');
  await query.waitFor({ state: 'visible' });
  const queryText = await query.evaluate((el) => el.CodeMirror.getValue());
  if (!/query Me\b/.test(queryText)) {
    throw new Error(`the query editor does not hold the default Me query: ${JSON.stringify(queryText)}`);
  }

  // The Headers tab, then the token typed into its editor as a person would.
  await page.locator('button[data-name="headers"]').click();
  const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await headersEditor.waitFor({ state: 'visible' });
  await headersEditor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  const wanted = `{"Authorization": "Bearer ${token}"}`;
  await page.keyboard.type(wanted);
  await page.keyboard.press('Home'); // the screenshot shows the start of the line
  // The editor closes brackets and quotes as they open; typing over a closing
  // one replaces it, so the text should come out exactly as typed. Check.
  summary.headers = await headersEditor.evaluate((el) => el.CodeMirror.getValue());
  let parsed;
  try {
    parsed = JSON.parse(summary.headers);
  } catch {
    parsed = null;
  }
  if (parsed?.Authorization !== `Bearer ${token}` || Object.keys(parsed).length !== 1) {
    throw new Error(`the headers editor holds ${JSON.stringify(summary.headers)}, not ${JSON.stringify(wanted)}`);
  }

  // Run it; the result pane shows the member.
  await page.locator('.graphiql-execute-button').click();
  const result = page.locator('.graphiql-response .CodeMirror');
  try {
    await page.waitForFunction(
      ({ name, email }) => {
        const cm = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror;
        const text = cm ? cm.getValue() : '';
        return text.includes(name) && text.includes(email);
      },
      { name: opts.name, email: opts.email },
      { timeout },
    );
  } catch (e) {
    const shown = await result.evaluate((el) => el.CodeMirror.getValue()).catch(() => null);
    summary.result = shown;
    throw new Error(
      `the result pane did not show ${opts.name} <${opts.email}> within ${timeout} ms; it shows ${JSON.stringify(shown)} (${e.message.split('\n')[0]})`,
    );
  }
  summary.result = await result.evaluate((el) => el.CodeMirror.getValue());
  let answer;
  try {
    answer = JSON.parse(summary.result);
  } catch {
    throw new Error(`the result pane is not JSON: ${summary.result}`);
  }
  const me = answer?.data?.me;
  if (answer.errors || me?.name !== opts.name || me?.email !== opts.email || !me?.id) {
    throw new Error(`the result pane shows ${summary.result}`);
  }
  // Rendered, not only held by the editor: the visible text has the name too.
  const visible = await result.innerText();
  if (!visible.includes(opts.name)) {
    throw new Error(`the result pane does not display the name: ${JSON.stringify(visible)}`);
  }
  if (summary.cspViolations.length > 0) {
    throw new Error(`Content-Security-Policy violations: ${JSON.stringify(summary.cspViolations)}`);
  }
  if (summary.pageErrors.length > 0) {
    throw new Error(`errors in the page: ${summary.pageErrors.join('\n')}`);
  }
  // The browser's own request for /favicon.ico (the server has none) is
  // the only console error expected; anything else is a fault in the page.
  const unexpected = summary.consoleErrors.filter((e) => !e.endsWith('/favicon.ico)'));
  if (unexpected.length > 0) {
    throw new Error(`console errors: ${unexpected.join('\n')}`);
  }
  summary.ok = true;
} catch (e) {
  failure = e;
} finally {
  if (page) {
    try {
      mkdirSync(dirname(opts.screenshot), { recursive: true });
      await page.screenshot({ path: opts.screenshot, timeout: 10000 });
      summary.screenshot = opts.screenshot;
    } catch (e) {
      if (!failure) failure = new Error(`screenshot failed: ${e.message}`);
    }
  }
  await browser?.close().catch(() => {});
}

// Never the token in the output.
summary.ms = Date.now() - started;
if (summary.headers) summary.headers = summary.headers.replaceAll(token, '<token>');
console.log(JSON.stringify(summary));
if (failure) {
  console.error(`graphiql.mjs: FAILED: ${String(failure.message || failure).replaceAll(token, '<token>')}`);
  process.exit(1);
}
