// End-to-end tests of the web app: headless Chromium (Debian's `chromium`, driven by
// playwright-core: no browser is downloaded) against a real `jobber serve` on a fresh
// data dir and a random loopback port, with its embedded PostgreSQL. The app comes
// from where the binary finds it by default: embedded in a release build, ui/dist of
// its source tree in a debug build.
//
//   JOBBER_BIN=../target/debug/jobber node e2e/run.mjs     (make test-e2e)
//
// Each step prints ok/FAIL; the run ends with "N passed, N failed". Screenshots of
// each main screen at desktop and phone width go to docs/screenshots/. Under CI=true
// a missing browser or binary fails the run; elsewhere it skips, loudly.
import { execFileSync, spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const ui = resolve(here, "..");
const root = resolve(ui, "..");
const ci = process.env.CI === "true";
const bin = process.env.JOBBER_BIN ?? join(root, "target/debug/jobber");
const browserPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const dist = join(ui, "dist");
const shots = join(root, "docs/screenshots");
const axeSource = readFileSync(join(ui, "node_modules/axe-core/axe.min.js"), "utf8");

function missing(what) {
  if (ci) {
    console.error(`e2e: ${what} (CI=true: a missing peer fails the run)`);
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  console.error(`\n*** e2e: SKIPPED: ${what} ***\n`);
  process.exit(0);
}

if (!existsSync(browserPath)) missing(`no Chromium at ${browserPath}: run scripts/install-test-deps.sh`);
if (!existsSync(bin)) missing(`no jobber binary at ${bin}: run cargo build (or set JOBBER_BIN)`);
if (!existsSync(join(dist, "index.html"))) missing("the web app is not built: run npm run build in ui/");

async function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

// ---- the server ----------------------------------------------------------------
const dataDir = mkdtempSync(join(tmpdir(), "jobber-e2e-"));
// Started as root, jobber runs as an unprivileged user: it must reach its data dir.
chmodSync(dataDir, 0o755);
const port = await freePort();
const adminPort = await freePort();
const base = `http://127.0.0.1:${port}`;
const serverLog = [];
const server = spawn(
  bin,
  [
    "serve",
    "--data-dir", dataDir,
    "--listen", `127.0.0.1:${port}`,
    "--admin-listen", `127.0.0.1:${adminPort}`,
    "--log", "warn",
  ],
  {
    stdio: ["ignore", "pipe", "pipe"],
    env: Object.fromEntries(Object.entries({ ...process.env, JOBBER_PUBLIC_URL: base }).filter(([k]) => k !== "JOBBER_BIN")),
  },
);
server.stdout.on("data", (d) => serverLog.push(d.toString()));
server.stderr.on("data", (d) => serverLog.push(d.toString()));
let serverExited = null;
server.on("exit", (code, signal) => (serverExited = code ?? signal));

async function waitReady() {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (serverExited !== null) throw new Error(`jobber serve exited (${serverExited}):\n${serverLog.join("")}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`jobber serve was not ready within 120 s:\n${serverLog.join("")}`);
}

// ---- the steps -----------------------------------------------------------------
let passed = 0;
let failed = 0;
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${String(error?.stack ?? error).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/** axe-core in the page: no violations of WCAG 2.x level A or AA. */
async function axe(page, screen) {
  // Evaluated through the DevTools protocol: the app's CSP (rightly) refuses any
  // inline <script>, which is what addScriptTag would insert.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, {
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] },
    });
    return r.violations.map(
      (v) => `${v.id} (${v.impact}): ${v.help} -> ${v.nodes.map((n) => `${n.target.join(" ")} [${n.any[0]?.message ?? n.failureSummary}]`).slice(0, 3).join(", ")}`,
    );
  });
  expect(result.length === 0, `axe found on ${screen}:\n       ${result.join("\n       ")}`);
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s) of a base32 secret at a 30-second step. */
function totp(base32, step) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const value = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, "0");
}

const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } };
async function screenshots(page, name) {
  mkdirSync(shots, { recursive: true });
  const original = page.viewportSize();
  for (const [kind, size] of Object.entries(viewports)) {
    await page.setViewportSize(size);
    // Let the layout settle (the drawer's slide, lazy chunks) before the picture.
    await page.waitForTimeout(400);
    await page.screenshot({ path: join(shots, `${name}-${kind}.png`) });
  }
  if (original) await page.setViewportSize(original);
}

let browser;
let exitCode = 1;
try {
  await waitReady();
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"],
  });
  const context = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/New_York" });
  const page = await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  // A fresh data dir each run: fixed names are unique and read well in screenshots.
  const owner = { business: "Bright Spark Electric", name: "Olive Owner", email: "olive@brightspark.example", password: "correct horse battery staple" };
  const client = { first: "Marguerite", last: "Quill", email: "marguerite@quillgardens.example", phone: "+1 503 555 0134", city: "Portland" };

  await step("jobber serve prints the address to open", async () => {
    expect(serverLog.join("").includes(`jobber is ready: open ${base} in your browser`), "no 'jobber is ready' line");
  });

  await step("the committed API types match the server's OpenAPI document", async () => {
    const doc = join(dataDir, "openapi.json");
    const types = join(dataDir, "schema.d.ts");
    writeFileSync(doc, await (await fetch(`${base}/api/v1/openapi.json`)).text());
    execFileSync(join(ui, "node_modules/.bin/openapi-typescript"), [doc, "-o", types], { stdio: "ignore" });
    const same = readFileSync(types, "utf8") === readFileSync(join(ui, "src/api/schema.d.ts"), "utf8");
    expect(same, "ui/src/api/schema.d.ts is stale: run  sh ui/scripts/gen-api.sh  and commit it");
  });

  await step("first load: under 200 kB of JavaScript (compressed); paint times with the CPU slowed 4x", async () => {
    const fresh = await browser.newContext({ viewport: viewports.desktop });
    const first = await fresh.newPage();
    const cdp = await fresh.newCDPSession(first);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 4 });
    const scripts = [];
    first.on("requestfinished", async (request) => {
      if (request.resourceType() === "script") scripts.push((await request.sizes()).responseBodySize);
    });
    await first.goto(`${base}/sign-in`, { waitUntil: "commit" });
    // When the form is there and usable: the page is interactive for a person.
    const ready = await first.evaluate(
      () =>
        new Promise((done) => {
          const check = () => (document.querySelector("form input[type=email]") ? done(Math.round(performance.now())) : requestAnimationFrame(check));
          check();
        }),
    );
    await first.waitForLoadState("networkidle");
    const timing = await first.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const fcp = performance.getEntriesByName("first-contentful-paint")[0];
      return { fcp: Math.round(fcp?.startTime ?? -1), load: Math.round(nav?.loadEventEnd ?? -1) };
    });
    const kb = scripts.reduce((a, b) => a + b, 0) / 1024;
    console.log(`     first load of /sign-in: ${scripts.length} scripts, ${kb.toFixed(1)} kB of JavaScript over the wire; ` +
      `CPU 4x slower: first contentful paint ${timing.fcp} ms, sign-in form ready ${ready} ms, load ${timing.load} ms`);
    await fresh.close();
    expect(kb > 10 && kb < 200, `initial JavaScript is ${kb.toFixed(1)} kB`);
  });

  await step("a signed-out visitor is sent to sign in; the page is accessible", async () => {
    await page.goto(`${base}/clients`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    expect(new URL(page.url()).pathname === "/sign-in", `at ${page.url()}`);
    await axe(page, "sign-in");
    await screenshots(page, "sign-in");
  });

  await step("sign up lands on the dashboard", async () => {
    await page.getByRole("link", { name: "Create an account" }).click();
    await page.getByLabel("Business name").fill(owner.business);
    await page.getByLabel("Your name").fill(owner.name);
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await screenshots(page, "sign-up");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("heading", { name: /Good (morning|afternoon|evening), Olive/ }).waitFor();
    await page.getByText(owner.business).first().waitFor();
    await page.getByRole("link", { name: /Visits today/ }).waitFor();
  });

  await step("the dashboard is accessible", async () => {
    await axe(page, "dashboard");
    await screenshots(page, "dashboard");
  });

  await step("create a client", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
    await page.getByRole("heading", { name: "Add your first client" }).waitFor();
    await page.getByRole("main").getByRole("link", { name: "New client" }).first().click();
    await page.getByRole("heading", { name: "New client" }).waitFor();
    // A server-side field error shows at its field (an email the API refuses).
    await page.getByLabel("First name").fill(client.first);
    await page.getByLabel("Email").fill("not an email");
    await page.getByRole("button", { name: "Save client" }).click();
    const email = page.getByLabel("Email");
    await page.waitForFunction(() => document.querySelector("input[name=email]")?.getAttribute("aria-invalid") === "true");
    const described = await email.evaluate((el) => document.getElementById(el.getAttribute("aria-describedby").split(" ").pop())?.textContent);
    expect(described && described.length > 0, "the email field's error is announced");
    expect(await email.evaluate((el) => el === document.activeElement), "the field at fault has the focus");
    await screenshots(page, "client-form-error");
    await email.fill(client.email);
    await page.getByLabel("Last name").fill(client.last);
    await page.getByLabel("Phone").fill(client.phone);
    await page.getByLabel("Street").fill("12 Larch Lane");
    await page.getByLabel("City").fill(client.city);
    await page.getByLabel("Tags").fill("vip, spring");
    await page.getByRole("button", { name: "Save client" }).click();
    await page.getByRole("heading", { name: `${client.first} ${client.last}` }).waitFor();
    await page.getByRole("link", { name: client.email }).waitFor();
  });

  await step("find the client by search and open it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
    await page.getByRole("searchbox", { name: "Search clients" }).fill("quil");
    const row = page.getByRole("link", { name: new RegExp(`${client.first} ${client.last}`) });
    await row.waitFor();
    await page.waitForFunction(() => new URL(location.href).searchParams.has("q"));
    await axe(page, "clients");
    await screenshots(page, "clients-search");
    await page.getByRole("searchbox", { name: "Search clients" }).fill("zzzz-nobody-by-this-name");
    await page.getByRole("heading", { name: "No clients match" }).waitFor();
    await page.getByRole("searchbox", { name: "Search clients" }).fill(client.last);
    await row.click();
    await page.getByRole("heading", { name: `${client.first} ${client.last}` }).waitFor();
    await page.getByRole("heading", { name: "Properties" }).waitFor();
    await page.getByText("No quotes for this client yet.").waitFor();
    await axe(page, "client page");
    await screenshots(page, "client");
  });

  await step("edit the client", async () => {
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByRole("heading", { name: `Edit ${client.first} ${client.last}` }).waitFor();
    await page.getByLabel("Company").fill("Quill Gardens");
    await page.getByLabel("Notes").fill("Gate code 4412. Dog is friendly.");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Gate code 4412. Dog is friendly.").waitFor();
    await page.getByText("Quill Gardens").waitFor();
  });

  await step("the clients list pages through the API's cursor and renders only what is visible", async () => {
    // 150 more clients, made through the API with the page's session.
    await page.evaluate(async () => {
      const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
      const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf_token };
      for (let i = 0; i < 150; i += 10) {
        await Promise.all(
          Array.from({ length: 10 }, (_, j) =>
            fetch("/api/v1/clients", { method: "POST", headers, body: JSON.stringify({ company_name: `Acme Branch ${String(i + j + 1).padStart(3, "0")}` }) }),
          ),
        );
      }
    });
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
    const list = page.getByRole("list", { name: "Clients" });
    await list.getByRole("listitem").first().waitFor();
    const total = 151;
    for (let i = 0; i < 40; i += 1) {
      const done = await page.evaluate((expected) => {
        const scroller = document.querySelector(".list__scroller");
        scroller.scrollTop = scroller.scrollHeight;
        const rows = [...document.querySelectorAll(".list__row")];
        return rows.some((r) => r.getAttribute("aria-setsize") === String(expected) && r.getAttribute("aria-posinset") === String(expected));
      }, total);
      if (done) break;
      await page.waitForTimeout(150);
    }
    const rendered = await list.getByRole("listitem").count();
    const last = await list.getByRole("listitem").last().getAttribute("aria-posinset");
    expect(last === String(total), `scrolled to row ${last} of ${total}`);
    expect(rendered < 60, `${rendered} rows in the page for ${total} clients`);
    await page.evaluate(() => (document.querySelector(".list__scroller").scrollTop = 0));
    await screenshots(page, "clients");
  });

  await step("a section still to come says so", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedule" }).click();
    await page.getByRole("heading", { name: /Schedule is coming/ }).waitFor();
  });

  await step("a forged request without the CSRF token is refused", async () => {
    const status = await page.evaluate(async () => {
      const r = await fetch("/api/v1/clients", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ company_name: "Forged Ltd" }),
      });
      return { status: r.status, code: (await r.json()).code };
    });
    expect(status.status === 403 && status.code === "csrf_failed", `got ${JSON.stringify(status)}`);
  });

  await step("the app's files are cached and precompressed", async () => {
    const html = await fetch(`${base}/`);
    expect(html.headers.get("cache-control") === "no-cache", "index.html is no-cache");
    expect((html.headers.get("content-security-policy") ?? "").includes("script-src 'self'"), "CSP");
    const script = (await html.text()).match(/src="(\/assets\/[^"]+\.js)"/)?.[1];
    expect(script, "index.html names its script");
    const asset = await fetch(`${base}${script}`, { headers: { "accept-encoding": "br" } });
    expect(asset.headers.get("cache-control")?.includes("immutable"), "assets are immutable");
    expect(asset.headers.get("content-encoding") === "br", `br, got ${asset.headers.get("content-encoding")}`);
  });

  await step("sign out returns to sign in, and the office is closed", async () => {
    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.goto(`${base}/clients`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  });

  await step("sign in again goes back where the person was headed", async () => {
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Clients", exact: true }).waitFor();
    expect(new URL(page.url()).pathname === "/clients", `at ${page.url()}`);
  });

  await step("two-step sign-in asks for the authenticator code", async () => {
    // Turn TOTP on through the API with the page's own session (cookie + CSRF token).
    const secret = await page.evaluate(async () => {
      const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
      const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf_token };
      const setup = await (await fetch("/api/v1/auth/totp/setup", { method: "POST", headers })).json();
      return { secret: setup.secret, csrf_token };
    });
    const now = Math.floor(Date.now() / 30_000);
    const enabled = await page.evaluate(async ({ code, csrf_token }) => {
      const r = await fetch("/api/v1/auth/totp/enable", {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf_token },
        body: JSON.stringify({ code }),
      });
      return r.status;
    }, { code: totp(secret.secret, now), csrf_token: secret.csrf_token });
    expect(enabled === 200, `enable answered ${enabled}`);
    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("Email").fill(owner.email);
    await page.getByLabel("Password").fill(owner.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Two-step verification" }).waitFor();
    await axe(page, "two-step verification");
    await screenshots(page, "sign-in-code");
    // A wrong code is refused at the form; the next step's code (each step counts once) opens the office.
    await page.getByLabel("Authentication code").fill("000000");
    await page.getByRole("button", { name: "Verify and sign in" }).click();
    await page.getByText("That code is not valid").waitFor();
    await page.getByLabel("Authentication code").fill(totp(secret.secret, now + 1));
    await page.getByRole("button", { name: "Verify and sign in" }).click();
    await page.getByRole("heading", { name: /Good (morning|afternoon|evening), Olive/ }).waitFor();
  });

  await step("no errors in the browser console", async () => {
    // The 401 of the signed-out session check and the refused forgery are expected.
    const unexpected = consoleErrors.filter((e) => !/status of (401|403|422)/.test(e));
    expect(unexpected.length === 0, unexpected.join("\n"));
  });
  exitCode = failed === 0 ? 0 : 1;
} catch (error) {
  failed += 1;
  console.log(`FAIL e2e set-up\n     ${error?.stack ?? error}`);
} finally {
  await browser?.close().catch(() => {});
  server.kill("SIGTERM");
  await new Promise((r) => (serverExited !== null ? r() : server.once("exit", r)));
  if (failed > 0) console.log(`--- jobber serve log ---\n${serverLog.join("").slice(-4000)}`);
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? exitCode : 1);
