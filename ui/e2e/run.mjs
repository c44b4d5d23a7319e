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
// `node e2e/run.mjs office-flow.mjs hub.mjs`: the main flow, then only the named files
// (all of them without arguments).
const only = process.argv.slice(2).map((a) => a.replace(/^.*\//, "").replace(/\.mjs$/, ""));
const wanted = (name) => only.length === 0 || only.includes(name);
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

// The phone is the narrowest the app promises to serve (issues 12 and 13: "from 360 px").
const viewports = { desktop: { width: 1280, height: 800 }, phone: { width: 360, height: 780 } };

/**
 * What a phone's screen must not do, found on each screen the run pictures at phone width:
 * scroll sideways (a table, a toolbar or a long name wider than the screen), or offer a
 * main action smaller than a thumb (under 44 px high). Each problem names the screen and
 * the elements; all of them fail one step at the end of the run ("every screen fits a
 * 360 px phone"), so one run lists every screen to fix and a flow is not cut short.
 */
const phoneProblems = [];
async function fitsPhone(page, screen) {
  const found = await page.evaluate(() => {
    const width = window.innerWidth;
    const describe = (el) => {
      const classes = typeof el.className === "string" && el.className.trim() ? `.${el.className.trim().split(/\s+/).join(".")}` : "";
      const label = el.getAttribute("aria-label") ?? el.textContent ?? "";
      const text = label.replace(/\s+/g, " ").trim().slice(0, 40);
      const r = el.getBoundingClientRect();
      return `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${classes}> ${Math.round(r.left)}..${Math.round(r.right)} px${text ? ` "${text}"` : ""}`;
    };
    const visible = (el) => {
      const r = el.getBoundingClientRect();
      const s = getComputedStyle(el);
      return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none";
    };
    const problems = [];
    const scrollWidth = document.documentElement.scrollWidth;
    if (scrollWidth > width) {
      // Where an element's overflow reaches the page: no ancestor that scrolls or clips
      // holds it (such an ancestor is reported itself if it sticks out; an absolutely
      // placed element, like a visually hidden label, escapes the clip of a box that is
      // not positioned), and it is not fixed to the screen (a drawer slid away).
      const reaches = (el) => {
        let style = getComputedStyle(el);
        if (style.position === "fixed") return false;
        let absolute = style.position === "absolute";
        for (let e = el.parentElement; e && e !== document.documentElement; e = e.parentElement) {
          style = getComputedStyle(e);
          if (style.position === "fixed") return false;
          const positioned = style.position !== "static";
          if ((!absolute || positioned) && style.overflowX !== "visible") return false;
          if (positioned) absolute = style.position === "absolute";
        }
        return true;
      };
      const all = [...document.body.querySelectorAll("*")].filter((el) => visible(el) && reaches(el));
      // Its box past the right edge, or only its content (a long word in a box that fits).
      const box = new Set(all.filter((el) => el.getBoundingClientRect().right > width + 0.5));
      const content = all.filter(
        (el) => !box.has(el) && getComputedStyle(el).overflowX === "visible" && el.getBoundingClientRect().left + el.scrollWidth > width + 0.5,
      );
      const out = new Set([...box, ...content]);
      // Where the layout breaks (a box past the edge in a parent that fits) and what is
      // too wide (nothing inside it sticks out).
      const outer = [...box].filter((el) => !box.has(el.parentElement)).slice(0, 4);
      const inner = [...out].filter((el) => ![...el.children].some((c) => out.has(c))).slice(0, 4);
      problems.push(`scrolls sideways (${scrollWidth} px wide on a ${width} px screen): ${[...new Set([...outer, ...inner])].map(describe).join("; ") || "no element found"}`);
    }
    // The main actions: buttons and links styled as buttons, inputs and selects.
    const small = [...document.querySelectorAll("main .button, main button, main input:not([type=checkbox]):not([type=radio]):not([type=color]):not([type=file]), main select, .topbar button")]
      .filter((el) => visible(el) && !el.closest(".visually-hidden, [aria-hidden=true]") && el.getBoundingClientRect().height < 44)
      // Not on the screen at all: a honeypot field kept away from people.
      .filter((el) => el.getBoundingClientRect().right > 0 && el.getBoundingClientRect().left < window.innerWidth)
      // A text link in a sentence is not a target of its own; the schedule's cards are
      // sized by the time they take (they are 48 px at their smallest in a day).
      .filter((el) => !el.classList.contains("link-button") && !el.closest(".sgrid, .month"));
    if (small.length > 0) problems.push(`${small.length} controls under 44 px high: ${small.slice(0, 6).map(describe).join("; ")}`);
    return problems;
  });
  for (const problem of found) {
    phoneProblems.push(`${screen}: ${problem}`);
    console.log(`     at 360 px, ${screen} ${problem}`);
  }
}

/** Both widths' pictures of the screen; `show` (a locator): the part to bring into view at
 * each width, just under the top bar (the phone's layout puts it further down). */
async function screenshots(page, name, { show } = {}) {
  mkdirSync(shots, { recursive: true });
  const original = page.viewportSize();
  for (const [kind, size] of Object.entries(viewports)) {
    await page.setViewportSize(size);
    // Let the layout settle (the drawer's slide, lazy chunks) before the picture.
    await page.waitForTimeout(400);
    if (show) await show.evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 72));
    await page.screenshot({ path: join(shots, `${name}-${kind}.png`) });
    if (kind === "phone") await fitsPhone(page, name);
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

  await step("the clients list filters by tag and by status, on the server", async () => {
    // Two branches closed down: archived (through the API with the page's session).
    const archived = await page.evaluate(async () => {
      const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
      const names = ["Acme Branch 001", "Acme Branch 002"];
      const done = [];
      for (const name of names) {
        const found = (await (await fetch("/api/v1/clients?limit=200")).json()).items.find((c) => c.company_name === name);
        const r = await fetch(`/api/v1/clients/${found.id}`, {
          method: "PUT",
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf_token },
          body: JSON.stringify({ company_name: name, status: "archived", version: found.version }),
        });
        done.push(r.status);
      }
      return done;
    });
    expect(archived.join() === "200,200", `archived: ${archived}`);
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Clients" }).click();
    const list = page.getByRole("list", { name: "Clients" });
    await list.getByRole("listitem").first().waitFor();
    const names = () => page.$$eval(".list__row .list__name", (els) => els.map((e) => e.textContent));
    const tag = page.getByRole("textbox", { name: "Tag", exact: true });
    // One tag: the one client who has it.
    await tag.fill("vip");
    await page.waitForURL(/[?&]tag=vip\b/);
    await page.waitForFunction(() => document.querySelectorAll(".list__row").length === 1);
    expect((await names()).join() === `${client.first} ${client.last}`, `tagged vip: ${await names()}`);
    // And a status she does not have: none.
    await page.getByLabel("Status").selectOption("archived");
    await page.getByRole("heading", { name: "No clients match" }).waitFor();
    // The status alone: the two archived branches, badged so.
    await tag.fill("");
    await page.waitForFunction(() => !new URL(location.href).searchParams.has("tag") && document.querySelectorAll(".list__row").length === 2);
    expect((await names()).sort().join() === "Acme Branch 001,Acme Branch 002", `archived: ${await names()}`);
    expect((await list.locator(".badge--archived").count()) === 2, "both rows say archived");
    expect(new URL(page.url()).searchParams.get("status") === "archived", `the address keeps the filter: ${page.url()}`);
    await axe(page, "clients (filtered)");
    await screenshots(page, "clients-filtered");
    // Active and tagged "spring": her again; the archived ones are not among the active.
    await page.getByLabel("Status").selectOption("active");
    await tag.fill("spring");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("tag") === "spring" && document.querySelectorAll(".list__row").length === 1);
    expect((await names()).join() === `${client.first} ${client.last}`, `active and spring: ${await names()}`);
    const active = await page.evaluate(async () => (await (await fetch("/api/v1/clients?status=active&limit=200")).json()).items.length);
    expect(active === 149, `${active} active clients of 151`);
    await tag.fill("");
    await page.getByLabel("Status").selectOption("");
    await page.waitForFunction(() => !location.search);
  });

  await step("an address the app does not know says so, inside the office", async () => {
    // Every section of the office has its screens now (no "coming soon" is left).
    await page.goto(`${base}/no-such-section`);
    await page.getByRole("heading", { name: "There is no page here" }).waitFor();
    await page.getByRole("navigation", { name: "Main" }).waitFor();
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
    // Turn it on in Settings → Your sign-in, with a code computed here from the key shown.
    await page.goto(`${base}/settings/security`);
    await page.getByRole("button", { name: "Set up two-step verification" }).click();
    const key = (await page.getByLabel("Setup key").inputValue()).replace(/\s+/g, "");
    const secret = { secret: key };
    const now = Math.floor(Date.now() / 30_000);
    await page.getByLabel("The 6-digit code your app shows").fill(totp(key, now));
    await page.getByRole("button", { name: "Turn on" }).click();
    const codes = page.getByRole("list", { name: "Recovery codes" });
    await codes.waitFor();
    expect((await codes.getByRole("listitem").count()) === 10, "ten recovery codes");
    await page.getByRole("list", { name: "Your sign-ins" }).getByText("This browser").waitFor();
    // Signing up in the browser left no API login behind (the sign-up's tokens are ended).
    expect((await page.getByRole("list", { name: "Your sign-ins" }).getByRole("listitem").count()) === 1, "only this browser is signed in");
    await axe(page, "your sign-in");
    await screenshots(page, "settings-security");
    await page.getByRole("button", { name: "I have saved them" }).click();
    await page.getByText(/10 recovery codes are left/).waitFor();
    await page.getByRole("button", { name: /Account menu/ }).click();
    await page.getByRole("button", { name: "Sign out", exact: true }).click();
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

  // ---- jobs and the schedule --------------------------------------------------------
  const tech = { name: "Theo Tran", email: "theo@brightspark.example", password: "wire nut lantern 42" };
  const dispatcher = { name: "Dana Diaz", email: "dana@brightspark.example", password: "route planner 2026" };
  const sched = {};
  /** fetch in the page with its session (cookie + CSRF token); the JSON answer and status. */
  const call = (p, method, path, body) =>
    p.evaluate(
      async ({ method, path, body }) => {
        const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
        const r = await fetch(path, {
          method,
          headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf_token },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: r.status, body: r.status === 204 ? null : await r.json() };
      },
      { method, path, body },
    );
  /** The local date (account zone) of an instant. */
  const localDate = (iso, timeZone) => new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(iso));
  const plusDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
  /** Drag with the mouse from the centre of one element to the centre of another, in small steps. */
  async function dragTo(p, from, to) {
    const a = await from.boundingBox();
    const b = await to.boundingBox();
    expect(a && b, "both ends of the drag are on screen");
    await p.mouse.move(a.x + a.width / 2, a.y + Math.min(20, a.height / 2));
    await p.mouse.down();
    await p.mouse.move(a.x + a.width / 2 + 8, a.y + 12, { steps: 3 });
    await p.mouse.move(b.x + b.width / 2, b.y + Math.min(30, b.height / 2), { steps: 12 });
    await p.mouse.up();
  }

  await step("the team: a technician and a dispatcher", async () => {
    const session = await call(page, "GET", "/api/v1/auth/session");
    sched.timeZone = session.body.account.time_zone;
    for (const [who, role] of [[tech, "technician"], [dispatcher, "dispatcher"]]) {
      const r = await call(page, "POST", "/api/v1/users", { name: who.name, email: who.email, password: who.password, role });
      expect(r.status === 201, `create ${role}: ${r.status} ${JSON.stringify(r.body)}`);
      who.id = r.body.id;
    }
    const clients = await call(page, "GET", `/api/v1/clients?q=${encodeURIComponent(client.last)}`);
    sched.clientId = clients.body.items[0].id;
    // The Monday of this week in the account's zone, and its Wednesday.
    const todayLocal = localDate(new Date().toISOString(), sched.timeZone);
    const dow = (new Date(`${todayLocal}T00:00:00Z`).getUTCDay() + 6) % 7;
    sched.monday = plusDays(todayLocal, -dow);
    sched.wednesday = plusDays(sched.monday, 2);
  });

  await step("create a job with a visit for the technician in the app; the job page shows it", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    await page.getByRole("heading", { name: "Create your first job" }).waitFor();
    await page.getByRole("main").getByRole("link", { name: "New job" }).first().click();
    await page.getByRole("heading", { name: "New job" }).waitFor();
    // Nothing filled in: the form says what is missing, at the fields.
    await page.getByRole("button", { name: "Create job" }).click();
    await page.waitForFunction(() => document.querySelector("select[name=client_id]")?.getAttribute("aria-invalid") === "true");
    await page.getByLabel("Find a client").fill(client.last);
    await page.waitForFunction(() => [...document.querySelectorAll("select[name=client_id] option")].some((o) => o.textContent.includes("Quill")));
    await page.getByLabel("Client", { exact: true }).selectOption({ label: `${client.first} ${client.last}` });
    await page.getByLabel("Title").fill("Replace porch lights");
    await page.getByLabel("Instructions").fill("Ladder in the garage.");
    await page.getByLabel("Item 1").fill("Porch light fitting");
    await page.getByLabel("Quantity").fill("2");
    await page.getByLabel(/Unit price/).fill("45");
    await page.getByLabel("Date", { exact: true }).fill(sched.wednesday);
    await page.getByLabel("Start time").fill("10:00");
    await page.getByLabel("Length (minutes)").fill("90");
    await page.getByRole("group", { name: "Assign to" }).getByLabel(tech.name).check();
    await axe(page, "new job");
    await page.getByRole("button", { name: "Create job" }).click();
    await page.getByRole("heading", { name: /^#\S+ Replace porch lights$/ }).waitFor();
    sched.jobId = new URL(page.url()).pathname.split("/").pop();
    const job = (await call(page, "GET", `/api/v1/jobs/${sched.jobId}`)).body;
    expect(job.total === 9000 && job.visits.length === 1, `total ${job.total}, ${job.visits.length} visits`);
    expect(job.visits[0].assignee_ids[0] === tech.id, "the visit is the technician's");
    sched.visitId = job.visits[0].id;
    await page.getByRole("link", { name: `${client.first} ${client.last}` }).waitFor();
    await page.getByText(tech.name).waitFor();
    await page.getByRole("cell", { name: "Porch light fitting" }).waitFor();
    await axe(page, "job page");
    await screenshots(page, "job");
  });

  await step("office notes on a job: add, edit your own, with author and time", async () => {
    await page.getByRole("button", { name: "Add note" }).click();
    await page.getByText("Write the note first.").waitFor();
    await page.getByLabel("Add a note").fill("Gate code 4417. Dog in the yard.");
    await page.getByRole("button", { name: "Add note" }).click();
    const notes = page.locator(".job-notes");
    await notes.getByText("Gate code 4417. Dog in the yard.").waitFor();
    await page.getByRole("button", { name: /Edit your note/ }).click();
    await page.getByLabel("Note", { exact: true }).fill("Gate code 4418. Dog in the yard.");
    await page.getByRole("button", { name: "Save note" }).click();
    await notes.getByText("Gate code 4418. Dog in the yard.").waitFor();
    await notes.getByText(/edited/).waitFor();
    const listed = (await call(page, "GET", `/api/v1/jobs/${sched.jobId}/notes`)).body;
    expect(listed.length === 1 && listed[0].body === "Gate code 4418. Dog in the yard.", JSON.stringify(listed));
    await axe(page, "job notes");
    await screenshots(page, "job-notes", { show: page.locator(".job-notes") });
  });

  await step("a recurring job: the rule editor writes the rule and previews the visits", async () => {
    await page.goto(`${base}/jobs/new`);
    await page.getByLabel("Find a client").fill(client.last);
    await page.waitForFunction(() => [...document.querySelectorAll("select[name=client_id] option")].some((o) => o.textContent.includes("Quill")));
    await page.getByLabel("Client", { exact: true }).selectOption({ label: `${client.first} ${client.last}` });
    await page.getByLabel("Title").fill("Lighting check");
    await page.getByLabel("Repeats", { exact: true }).check();
    await page.getByLabel("First day").fill(sched.monday);
    await page.getByLabel("Start time").fill("08:00");
    await page.getByLabel("Every", { exact: true }).fill("2");
    await page.getByLabel("Unit", { exact: true }).selectOption("WEEKLY");
    const days = page.getByRole("group", { name: "On" });
    await days.getByLabel("Monday").check();
    await days.getByLabel("Thursday").check();
    await page.getByLabel("After a number of visits").check();
    await page.getByLabel("Visits", { exact: true }).fill("10");
    await page.getByText("Every 2 weeks on Monday and Thursday, 10 times").waitFor();
    await page.getByText("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10").waitFor();
    // The preview is the server's (POST /jobs/recurrence/preview), asked once the rule settles.
    await page.waitForFunction(() => document.querySelectorAll(".rule-preview li").length === 5 && !document.querySelector(".rule-preview--stale"));
    expect((await page.locator(".rule-preview li").first().textContent()).includes("8:00"), "the first visit at 08:00 local time");
    await page.getByText(/10 visits are planned when the job is created/).waitFor();
    await axe(page, "new recurring job");
    await screenshots(page, "job-new-recurring");
    await page.getByRole("button", { name: "Create job" }).click();
    await page.getByRole("heading", { name: /Lighting check/ }).waitFor();
    await page.getByText("Every 2 weeks on Monday and Thursday, 10 times").waitFor();
    const id = new URL(page.url()).pathname.split("/").pop();
    const job = (await call(page, "GET", `/api/v1/jobs/${id}`)).body;
    expect(job.recurrence?.rrule === "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;COUNT=10", `rrule ${job.recurrence?.rrule}`);
    sched.recurringId = id;
  });

  await step("a stale edit says who changed what, and saves over it only when asked", async () => {
    const id = sched.recurringId;
    // Dana, the dispatcher, works from another device (the API with her own sign-in).
    const login = await fetch(`${base}/api/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: dispatcher.email, password: dispatcher.password }),
    });
    expect(login.status === 200, `Dana signs in: ${login.status}`);
    const { access_token: danaToken } = await login.json();
    const asDana = async (method, path, body) => {
      const r = await fetch(`${base}${path}`, {
        method,
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${danaToken}` },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: await r.json() };
    };
    const danaEdits = async (change) => {
      const job = (await asDana("GET", `/api/v1/jobs/${id}`)).body;
      const lines = job.lines.map((l) => ({ catalog_item_id: l.catalog_item_id, name: l.name, description: l.description, quantity: l.quantity, unit_price: l.unit_price, taxable: l.taxable }));
      const r = await asDana("PUT", `/api/v1/jobs/${id}`, { title: job.title, instructions: job.instructions, billing: job.billing, lines, version: job.version, ...change });
      expect(r.status === 200, `Dana's edit: ${r.status} ${JSON.stringify(r.body)}`);
    };

    // The owner opens the job's form and retitles it; meanwhile Dana adds the gate code.
    await page.getByRole("main").getByRole("link", { name: "Edit", exact: true }).click();
    await page.getByRole("heading", { name: /^Edit job/ }).waitFor();
    await page.getByLabel("Title").fill("Lighting check (quarterly)");
    await danaEdits({ instructions: "Side gate code 2468" });
    await page.getByRole("button", { name: "Save changes" }).click();
    // Nothing is overwritten: the form says who changed what, yours and theirs.
    const notice = page.getByRole("region", { name: /^Dana Diaz changed this job at / });
    await notice.waitFor();
    const row = notice.getByRole("row", { name: /Instructions/ });
    await row.waitFor();
    expect((await row.textContent()).includes("Side gate code 2468"), "Dana's instructions are shown as theirs");
    expect((await notice.getByRole("row").count()) === 2, "only the field Dana changed is listed");
    expect(await page.getByRole("button", { name: "Save changes" }).isDisabled(), "the form waits for a choice");
    expect((await call(page, "GET", `/api/v1/jobs/${id}`)).body.title !== "Lighting check (quarterly)", "nothing saved yet");
    await axe(page, "stale edit");
    await screenshots(page, "stale-edit");
    // Saving over theirs is a deliberate second request, on Dana's version.
    await notice.getByRole("button", { name: "Save mine over theirs" }).click();
    await page.getByRole("heading", { name: /Lighting check \(quarterly\)/ }).waitFor();
    const saved = (await call(page, "GET", `/api/v1/jobs/${id}`)).body;
    expect(saved.title === "Lighting check (quarterly)", `the owner's title: ${saved.title}`);

    // Cancelling after another change of Dana's: the live connection may already have
    // brought it; if not, the dialog says who changed the job and reloads theirs.
    await danaEdits({ instructions: "Side gate code 1357" });
    await page.getByRole("button", { name: "Cancel job" }).click();
    const dialog = page.getByRole("dialog", { name: "Cancel this job?" });
    await dialog.getByRole("button", { name: "Cancel job" }).click();
    const stale = dialog.getByRole("region", { name: /^Dana Diaz changed this job/ });
    if (await stale.waitFor({ timeout: 3000 }).then(() => true, () => false)) {
      await stale.getByRole("button", { name: "Reload theirs" }).click();
      await page.getByRole("button", { name: "Cancel job" }).click();
      await page.getByRole("dialog", { name: "Cancel this job?" }).getByRole("button", { name: "Cancel job" }).click();
    }
    await page.getByRole("heading", { name: /Lighting check \(quarterly\)/ }).waitFor();
    await page.locator(".page-header .badge--cancelled").waitFor();
  });

  await step("the jobs list filters by status and searches", async () => {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Jobs" }).click();
    const list = page.getByRole("list", { name: "Jobs" });
    await list.getByRole("link", { name: /Replace porch lights/ }).waitFor();
    await list.getByRole("link", { name: /Lighting check/ }).waitFor();
    await page.getByLabel("Status").selectOption("cancelled");
    await page.waitForFunction(() => document.querySelectorAll(".list__row").length === 1);
    await list.getByRole("link", { name: /Lighting check/ }).waitFor();
    await axe(page, "jobs");
    await screenshots(page, "jobs");
    await page.getByLabel("Status").selectOption("");
    await page.getByLabel("Search jobs").fill("porch");
    await page.waitForURL(/[?&]q=porch/);
    await page.waitForFunction(() => document.querySelectorAll(".list__row").length === 1);
    await list.getByRole("link", { name: /Replace porch lights/ }).waitFor();
    await page.getByLabel("Search jobs").fill("");
    await list.getByRole("link", { name: /Lighting check/ }).waitFor();
  });

  await step("the schedule shows the visit in the technician's lane; drag it to the next day", async () => {
    await page.goto(`${base}/schedule?view=week&date=${sched.wednesday}`);
    await page.getByRole("heading", { name: "Schedule", exact: true }).waitFor();
    const card = page.locator(`[data-drop-date="${sched.wednesday}"][data-drop-lane="${tech.id}"] [data-visit-id="${sched.visitId}"]`);
    await card.waitFor();
    const target = page.locator(`[data-drop-date="${plusDays(sched.wednesday, 1)}"][data-drop-lane="${tech.id}"]`);
    await dragTo(page, card, target);
    await page.locator(`[data-drop-date="${plusDays(sched.wednesday, 1)}"][data-drop-lane="${tech.id}"] [data-visit-id="${sched.visitId}"]`).waitFor();
    let visit;
    for (let i = 0; i < 40; i += 1) {
      visit = (await call(page, "GET", `/api/v1/visits/${sched.visitId}`)).body;
      if (localDate(visit.starts_at, sched.timeZone) === plusDays(sched.wednesday, 1)) break;
      await page.waitForTimeout(150);
    }
    expect(localDate(visit.starts_at, sched.timeZone) === plusDays(sched.wednesday, 1), `the server has it on ${visit.starts_at}`);
    const local = new Intl.DateTimeFormat("en-GB", { timeZone: sched.timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(visit.starts_at));
    expect(local === "10:00", `the time is kept: ${local}`);
    expect(visit.assignee_ids.length === 1 && visit.assignee_ids[0] === tech.id, "still the technician's");
    await page.getByText(/^Moved /).waitFor();
    await axe(page, "schedule (week)");
    await screenshots(page, "schedule-week");
  });

  await step("the Move dialog (keyboard): a double booking asks first, then books anyway", async () => {
    // A second visit for the technician on Thursday at 13:00.
    const r = await call(page, "POST", "/api/v1/jobs", {
      client_id: sched.clientId,
      title: "Inspect panel",
      schedule: { start_date: plusDays(sched.wednesday, 1), start_time: "13:00", duration_minutes: 60, assignee_ids: [tech.id] },
    });
    expect(r.status === 201, `second job: ${r.status}`);
    const second = r.body.visits[0].id;
    const card = page.locator(`[data-visit-id="${second}"]`);
    await card.waitFor();
    await card.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: /Move visit/ });
    await dialog.waitFor();
    await dialog.getByLabel("Start time").fill("10:30");
    await axe(page, "the Move dialog");
    await dialog.getByRole("button", { name: "Move visit" }).click();
    const conflict = page.getByRole("dialog", { name: "That time is taken" });
    await conflict.waitFor();
    await conflict.getByText(new RegExp(`${tech.name} is already booked`)).waitFor();
    await conflict.getByRole("button", { name: "Book anyway" }).click();
    await conflict.waitFor({ state: "detached" });
    const visit = (await call(page, "GET", `/api/v1/visits/${second}`)).body;
    const local = new Intl.DateTimeFormat("en-GB", { timeZone: sched.timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(visit.starts_at));
    expect(local === "10:30", `booked anyway at ${local}`);
  });

  await step("the day view lays visits on a timeline; drag changes the time", async () => {
    const thursday = plusDays(sched.wednesday, 1);
    await page.goto(`${base}/schedule?view=day&date=${thursday}`);
    const card = page.locator(`[data-drop-lane="${tech.id}"] [data-visit-id="${sched.visitId}"]`);
    await card.waitFor();
    // The timeline is wider than the screen: bring 10:00 to the left edge first.
    await page.evaluate(() => (document.querySelector(".sgrid").scrollLeft = 300));
    const box = await card.boundingBox();
    const timeline = page.locator(`.sgrid__timeline[data-drop-lane="${tech.id}"]`);
    const scale = Number(await timeline.getAttribute("data-drop-scale"));
    // Two hours later: 12:00.
    await page.mouse.move(box.x + 10, box.y + 10);
    await page.mouse.down();
    await page.mouse.move(box.x + 30, box.y + 10, { steps: 3 });
    await page.mouse.move(box.x + 10 + 120 * scale, box.y + 10, { steps: 10 });
    await page.mouse.up();
    let local;
    for (let i = 0; i < 40; i += 1) {
      const visit = (await call(page, "GET", `/api/v1/visits/${sched.visitId}`)).body;
      local = new Intl.DateTimeFormat("en-GB", { timeZone: sched.timeZone, hour: "2-digit", minute: "2-digit" }).format(new Date(visit.starts_at));
      if (local === "12:00") break;
      await page.waitForTimeout(150);
    }
    expect(local === "12:00", `moved to ${local}`);
    await axe(page, "schedule (day)");
    await screenshots(page, "schedule-day");
  });

  await step("a visit dragged from the unscheduled list gets a day, a time and the technician", async () => {
    const r = await call(page, "POST", "/api/v1/jobs", { client_id: sched.clientId, title: "Fit smoke alarms" });
    expect(r.status === 201 && !r.body.visits[0].starts_at, `an unscheduled job: ${r.status}`);
    const visitId = r.body.visits[0].id;
    await page.goto(`${base}/schedule?view=week&date=${sched.wednesday}`);
    const card = page.locator(`.unscheduled [data-visit-id="${visitId}"]`);
    await card.waitFor();
    const tuesday = plusDays(sched.monday, 1);
    await dragTo(page, card, page.locator(`[data-drop-date="${tuesday}"][data-drop-lane="${tech.id}"]`));
    await page.locator(`[data-drop-date="${tuesday}"][data-drop-lane="${tech.id}"] [data-visit-id="${visitId}"]`).waitFor();
    let visit;
    for (let i = 0; i < 40; i += 1) {
      visit = (await call(page, "GET", `/api/v1/visits/${visitId}`)).body;
      if (visit.starts_at) break;
      await page.waitForTimeout(150);
    }
    expect(visit.starts_at && localDate(visit.starts_at, sched.timeZone) === tuesday, `scheduled on ${visit.starts_at}`);
    expect(visit.assignee_ids.length === 1 && visit.assignee_ids[0] === tech.id, "the technician's");
    await page.getByRole("heading", { name: /Unscheduled/ }).getByText("0").waitFor();
  });

  await step("a second person's schedule follows a move live, without a reload", async () => {
    const other = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/New_York" });
    try {
      const page2 = await other.newPage();
      page2.on("pageerror", (e) => consoleErrors.push(`second browser: ${e}`));
      await page2.goto(`${base}/sign-in`);
      await page2.getByLabel("Email").fill(dispatcher.email);
      await page2.getByLabel("Password").fill(dispatcher.password);
      await page2.getByRole("button", { name: "Sign in" }).click();
      await page2.getByRole("heading", { name: /Good (morning|afternoon|evening), Dana/ }).waitFor();
      await page2.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Schedule" }).click();
      await page2.getByRole("heading", { name: "Schedule", exact: true }).waitFor();
      if (!new URL(page2.url()).searchParams.get("date")) await page2.goto(`${base}/schedule?view=week&date=${sched.wednesday}`);
      await page2.locator(`[data-visit-id="${sched.visitId}"]`).first().waitFor();
      // Wait for the live connection to be subscribed.
      await page2.waitForTimeout(500);
      await page2.evaluate(() => (window.__sameDocument = true));
      const friday = plusDays(sched.wednesday, 2);
      const current = (await call(page, "GET", `/api/v1/visits/${sched.visitId}`)).body;
      const r = await call(page, "PUT", `/api/v1/schedule/jobs/${sched.visitId}`, { start_date: friday, start_time: "15:00", version: current.version });
      expect(r.status === 200, `move by API: ${r.status} ${JSON.stringify(r.body)}`);
      await page2.locator(`[data-drop-date="${friday}"][data-drop-lane="${tech.id}"] [data-visit-id="${sched.visitId}"]`).waitFor({ timeout: 10_000 });
      expect(await page2.evaluate(() => window.__sameDocument === true), "the page was not reloaded");
    } finally {
      await other.close();
    }
  });

  await step("2,000 visits in a week: the schedule draws only what is visible and stays quick", async () => {
    const lanes = [tech.id, dispatcher.id, null];
    const started = Date.now();
    const made = await page.evaluate(
      async ({ clientId, monday, lanes }) => {
        const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
        const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf_token };
        let ok = 0;
        // 286 daily jobs of 7 visits: 2,002 visits from Monday to Sunday.
        // Six at a time: at 22 at once the server once answered 500 "current transaction is
        // aborted" to a few (reported; not this screen's business).
        for (let i = 0; i < 286; i += 6) {
          const batch = await Promise.all(
            Array.from({ length: Math.min(6, 286 - i) }, (_, j) => {
              const n = i + j;
              const lane = lanes[n % lanes.length];
              const minutes = 7 * 60 + (n % 44) * 15;
              const time = `${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`;
              return fetch("/api/v1/jobs", {
                method: "POST",
                headers,
                body: JSON.stringify({
                  client_id: clientId,
                  title: `Route stop ${n + 1}`,
                  schedule: { start_date: monday, start_time: time, duration_minutes: 45, rrule: "FREQ=DAILY;COUNT=7", assignee_ids: lane ? [lane] : [], allow_overlap: true },
                }),
              }).then((r) => r.status);
            }),
          );
          ok += batch.filter((st) => st === 201).length;
        }
        return ok;
      },
      { clientId: sched.clientId, monday: sched.monday, lanes },
    );
    expect(made === 286, `${made} of 286 jobs made`);
    console.log(`     made 286 jobs with 2,002 visits in ${Date.now() - started} ms`);
    const t0 = Date.now();
    await page.goto(`${base}/schedule?view=week&date=${sched.monday}`);
    await page.locator(".sgrid__more").first().waitFor();
    const week = Date.now() - t0;
    const weekCards = await page.locator(".sgrid .visit").count();
    const t1 = Date.now();
    await page.getByRole("button", { name: "Day", exact: true }).click();
    await page.locator(".sgrid__timeline .visit").first().waitFor();
    const day = Date.now() - t1;
    const dayCards = await page.locator(".sgrid .visit").count();
    console.log(`     week view: ${weekCards} cards drawn in ${week} ms (page load and API included); day view: ${dayCards} cards in ${day} ms`);
    expect(weekCards <= 4 * 7 * 4, `${weekCards} cards drawn in the week view`);
    expect(dayCards < 600, `${dayCards} cards drawn in the day view`);
    expect(week < 15_000 && day < 5_000, "quick enough");
    // Still responsive: a frame within 100 ms while scrolling the day view.
    const frame = await page.evaluate(async () => {
      const scroller = document.querySelector(".sgrid");
      const t = performance.now();
      scroller.scrollTop = scroller.scrollHeight / 2;
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t;
    });
    console.log(`     a scroll of the day view painted in ${Math.round(frame)} ms`);
    // A loose bound: the machine running the tests may be busy; this catches a freeze.
    expect(frame < 1000, `a scroll took ${frame} ms to paint`);
    await page.getByRole("button", { name: "Month", exact: true }).click();
    await page.locator(".month .visit").first().waitFor();
    await axe(page, "schedule (month)");
    await screenshots(page, "schedule-month-busy");
    await page.getByRole("button", { name: "Week", exact: true }).click();
    await page.locator(".sgrid__more").first().waitFor();
    await screenshots(page, "schedule-week-busy");
  });

  if (wanted("settings-reports")) await (await import("./settings-reports.mjs")).run({ browser, step, expect, axe, screenshots, viewports, bin });
  if (wanted("office-flow")) await (await import("./office-flow.mjs")).run({ browser, step, expect, axe, screenshots, viewports, consoleErrors, bin, freePort, dragTo, localDate });

  if (wanted("field")) await (await import("./field.mjs")).run({ browser, step, expect, axe, consoleErrors, viewports, fitsPhone, screenshots, bin, freePort });
  if (wanted("requests")) await (await import("./requests.mjs")).run({ browser, base, step, expect, axe, screenshots, viewports, consoleErrors });
  if (wanted("hub")) await (await import("./hub.mjs")).run({ browser, step, expect, axe, screenshots, viewports, bin, freePort, ci });

  await step("every screen fits a 360 px phone: nothing scrolls sideways, main actions are 44 px high", async () => {
    expect(phoneProblems.length === 0, phoneProblems.join("\n       "));
  });

  await step("no errors in the browser console", async () => {
    // The 401 of the signed-out session check, the refused forgery and the double booking are expected.
    const unexpected = consoleErrors.filter((e) => !/status of (401|403|409|422)/.test(e));
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
