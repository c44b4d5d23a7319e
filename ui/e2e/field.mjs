// The technician app (/field) end to end, at phone width, on a `jobber serve` of its
// own wired to a fake Twilio (the shared server sends no texts): an owner sets up a
// technician and today's visit through the API; the technician signs in on a phone,
// taps "On my way" (the client's text reaches Twilio), loses the network in the middle
// of the visit (checklist, note, clock-in, a full-size photo), reloads the page
// offline (the visit is still there), comes back online and the queue is replayed; the
// server then has each change exactly once, and the photo was made at most 1600 px on
// the phone. A note the office changed meanwhile comes back as a conflict the
// technician settles; they clock out. A completion queued offline while the office
// moved the visit and rewrote its instructions waits for the technician with both
// versions ("complete anyway"); one queued while the office completed another visit
// itself is let go. Also: the web manifest and the service worker, the first load's
// JavaScript, axe, screenshots.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { png } from "./png.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, "../../docs/screenshots");
const PASSWORD = "correct horse battery staple";

/** Twilio's Messages API, as far as jobber uses it: every text is kept. */
function fakeTwilio() {
  const texts = [];
  const server = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const form = Object.fromEntries(new URLSearchParams(body));
      texts.push(form);
      res.writeHead(201, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ sid: `SM${String(texts.length).padStart(32, "0")}`, status: "queued", to: form.To }));
    });
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, port: server.address().port, texts })));
}

/** A PNG as a phone camera's full-size picture would be: `width`×`height`, not flat. */
function bigPhoto(width, height) {
  return png(width, height, (x, y) => [(x * 255) / width, (y * 255) / height, ((x >> 6) + (y >> 6)) % 2 ? 200 : 60]);
}

/** A JPEG's width and height, from its start-of-frame segment. */
function jpegSize(bytes) {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) throw new Error("not a JPEG");
  let at = 2;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`no JPEG marker at ${at}`);
    const marker = bytes[at + 1];
    const length = bytes.readUInt16BE(at + 2);
    // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return { height: bytes.readUInt16BE(at + 5), width: bytes.readUInt16BE(at + 7) };
    }
    at += 2 + length;
  }
  throw new Error("no JPEG frame header");
}

export async function run(t) {
  const { browser, step, expect, axe, consoleErrors, viewports, fitsPhone, screenshots, bin, freePort } = t;
  const PHONE = viewports.phone;

  const twilio = await fakeTwilio();
  const dataDir = mkdtempSync(join(tmpdir(), "jobber-e2e-field-"));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const env = {
    ...process.env,
    JOBBER_PUBLIC_URL: base,
    JOBBER_JOB_POLL_MS: "200",
    JOBBER_TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
    JOBBER_TWILIO_AUTH_TOKEN: "e2e-twilio-token",
    JOBBER_TWILIO_FROM: "+15550001111",
    JOBBER_TWILIO_API_BASE: `http://127.0.0.1:${twilio.port}`,
  };
  delete env.JOBBER_BIN;
  const server = spawn(bin, ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${await freePort()}`, "--log", "warn"], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  server.stdout.on("data", (d) => log.push(d.toString()));
  server.stderr.on("data", (d) => log.push(d.toString()));
  let exited = null;
  server.on("exit", (code, signal) => (exited = code ?? signal));
  try {
    await until("jobber serve (field)", async () => {
      if (exited !== null) throw new Error(`jobber serve exited (${exited}):\n${log.join("")}`);
      return (await fetch(`${base}/readyz`).catch(() => null))?.ok;
    }, 120_000);
    await flow({ ...t, base, twilio });
  } finally {
    server.kill("SIGTERM");
    await new Promise((r) => (exited !== null ? r() : server.once("exit", r)));
    twilio.server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (log.length && process.env.E2E_VERBOSE) console.log(log.join("").slice(-3000));
  }

  async function until(what, fn, ms = 30_000) {
    const deadline = Date.now() + ms;
    for (;;) {
      let value;
      try {
        value = await fn();
      } catch (error) {
        if (/exited/.test(String(error))) throw error;
      }
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  // The steps, against this file's own server.
  async function flow({ base, twilio }) {
    async function api(method, path, token, body, headers = {}) {
      const response = await fetch(`${base}/api/v1${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      const json = text ? JSON.parse(text) : undefined;
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return json;
    }

    async function shot(page, name) {
      mkdirSync(shots, { recursive: true });
      await page.waitForTimeout(300);
      // What the phone's screen shows (a full-page picture would draw the fixed tab bar
      // in the middle of the page).
      await page.screenshot({ path: join(shots, `${name}-phone.png`) });
      await fitsPhone(page, name);
    }

    const s = {};
    await step("field: an owner sets up a technician with a visit today (API)", async () => {
      const signup = await api("POST", "/auth/signup", "", {
        business_name: "Harbor Plumbing",
        name: "Hana Harbor",
        email: "hana@harborplumbing.example",
        password: PASSWORD,
      });
      s.owner = signup.access_token;
      const settings = await api("GET", "/settings", s.owner);
      await api("PATCH", "/settings", s.owner, { time_zone: "America/New_York", version: settings.version });
      s.tech = { email: "theo@harborplumbing.example", name: "Theo Tech" };
      const user = await api("POST", "/users", s.owner, { name: s.tech.name, email: s.tech.email, role: "technician", password: PASSWORD });
      s.tech.id = user.id;
      const client = await api("POST", "/clients", s.owner, {
        first_name: "Priya",
        last_name: "Natarajan",
        phones: [{ number: "+1 503 555 0188", label: "mobile", primary: true, sms_opt_in: true }],
        billing_address: { street1: "1420 SE Alder St", city: "Portland", region: "OR", postal_code: "97214" },
      });
      const today = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York" }).format(new Date());
      const tomorrow = new Intl.DateTimeFormat("en-CA", { timeZone: "America/New_York" }).format(new Date(Date.now() + 86_400_000));
      const job = await api("POST", "/jobs", s.owner, {
        client_id: client.id,
        title: "Replace kitchen shut-off valve",
        instructions: "Side gate is unlocked. Turn the water off at the street first.",
        lines: [{ name: "Shut-off valve replacement", quantity: 1, unit_price: 18500 }],
        schedule: {
          start_date: today,
          start_time: "00:30",
          duration_minutes: 23 * 60,
          assignee_ids: [user.id],
          checklist: ["Water off at the street", "Replace the valve", "Pressure test"],
        },
      });
      s.job = job;
      s.visit = job.visits[0].id;
      s.today = today;
      s.second = await api("POST", "/jobs", s.owner, {
        client_id: client.id,
        title: "Water heater check",
        schedule: { start_date: tomorrow, start_time: "10:00", duration_minutes: 90, assignee_ids: [user.id] },
      });
    });

    let context;
    let page;
    await step("field: the technician signs in at /field on a phone; manifest and service worker", async () => {
      context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, locale: "en-US", timezoneId: "America/New_York" });
      page = await context.newPage();
      page.on("pageerror", (e) => consoleErrors.push(`field: ${e}`));
      page.on("console", (m) => {
        // Requests refused while offline, and the conflict's 409, are expected.
        if (m.type() === "error" && !/ERR_INTERNET_DISCONNECTED|Failed to fetch|status of (401|409)/.test(m.text())) consoleErrors.push(`field: ${m.text()}`);
      });
      await page.goto(`${base}/field`);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      await axe(page, "field sign-in");
      await shot(page, "field-sign-in");
      await page.getByLabel("Email").fill(s.tech.email);
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("heading", { name: "Your visits" }).waitFor();
      await page.getByRole("link", { name: /Replace kitchen shut-off valve/ }).waitFor();
      await page.getByRole("link", { name: /Water heater check/ }).waitFor();
      expect(new URL(page.url()).pathname === "/field/", `at ${page.url()}`);

      const manifestHref = await page.locator('link[rel="manifest"]').getAttribute("href");
      const manifest = await (await fetch(`${base}${manifestHref}`)).json();
      expect(manifest.start_url === "/field/" && manifest.display === "standalone", JSON.stringify(manifest));
      expect(manifest.icons.some((i) => i.sizes === "512x512") && manifest.icons.some((i) => i.sizes === "192x192"), "icons");
      for (const icon of manifest.icons) {
        const r = await fetch(`${base}${icon.src}`);
        expect(r.ok && r.headers.get("content-type") === icon.type, `${icon.src}: ${r.status} ${r.headers.get("content-type")}`);
      }
      // (Polled: awaiting navigator.serviceWorker.ready crashes headless Chromium here.)
      const sw = await page.evaluate(async () => {
        let registration;
        for (let i = 0; i < 100; i++) {
          registration = await navigator.serviceWorker.getRegistration("/field/");
          // Controlled after clients.claim(): offline reloads go through it.
          if (registration?.active && navigator.serviceWorker.controller) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        return { scope: registration?.scope, controlled: Boolean(navigator.serviceWorker.controller) };
      });
      expect(sw.scope === `${base}/field/` && sw.controlled, JSON.stringify(sw));
      await axe(page, "field day");
      await shot(page, "field-day");
    });

    await step("field: first load is under 150 kB of JavaScript (compressed), none of it the office's", async () => {
      const fresh = await browser.newContext({ viewport: PHONE });
      const first = await fresh.newPage();
      const scripts = [];
      first.on("requestfinished", async (request) => {
        if (request.resourceType() === "script") scripts.push({ url: request.url(), size: (await request.sizes()).responseBodySize });
      });
      await first.goto(`${base}/field/`);
      await first.getByRole("heading", { name: "Sign in" }).waitFor();
      await first.waitForLoadState("networkidle");
      const kb = scripts.reduce((a, b) => a + b.size, 0) / 1024;
      console.log(`     first load of /field/: ${scripts.length} scripts, ${kb.toFixed(1)} kB of JavaScript over the wire`);
      await fresh.close();
      expect(kb > 10 && kb < 150, `${kb.toFixed(1)} kB`);
      const office = scripts.filter((x) => /\/assets\/(index|router|data|Dashboard|Schedule)-/.test(x.url));
      expect(office.length === 0, `office code loaded: ${office.map((x) => x.url).join(", ")}`);
    });

    await step("field: the visit page has the client, directions, call and text, work and checklist", async () => {
      await page.getByRole("link", { name: /Replace kitchen shut-off valve/ }).click();
      await page.getByRole("heading", { name: "Replace kitchen shut-off valve" }).waitFor();
      const href = async (name) => page.getByRole("link", { name }).getAttribute("href");
      expect((await href("Call")) === "tel:+1 503 555 0188", `call: ${await href("Call")}`);
      expect((await href("Text")).startsWith("sms:"), "text link");
      expect((await href("Directions")).includes(encodeURIComponent("1420 SE Alder St")), "maps link");
      await page.getByText("Shut-off valve replacement").waitFor();
      // No prices for technicians unless the account shows them.
      expect((await page.getByText("$185.00").count()) === 0, "a price is shown");
      await axe(page, "field visit");
      await shot(page, "field-visit");
    });

    await step("field: 'On my way' texts the client (it reaches Twilio)", async () => {
      await page.getByRole("button", { name: "On my way" }).click();
      await page.getByRole("status").filter({ hasText: "The client was texted that you are on the way (+15035550188)." }).waitFor();
      // Queued with the visit, sent by the worker through Twilio.
      const text = await until("the on-my-way text at Twilio", async () => twilio.texts.find((x) => x.To === "+15035550188"));
      expect(text.Body.startsWith("Hi Priya, Theo from Harbor Plumbing is on the way."), `the text: ${text.Body}`);
      expect(text.From === "+15550001111", `from ${text.From}`);
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "field-on-my-way");
    });

    const note = "Old valve seized; replaced with a quarter-turn valve. No leaks.";
    await step("field: offline in the middle of the visit: ticks, a note, clock-in and a photo are kept on the phone", async () => {
      await context.setOffline(true);
      await page.getByText(/^Offline/).waitFor();
      await page.getByRole("button", { name: "Clock in" }).click();
      await page.getByRole("button", { name: "Clock out" }).waitFor();
      await page.getByRole("checkbox", { name: "Water off at the street" }).check();
      await page.getByRole("checkbox", { name: "Replace the valve" }).check();
      await page.getByLabel("Notes for the office").fill(note);
      await page.getByRole("button", { name: "Save notes" }).click();
      await page.getByRole("status").filter({ hasText: "Notes saved." }).waitFor();
      // A full-size camera picture (3000 × 2000): the phone makes it at most 1600 px.
      const photo = bigPhoto(3000, 2000);
      await page.locator('input[type="file"]').setInputFiles({ name: "valve.png", mimeType: "image/png", buffer: photo });
      await page.getByRole("img", { name: /Photo 1, waiting to send/ }).waitFor();
      await page.getByText(/Offline · \d+ to send/).waitFor();
      // Nothing reached the server.
      const server = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(server.time_entries.length === 0 && !server.notes && server.checklist.every((i) => !i.done), "the server changed while offline");
    });

    await step("field: reloaded while offline, the app still shows the visit and the waiting changes", async () => {
      await page.reload();
      await page.getByRole("heading", { name: "Replace kitchen shut-off valve" }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole("checkbox", { name: "Water off at the street" }).isChecked(), "tick lost on reload");
      expect(await page.getByRole("checkbox", { name: "Replace the valve" }).isChecked(), "tick lost on reload");
      expect(!(await page.getByRole("checkbox", { name: "Pressure test" }).isChecked()), "an untouched item is ticked");
      expect((await page.getByLabel("Notes for the office").inputValue()) === note, "note lost on reload");
      await page.getByRole("button", { name: "Clock out" }).waitFor();
      await page.getByText(/Offline · 5 to send/).waitFor();
      await axe(page, "field visit offline");
      await page.getByRole("heading", { name: "Checklist" }).evaluate((h) => h.scrollIntoView({ block: "start" }));
      await shot(page, "field-offline");
    });

    await step("field: back online, the queue is replayed and the server has each change exactly once", async () => {
      await context.setOffline(false);
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      const server = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(server.notes === note, `notes: ${server.notes}`);
      expect(server.status === "in_progress", `status: ${server.status}`);
      expect(server.time_entries.length === 1 && !server.time_entries[0].ended_at, `entries: ${JSON.stringify(server.time_entries)}`);
      const done = server.checklist.filter((i) => i.done).map((i) => i.text);
      expect(JSON.stringify(done) === JSON.stringify(["Water off at the street", "Replace the valve"]), `done: ${done}`);
      const attachments = await api("GET", `/jobs/${s.job.id}/attachments`, s.owner);
      expect(attachments.length === 1, `${attachments.length} attachments`);
      // The picture the server keeps is the phone's: a JPEG, 1600 px on its long side.
      const [stored] = attachments;
      expect(stored.content_type === "image/jpeg" && stored.filename === "valve.jpg", `${stored.filename}: ${stored.content_type}`);
      const file = await fetch(new URL(stored.url, base));
      expect(file.ok, `download: ${file.status}`);
      const size = jpegSize(Buffer.from(await file.arrayBuffer()));
      console.log(`     the 3000 × 2000 photo was stored as ${size.width} × ${size.height} (${stored.bytes} bytes)`);
      expect(size.width === 1600 && Math.abs(size.height - 1067) <= 1, `stored ${size.width} × ${size.height}`);
    });

    await step("field: the office edits the notes while the technician is offline: a conflict the technician settles", async () => {
      await context.setOffline(true);
      await page.getByText(/^Offline/).waitFor();
      await page.getByLabel("Notes for the office").fill(`${note}\nCustomer asked about the water heater.`);
      await page.getByRole("button", { name: "Save notes" }).click();
      const current = await api("GET", `/visits/${s.visit}`, s.owner);
      await api("PATCH", `/visits/${s.visit}`, s.owner, { notes: "Office: the client will pay by card on site.", version: current.version });
      await context.setOffline(false);
      const panel = page.getByRole("alert").filter({ hasText: "The office changed these notes" });
      await panel.waitFor({ timeout: 30_000 });
      await panel.getByText("Office: the client will pay by card on site.").waitFor();
      await panel.getByText("Customer asked about the water heater.").waitFor();
      // Never overwritten without the technician's say.
      const held = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(held.notes === "Office: the client will pay by card on site.", `notes: ${held.notes}`);
      await page.getByText("Needs your decision").waitFor();
      await axe(page, "field conflict");
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "field-conflict");
      await panel.getByRole("button", { name: "Combine both" }).click();
      await page.getByRole("button", { name: "Save these notes" }).click();
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      const merged = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(
        merged.notes.includes("Office: the client will pay by card on site.") && merged.notes.includes("Customer asked about the water heater."),
        `notes: ${merged.notes}`,
      );
    });

    await step("field: the technician clocks out; the time entry has its end", async () => {
      await page.getByRole("button", { name: "Clock out" }).click();
      await page.getByRole("button", { name: "Clock in" }).waitFor();
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      const server = await api("GET", `/visits/${s.visit}`, s.owner);
      const [entry, ...more] = server.time_entries;
      expect(more.length === 0 && entry.user_id === s.tech.id, `entries: ${JSON.stringify(server.time_entries)}`);
      expect(entry.ended_at && new Date(entry.ended_at) >= new Date(entry.started_at), `entry: ${JSON.stringify(entry)}`);
      expect(server.status === "in_progress", `status: ${server.status}`);
    });

    await step("field: the client signs on the screen", async () => {
      const pad = page.getByRole("img", { name: /Signature pad/ });
      await pad.scrollIntoViewIfNeeded();
      const box = await pad.boundingBox();
      await page.mouse.move(box.x + 20, box.y + box.height * 0.7);
      await page.mouse.down();
      for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + 20 + i * 22, box.y + box.height * (0.7 - 0.4 * Math.sin(i / 2)));
      await page.mouse.up();
      await page.getByLabel("Client's printed name").fill("Priya Natarajan");
      await page.getByRole("button", { name: "Save signature" }).click();
      // Queued first (the note says so), then sent.
      await page.getByRole("status").filter({ hasText: "Signature saved." }).waitFor();
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      await shot(page, "field-signature");
      let attachments = [];
      for (let i = 0; i < 50 && attachments.length < 2; i++) {
        attachments = await api("GET", `/jobs/${s.job.id}/attachments`, s.owner);
        if (attachments.length < 2) await page.waitForTimeout(200);
      }
      expect(attachments.length === 2, `${attachments.length} attachments`);
      // Each says what it is (the field app's own word, not its file name).
      const kinds = attachments.map((a) => a.kind).sort().join(",");
      expect(kinds === "photo,signature", `kinds: ${kinds}`);

    });

    const newInstructions = "Client called: the second valve under the sink drips too. Replace both before you finish.";
    await step("field: a completion queued offline meets the office's new instructions: both shown, the technician completes anyway", async () => {
      await context.setOffline(true);
      await page.getByText(/^Offline/).waitFor();
      await page.getByRole("button", { name: "Complete visit…" }).click();
      await page.getByRole("button", { name: "Complete visit", exact: true }).click();
      await page.getByText("Completed", { exact: true }).first().waitFor();
      // Meanwhile the office moves the visit (not the completion's business) and
      // rewrites its instructions (its business).
      let current = await api("GET", `/visits/${s.visit}`, s.owner);
      current = await api("PUT", `/schedule/jobs/${s.visit}`, s.owner, { start_date: s.today, start_time: "00:45", duration_minutes: 22 * 60, version: current.version });
      await api("PATCH", `/visits/${s.visit}`, s.owner, { instructions: newInstructions, version: current.version });
      await context.setOffline(false);
      const panel = page.getByRole("alert").filter({ hasText: "The office changed the instructions" });
      await panel.waitFor({ timeout: 30_000 });
      await panel.getByText(`Instructions: ${newInstructions}`).waitFor();
      await panel.getByText("Instructions you had: Side gate is unlocked. Turn the water off at the street first.").waitFor();
      await panel.getByText(/^You completed the visit at \d/).waitFor();
      await panel.getByText("Hana Harbor changed this visit", { exact: false }).waitFor();
      await page.getByText("Needs your decision").waitFor();
      // Held: the visit is open on the server, and the page shows the office's version.
      const held = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(held.status === "in_progress", `status: ${held.status}`);
      await page.getByRole("heading", { name: "Instructions", exact: true }).waitFor();
      await page.getByText(newInstructions, { exact: true }).waitFor();
      await page.getByRole("button", { name: "Complete visit…" }).waitFor();
      await axe(page, "field completion conflict");
      // Both versions and the choice, above the tab bar.
      await panel.evaluate((el) => window.scrollBy(0, el.getBoundingClientRect().bottom - window.innerHeight + 76));
      await shot(page, "field-conflict-complete");

      await panel.getByRole("button", { name: "Complete anyway" }).click();
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      await page.getByText("Completed", { exact: true }).first().waitFor();
      const server = await api("GET", `/visits/${s.visit}`, s.owner);
      expect(server.status === "completed" && server.completed_by === s.tech.id, `visit: ${server.status} by ${server.completed_by}`);
      expect(server.instructions === newInstructions && server.time_entries.every((e) => e.ended_at), "the office's change was kept");
      const moved = new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: "America/New_York" }).format(new Date(server.starts_at));
      expect(moved === "12:45 AM", `starts at ${moved}`);
    });

    await step("field: a completion queued while the office completed the visit itself is let go, never sent over it", async () => {
      const visit = s.second.visits[0].id;
      await page.getByRole("link", { name: /All visits/ }).click();
      await page.getByRole("link", { name: /Water heater check/ }).click();
      await page.getByRole("heading", { name: "Water heater check" }).waitFor();
      await context.setOffline(true);
      await page.getByText(/^Offline/).waitFor();
      await page.getByRole("button", { name: "Complete visit…" }).click();
      await page.getByRole("button", { name: "Complete visit", exact: true }).click();
      await page.getByText("Completed", { exact: true }).first().waitFor();
      const office = await api("POST", `/visits/${visit}/complete`, s.owner, {});
      await context.setOffline(false);
      const panel = page.getByRole("alert").filter({ hasText: "This visit is already completed" });
      await panel.waitFor({ timeout: 30_000 });
      await panel.getByText(/^Completed at \d/).waitFor();
      await panel.getByText(/^You completed the visit at \d/).waitFor();
      expect((await panel.getByRole("button", { name: "Complete anyway" }).count()) === 0, "a completed visit offered to complete again");
      await axe(page, "field completed elsewhere");
      await page.evaluate(() => window.scrollTo(0, 0));
      await shot(page, "field-conflict-completed");
      await panel.getByRole("button", { name: "Discard my completion" }).click();
      await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
      const server = await api("GET", `/visits/${visit}`, s.owner);
      expect(server.completed_by === office.completed_by && server.completed_by !== s.tech.id, `completed by ${server.completed_by}`);
      expect(server.completed_at === office.completed_at, "the office's completion changed");
    });

    await step("field: the day's timesheet", async () => {
      await page.getByRole("navigation", { name: "Field app" }).getByRole("link", { name: "Timesheet" }).click();
      await page.getByRole("heading", { name: "Timesheet" }).waitFor();
      await page.getByRole("cell", { name: "Replace kitchen shut-off valve" }).waitFor();
      await axe(page, "field timesheet");
      await shot(page, "field-timesheet");
      await context.close();
    });

    await step("field: the office sees the visit's time, checklist and photo on the job page", async () => {
      const office = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/New_York" });
      try {
        const desk = await office.newPage();
        desk.on("pageerror", (e) => consoleErrors.push(`field (office): ${e}`));
        await desk.goto(`${base}/sign-in`);
        await desk.getByLabel("Email").fill("hana@harborplumbing.example");
        await desk.getByLabel("Password").fill(PASSWORD);
        await desk.getByRole("button", { name: "Sign in" }).click();
        await desk.getByRole("heading", { name: /Good (morning|afternoon|evening), Hana/ }).waitFor();
        await desk.goto(`${base}/jobs/${s.job.id}`);
        await desk.getByRole("heading", { name: /Replace kitchen shut-off valve/ }).waitFor();
        const visit = (await api("GET", `/visits/${s.visit}`, s.owner)).time_entries[0];
        // The technician's clock-in and -out, in the account's zone (New York), and its length.
        const clock = (iso) => new Intl.DateTimeFormat("en-US", { hour: "numeric", minute: "2-digit", timeZone: "America/New_York" }).format(new Date(iso));
        const entries = desk.getByRole("list", { name: "Time entries" });
        const entry = entries.getByRole("listitem").filter({ hasText: s.tech.name });
        await entry.waitFor();
        const text = (await entry.innerText()).replace(/\s+/g, " ");
        expect(text.includes(clock(visit.started_at).replace(/\s+/g, " ")) && text.includes(clock(visit.ended_at).replace(/\s+/g, " ")), `the entry reads: ${text}`);
        expect(/\d+ min/.test(text), `its length: ${text}`);
        await desk.getByRole("heading", { name: /Time on site \d/ }).waitFor();
        await desk.getByRole("heading", { name: "Checklist 2 of 3 done" }).waitFor();
        // The photo the technician took offline, with its visit, and it loads.
        const photo = desk.getByRole("img", { name: /^Photo 1 from the visit of/ });
        await photo.waitFor();
        await desk.waitForFunction((el) => el.complete && el.naturalWidth > 0, await photo.elementHandle());
        // Not a second time among the job's other files; the signature stays with its visit.
        expect((await desk.getByRole("heading", { name: /Photos and files/ }).count()) === 0, "the visit's photo is also listed as a job file");
        await desk.getByRole("img", { name: /Client's signature/ }).waitFor();
        await axe(desk, "job page with field work");
        await screenshots(desk, "job-field-work", { show: desk.locator(".job-visits") });
      } finally {
        await office.close();
      }
    });
  }
}
