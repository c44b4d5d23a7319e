// The technician app (/field) end to end, at phone width: an owner sets up a
// technician and today's visit through the API; the technician signs in on a phone,
// loses the network in the middle of the visit (checklist, note, clock-in, a photo),
// reloads the page offline (the visit is still there), comes back online and the
// queue is replayed; the server then has each change exactly once. A note the office
// changed meanwhile comes back as a conflict the technician settles. Also: the web
// manifest and the service worker, the first load's JavaScript, axe, screenshots.
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, "../../docs/screenshots");
const PASSWORD = "correct horse battery staple";

export async function run(t) {
  const { browser, base, step, expect, axe, consoleErrors, viewports, fitsPhone, screenshots } = t;
  const PHONE = viewports.phone;

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
    await api("POST", "/jobs", s.owner, {
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
    const photo = readFileSync(resolve(here, "../public/field/icon-512.png"));
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

  await step("field: the client signs on the screen; the visit is completed; the day's timesheet", async () => {
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

    await page.getByRole("button", { name: "Complete visit…" }).click();
    await page.getByRole("button", { name: "Complete visit", exact: true }).click();
    await page.getByText("Completed", { exact: true }).first().waitFor();
    await page.getByText("All changes sent").waitFor({ timeout: 30_000 });
    const server = await api("GET", `/visits/${s.visit}`, s.owner);
    expect(server.status === "completed" && server.time_entries.every((e) => e.ended_at), `visit: ${server.status}`);

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
