/**
 * The web UI against a gateway that needs keys, in headless Chromium: the first call answered 401
 * brings up the key form; a wrong key brings it back with the gateway's reason; the right one
 * loads the view, is kept in the tab's sessionStorage (never localStorage, never a cookie) and is
 * sent from then on, also after a reload. Needs the built UI script (`npm run build`).
 *
 * Chromium is Debian's; `CHROMIUM_PATH` overrides /usr/bin/chromium. Without it the test is
 * skipped, saying why.
 */
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/gateway/api-keys.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
if (!haveChromium) console.warn(`test/browser/ui-keys.test.ts skipped: no Chromium at ${executablePath}`);

describe.skipIf(!haveChromium)("the web UI with API keys", () => {
  let t: TestGateway;
  let base: string;
  let browser: Browser;
  let page: Page;
  let key: string;
  const sent: (string | undefined)[] = [];

  beforeAll(async () => {
    t = await startTestGateway({ name: "ui-keys" });
    key = (await createApiKey(t.store, "browser", "user")).secret;
    await t.gateway.keys.reload();
    base = await t.gateway.app.listen({ host: "127.0.0.1", port: 0 });
    browser = await chromium.launch({ executablePath });
    page = await browser.newPage();
    page.on("request", (r) => {
      if (r.url().endsWith("/deployments")) sent.push(r.headers().authorization);
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it("asks for a key on 401, refuses a wrong one, and keeps the right one in the tab", async () => {
    await page.goto(`${base}/ui#/deployments`);
    const prompt = page.locator("form.key-prompt");
    await prompt.waitFor({ timeout: 20_000 });
    expect(await prompt.textContent()).toMatch(/API key is required/);
    await prompt.locator("input[type=password]").fill("tf_wrong");
    await prompt.locator("button[type=submit]").click();
    await page.waitForFunction(
      () =>
        (
          globalThis as unknown as { document: { body: { textContent: string } } }
        ).document.body.textContent.includes("not known"),
      undefined,
      { timeout: 20_000 },
    );
    const again = page.locator("form.key-prompt");
    await again.locator("input[type=password]").fill(key);
    await again.locator("button[type=submit]").click();
    await page.locator("form.key-prompt").waitFor({ state: "detached", timeout: 20_000 });
    await page.getByText("No deployments.").waitFor({ timeout: 20_000 });
    const stored = await page.evaluate(() => {
      const g = globalThis as unknown as {
        sessionStorage: { getItem(k: string): string | null };
        localStorage: { length: number };
        document: { cookie: string };
      };
      return {
        session: g.sessionStorage.getItem("tokenforge.apiKey"),
        local: g.localStorage.length,
        cookie: g.document.cookie,
      };
    });
    expect(stored).toEqual({ session: key, local: 0, cookie: "" });
    expect(sent.at(-1)).toBe(`Bearer ${key}`);

    await page.reload();
    await page.getByText("No deployments.").waitFor({ timeout: 20_000 });
    expect(await page.locator("form.key-prompt").count()).toBe(0);
    expect(sent.at(-1)).toBe(`Bearer ${key}`);
  }, 120_000);
});
