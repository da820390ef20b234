// The browser half of srrd/tests/ui_browser.rs: headless Debian chromium
// driven by playwright-core, one step per JSON line from the test over a
// unix socket (so the test keeps the scenario and the timing).
//
//   node driver.mjs SOCKET CONFIG.json
//
// CONFIG: { "certificates": [{ "origin", "certPath", "keyPath" }], "home" }.
// A request is {"op": ..., ...}; the answer {"ok": true, "value": ...} or
// {"ok": false, "error": "..."}.

import { createServer } from "node:net";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [socketPath, configPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, "utf8"));

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({
  clientCertificates: config.certificates,
  // The nodes' certificates come from the cluster's own CA.
  ignoreHTTPSErrors: true,
  viewport: { width: 1400, height: 900 },
});
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
page.on("console", (m) => {
  // An API refusal (4xx/5xx) is the page's to show, not a page error.
  if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console: ${m.text()}`);
});

const ops = {
  async goto({ url }) {
    await page.goto(url, { waitUntil: "load" });
    // Marks this document: `marked` tells whether it is still the same one.
    await page.evaluate(() => (window.srrdTestMark = true));
  },
  marked: () => page.evaluate(() => window.srrdTestMark === true),
  // Waits until the first element of `selector` shows `text`; the ms it took.
  // A navigation on the way (switching nodes) is waited through.
  async wait({ selector, text, timeout }) {
    const start = Date.now();
    for (;;) {
      try {
        await page.waitForFunction(([s, t]) => {
          const el = document.querySelector(s);
          return !!el && el.innerText.includes(t);
        }, [selector, text], { timeout: Math.max(1, timeout - (Date.now() - start)), polling: 20 });
        return Date.now() - start;
      } catch (e) {
        if (!/context was destroyed|navigat/i.test(String(e)) || Date.now() - start > timeout) throw e;
      }
    }
  },
  text: ({ selector }) => page.locator(selector).first().innerText({ timeout: 5000 }),
  attr: ({ selector, name }) => page.locator(selector).first().getAttribute(name, { timeout: 5000 }),
  // Each element's attribute `name` (for reading tables).
  attrs: ({ selector, name }) => page.locator(selector).evaluateAll((els, n) => els.map((e) => e.getAttribute(n)), name),
  click: ({ selector }) => page.locator(selector).first().click({ timeout: 5000 }),
  fill: ({ selector, value }) => page.locator(selector).first().fill(value, { timeout: 5000 }),
  select: ({ selector, value }) => page.locator(selector).first().selectOption(value, { timeout: 5000 }).then(() => {}),
  screenshot: ({ path }) => page.screenshot({ path, fullPage: true }).then(() => {}),
  url: () => page.url(),
  problems: () => problems.splice(0),
};

async function answer(line) {
  let request;
  try {
    request = JSON.parse(line);
    const op = ops[request.op];
    if (!op) throw new Error(`no op ${request.op}`);
    const value = await op(request);
    return { ok: true, value: value ?? null };
  } catch (e) {
    return { ok: false, error: String(e && e.message ? e.message : e) };
  }
}

const server = createServer((socket) => {
  const lines = createInterface({ input: socket });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    queue = queue.then(async () => socket.write(JSON.stringify(await answer(line)) + "\n"));
  });
  socket.on("close", async () => {
    await browser.close();
    server.close();
    process.exit(0);
  });
});
server.listen(socketPath, () => console.log(`driver listening on ${socketPath}`));
