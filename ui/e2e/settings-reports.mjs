// End-to-end: settings, reports, the notifications bell and the command palette.
//
// Runs on a `jobber serve` of its own, wired to an SMTP sink and a fake Twilio
// started here (the shared server has no email or text transport), so the
// "send test" buttons, the invitation email and everything else are checked
// against real deliveries; its own business, signed up through the UI.
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { png } from "./png.mjs";

async function freePort() {
  return new Promise((done, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** The smallest SMTP server that lettre will talk to: keeps each message's raw text. */
function smtpSink() {
  const messages = [];
  const server = createServer((socket) => {
    let buffer = "";
    let data = null;
    let rcpt = [];
    socket.write("220 sink.test ESMTP\r\n");
    socket.on("data", (chunk) => {
      buffer += chunk.toString("latin1");
      for (;;) {
        if (data !== null) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          // The client doubled each line's leading dot (RFC 5321 §4.5.2): undo it, or a
          // link that a soft line break leaves at the start of a line reads "..".
          messages.push({ to: rcpt, raw: (data + buffer.slice(0, end)).replace(/(^|\r\n)\.\./g, "$1.") });
          buffer = buffer.slice(end + 5);
          data = null;
          rcpt = [];
          socket.write("250 2.0.0 queued\r\n");
          continue;
        }
        const nl = buffer.indexOf("\r\n");
        if (nl < 0) return;
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO") socket.write("250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        else if (verb === "HELO") socket.write("250 sink.test\r\n");
        else if (verb === "RCPT") {
          rcpt.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          socket.write("250 2.1.5 ok\r\n");
        } else if (verb === "DATA") {
          data = "";
          socket.write("354 go ahead\r\n");
        } else if (verb === "QUIT") {
          socket.end("221 2.0.0 bye\r\n");
        } else socket.write("250 2.0.0 ok\r\n");
      }
    });
    socket.on("error", () => {});
  });
  return { server, messages };
}

/** Twilio's Messages API, as far as jobber uses it. */
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
  return { server, texts };
}

/** A small PNG (a green square): enough for an avatar upload. */
function flatPng(size = 64) {
  return png(size, size, () => [26, 127, 90]);
}

/** A message's text with quoted-printable soft breaks and escapes undone (links read whole). */
function decoded(raw) {
  return raw.replace(/=\r\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

async function until(what, check, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function run(t) {
  const { browser, expect, axe, screenshots, viewports, bin } = t;
  // A failing step says what the screen in front of it showed (Gwen's, or Dan's).
  let shown = null;
  const step = (name, fn) =>
    t.step(name, async () => {
      try {
        await fn();
      } catch (error) {
        const text = shown ? await shown.locator("body").innerText({ timeout: 2000 }).catch(() => "") : "";
        if (text && error instanceof Error) error.stack = `the screen at ${shown.url()} showed: ${text.replace(/\s*\n\s*/g, " | ").slice(0, 600)}\n${error.stack}`;
        throw error;
      }
    });
  const sink = smtpSink();
  const twilio = fakeTwilio();
  const smtpPort = await freePort();
  const twilioPort = await freePort();
  await new Promise((r) => sink.server.listen(smtpPort, "127.0.0.1", r));
  await new Promise((r) => twilio.server.listen(twilioPort, "127.0.0.1", r));
  const dataDir = mkdtempSync(join(tmpdir(), "jobber-e2e-settings-"));
  chmodSync(dataDir, 0o755);
  const port = await freePort();
  const adminPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const env = {
    ...process.env,
    JOBBER_PUBLIC_URL: base,
    JOBBER_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    JOBBER_SMTP_FROM: "Jobber Office <office@jobber.test>",
    JOBBER_TWILIO_ACCOUNT_SID: "AC0123456789abcdef0123456789abcdef",
    JOBBER_TWILIO_AUTH_TOKEN: "e2e-twilio-token",
    JOBBER_TWILIO_FROM: "+15550001111",
    JOBBER_TWILIO_API_BASE: `http://127.0.0.1:${twilioPort}`,
  };
  delete env.JOBBER_BIN;
  const server = spawn(
    bin,
    ["serve", "--data-dir", dataDir, "--listen", `127.0.0.1:${port}`, "--admin-listen", `127.0.0.1:${adminPort}`, "--log", "warn"],
    { stdio: ["ignore", "pipe", "pipe"], env },
  );
  server.stdout.on("data", (d) => log.push(d.toString()));
  server.stderr.on("data", (d) => log.push(d.toString()));
  let exited = null;
  server.on("exit", (code, signal) => (exited = code ?? signal));

  const owner = { business: "Evergreen Gutters", name: "Gwen Gardner", email: "gwen@evergreen.example", password: "gutters all the way down" };
  // Invited by Gwen: he joins from the emailed link, forgets his password, is deactivated.
  const dan = { name: "Dan Dispatch", email: "dan@evergreen.example", password: "first day on the job", newPassword: "second try at remembering" };
  /** The link to `path` (accept-invitation, reset-password) in the newest email to `address`. */
  const emailedLink = async (address, path) => {
    const pattern = new RegExp(`${base.replace(/[.]/g, "\\.")}/${path}\\?token=[^\\s"<>&]+`);
    const mail = await until(`the ${path} email to ${address}`, () =>
      [...sink.messages].reverse().find((m) => m.to.includes(address) && pattern.test(decoded(m.raw))),
    );
    return decoded(mail.raw).match(pattern)[0];
  };
  /** A browser of Dan's own (his cookie, not Gwen's). */
  const browserOfDan = async () => {
    const ctx = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/New_York" });
    const p = await ctx.newPage();
    shown = p;
    p.on("console", (m) => m.type() === "error" && errors.push(`[dan] ${m.text()}`));
    p.on("pageerror", (e) => errors.push(`[dan] ${String(e)}`));
    return { ctx, page: p };
  };
  const signInAs = async (p, email, password) => {
    await p.getByLabel("Email").fill(email);
    await p.getByLabel("Password").fill(password);
    await p.getByRole("button", { name: "Sign in" }).click();
  };
  let danBrowser;
  const errors = [];
  let context;
  let failedBefore = 0;
  try {
    await until(
      "the second jobber serve",
      async () => {
        if (exited !== null) throw new Error(`jobber serve exited (${exited}):\n${log.join("")}`);
        try {
          return (await fetch(`${base}/readyz`)).ok;
        } catch {
          return false;
        }
      },
      120_000,
    );
    context = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/New_York", acceptDownloads: true });
    const page = await context.newPage();
    shown = page;
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(String(e)));
    const main = page.getByRole("main");
    const settingsNav = page.getByRole("navigation", { name: "Settings sections" });

    await step("settings: sign up a second business (its own server, with email and texts)", async () => {
      await page.goto(`${base}/sign-up`);
      await page.getByLabel("Business name").fill(owner.business);
      await page.getByLabel("Your name").fill(owner.name);
      await page.getByLabel("Email").fill(owner.email);
      await page.getByLabel("Password").fill(owner.password);
      await page.getByRole("button", { name: "Create account" }).click();
      await page.getByRole("heading", { name: /Good (morning|afternoon|evening), Gwen/ }).waitFor();
    });

    await step("settings: change the business details", async () => {
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
      await page.getByRole("heading", { name: "Business details" }).waitFor();
      expect(new URL(page.url()).pathname === "/settings/business", `at ${page.url()}`);
      // A field the server refuses shows its message at the field.
      await main.getByLabel("Email").fill("not-an-email");
      await main.getByRole("button", { name: "Save changes" }).click();
      await page.waitForFunction(() => document.querySelector("input[name=email]")?.getAttribute("aria-invalid") === "true");
      await screenshots(page, "settings-business-error");
      await main.getByLabel("Email").fill("office@evergreen.example");
      await main.getByLabel("Phone").fill("(503) 555-0199");
      await main.getByLabel("Street").fill("400 Cedar Way");
      await main.getByLabel("City").fill("Portland");
      await main.getByLabel("Business name").fill("Evergreen Gutters & Roofs");
      await main.getByRole("button", { name: "Save changes" }).click();
      await main.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      // The office's top bar shows the new name.
      await page.locator(".topbar__account", { hasText: "Evergreen Gutters & Roofs" }).waitFor();
      await axe(page, "settings: business");
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshots(page, "settings-business");
    });

    await step("settings: time zone, currency and language; branding", async () => {
      await settingsNav.getByRole("link", { name: "Time zone and currency" }).click();
      await page.getByRole("heading", { name: "Time zone, currency and language" }).waitFor();
      await main.getByLabel("Time zone").selectOption("America/Los_Angeles");
      await main.getByLabel("Default payment terms").selectOption("net_15");
      await main.getByRole("button", { name: "Save changes" }).click();
      await main.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await axe(page, "settings: region");
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshots(page, "settings-region");
      await settingsNav.getByRole("link", { name: "Logo and branding" }).click();
      await page.getByRole("heading", { name: "Brand colour" }).waitFor();
      await main.getByLabel("Colour (#RRGGBB)").fill("#1a7f5a");
      await main.getByRole("button", { name: "Save changes" }).click();
      await main.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await axe(page, "settings: branding");
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshots(page, "settings-branding");
    });

    await step("settings: add a tax rate", async () => {
      await settingsNav.getByRole("link", { name: "Tax rates" }).click();
      await page.getByRole("heading", { name: "No tax rates yet" }).waitFor();
      await main.getByRole("button", { name: "Add tax rate" }).click();
      const dialog = page.getByRole("dialog", { name: "Add a tax rate" });
      await dialog.getByLabel("Name").fill("Portland sales tax");
      await dialog.getByLabel("Rate (%)").fill("8.875");
      await dialog.getByLabel("Apply to new quotes and invoices").check();
      await axe(page, "settings: tax rate dialog");
      await dialog.getByRole("button", { name: "Add tax rate" }).click();
      await main.getByRole("cell", { name: "8.875 %" }).waitFor();
      await main.getByText("Default").waitFor();
      await axe(page, "settings: tax rates");
      await screenshots(page, "settings-taxes");
    });

    await step("settings: add a catalog item", async () => {
      await settingsNav.getByRole("link", { name: "Products and services" }).click();
      await page.getByRole("heading", { name: "No items yet" }).waitFor();
      await main.getByRole("button", { name: "Add item" }).click();
      const dialog = page.getByRole("dialog", { name: "Add a catalog item" });
      await dialog.getByLabel("Name").fill("Gutter cleaning");
      await dialog.getByLabel("Description").fill("Up to 150 ft, downspouts flushed");
      await dialog.getByLabel("Price (USD)").fill("twelve");
      await dialog.getByRole("button", { name: "Add item" }).click();
      await dialog.getByText("Enter an amount like 12.50").waitFor();
      await dialog.getByLabel("Price (USD)").fill("149.00");
      await dialog.getByRole("button", { name: "Add item" }).click();
      await main.getByRole("cell", { name: "$149.00" }).waitFor();
      await axe(page, "settings: catalog");
      await screenshots(page, "settings-catalog");
    });

    await step("settings: invite a team member (the invitation is emailed)", async () => {
      await settingsNav.getByRole("link", { name: "Team and roles" }).click();
      await main.getByText(owner.email).waitFor();
      await main.getByRole("button", { name: "Invite a member" }).click();
      const dialog = page.getByRole("dialog", { name: "Invite a team member" });
      await dialog.getByLabel("Name").fill("Dan Dispatch");
      await dialog.getByLabel("Email").fill("dan@evergreen.example");
      await dialog.getByLabel("Role").selectOption("dispatcher");
      await dialog.getByRole("button", { name: "Send invitation" }).click();
      await main.getByRole("status").filter({ hasText: "Dan Dispatch is invited" }).waitFor();
      await main.getByText("Invited", { exact: true }).waitFor();
      await until("the invitation email", () => sink.messages.some((m) => m.to.includes("dan@evergreen.example")));
      // Change the role, from the list.
      await main.getByLabel("Role of Dan Dispatch").selectOption("admin");
      await main.getByRole("status").filter({ hasText: "Dan Dispatch is now admin." }).waitFor();
      await axe(page, "settings: team");
      await screenshots(page, "settings-team");
    });

    await step("invitation: Dan opens the emailed link, chooses a password and lands in the office as an admin", async () => {
      const link = await emailedLink(dan.email, "accept-invitation");
      danBrowser = await browserOfDan();
      const p = danBrowser.page;
      await p.goto(link);
      await p.getByRole("heading", { name: "Join your team on jobber" }).waitFor();
      await axe(p, "accept invitation");
      await screenshots(p, "accept-invitation");
      // The two entries must agree, before anything is sent.
      await p.getByLabel("New password").fill(dan.password);
      await p.getByLabel("Repeat the password").fill("first day on the jab");
      await p.getByRole("button", { name: "Accept invitation" }).click();
      await p.getByText("The two passwords differ.").waitFor();
      await p.getByLabel("Repeat the password").fill(dan.password);
      await p.getByRole("button", { name: "Accept invitation" }).click();
      // Signed in straight away, as the role Gwen gave him last (admin, not the dispatcher invited).
      await p.getByRole("heading", { name: /Good (morning|afternoon|evening), Dan/ }).waitFor();
      expect(new URL(p.url()).pathname === "/", `at ${p.url()}`);
      await p.getByRole("button", { name: /Account menu/ }).click();
      await p.locator(".badge", { hasText: /^admin$/ }).waitFor();
      await p.keyboard.press("Escape");
      const session = await p.evaluate(async () => (await fetch("/api/v1/auth/session")).json());
      expect(session.user.email === dan.email && session.user.role === "admin", `signed in as ${session.user.email}, ${session.user.role}`);
      expect(session.account.name === "Evergreen Gutters & Roofs", `in ${session.account.name}`);
      // Only this browser is signed in: the token login the acceptance answered with is ended.
      const mine = await p.evaluate(async () => (await fetch("/api/v1/auth/sessions")).json());
      expect(mine.sessions.length === 1 && mine.sessions[0].kind === "cookie" && mine.sessions[0].current, `his sign-ins: ${JSON.stringify(mine.sessions)}`);
      // An admin has the settings; the link works once.
      await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Settings" }).click();
      await p.getByRole("navigation", { name: "Settings sections" }).getByRole("link", { name: "Team and roles" }).waitFor();
      const again = await browserOfDan();
      try {
        await again.page.goto(link);
        await again.page.getByLabel("New password").fill("someone else's try 1");
        await again.page.getByLabel("Repeat the password").fill("someone else's try 1");
        await again.page.getByRole("button", { name: "Accept invitation" }).click();
        await again.page.getByText("This link has expired or was already used. Ask for a new one.").waitFor();
      } finally {
        await again.ctx.close();
      }
      // Gwen's list no longer says "Invited".
      shown = page;
      await page.reload();
      await main.getByText(dan.email).waitFor();
      expect((await main.getByText("Invited", { exact: true }).count()) === 0, "Dan is no longer shown as invited");
    });

    await step("password reset: Dan asks for a link, sets a new password; the old one stops working and his sessions end", async () => {
      const { ctx, page: p } = await browserOfDan();
      try {
        await p.goto(`${base}/sign-in`);
        await p.getByRole("link", { name: "Forgot your password?" }).click();
        await p.getByRole("heading", { name: "Reset your password" }).waitFor();
        await p.getByLabel("Email").fill(dan.email);
        await axe(p, "forgot password");
        await screenshots(p, "forgot-password");
        const before = sink.messages.length;
        await p.getByRole("button", { name: "Send reset link" }).click();
        await p.getByRole("heading", { name: "Check your email" }).waitFor();
        await p.getByRole("status").filter({ hasText: dan.email }).waitFor();
        await until("the reset email", () => sink.messages.slice(before).some((m) => m.to.includes(dan.email)));
        const link = await emailedLink(dan.email, "reset-password");
        await p.goto(link);
        await p.getByRole("heading", { name: "Choose a new password" }).waitFor();
        // Too short: the server's rule, shown at the field.
        await p.getByLabel("New password").fill("short");
        await p.getByLabel("Repeat the password").fill("short");
        await p.getByRole("button", { name: "Save password" }).click();
        await p.waitForFunction(() => document.querySelector("input[name=password]")?.getAttribute("aria-invalid") === "true");
        await axe(p, "reset password");
        await screenshots(p, "reset-password");
        await p.getByLabel("New password").fill(dan.newPassword);
        await p.getByLabel("Repeat the password").fill(dan.newPassword);
        await p.getByRole("button", { name: "Save password" }).click();
        await p.getByRole("heading", { name: "Sign in" }).waitFor();
        await p.getByRole("status").filter({ hasText: "Your password was changed. Sign in with the new one." }).waitFor();
        // The old password is refused, the new one opens the office.
        await signInAs(p, dan.email, dan.password);
        await p.getByText("The email or password is incorrect.").waitFor();
        await signInAs(p, dan.email, dan.newPassword);
        await p.getByRole("heading", { name: /Good (morning|afternoon|evening), Dan/ }).waitFor();
        // The browser he was signed in on before the reset is signed out.
        await danBrowser.page.reload();
        await danBrowser.page.getByRole("heading", { name: "Sign in" }).waitFor();
      } finally {
        await danBrowser.ctx.close();
        danBrowser = { ctx, page: p };
        shown = page;
      }
    });

    await step("team: deactivating Dan signs him out and he can no longer sign in", async () => {
      await settingsNav.getByRole("link", { name: "Team and roles" }).click();
      await main.getByRole("button", { name: "Deactivate Dan Dispatch" }).click();
      const dialog = page.getByRole("dialog", { name: "Deactivate Dan Dispatch?" });
      await dialog.getByText("They are signed out everywhere and can no longer sign in.").waitFor();
      await axe(page, "settings: deactivate dialog");
      await dialog.getByRole("button", { name: "Deactivate" }).click();
      await main.getByRole("status").filter({ hasText: "Dan Dispatch is deactivated." }).waitFor();
      await main.getByText("Deactivated", { exact: true }).waitFor();
      await main.getByRole("button", { name: "Reactivate Dan Dispatch" }).waitFor();
      const p = danBrowser.page;
      shown = p;
      try {
        await p.reload();
        await p.getByRole("heading", { name: "Sign in" }).waitFor();
        await signInAs(p, dan.email, dan.newPassword);
        await p.getByText("The email or password is incorrect.").waitFor();
        const api = await fetch(`${base}/api/v1/auth/login`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ email: dan.email, password: dan.newPassword }),
        });
        expect(api.status === 401, `the API login of a deactivated member: ${api.status}`);
      } finally {
        await danBrowser.ctx.close();
        shown = page;
      }
    });

    await step("settings: send a test email and a test text", async () => {
      await settingsNav.getByRole("link", { name: "Connections" }).click();
      await main.getByText("Connected (SMTP)").waitFor();
      await main.getByText("Connected (Twilio)").waitFor();
      const before = sink.messages.length;
      await main.getByRole("button", { name: "Send test email" }).click();
      await main.getByText(`Sent to ${owner.email}`).waitFor();
      const mail = await until("the test email", () => sink.messages.slice(before).find((m) => /Subject: Test email from Evergreen/.test(m.raw)));
      expect(mail.to.includes(owner.email), `the test email went to ${mail.to}`);
      await main.getByLabel("Send a test text to").fill("(503) 555-0123");
      await main.getByRole("button", { name: "Send test text" }).click();
      await main.getByText("Sent to +15035550123").waitFor();
      expect(twilio.texts.some((x) => x.To === "+15035550123" && /test text/.test(x.Body)), "Twilio got the test text");
      await axe(page, "settings: connections");
      await screenshots(page, "settings-connections");
    });

    await step("settings: choose which notifications come by email", async () => {
      await settingsNav.getByRole("link", { name: "Your notifications" }).click();
      const kinds = main.getByRole("group", { name: "Email me when…" });
      await kinds.waitFor();
      await main.getByText("You have not chosen yet").waitFor();
      // An owner's defaults: what clients did, and money in.
      expect(await kinds.getByRole("checkbox", { name: "a client approves a quote" }).isChecked(), "approvals are emailed by default");
      expect(!(await kinds.getByRole("checkbox", { name: "a client sends a text message" }).isChecked()), "texts are not");
      await kinds.getByRole("checkbox", { name: "a client sends a text message" }).check();
      await kinds.getByRole("checkbox", { name: "an invoice is paid" }).uncheck();
      await main.getByRole("button", { name: "Save changes" }).click();
      await main.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await main.getByText("You have not chosen yet").waitFor({ state: "detached" });
      await page.reload();
      await kinds.waitFor();
      expect(await kinds.getByRole("checkbox", { name: "a client sends a text message" }).isChecked(), "the choice is kept");
      expect(!(await kinds.getByRole("checkbox", { name: "an invoice is paid" }).isChecked()), "the choice is kept");
      await axe(page, "settings: notifications");
      await screenshots(page, "settings-notifications");
    });

    await step("settings: reminders, changed and saved; a reload shows them", async () => {
      await settingsNav.getByRole("link", { name: "Reminders" }).click();
      await page.getByRole("heading", { name: "Reminders" }).waitFor();
      const hours = main.getByLabel("Hours before the visit");
      const days = main.getByLabel("Days after the due date");
      // The server refuses what makes no sense, at the field.
      await hours.fill("500");
      await main.getByRole("button", { name: "Save changes" }).click();
      await page.waitForFunction(() => document.querySelector("input[aria-invalid=true]") !== null);
      expect((await hours.getAttribute("aria-invalid")) === "true", "the hours field is marked");
      await hours.fill("48");
      await days.fill("5, 10, 20");
      await main.getByRole("checkbox", { name: "Email clients about overdue invoices" }).uncheck();
      await main.getByRole("checkbox", { name: /Remind clients of their visits/ }).check();
      await main.getByRole("button", { name: "Save changes" }).click();
      await main.getByRole("status").filter({ hasText: "Saved." }).waitFor();
      await page.reload();
      await hours.waitFor();
      expect((await hours.inputValue()) === "48", `hours after reload: ${await hours.inputValue()}`);
      expect((await days.inputValue()) === "5, 10, 20", `days after reload: ${await days.inputValue()}`);
      expect(!(await main.getByRole("checkbox", { name: "Email clients about overdue invoices" }).isChecked()), "follow-ups stay off");
      expect(await main.getByRole("checkbox", { name: /Remind clients of their visits/ }).isChecked(), "visit reminders are on");
      const saved = await page.evaluate(async () => (await fetch("/api/v1/settings")).json());
      expect(
        saved.visit_reminders === true && saved.visit_reminder_hours_before === 48 && saved.invoice_followups === false && saved.invoice_followup_days.join() === "5,10,20",
        `the server has ${JSON.stringify({ h: saved.visit_reminder_hours_before, f: saved.invoice_followups, d: saved.invoice_followup_days })}`,
      );
      await axe(page, "settings: reminders");
      await page.evaluate(() => window.scrollTo(0, 0));
      await screenshots(page, "settings-reminders");
    });

    await step("reports: revenue, jobs and aging with charts", async () => {
      // Some money: an invoice sent and half paid, through the API with the page's session.
      await page.evaluate(async () => {
        const { csrf_token } = await (await fetch("/api/v1/auth/session")).json();
        const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf_token };
        const post = async (path, body) => {
          const r = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
          if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
          return r.json();
        };
        const client = await post("/api/v1/clients", { first_name: "Harriet", last_name: "Okonkwo-Lindqvist", emails: [{ address: "harriet@example.com" }] });
        await post("/api/v1/jobs", { client_id: client.id, title: "Roof moss treatment" });
        const invoice = await post("/api/v1/invoices", { client_id: client.id, title: "Gutter cleaning", tax_rate_ids: [], lines: [{ name: "Gutter cleaning", quantity: 2, unit_price: 14900 }] });
        await post(`/api/v1/invoices/${invoice.id}/send`, {});
        await post("/api/v1/payments", { invoice_id: invoice.id, amount: 14900, method: "check" });
      });
      await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Reports" }).click();
      await page.getByRole("heading", { name: "Revenue", exact: true }).waitFor();
      await main.getByText("$298.00").first().waitFor();
      await main.getByText("$149.00").first().waitFor();
      await main.getByRole("img", { name: /Invoiced and collected per day/ }).waitFor();
      await main.getByLabel("Date range").selectOption("last_12_months");
      await main.getByRole("img", { name: /Invoiced and collected per month/ }).waitFor();
      await axe(page, "reports: revenue");
      await screenshots(page, "reports-revenue");
      await main.getByRole("tab", { name: "Jobs" }).click();
      await page.getByRole("heading", { name: "Jobs by status" }).waitFor();
      await axe(page, "reports: jobs");
      await screenshots(page, "reports-jobs");
      // The tabs follow the arrow keys.
      await main.getByRole("tab", { name: "Jobs" }).press("ArrowRight");
      await page.getByRole("heading", { name: "Unpaid invoices by days past due" }).waitFor();
      expect(await main.getByRole("tab", { name: "Aging" }).evaluate((el) => el === document.activeElement), "the Aging tab has the focus");
      await main.getByText("$149.00").first().waitFor();
      await axe(page, "reports: aging");
      await screenshots(page, "reports-aging");
    });

    await step("reports: a CSV export, with progress, downloads; the bell counts its notification live", async () => {
      const bell = page.getByRole("button", { name: /^Notifications/ });
      expect((await bell.getAttribute("aria-label")) === "Notifications", `the bell says ${await bell.getAttribute("aria-label")}`);
      await main.getByRole("tab", { name: "Revenue" }).click();
      await main.getByLabel("What to export").selectOption("invoices");
      await main.getByRole("button", { name: "Export CSV" }).click();
      const link = main.getByRole("link", { name: "Download invoices issued CSV" });
      // Pending first (the progress bar), unless the worker was quicker than the page.
      await Promise.race([main.getByRole("progressbar", { name: "Preparing the CSV file" }).waitFor(), link.waitFor()]);
      await link.waitFor({ timeout: 60_000 });
      await screenshots(page, "reports-export");
      const [download] = await Promise.all([page.waitForEvent("download"), link.click()]);
      const file = await download.path();
      const csv = readFileSync(file, "utf8");
      const lines = csv.trim().split(/\r?\n/);
      expect(lines.length === 2, `the CSV has ${lines.length} lines:\n${csv}`);
      expect(/number/i.test(lines[0] ?? ""), `header: ${lines[0]}`);
      // The export's notification arrives over the WebSocket: no reload.
      await page.getByRole("button", { name: "Notifications, 1 unread" }).waitFor({ timeout: 20_000 });
      await page.getByRole("button", { name: "Notifications, 1 unread" }).click();
      await page.getByRole("button", { name: /Your invoices export is ready/ }).waitFor();
      await axe(page, "notifications panel");
      await screenshots(page, "notifications");
      await page.getByRole("button", { name: "Mark all as read" }).click();
      await page.getByRole("button", { name: "Notifications", exact: true }).waitFor();
      await page.keyboard.press("Escape");
    });

    await step("palette: Ctrl-K finds a client by name and jumps to it with the keyboard", async () => {
      await page.locator("body").click({ position: { x: 5, y: 300 } });
      await page.keyboard.press("Control+k");
      const dialog = page.getByRole("dialog", { name: "Search and go to" });
      await dialog.waitFor();
      const box = dialog.getByRole("combobox", { name: "Search clients, quotes, jobs and invoices" });
      expect(await box.evaluate((el) => el === document.activeElement), "the search box has the focus");
      await page.keyboard.type("lindqv");
      const option = dialog.getByRole("option", { name: /^Harriet Okonkwo-Lindqvist/ });
      await option.waitFor();
      // The invoice of that client is found too; the first option is the client, active.
      await dialog.getByRole("option", { name: /Gutter cleaning/ }).waitFor();
      expect((await option.getAttribute("aria-selected")) === "true", "the client is the active option");
      await axe(page, "palette");
      await screenshots(page, "palette");
      await page.keyboard.press("ArrowDown");
      expect((await option.getAttribute("aria-selected")) === "false", "ArrowDown moves on");
      await page.keyboard.press("ArrowUp");
      expect((await option.getAttribute("aria-selected")) === "true", "ArrowUp comes back");
      await page.keyboard.press("Enter");
      await page.getByRole("heading", { name: "Harriet Okonkwo-Lindqvist" }).waitFor();
      expect((await dialog.count()) === 0, "the palette closed");
      // Escape closes it without going anywhere.
      await page.keyboard.press("Control+k");
      await dialog.waitFor();
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
    });

    await step("client page: a picture, the messages and the activity", async () => {
      // The palette left us on Harriet's page.
      await page.getByRole("heading", { name: "Harriet Okonkwo-Lindqvist" }).waitFor();
      await main.getByText("Add picture").locator("input[type=file]").setInputFiles({ name: "harriet.png", mimeType: "image/png", buffer: flatPng() });
      await main.getByRole("status").filter({ hasText: "Picture saved." }).waitFor({ timeout: 20_000 });
      await main.locator("img.client-avatar__img").waitFor();
      const history = main.getByRole("tablist", { name: "Client history" });
      await history.getByRole("tab", { name: "Messages" }).click();
      await main.getByText("To harriet@example.com").first().waitFor();
      await history.getByRole("tab", { name: "Messages" }).press("ArrowRight");
      await main.getByRole("tabpanel", { name: "Payments" }).waitFor();
      await history.getByRole("tab", { name: "Payments" }).press("ArrowRight");
      await main.getByRole("tabpanel", { name: "Activity" }).getByRole("listitem").first().waitFor();
      await axe(page, "client page with history");
      await screenshots(page, "client-history", { show: history });
    });

    await step("settings and reports: no errors in the browser console", async () => {
      const unexpected = errors.filter((e) => !/status of (401|409|422)/.test(e));
      expect(unexpected.length === 0, unexpected.join("\n"));
    });
  } catch (error) {
    failedBefore += 1;
    await step("settings and reports: set-up", async () => {
      throw error;
    });
  } finally {
    await context?.close().catch(() => {});
    server.kill("SIGTERM");
    await new Promise((r) => (exited !== null ? r() : server.once("exit", r)));
    sink.server.close();
    twilio.server.close();
    if (failedBefore > 0) console.log(`--- settings server log ---\n${log.join("").slice(-3000)}`);
    rmSync(dataDir, { recursive: true, force: true });
  }
}
