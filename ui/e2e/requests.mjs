// End-to-end: work requests. A business of its own (signed up through the API) puts
// its request form on a "website" (an iframe on another origin); a visitor fills it
// in there; the office finds it in Requests and converts it to a quote.
import { createServer } from "node:http";

const PASSWORD = "correct horse battery staple";

export async function run(t) {
  const { browser, base, step, expect, axe, screenshots, viewports, consoleErrors } = t;

  async function api(method, path, token, body) {
    const response = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  const s = { email: "rosa@rosegardencare.example" };
  await step("requests: a business with a service sets up its form (API)", async () => {
    const signup = await api("POST", "/auth/signup", "", {
      business_name: "Rose Garden Care",
      name: "Rosa Rivera",
      email: s.email,
      password: PASSWORD,
    });
    s.token = signup.access_token;
    await api("POST", "/catalog", s.token, { kind: "service", name: "Hedge trimming", unit_price: 12000 });
    const form = await api("GET", "/settings/request-form", s.token);
    s.slug = form.slug;
    expect(s.slug === "rose-garden-care", `slug ${s.slug}`);
  });

  // The business's own website, on another origin, embedding the form.
  const site = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(
      `<!doctype html><html lang="en"><head><title>Rose Garden Care</title></head><body><h1>Rose Garden Care</h1>` +
        `<iframe src="${base}/request/${s.slug}" title="Request service" style="width:100%;height:1400px;border:0"></iframe></body></html>`,
    );
  });
  await new Promise((done) => site.listen(0, "127.0.0.1", done));
  const siteUrl = `http://127.0.0.1:${site.address().port}/`;

  await step("requests: a visitor sends a request from the form embedded in another site", async () => {
    const context = await browser.newContext({ viewport: viewports.phone, locale: "en-US" });
    const page = await context.newPage();
    page.on("pageerror", (e) => consoleErrors.push(`request form: ${e}`));
    await page.goto(siteUrl);
    const frame = page.frameLocator('iframe[title="Request service"]');
    await frame.getByRole("heading", { name: "Rose Garden Care" }).waitFor();
    // A field error from the server, at its field.
    await frame.getByLabel("Your name").fill("Dana Visitor");
    await frame.getByLabel("Email").fill("not-an-email");
    await frame.getByRole("button", { name: "Send request" }).click();
    await frame.getByText("must be an email address").waitFor();
    await frame.getByLabel("Email").fill("dana@example.com");
    await frame.getByLabel("Phone").fill("+1 512 555 0142");
    await frame.getByLabel("Street address (where the work is)").fill("88 Juniper Lane");
    await frame.getByLabel("City").fill("Austin");
    await frame.getByLabel("Service", { exact: true }).selectOption({ label: "Hedge trimming" });
    await frame.getByLabel("Details").fill("Two tall privet hedges along the driveway.");
    await frame.getByLabel("Preferred days and times").fill("Saturday mornings");
    await frame.getByRole("button", { name: "Send request" }).click();
    await frame.getByRole("heading", { name: /Your request was sent/ }).waitFor();
    await screenshots(page, "requests-embedded-sent");
    await context.close();

    // The page on its own, for the pictures and axe.
    const own = await browser.newContext({ viewport: viewports.desktop, locale: "en-US" });
    const form = await own.newPage();
    form.on("pageerror", (e) => consoleErrors.push(`request form: ${e}`));
    const response = await form.goto(`${base}/request/${s.slug}`);
    const csp = response.headers()["content-security-policy"] ?? "";
    expect(csp.includes("frame-ancestors *"), `the form may be framed: ${csp}`);
    await form.getByRole("heading", { name: "Rose Garden Care" }).waitFor();
    await axe(form, "public request form");
    await screenshots(form, "requests-public-form");
    await own.close();
  });

  await step("requests: the office finds it in Requests and converts it to a quote", async () => {
    const context = await browser.newContext({ viewport: viewports.desktop, locale: "en-US", timezoneId: "America/Chicago" });
    const page = await context.newPage();
    page.on("pageerror", (e) => consoleErrors.push(`requests office: ${e}`));
    await page.goto(`${base}/sign-in?next=/requests`);
    await page.getByLabel("Email").fill(s.email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Requests" }).waitFor();
    await page.getByRole("link", { name: /Dana Visitor/ }).waitFor();
    await axe(page, "requests inbox");
    await screenshots(page, "requests-inbox");
    await page.getByRole("link", { name: /Dana Visitor/ }).click();
    await page.getByRole("heading", { name: "Dana Visitor" }).waitFor();
    await page.getByText("Two tall privet hedges").waitFor();
    await axe(page, "request detail");
    await screenshots(page, "requests-detail");
    await page.getByRole("button", { name: "Convert to quote" }).click();
    await page.getByRole("link", { name: "Open the quote" }).waitFor();
    await screenshots(page, "requests-converted");
    await page.getByRole("link", { name: "Open the quote" }).click();
    await page.waitForURL(/\/quotes\//);
    await page.getByText("Hedge trimming").first().waitFor();
    expect(new URL(page.url()).pathname.startsWith("/quotes/"), `at ${page.url()}`);

    await page.goto(`${base}/settings/request-form`);
    await page.getByRole("heading", { name: "Online requests and booking" }).waitFor();
    const script = await page.getByLabel("Embed on your website (script)").inputValue();
    expect(script.includes(`/request/${s.slug}`), `the snippet names the form: ${script}`);
    await axe(page, "request form settings");
    await screenshots(page, "requests-settings");
    await context.close();
  });

  await step("requests: two visitors race for the same slot in the browser; one books it, the other picks again", async () => {
    const items = await api("GET", "/catalog", s.token);
    const settings = await api("GET", "/settings/request-form", s.token);
    await api("PUT", "/settings/request-form", s.token, {
      slug: settings.slug,
      enabled: true,
      booking_enabled: true,
      working_hours: [1, 2, 3, 4, 5, 6, 7].map((day) => ({ day, start: "08:00", end: "17:00" })),
      travel_buffer_minutes: 30,
      notice_hours: 0,
      bookable_services: [{ catalog_item_id: items.items[0].id, duration_minutes: 120 }],
      version: settings.version,
    });
    const contexts = [];
    const pages = [];
    for (const viewport of [viewports.phone, viewports.desktop]) {
      const context = await browser.newContext({ viewport, locale: "en-US" });
      const page = await context.newPage();
      page.on("pageerror", (e) => consoleErrors.push(`booking: ${e}`));
      await page.goto(`${base}/request/${s.slug}`);
      await page.getByLabel("Book a time now").check();
      await page.getByRole("group", { name: "Pick a time" }).getByRole("button").first().waitFor();
      contexts.push(context);
      pages.push(page);
    }
    const [first, second] = pages;
    await axe(first, "booking");
    await screenshots(first, "requests-booking");
    const slot = await first.getByRole("group", { name: "Pick a time" }).getByRole("button").first().textContent();
    for (const [page, who] of [[first, "Ann First"], [second, "Ben Second"]]) {
      await page.getByRole("group", { name: "Pick a time" }).getByRole("button").first().click();
      await page.getByLabel("Your name").fill(who);
      await page.getByLabel("Email").fill(`${who.split(" ")[0].toLowerCase()}@example.com`);
      await page.getByLabel("Street address").fill("7 Birch Road");
    }
    await first.getByRole("button", { name: "Book this time" }).click();
    await first.getByRole("heading", { name: /You are booked/ }).waitFor();
    await second.getByRole("button", { name: "Book this time" }).click();
    await second.getByText("That time was just taken").waitFor();
    const offered = await second.getByRole("group", { name: "Pick a time" }).getByRole("button").first().textContent();
    expect(offered !== slot, `the taken slot ${slot} is no longer offered first`);
    await axe(second, "booking (slot taken)");
    await screenshots(second, "requests-booking-taken");
    for (const context of contexts) await context.close();
    const booked = await api("GET", "/requests?status=converted", s.token);
    expect(booked.items.filter((r) => r.source === "booking").length === 1, "exactly one booking");
  });
  site.close();
}
