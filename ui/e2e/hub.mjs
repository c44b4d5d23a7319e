// The client hub end to end, on a jobber of its own (its SMTP points at this test's
// mail sink, its Stripe at a localstripe started here, its link key is known so an
// expired link can be made): a business signed up through the API sends a quote with
// an optional line and an invoice; the client opens the emailed links on a phone,
// ticks the option (the server reprices it), approves with a drawn signature, turns
// texts on, pays the invoice by card and sees the receipt, opens their own page
// (quotes, invoices, visits) and asks for more work; an expired link offers a fresh
// one, which arrives by email. The logo the owner uploads in the office's settings
// heads the client's pages. axe on every screen; screenshots hub-*.
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const LINK_SECRET = "e2e-hub-link-secret-0123456789abcdef-0123456789";
const STRIPE_SECRET = "sk_test_jobber_localstripe_4242";

/** Just enough SMTP for jobber's client; keeps each message's recipients and text. */
function smtpSink() {
  const messages = [];
  const server = createServer((socket) => {
    let buffer = "";
    let data = false;
    let current = { to: [], data: "" };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply("220 sink ESMTP");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        if (data) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          // The client doubled each line's leading dot (RFC 5321 §4.5.2): undo it, or a
          // link that a soft line break leaves at the start of a line reads "..".
          current.data += buffer.slice(0, end).replace(/(^|\r\n)\.\./g, "$1.");
          buffer = buffer.slice(end + 5);
          data = false;
          messages.push(current);
          current = { to: [], data: "" };
          reply("250 ok");
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          reply("250-sink");
          reply("250 8BITMIME");
        } else if (verb === "RCPT") {
          current.to.push(line.replace(/^RCPT TO:\s*/i, "").replace(/[<>]/g, "").split(" ")[0]);
          reply("250 ok");
        } else if (verb === "DATA") {
          data = true;
          reply("354 go on");
        } else if (verb === "QUIT") {
          reply("221 bye");
          socket.end();
          return;
        } else reply("250 ok");
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((r) => server.listen(0, "127.0.0.1", () => r({ server, port: server.address().port, messages })));
}

const plain = (data) => data.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));

export async function run(t) {
  const { browser, expect, axe, screenshots, viewports, bin, freePort, ci } = t;
  const python = process.env.PYTHON_FOR_TESTS ?? join(root, "target/test-venv/bin/python3");
  const children = [];
  let page;
  const step = (name, fn) =>
    t.step(name, async () => {
      try {
        await fn();
      } catch (error) {
        const text = page ? (await page.locator("main").innerText().catch(() => "")).slice(0, 600) : "";
        throw new Error(`${error?.message ?? error}\n     screen: ${text.replace(/\s+/g, " ")}`);
      }
    });

  const smtp = await smtpSink();
  let stripeBase = null;
  if (existsSync(python)) {
    const port = await freePort();
    const child = spawn(python, ["-m", "localstripe", "--from-scratch", "--port", String(port)], { stdio: "ignore" });
    children.push(child);
    stripeBase = `http://127.0.0.1:${port}`;
  } else if (ci) {
    throw new Error(`CI needs localstripe (${python}): run scripts/install-test-deps.sh`);
  } else {
    console.error(`\n*** e2e hub: no localstripe at ${python}; the card payment steps are SKIPPED ***\n`);
  }
  const stripe = async (method, path, form) => {
    const r = await fetch(`${stripeBase}${path}`, {
      method,
      headers: { authorization: `Bearer ${STRIPE_SECRET}`, "content-type": "application/x-www-form-urlencoded" },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    return r.json();
  };

  const dataDir = mkdtempSync(join(tmpdir(), "jobber-e2e-hub-"));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const env = {
    ...process.env,
    JOBBER_PUBLIC_URL: base,
    JOBBER_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`,
    JOBBER_SMTP_FROM: "Hub <hub@hub.example>",
    JOBBER_JOB_POLL_MS: "200",
    JOBBER_JWT_SECRET: LINK_SECRET,
    ...(stripeBase ? { JOBBER_STRIPE_API_BASE: stripeBase } : {}),
  };
  delete env.JOBBER_BIN;
  const server = spawn(bin, ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${await freePort()}`, "--log", "warn"], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  children.push(server);
  server.stdout.on("data", (d) => log.push(d.toString()));
  server.stderr.on("data", (d) => log.push(d.toString()));

  async function until(what, fn, ms = 60_000) {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const value = await fn().catch(() => null);
      if (value) return value;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what} did not happen within ${ms / 1000} s`);
  }
  let token = "";
  async function call(method, path, body) {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json)}`);
    return json;
  }
  const linkIn = (address, kind) =>
    until(`the ${kind} email to ${address}`, async () => {
      for (const m of [...smtp.messages].reverse()) {
        if (!m.to.includes(address)) continue;
        const found = plain(m.data).match(new RegExp(`${base.replace(/[.]/g, "\\.")}/hub/${kind}s/[^\\s"<>]+`));
        if (found) return found[0].replace(/&amp;/g, "&");
      }
      return null;
    });

  /** The hub link of one quote or invoice, from the newest email that carries it. */
  const linkFor = (kind, id) =>
    until(`the email with ${kind} ${id}`, async () => {
      for (const m of [...smtp.messages].reverse()) {
        const found = plain(m.data).match(new RegExp(`${base.replace(/[.]/g, "\\.")}/hub/${kind}s/${id}\\?[^\\s"<>]+`));
        if (found) return found[0].replace(/&amp;/g, "&");
      }
      return null;
    });
  /** A quote sent to the client now (through the API, as the office would). */
  const sentQuote = async (title, lines) => {
    const quote = await call("POST", "/api/v1/quotes", { client_id: clientId, title, lines });
    await call("POST", `/api/v1/quotes/${quote.id}/send`, {});
    return { id: quote.id, link: await linkFor("quote", quote.id) };
  };

  const email = "rosa@meadowlane.example";
  let account = "";
  let quoteId = "";
  let quoteLink = "";
  let invoiceLink = "";
  let clientId = "";
  const context = await browser.newContext({ viewport: viewports.phone, locale: "en-US", timezoneId: "America/Chicago", hasTouch: true });
  page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));

  try {
    await until("jobber serve (hub)", async () => (await fetch(`${base}/readyz`)).ok, 120_000);

    await step("hub: a business sends a quote with an option and an invoice (API)", async () => {
      const signup = await call("POST", "/api/v1/auth/signup", { business_name: "Meadow Lane Landscaping", name: "Mo Meadow", email: "mo@meadowlane.example", password: "green grass grows 2026" });
      token = signup.access_token;
      account = signup.account.id;
      const settings = await call("GET", "/api/v1/settings");
      await call("PATCH", "/api/v1/settings", { brand_color: "#2E7D32", phone: "+1 312 555 0188", email: "office@meadowlane.example", version: settings.version });
      if (stripeBase) {
        await until("localstripe", async () => (await fetch(`${stripeBase}/v1/customers`, { headers: { authorization: `Bearer ${STRIPE_SECRET}` } })).ok, 30_000);
        await call("PUT", "/api/v1/settings/payments/stripe", { secret_key: STRIPE_SECRET, webhook_secret: "whsec_jobber_e2e_hub", publishable_key: "pk_test_jobber_e2e_hub" });
      }
      const client = await call("POST", "/api/v1/clients", { first_name: "Rosa", last_name: "Reyes", emails: [{ address: email, primary: true }], phones: [{ number: "+1 312 555 0147", label: "mobile", primary: true, sms_opt_in: false }] });
      const quote = await call("POST", "/api/v1/quotes", {
        client_id: client.id,
        title: "Spring garden refresh",
        message: "Thanks for having us out. Here is what we talked about.",
        lines: [
          { name: "Mulch, 6 yards", description: "Dark hardwood mulch, spread in all beds", quantity: 6, unit_price: 4500 },
          { name: "Hedge trimming", quantity: 1, unit_price: 18000 },
          { name: "Drip irrigation for the vegetable beds", quantity: 1, unit_price: 42000, optional: true },
        ],
      });
      quoteId = quote.id;
      await call("POST", `/api/v1/quotes/${quote.id}/send`, {});
      const invoice = await call("POST", "/api/v1/invoices", { client_id: client.id, title: "Fall cleanup", lines: [{ name: "Leaf removal", quantity: 1, unit_price: 26000 }, { name: "Gutter cleaning", quantity: 1, unit_price: 9500 }], tax_rate_ids: [] });
      await call("POST", `/api/v1/invoices/${invoice.id}/send`, {});
      quoteLink = await linkIn(email, "quote");
      invoiceLink = await linkIn(email, "invoice");
      // A visit in a few days, and a service the client can ask for.
      const day = new Date(Date.now() + 4 * 86_400_000).toISOString().slice(0, 10);
      await call("POST", "/api/v1/jobs", { client_id: client.id, title: "Hedge trimming visit", schedule: { start_date: day, start_time: "09:00", duration_minutes: 90 } });
      await call("POST", "/api/v1/catalog", { kind: "service", name: "Lawn aeration", unit_price: 8000 });
      clientId = client.id;
    });

    await step("hub: the owner uploads the business's logo in the office (Settings, Logo and branding)", async () => {
      const office = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/Chicago" });
      try {
        const desk = await office.newPage();
        desk.on("pageerror", (e) => pageErrors.push(`office: ${e}`));
        await desk.goto(`${base}/sign-in`);
        await desk.getByLabel("Email").fill("mo@meadowlane.example");
        await desk.getByLabel("Password").fill("green grass grows 2026");
        await desk.getByRole("button", { name: "Sign in" }).click();
        await desk.getByRole("heading", { name: /Good (morning|afternoon|evening), Mo/ }).waitFor();
        await desk.goto(`${base}/settings/branding`);
        await desk.getByRole("heading", { name: "Logo", exact: true }).waitFor();
        await desk.getByLabel("Upload logo").setInputFiles(join(root, "ui/public/field/icon-192.png"));
        await desk.getByRole("status").filter({ hasText: "Logo saved." }).waitFor();
        const preview = desk.getByRole("img", { name: "Meadow Lane Landscaping logo" });
        await preview.waitFor();
        await desk.waitForFunction((el) => el.complete && el.naturalWidth > 0, await preview.elementHandle());
      } finally {
        await office.close();
      }
    });

    await step("hub: the client sees the branded quote and ticks the option (server totals)", async () => {
      await page.goto(quoteLink);
      await page.getByRole("heading", { name: "Spring garden refresh" }).waitFor();
      expect((await page.locator(".hub__business").innerText()) === "Meadow Lane Landscaping", "the business's name in the header");
      // The logo uploaded in the office heads the client's page, and the picture loads.
      const logo = page.locator(".hub__header img");
      await logo.waitFor();
      const loaded = await page.waitForFunction((el) => el.complete && el.naturalWidth, await logo.elementHandle(), { timeout: 10_000 }).then((h) => h.jsonValue(), () => 0);
      expect(loaded > 0, `the logo did not load: ${await logo.getAttribute("src")}`);
      const total = () => page.locator(".hub-totals__total dd").innerText();
      expect((await total()) === "$450.00", `total before: ${await total()}`);
      await axe(page, "hub quote");
      await screenshots(page, "hub-quote");
      await page.getByRole("checkbox", { name: /Drip irrigation/ }).check();
      await page.waitForFunction(() => document.querySelector(".hub-totals__total dd")?.textContent === "$870.00");
    });

    await step("hub: the client approves with a drawn signature", async () => {
      await page.getByRole("radio", { name: "Draw my signature" }).check();
      const pad = page.getByRole("img", { name: /Signature pad/ });
      await pad.scrollIntoViewIfNeeded();
      const box = await pad.boundingBox();
      await page.mouse.move(box.x + 20, box.y + box.height * 0.7);
      await page.mouse.down();
      for (let i = 1; i <= 12; i++) await page.mouse.move(box.x + 20 + i * 20, box.y + box.height * (0.7 - 0.4 * Math.sin(i / 2)));
      await page.mouse.up();
      await page.getByLabel("Your full name").fill("Rosa Reyes");
      await axe(page, "hub quote (signing)");
      await screenshots(page, "hub-quote-signing");
      await page.getByRole("button", { name: "Approve and sign" }).click();
      await page.getByRole("heading", { name: /the quote is approved/ }).waitFor();
      const approved = await call("GET", `/api/v1/quotes/${quoteId}`);
      expect(approved.status === "approved" && approved.total === 87000, `approved ${approved.status} ${approved.total}`);
      expect(approved.approval.signature_name === "Rosa Reyes", "signed by Rosa");
    });

    await step("hub: the client turns text messages on", async () => {
      await page.getByRole("checkbox", { name: /Text me visit reminders/ }).check();
      await page.getByText("You will get text messages.").waitFor();
      await axe(page, "hub quote (approved)");
      await screenshots(page, "hub-quote-approved");
    });

    await step("hub: the client pays the invoice by card and sees the receipt", async () => {
      await page.goto(invoiceLink);
      await page.getByRole("heading", { name: "Fall cleanup" }).waitFor();
      await axe(page, "hub invoice");
      await screenshots(page, "hub-invoice");
      if (!stripeBase) return;
      const started = page.waitForResponse((r) => r.request().method() === "POST" && /\/api\/v1\/hub\/invoices\/[^/]+\/payments\?/.test(r.url()));
      await page.getByRole("button", { name: "Pay $355.00 by card" }).click();
      const payment = await (await started).json();
      // Stripe.js cannot load here (no network to js.stripe.com): the page says so and
      // the test confirms the PaymentIntent as Stripe.js would, against localstripe.
      await page.getByText(/The card form could not load/).waitFor({ timeout: 20_000 });
      const intent = payment.client_secret.split("_secret_")[0];
      const pm = await stripe("POST", "/v1/payment_methods", { type: "card", "card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2030", "card[cvc]": "123" });
      await stripe("POST", `/v1/payment_intents/${intent}`, { payment_method: pm.id });
      const confirmed = await stripe("POST", `/v1/payment_intents/${intent}/confirm`, {});
      expect(confirmed.status === "succeeded", `localstripe: ${JSON.stringify(confirmed).slice(0, 200)}`);
      await page.getByRole("button", { name: "Check my payment" }).click();
      await page.getByRole("heading", { name: /Payment received/ }).waitFor();
      expect((await page.locator(".hub-status").innerText()) === "Paid", "the invoice shows paid");
      await axe(page, "hub invoice (paid)");
      await screenshots(page, "hub-invoice-paid");
    });

    await step("hub: the client opens their own page from the invoice and asks for more work", async () => {
      await page.goto(invoiceLink);
      await page.getByRole("heading", { name: "Fall cleanup" }).waitFor();
      await page.getByRole("link", { name: "Open my page" }).click();
      await page.getByRole("heading", { name: "Hello, Rosa Reyes" }).waitFor();
      await page.getByRole("link", { name: /Spring garden refresh/ }).waitFor();
      await page.getByRole("link", { name: /Fall cleanup/ }).waitFor();
      await page.getByText("Hedge trimming visit").waitFor();
      await axe(page, "hub client page");
      await screenshots(page, "hub-client");
      await page.getByLabel("Service (optional)").selectOption({ label: "Lawn aeration" });
      await page.getByLabel("What do you need?").fill("The front lawn is compacted; could you aerate it before summer?");
      await page.getByLabel("When suits you? (optional)").fill("Weekday mornings");
      await page.getByRole("button", { name: "Send my request" }).click();
      await page.getByRole("heading", { name: "Your request was sent" }).waitFor();
      await axe(page, "hub client page (request sent)");
      await screenshots(page, "hub-client-requested");
      const inbox = await call("GET", "/api/v1/requests?status=new");
      const request = inbox.items.find((r) => r.source === "hub");
      expect(request && request.client_id === clientId && request.service_name === "Lawn aeration", `the office's inbox: ${JSON.stringify(inbox.items).slice(0, 300)}`);
      // The page's quote link opens the quote.
      await page.getByRole("link", { name: /Spring garden refresh/ }).click();
      await page.getByRole("heading", { name: "Spring garden refresh" }).waitFor();
      // The office sees the signature the client drew.
      const signature = await call("GET", `/api/v1/quotes/${quoteId}/signature`);
      expect(signature.signature_name === "Rosa Reyes" && (await fetch(signature.url)).ok, "the drawn signature is there for the office");
    });

    await step("hub: another quote is approved with a typed signature; the office has the name, no drawing", async () => {
      const { id, link } = await sentQuote("Patio planters", [{ name: "Cedar planter boxes", quantity: 3, unit_price: 6500 }]);
      await page.goto(link);
      await page.getByRole("heading", { name: "Patio planters" }).waitFor();
      // Typing the name is the first way offered; nothing is approved without one.
      expect(await page.getByRole("radio", { name: "Type my name" }).isChecked(), "typing is the default");
      const approve = page.getByRole("button", { name: "Approve quote" });
      expect(await approve.isDisabled(), "no name, no approval");
      await page.getByLabel("Your full name").fill("Rosa M. Reyes");
      await page.getByText("By approving you accept this quote and its total of $195.00.").waitFor();
      await axe(page, "hub quote (typed signature)");
      await screenshots(page, "hub-quote-typed");
      await approve.click();
      await page.getByRole("heading", { name: /the quote is approved/ }).waitFor();
      await page.getByText(/^Signed by Rosa M\. Reyes on /).waitFor();
      expect((await page.getByRole("button", { name: /Approve/ }).count()) === 0, "nothing left to approve");
      const approved = await call("GET", `/api/v1/quotes/${id}`);
      expect(
        approved.status === "approved" && approved.total === 19500 && approved.approval?.signature_name === "Rosa M. Reyes" && approved.approval.via === "client_hub" && approved.approval.recorded_by === null && approved.approval.ip,
        `the office's quote: ${JSON.stringify({ status: approved.status, total: approved.total, approval: approved.approval })}`,
      );
      // A typed signature is the name alone: no drawing is stored for it.
      const drawing = await fetch(`${base}/api/v1/quotes/${id}/signature`, { headers: { authorization: `Bearer ${token}` } });
      expect(drawing.status === 404 && (await drawing.json()).code === "file_not_found", `the signature file of a typed approval: ${drawing.status}`);
      const approvedNote = await until("the approval notification", async () =>
        (await call("GET", "/api/v1/notifications")).items.find((n) => n.kind === "quote_approved" && n.subject_id === id),
      );
      expect(approvedNote, "the office is told");
    });

    await step("hub: the client asks for changes on a third quote; the office sees the request and the note", async () => {
      const note = "Could you use warm white bulbs, and leave out the path lights?";
      const { id, link } = await sentQuote("Front yard lighting", [
        { name: "Porch lights, warm white", quantity: 2, unit_price: 8500 },
        { name: "Path lights", quantity: 6, unit_price: 4000 },
      ]);
      await page.goto(link);
      await page.getByRole("heading", { name: "Front yard lighting" }).waitFor();
      await page.getByText("Request changes instead").click();
      const send = page.getByRole("button", { name: "Send my request" });
      expect(await send.isDisabled(), "an empty request is not sent");
      await page.getByLabel("What would you like changed?").fill(note);
      await axe(page, "hub quote (request changes)");
      await send.click();
      await page.getByRole("heading", { name: "Your request was sent" }).waitFor();
      await page.locator("blockquote", { hasText: note }).waitFor();
      expect((await page.getByRole("button", { name: /Approve/ }).count()) === 0, "no approval while the changes are pending");
      await axe(page, "hub quote (changes requested)");
      await screenshots(page, "hub-quote-changes-requested");
      // The office: the quote's status and note, a notification, and the dashboard's figure.
      const asked = await call("GET", `/api/v1/quotes/${id}`);
      expect(asked.status === "changes_requested" && asked.changes_requested_note === note, `the office's quote: ${asked.status} ${asked.changes_requested_note}`);
      const notice = await until("the changes notification", async () =>
        (await call("GET", "/api/v1/notifications")).items.find((n) => n.kind === "quote_changes_requested" && n.subject_id === id),
      );
      expect(notice.body === note && !notice.read_at, `the notification: ${JSON.stringify(notice)}`);
      const office = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/Chicago" });
      try {
        const desk = await office.newPage();
        desk.on("pageerror", (e) => pageErrors.push(`office: ${e}`));
        await desk.goto(`${base}/sign-in`);
        await desk.getByLabel("Email").fill("mo@meadowlane.example");
        await desk.getByLabel("Password").fill("green grass grows 2026");
        await desk.getByRole("button", { name: "Sign in" }).click();
        await desk.getByRole("heading", { name: /Good (morning|afternoon|evening), Mo/ }).waitFor();
        // The bell has it; the dashboard's figure opens the list with the quote in it.
        await desk.getByRole("button", { name: /^Notifications, \d+ unread/ }).waitFor();
        await desk.getByRole("link", { name: /^Quotes awaiting reply\s*1\b/ }).click();
        await desk.waitForURL((url) => url.pathname === "/quotes" && url.searchParams.get("status") === "sent,changes_requested");
        const row = desk.getByRole("list", { name: "Quotes" }).getByRole("link", { name: /Front yard lighting/ });
        await row.getByText("Changes requested").waitFor();
        await row.click();
        await desk.getByRole("heading", { name: /Front yard lighting/ }).waitFor();
        await desk.locator(".facts__row", { hasText: "Changes asked" }).getByText(note).waitFor();
        await desk.locator(".history").getByText("Changes requested").waitFor();
        await axe(desk, "office quote (changes requested)");
        await screenshots(desk, "quote-changes-requested");
        // The drawn approval, seen in the office: the picture under the name.
        await desk.goto(`${base}/quotes`);
        await desk.getByRole("link", { name: /Spring garden refresh/ }).click();
        await desk.getByRole("img", { name: "Signature drawn by Rosa Reyes" }).waitFor();
        await desk.locator(".history").getByText("Signature drawn by the client").waitFor();
        // The typed approval: the name and where it was given, no picture, and the page
        // does not ask for a drawing that was never made.
        const asked = [];
        desk.on("request", (request) => {
          if (new URL(request.url()).pathname.endsWith("/signature")) asked.push(request.url());
        });
        await desk.goto(`${base}/quotes`);
        await desk.getByRole("link", { name: /Patio planters/ }).click();
        await desk.getByText(/by Rosa M\. Reyes \(in the client hub\)/).waitFor();
        await desk.locator(".history").getByText("Approved").waitFor();
        expect((await desk.locator("img.signature-image").count()) === 0, "no drawn signature is shown for a typed one");
        expect(asked.length === 0, `the typed approval's page asked for a drawing: ${asked.join(", ")}`);
      } finally {
        await office.close();
      }
    });

    await step("hub: an expired link offers a fresh one by email", async () => {
      const expires = Math.floor(Date.now() / 1000) - 3600;
      const sig = createHmac("sha256", Buffer.from(LINK_SECRET)).update(`link:quote:${account}:${quoteId}:${expires}`).digest("base64url");
      const before = smtp.messages.length;
      await page.goto(`${base}/hub/quotes/${quoteId}?account=${account}&expires=${expires}&sig=${sig}`);
      await page.getByRole("heading", { name: "This link has expired" }).waitFor();
      // Still the business's page: its name, colour and how to reach it, nothing of the quote.
      await page.locator(".hub__business", { hasText: "Meadow Lane Landscaping" }).waitFor();
      await page.getByText(/address Meadow Lane Landscaping has on file/).waitFor();
      await page.getByRole("link", { name: "+1 312 555 0188" }).waitFor();
      const brand = await page.locator(".hub").evaluate((el) => getComputedStyle(el).getPropertyValue("--hub-brand").trim());
      expect(brand.toUpperCase() === "#2E7D32", `the business's colour: ${brand}`);
      expect((await page.getByText("Spring garden refresh").count()) === 0, "nothing of the quote is shown");
      expect((await page.getByRole("textbox").count()) === 0, "no address is asked for: the fresh link goes to the one on file");
      await axe(page, "hub expired link");
      await page.getByRole("button", { name: "Email me a fresh link" }).click();
      await page.getByText(/a fresh link is on its way/).waitFor();
      await screenshots(page, "hub-link-expired");
      const fresh = await until("the fresh link email", async () =>
        smtp.messages.slice(before).find((m) => m.to.includes(email) && /fresh link/.test(plain(m.data))),
      );
      expect(fresh, "a fresh link was emailed");
      // A damaged link shows the same offer.
      await page.goto(`${base}/hub/quotes/${quoteId}?account=${account}&expires=${expires}&sig=broken`);
      await page.getByRole("heading", { name: "This link does not work" }).waitFor();
      expect((await page.locator(".hub__business").innerText()) === "Client hub", "a damaged link does not say whose it is");
      expect(pageErrors.length === 0, pageErrors.join("\n"));
    });
  } finally {
    await context.close().catch(() => {});
    for (const child of children.reverse()) child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    smtp.server.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (log.length && process.env.E2E_VERBOSE) console.log(log.join("").slice(-3000));
  }
}
