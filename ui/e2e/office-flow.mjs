// The office's money flow end to end, on a jobber of its own (so its SMTP can point at
// this test's mail sink): sign up, a client, a quote built in the builder (totals from
// the server), sent by email (caught by a tiny SMTP server below), approved, converted
// to a job, that job's visit dragged onto the schedule while a second browser watches it
// arrive live, the visit and the job completed, the job invoiced and sent from "Ready to
// invoice", a payment recorded and refunded in part, and the dashboard's figures
// following along: one chain, the same job from sign-up to payment.
// axe on each new screen; screenshots quotes-*, quote-builder-*, invoices-*, invoice-*.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Just enough SMTP (RFC 5321) for jobber's client: no TLS, no AUTH; keeps each message. */
function startSmtpSink() {
  const messages = [];
  const server = createServer((socket) => {
    let buffer = "";
    let inData = false;
    let current = { from: "", to: [], data: "" };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply("220 sink.test ESMTP ready");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          // The client doubled each line's leading dot (RFC 5321 §4.5.2): undo it, or a
          // link that a soft line break leaves at the start of a line reads "..".
          current.data += buffer.slice(0, end).replace(/(^|\r\n)\.\./g, "$1.");
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push(current);
          current = { from: "", to: [], data: "" };
          reply("250 2.0.0 queued");
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") {
          reply("250-sink.test");
          reply("250-8BITMIME");
          reply("250-SMTPUTF8");
          reply("250 SIZE 10485760");
        } else if (verb === "HELO") reply("250 sink.test");
        else if (verb === "MAIL") {
          current.from = line;
          reply("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          current.to.push(line.replace(/^RCPT TO:\s*/i, "").replace(/[<>]/g, "").split(" ")[0]);
          reply("250 2.1.5 ok");
        } else if (verb === "DATA") {
          inData = true;
          reply("354 end with <CRLF>.<CRLF>");
        } else if (verb === "QUIT") {
          reply("221 2.0.0 bye");
          socket.end();
          return;
        } else reply("250 ok");
      }
    });
    socket.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, port: server.address().port, messages })));
}

/** Quoted-printable and folded headers undone, enough to search a message's text. */
function plain(data) {
  return data.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))).replace(/\r\n\s+/g, " ");
}

export async function run(t) {
  const { browser, expect, axe, screenshots, viewports, consoleErrors, bin, freePort, dragTo, localDate } = t;
  let page;
  // A failing step says what the screen showed.
  const step = (name, fn) =>
    t.step(name, async () => {
      try {
        await fn();
      } catch (error) {
        const shown = page ? await page.locator("main").innerText({ timeout: 2000 }).catch(() => "") : "";
        // The runner prints the first lines of the stack: the screen goes first.
        if (shown && error instanceof Error) error.stack = `the screen showed: ${shown.replace(/\s*\n\s*/g, " | ").slice(0, 600)}\n${error.stack}`;
        throw error;
      }
    });
  const smtp = await startSmtpSink();
  const dataDir = mkdtempSync(join(tmpdir(), "jobber-e2e-office-"));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const adminPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const server = spawn(bin, ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`, "--log", "warn"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: Object.fromEntries(
      Object.entries({ ...process.env, JOBBER_PUBLIC_URL: base, JOBBER_SMTP_URL: `smtp://127.0.0.1:${smtp.port}`, JOBBER_SMTP_FROM: "Office Flow <office@flow.example>", JOBBER_JOB_POLL_MS: "200" }).filter(
        ([k]) => k !== "JOBBER_BIN",
      ),
    ),
  });
  server.stdout.on("data", (d) => log.push(d.toString()));
  server.stderr.on("data", (d) => log.push(d.toString()));
  let exited = null;
  server.on("exit", (code, signal) => (exited = code ?? signal));

  const context = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/Chicago" });
  page = await context.newPage();
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(`[office] ${m.text()}`));
  page.on("pageerror", (e) => consoleErrors.push(`[office] ${String(e)}`));
  const nav = (name) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name });
  const owner = { business: "Fernhill Landscaping", name: "Rosa Fernhill", email: "rosa@fernhill.example", password: "correct horse battery staple" };
  const client = { first: "Idris", last: "Okafor", email: "idris.okafor@example.net" };
  // The one job the journey follows from the quote to the payment.
  const journey = {};

  /** The API with the page's session (cookie + CSRF token), for set-up the UI has no screen for yet. */
  const apiCall = (method, path, body) =>
    page.evaluate(
      async ({ method, path, body }) => {
        const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
        const r = await fetch(path, { method, headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf_token }, body: body ? JSON.stringify(body) : undefined });
        return { status: r.status, body: await r.json().catch(() => null) };
      },
      { method, path, body },
    );
  const mailTo = async (address, pattern) => {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const found = smtp.messages.find((m) => m.to.includes(address) && pattern.test(plain(m.data)));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`no email to ${address} matching ${pattern} within 60 s (got ${smtp.messages.length}: ${smtp.messages.map((m) => m.to.join(",")).join("; ")})`);
  };
  /** Wait until the dashboard's figure `label` reads `value` (it refetches after a change). */
  const statIs = (label, value) => page.getByRole("link", { name: new RegExp(`^${label}\\s*${value}\\b`) }).waitFor({ timeout: 15_000 });
  const revenue = async () => (await page.locator(".card", { has: page.getByRole("heading", { name: "Revenue" }) }).locator(".card__figure").innerText()).trim();
  /**
   * The page's "Preview PDF" link opens a new tab whose answer is the PDF itself
   * (application/pdf, shown inline), not a page or an error.
   */
  const previewPdf = async (what) => {
    const link = page.getByRole("link", { name: "Preview PDF" });
    expect((await link.getAttribute("target")) === "_blank", `the ${what}'s preview opens in a new tab`);
    const href = new URL(await link.getAttribute("href"), base).href;
    const answered = context.waitForEvent("response", { predicate: (r) => r.url() === href, timeout: 60_000 });
    const opened = context.waitForEvent("page");
    await link.click();
    const [response, tab] = await Promise.all([answered, opened]);
    const headers = response.headers();
    await tab.close();
    expect(response.status() === 200 && headers["content-type"] === "application/pdf", `the ${what}'s preview answered ${response.status()} ${headers["content-type"]}`);
    expect(/^inline/.test(headers["content-disposition"] ?? ""), `shown, not downloaded: ${headers["content-disposition"]}`);
    // The bytes are a PDF (asked again with the page's cookie: the tab's may be gone).
    const again = await context.request.get(href);
    expect((await again.body()).subarray(0, 5).toString("latin1") === "%PDF-", `the ${what}'s preview is not a PDF`);
  };

  try {
    await step("office flow: its own jobber with SMTP pointed at the test's mail sink", async () => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        if (exited !== null) throw new Error(`jobber serve exited (${exited}):\n${log.join("")}`);
        try {
          if ((await fetch(`${base}/readyz`)).ok) break;
        } catch {
          /* not yet */
        }
        if (Date.now() > deadline) throw new Error(`not ready in 120 s:\n${log.join("")}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    });

    await step("office flow: sign up, a tax rate and a catalog item, a client", async () => {
      await page.goto(`${base}/sign-up`);
      await page.getByLabel("Business name").fill(owner.business);
      await page.getByLabel("Your name").fill(owner.name);
      await page.getByLabel("Email").fill(owner.email);
      await page.getByLabel("Password").fill(owner.password);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: /Good (morning|afternoon|evening), Rosa/ }).waitFor();
      // Settings has no screen yet: the rate and the item go through the API.
      expect((await apiCall("POST", "/api/v1/settings/tax-rates", { name: "State tax", rate: "8.875", is_default: true })).status === 201, "tax rate");
      expect((await apiCall("POST", "/api/v1/catalog", { name: "Lawn mowing", unit_price: 4500, description: "Front and back yard" })).status === 201, "catalog item");
      await nav("Clients").click();
      await page.getByRole("main").getByRole("link", { name: "New client" }).first().click();
      await page.getByLabel("First name").fill(client.first);
      await page.getByLabel("Last name").fill(client.last);
      await page.getByLabel("Email").fill(client.email);
      await page.getByRole("button", { name: "Save client" }).click();
      await page.getByRole("heading", { name: `${client.first} ${client.last}` }).waitFor();
    });

    await step("quotes: the empty list is accessible", async () => {
      await nav("Quotes").click();
      await page.getByRole("heading", { name: "Write your first quote" }).waitFor();
      await axe(page, "quotes (empty)");
      await screenshots(page, "quotes-empty");
    });

    await step("quote builder: catalog and free-text lines, an optional item, discount, tax and deposit; totals from the server", async () => {
      await page.getByRole("main").getByRole("link", { name: "New quote" }).first().click();
      await page.getByRole("heading", { name: "New quote" }).waitFor();
      await page.getByLabel("Find a client").fill("okafor");
      await page.getByRole("option", { name: `${client.first} ${client.last}` }).waitFor({ state: "attached" });
      await page.getByLabel("Client", { exact: true }).selectOption({ label: `${client.first} ${client.last}` });
      await page.getByLabel("Title").fill("Spring yard care");
      await page.getByLabel("Message to the client").fill("Thanks for asking us. We can start next week.");
      await page.getByLabel("Add from the catalog").fill("mow");
      await page.getByRole("button", { name: /Lawn mowing/ }).click();
      await page.getByLabel("Quantity").first().fill("4");
      await page.getByRole("button", { name: "Add a line" }).click();
      await page.getByLabel("Item 2", { exact: true }).fill("Hedge trimming");
      await page.getByLabel("Quantity").nth(1).fill("1.5");
      await page.getByLabel("Unit price (USD)").nth(1).fill("33.33");
      await page.getByRole("button", { name: "Add a line" }).click();
      await page.getByLabel("Item 3", { exact: true }).fill("Aeration");
      await page.getByLabel("Unit price (USD)").nth(2).fill("60");
      await page.getByLabel("Optional (the client may add it)").nth(2).check();
      await page.getByLabel("Discount", { exact: true }).selectOption("percent");
      await page.getByLabel("Discount (%)").fill("10");
      await page.getByLabel("Deposit", { exact: true }).selectOption("percent");
      await page.getByLabel("Deposit (%)").fill("25");
      // 4 × 45.00 + 1.5 × 33.33 = 229.995 -> 230.00 (line rounding: 50.00); less 10 % = 207.00;
      // 8.875 % tax on it = 18.37; total 225.37. The screen shows what the server says.
      await page.getByTestId("quote-total").filter({ hasText: "$225.37" }).waitFor();
      await page.getByText("With every optional item").waitFor();
      await axe(page, "quote builder");
      await screenshots(page, "quote-builder");
      await page.getByRole("button", { name: "Save quote" }).click();
      await page.getByRole("heading", { name: /Quote Q-1: Spring yard care/ }).waitFor();
      await page.getByText("$225.37").first().waitFor();
    });

    await step("quote: the page shows lines, totals and history; send it by email (caught by the sink)", async () => {
      await page.getByRole("heading", { name: "History" }).waitFor();
      await page.getByText("Created").first().waitFor();
      await axe(page, "quote page");
      await screenshots(page, "quotes-detail-draft");
      await page.getByRole("button", { name: "Send by email" }).first().click();
      const dialog = page.getByRole("dialog", { name: /Send quote Q-1/ });
      await dialog.waitFor();
      await axe(page, "send quote dialog");
      await dialog.getByRole("button", { name: "Send", exact: true }).click();
      await page.getByText("Awaiting response").first().waitFor();
      const mail = await mailTo(client.email, /Q-1/);
      expect(/Spring yard care|225\.37/.test(plain(mail.data)), "the email names the quote");
      await page.getByText("Sent to the client").waitFor();
      await previewPdf("quote");
    });

    await step("dashboard: the sent quote awaits a reply; the figure opens the quotes it counts", async () => {
      await nav("Dashboard").click();
      await statIs("Quotes awaiting reply", 1);
      expect((await revenue()) === "$0.00", "nothing collected yet");
      // A draft to leave out: the figure's list shows what the figure counts.
      expect((await apiCall("POST", "/api/v1/quotes", { client_id: (await apiCall("GET", `/api/v1/clients?q=${client.last}`)).body.items[0].id, title: "Gutter guards", lines: [{ name: "Guards", quantity: 1, unit_price: 5000 }] })).status === 201, "a draft quote");
      await page.getByRole("link", { name: /^Quotes awaiting reply/ }).click();
      await page.waitForURL((url) => url.pathname === "/quotes" && url.searchParams.get("status") === "sent,changes_requested");
      expect((await page.getByLabel("Status").inputValue()) === "sent,changes_requested", "the list's filter says what it shows");
      const list = page.getByRole("list", { name: "Quotes" });
      await list.getByRole("link", { name: /Q-1 Spring yard care/ }).waitFor();
      expect((await list.getByRole("listitem").count()) === 1, "only the sent quote, not the draft");
      await page.getByLabel("Status").selectOption("");
      await list.getByRole("link", { name: /Gutter guards/ }).waitFor();
    });

    await step("quote: record approval, convert it to a job, edit it", async () => {
      await nav("Quotes").click();
      await page.getByRole("link", { name: /Q-1 Spring yard care/ }).waitFor();
      await axe(page, "quotes list");
      await screenshots(page, "quotes-list");
      await page.getByLabel("Status").selectOption("declined");
      await page.getByRole("heading", { name: "No quotes in “Declined”" }).waitFor();
      await page.getByLabel("Status").selectOption("draft");
      await page.getByRole("list", { name: "Quotes" }).getByRole("link", { name: /Gutter guards/ }).waitFor();
      expect((await page.getByRole("list", { name: "Quotes" }).getByRole("listitem").count()) === 1, "only the draft");
      await page.getByLabel("Status").selectOption("");
      await page.getByRole("link", { name: /Q-1 Spring yard care/ }).click();
      await page.getByRole("button", { name: "Record approval" }).click();
      const dialog = page.getByRole("dialog", { name: "Record the client's approval" });
      await dialog.getByLabel("Client's name (signature)").fill(`${client.first} ${client.last}`);
      await dialog.getByLabel("Aeration").check();
      await dialog.getByRole("button", { name: "Record approval" }).click();
      await page.getByText("Approved").first().waitFor();
      // With the optional aeration the client picked: 230.00 + 60.00 = 290.00, less 10 % =
      // 261.00, tax 23.16: 284.16.
      await page.getByText("$284.16").first().waitFor();
      await screenshots(page, "quotes-detail-approved");
      await page.getByRole("button", { name: "Convert to job" }).click();
      await page.getByRole("dialog", { name: "Convert to a job?" }).getByRole("button", { name: "Convert to job" }).click();
      await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
      await page.getByRole("heading", { level: 1, name: /Spring yard care/ }).waitFor();
      await page.getByRole("link", { name: "Edit", exact: true }).click();
      await page.getByRole("heading", { name: /Edit job #/ }).waitFor();
      await page.getByRole("textbox", { name: "Item 1" }).waitFor();
      await axe(page, "job edit");
      await screenshots(page, "job-edit");
      await page.getByLabel("Instructions").fill("Side gate code 4411. Dog in the yard.");
      await page.getByRole("button", { name: "Save changes" }).click();
      await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
      await page.getByText("Dog in the yard").waitFor();
      journey.jobUrl = page.url();
    });

    await step("schedule: that job's visit is dragged onto today; a second browser sees it arrive live", async () => {
      const jobId = journey.jobUrl.split("/").pop();
      const job = (await apiCall("GET", `/api/v1/jobs/${jobId}`)).body;
      const visitId = job.visits[0].id;
      expect(job.visits.length === 1 && !job.visits[0].starts_at, `the converted job waits for a day: ${JSON.stringify(job.visits)}`);
      const session = (await apiCall("GET", "/api/v1/auth/session")).body;
      const day = localDate(new Date().toISOString(), session.account.time_zone);
      const cell = `[data-drop-date="${day}"][data-drop-lane="${session.user.id}"]`;
      // The owner, signed in on a second browser, watches the same week.
      const second = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/Chicago" });
      try {
        const page2 = await second.newPage();
        page2.on("pageerror", (e) => consoleErrors.push(`[office, second browser] ${String(e)}`));
        await page2.goto(`${base}/sign-in`);
        await page2.getByLabel("Email").fill(owner.email);
        await page2.getByLabel("Password").fill(owner.password);
        await page2.getByRole("button", { name: "Sign in" }).click();
        await page2.getByRole("heading", { name: /Good (morning|afternoon|evening), Rosa/ }).waitFor();
        await page2.goto(`${base}/schedule?view=week&date=${day}`);
        await page2.locator(`.unscheduled [data-visit-id="${visitId}"]`).waitFor();
        await page2.evaluate(() => (window.__sameDocument = true));
        // Drag it from the unscheduled list onto today, in the owner's lane.
        await page.goto(`${base}/schedule?view=week&date=${day}`);
        const card = page.locator(`.unscheduled [data-visit-id="${visitId}"]`);
        await card.waitFor();
        await dragTo(page, card, page.locator(cell));
        await page.locator(`${cell} [data-visit-id="${visitId}"]`).waitFor();
        // The other browser follows without a reload.
        await page2.locator(`${cell} [data-visit-id="${visitId}"]`).waitFor({ timeout: 15_000 });
        expect(await page2.evaluate(() => window.__sameDocument === true), "the second browser was not reloaded");
      } finally {
        await second.close();
      }
      const visit = (await apiCall("GET", `/api/v1/visits/${visitId}`)).body;
      expect(visit.starts_at && visit.assignee_ids.includes(session.user.id), `scheduled: ${JSON.stringify(visit)}`);
    });

    await step("job: complete the visit, then the job", async () => {
      await page.goto(journey.jobUrl);
      await page.getByRole("heading", { level: 1, name: /Spring yard care/ }).waitFor();
      const completeVisit = page.getByRole("button", { name: /^Complete visit/ });
      await axe(page, "job page with a scheduled visit");
      await screenshots(page, "job-visit-scheduled", { show: page.locator(".job-visits") });
      await completeVisit.click();
      await page.locator(".visit-row .badge--completed").waitFor();
      await completeVisit.waitFor({ state: "detached" });
      await page.getByRole("button", { name: "Complete job" }).click();
      await page.getByRole("dialog", { name: "Complete this job?" }).getByRole("button", { name: "Complete job" }).click();
      await page.getByText("completed").first().waitFor();
    });

    await step("invoices: ready to invoice lists the job; create and send its invoice in one go", async () => {
      // Completing the job on its page made the dashboard's figures stale: no reload needed.
      await nav("Dashboard").click();
      await statIs("Ready to invoice", 1);
      await page.getByRole("link", { name: /Ready to invoice/ }).click();
      await page.getByRole("heading", { name: "Ready to invoice" }).waitFor();
      const list = page.getByRole("list", { name: "Jobs ready to invoice" });
      await list.getByRole("link", { name: /Spring yard care/ }).waitFor();
      await axe(page, "ready to invoice");
      await screenshots(page, "invoices-ready");
      await page.getByLabel("Select all").check();
      await page.getByRole("button", { name: /Create and send 1 invoice/ }).click();
      await page.getByRole("link", { name: /^Invoice .+ created$/ }).waitFor();
      // The invoice's own email: a quote email also names "invoices" (the client page link).
      const mail = await mailTo(client.email, /INV-1/);
      expect(plain(mail.data).includes("284.16"), "the invoice email carries the total");
      await page.getByRole("link", { name: /created/ }).click();
      await page.getByRole("heading", { name: /Invoice .*: Spring yard care/ }).waitFor();
      await page.getByTestId("invoice-balance").filter({ hasText: "$284.16" }).waitFor();
      await axe(page, "invoice page");
      await screenshots(page, "invoice-sent");
      await previewPdf("invoice");
    });

    await step("invoice: record a payment; the balance and the dashboard follow", async () => {
      await page.getByRole("button", { name: "Record payment" }).first().click();
      const dialog = page.getByRole("dialog", { name: "Record a payment" });
      await dialog.getByLabel("Method").selectOption("check");
      await dialog.getByLabel("Amount (USD)").fill("284.16");
      await dialog.getByLabel(/Reference/).fill("Check 1042");
      await axe(page, "record payment dialog");
      await dialog.getByRole("button", { name: "Record payment" }).click();
      await page.getByTestId("invoice-balance").filter({ hasText: "$0.00" }).waitFor();
      await page.getByText("Paid").first().waitFor();
      await page.getByText(/Check · .* · Check 1042/).waitFor();
      await screenshots(page, "invoice-paid");
      await nav("Dashboard").click();
      await page.locator(".card__figure", { hasText: "$284.16" }).first().waitFor();
      await statIs("Ready to invoice", 0);
      await statIs("Quotes awaiting reply", 0);
    });

    await step("client page: the payments tab lists the payment with its invoice", async () => {
      await nav("Clients").click();
      await page.getByRole("link", { name: new RegExp(`${client.first} ${client.last}`) }).first().click();
      await page.getByRole("tab", { name: "Payments" }).click();
      const panel = page.getByRole("tabpanel");
      await panel.getByText("$284.16").waitFor();
      await panel.getByText("Check · Check 1042").waitFor();
      await panel.getByRole("link", { name: "Invoice" }).waitFor();
      await axe(page, "client payments");
      await screenshots(page, "client-payments", { show: page.getByRole("tablist", { name: "Client history" }) });
    });

    await step("invoice: refund part of the payment; the balance grows by it", async () => {
      await nav("Invoices").click();
      await page.getByRole("link", { name: /Spring yard care/ }).click();
      await page.getByRole("button", { name: /Refund the \$284\.16/ }).click();
      const dialog = page.getByRole("dialog", { name: "Refund a payment" });
      await dialog.getByLabel("Amount (USD)").fill("20");
      await dialog.getByRole("button", { name: "Refund" }).click();
      await page.getByTestId("invoice-balance").filter({ hasText: "$20.00" }).waitFor();
      await page.getByText("Refunded $20.00").waitFor();
    });

    await step("invoices: the list, a standalone invoice with server totals, the aging view", async () => {
      await nav("Invoices").click();
      await page.getByRole("list", { name: "Invoices" }).getByRole("link").first().waitFor();
      await axe(page, "invoices list");
      await screenshots(page, "invoices-list");
      await page.getByRole("main").getByRole("link", { name: "New invoice" }).click();
      await page.getByRole("heading", { name: "New invoice" }).waitFor();
      await page.getByLabel("Find a client").fill("okafor");
      await page.getByRole("option", { name: `${client.first} ${client.last}` }).waitFor({ state: "attached" });
      await page.getByLabel("Client", { exact: true }).selectOption({ label: `${client.first} ${client.last}` });
      await page.getByLabel("Title").fill("Storm cleanup");
      await page.getByLabel("Item 1").fill("Branch removal");
      await page.getByLabel("Unit price (USD)").fill("120");
      // 120.00 + 8.875 % (10.65) = 130.65
      await page.getByText("$130.65").waitFor();
      await axe(page, "new invoice");
      await screenshots(page, "invoice-new");
      await page.getByRole("button", { name: "Create draft invoice" }).click();
      await page.getByRole("heading", { name: /Invoice \(draft\): Storm cleanup/ }).waitFor();
      journey.stormUrl = page.url();
      await page.getByRole("link", { name: "Invoices", exact: true }).first().click();
      await page.getByRole("link", { name: "Aging" }).click();
      await page.getByRole("heading", { name: "Aging of receivables" }).waitFor();
      await page.getByText("$20.00").first().waitFor();
      await axe(page, "aging");
      await screenshots(page, "invoices-aging");
    });

    await step("invoice: void one sent by mistake (asked first); it is owed nothing and takes no payment", async () => {
      await page.goto(journey.stormUrl);
      await page.getByRole("heading", { name: /Invoice \(draft\): Storm cleanup/ }).waitFor();
      await page.getByRole("button", { name: "Send invoice" }).click();
      await page.getByRole("dialog", { name: "Send this invoice?" }).getByRole("button", { name: "Send", exact: true }).click();
      const heading = page.getByRole("heading", { name: /Invoice INV-\d+: Storm cleanup/ });
      await heading.waitFor();
      const id = journey.stormUrl.split("/").pop();
      // Void asks first; Cancel changes nothing.
      await page.getByRole("group", { name: "More actions" }).getByRole("button", { name: "Void", exact: true }).click();
      const dialog = page.getByRole("dialog", { name: "Void this invoice?" });
      await dialog.getByText("It keeps its number and no longer counts as owed").waitFor();
      await axe(page, "void invoice dialog");
      await dialog.getByRole("button", { name: "Cancel" }).click();
      await dialog.waitFor({ state: "detached" });
      expect((await apiCall("GET", `/api/v1/invoices/${id}`)).body.status === "sent", "cancelled: still sent");
      await page.getByRole("group", { name: "More actions" }).getByRole("button", { name: "Void", exact: true }).click();
      await dialog.getByRole("button", { name: "Void invoice" }).click();
      await dialog.waitFor({ state: "detached" });
      await page.locator(".page-header .badge--void", { hasText: "Void" }).waitFor();
      await page.getByTestId("invoice-balance").filter({ hasText: "$0.00" }).waitFor();
      expect((await page.getByRole("button", { name: "Record payment" }).count()) === 0, "no payment is offered");
      expect((await page.getByRole("button", { name: "Void", exact: true }).count()) === 0, "it cannot be voided twice");
      const number = (await heading.innerText()).match(/INV-\d+/)[0];
      const voided = (await apiCall("GET", `/api/v1/invoices/${id}`)).body;
      expect(voided.status === "void" && voided.number === number && voided.balance === 0 && voided.total === 13065, `the server: ${JSON.stringify({ s: voided.status, n: voided.number, b: voided.balance, t: voided.total })}`);
      const paid = await apiCall("POST", `/api/v1/invoices/${id}/payments`, { method: "cash", amount: 100 });
      expect(paid.status === 409, `a payment on a void invoice: ${paid.status} ${JSON.stringify(paid.body)}`);
      await screenshots(page, "invoice-void");
      // The list's "Void" filter finds it; receivables (aging) leave it out.
      await page.goto(`${base}/invoices?status=void`);
      const list = page.getByRole("list", { name: "Invoices" });
      await list.getByRole("link", { name: /Storm cleanup/ }).waitFor();
      expect((await list.getByRole("listitem").count()) === 1, "only the void invoice");
      await page.goto(`${base}/invoices/aging`);
      await page.getByRole("heading", { name: "Aging of receivables" }).waitFor();
      await page.locator(".card__figure", { hasText: "$20.00" }).waitFor();
    });

    await step("dashboard: a quote sent from a second tab moves its figures while it is open", async () => {
      await nav("Dashboard").click();
      await statIs("Quotes awaiting reply", 0);
      const other = await context.newPage();
      try {
        await other.goto(`${base}/quotes`);
        const sent = await other.evaluate(async (email) => {
          const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
          const call = async (path, body) => {
            const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf_token }, body: JSON.stringify(body) });
            return r.json();
          };
          const clients = await (await fetch(`/api/v1/clients?q=${encodeURIComponent(email)}`)).json();
          const quote = await call("/api/v1/quotes", { client_id: clients.items[0].id, title: "Fall leaf pickup", lines: [{ name: "Leaf pickup", quantity: 1, unit_price: 9500 }] });
          return call(`/api/v1/quotes/${quote.id}/send`, {});
        }, client.email);
        expect(sent.status === "sent", `the quote was sent: ${JSON.stringify(sent)}`);
      } finally {
        await other.close();
      }
      await statIs("Quotes awaiting reply", 1);
    });
  } finally {
    await context.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => (exited !== null ? r() : server.once("exit", r)));
    smtp.server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
