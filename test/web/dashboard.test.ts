import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import jsQRModule from "jsqr";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { PNG } from "pngjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, launchRouter, type LaunchedRouter } from "../../router/launch-router.js";
import { repositoryFile } from "../../router/repository.js";
import { totpCodeAt } from "../../src/confirmation/totp.js";
import { AccessListDocument, ApiAccessDocument, WalletsDocument } from "../generated/graphql.js";
import { BUILT_CLI } from "../support/built-server.js";
import { WALLET_CURRENCIES, depositCallback, postCallback, storedTrackingIds } from "../support/callbacks.js";
import { DEMO_WALLETS } from "../support/fixtures.js";
import { execute } from "../support/graphql-client.js";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET, startTestServer, type TestServer } from "../support/test-server.js";
import { requestToken } from "../support/token-client.js";
import { ensureChromium, launchChromium } from "./browser.js";
import { NOWHERE, whereabouts } from "./page-memory.js";
import { startWebServer, type WebServer } from "./web-server.js";

/**
 * The dashboard (web/) in Chromium, as people use it: served by `npm run web`, talking only to the router of
 * `npm run router` (the Hive Gateway CLI, HTTP and graphql-ws) in front of the service. One browser; a context
 * (a profile's worth of storage) per person. `SCREENSHOTS_DIR` (set by `npm run screenshots`) also saves the
 * screenshots the README shows.
 */

/** Generous, for two busy cores: how long anything the page must show may take to appear. */
const DEADLINE_MS = 30_000;
/** Each step of the story: a few waits of the deadline's length at most. */
const TEST_TIMEOUT_MS = 120_000;
const SCREENSHOTS_DIR = process.env.SCREENSHOTS_DIR;
const NEWCOMER = "newcomer@example.com";
const NEWCOMER_PASSWORD = "a long passphrase for the newcomer";

let server: TestServer;
let router: LaunchedRouter;
let routerPort: number;
let web: WebServer;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** What went wrong inside the pages: uncaught errors, and anything their Content-Security-Policy refused. */
const pageProblems: string[] = [];
let owner: Page;
let ownerToken: string;
/** The callback secret the Owner's popup revealed. */
let callbackSecret: string;
/** The tracking ids the Owner's table must show, oldest first. */
const ownerSees: string[] = [];

beforeAll(async () => {
  ensureChromium();
  server = await startTestServer();
  ownerToken = await server.token("owner@example.com");
  routerPort = await freePort();
  const webPort = await freePort();
  // The gateway allows the dashboard's origin by WEB_PORT, as when both run with the README's settings.
  process.env.WEB_PORT = String(webPort);
  router = await startRouter();
  web = await startWebServer({ WEB_PORT: String(webPort), ROUTER_PORT: String(routerPort) });
  browser = await launchChromium();
}, 600_000);

afterAll(async () => {
  await browser?.close();
  await web?.stop();
  await router?.stop();
  await server?.close();
});

function startRouter(): Promise<LaunchedRouter> {
  return launchRouter({ port: routerPort, accessUrl: `${server.url}/graphql`, depositsPort: 0, subscriptions: "ws", output: "keep", log: () => {} });
}

/** A new person at the keyboard: a context of their own, its clipboard usable by the page. */
async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: "en-GB", timezoneId: "UTC" });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: web.url });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE_MS);
  page.on("pageerror", (error) => pageProblems.push(`${page.url()}: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error" && /Content Security Policy/i.test(message.text())) pageProblems.push(`${page.url()}: ${message.text()}`);
  });
  return page;
}

/** Retries an assertion until it holds or the deadline passes (then it fails with the last error). */
async function eventually(assertion: () => Promise<void> | void, timeoutMs = DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await assertion();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function screenshot(page: Page, name: string): Promise<void> {
  if (SCREENSHOTS_DIR) await page.screenshot({ path: path.resolve(repositoryFile(), SCREENSHOTS_DIR, name), fullPage: true });
}

/** The tracking ids in the events table, top (newest) first. */
const shownTrackingIds = (page: Page) => page.locator("table.events tbody td.tracking-id").allTextContents();
const connectionState = (page: Page) => page.locator(".connection").getAttribute("data-state");

/** Fills the open confirmation popup with a password and a code, and presses its action button. */
async function confirmInPopup(page: Page, action: string, confirmation: { password: string; otp: string }): Promise<void> {
  const popup = page.getByRole("dialog");
  await popup.getByLabel("Password").fill(confirmation.password);
  await popup.getByLabel("Authorization 2FA for operations").fill(confirmation.otp);
  await popup.getByRole("button", { name: action, exact: true }).click();
}

/** A 6-digit code that is none of the Owner's valid ones around now. */
function wrongCode(): string {
  const now = server.clock.now();
  const valid = new Set([-30_000, 0, 30_000].map((offset) => totpCodeAt(DEMO_TOTP_SECRET, now + offset)));
  return ["000000", "111111", "222222", "333333"].find((code) => !valid.has(code))!;
}

/** Posts a deposit callback for a wallet, signed with the secret the Owner's popup revealed. */
async function postDeposit(trackingId: string, walletId: string = DEMO_WALLETS.ETH): Promise<void> {
  const answer = await postCallback(server.url, depositCallback(callbackSecret, { trackingId, walletId }));
  expect(answer.status).toBe(200);
}

/**
 * Has the callback simulator of the README (`npm run cli -- send-callback`, built) post a deposit for a wallet,
 * signed with the secret the Owner's popup revealed.
 */
async function simulateDeposit(trackingId: string, walletId: string): Promise<void> {
  const currency = WALLET_CURRENCIES[walletId]!;
  const { stdout } = await promisify(execFile)(process.execPath, [
    BUILT_CLI,
    "send-callback",
    "--secret",
    callbackSecret,
    "--url",
    `${server.url}/callbacks`,
    "--wallet",
    walletId,
    "--currency",
    `${currency.id}:${currency.alpha}:${currency.exp}`,
    "--tracking-id",
    trackingId,
  ]);
  expect(stdout).toMatch(/^HTTP 200/);
}

describe("the page and the router", () => {
  it("the router lets the dashboard's origin call it from a browser, and no other origin", async () => {
    const preflight = (origin: string) =>
      fetch(`${router.url}/graphql`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type" },
      });
    const allowed = await preflight(web.url);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(web.url);
    expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
    expect((await preflight("http://elsewhere.example")).headers.get("access-control-allow-origin")).not.toBe("http://elsewhere.example");
  });

  it("serves the router's endpoints to the page, and a policy that lets it connect there only", async () => {
    const settings = await fetch(`${web.url}/settings.json`);
    expect(await settings.json()).toEqual({ routerUrl: `${router.url}/graphql`, routerWsUrl: `ws://localhost:${routerPort}/graphql` });
    const page = await fetch(`${web.url}/access-list/api`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain(`connect-src 'self' ${router.url} ws://localhost:${routerPort}`);
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });
});

describe("the Owner, through the router", { timeout: TEST_TIMEOUT_MS }, () => {
  it("signs in with a #token link, which leaves the address bar at once, and sees three wallets with exact balances", async () => {
    owner = await newPage();
    await owner.goto(`${web.url}/#token=${ownerToken}`);
    await owner.locator("table.wallets tbody tr").nth(2).waitFor();
    expect(owner.url()).toBe(`${web.url}/`);

    const api = await execute(router.url, WalletsDocument, {}, { token: ownerToken });
    const expected = api.data!.wallets.edges.map(({ node }) => [node.id, node.balanceConfirmed, node.balancePending, node.balanceUnusable]);
    expect(expected).toHaveLength(3);
    const shown = await owner
      .locator("table.wallets tbody tr")
      .evaluateAll((rows) => rows.map((row) => [row.getAttribute("data-wallet-id"), ...[...row.querySelectorAll("td.amount")].map((cell) => cell.textContent)]));
    expect(shown).toEqual(expected);
    expect(shown[0]).toEqual([DEMO_WALLETS.ETH, "12.482310000000000000", "0.300000000000000000", "0.000000000000000000"]);

    await eventually(async () => expect(await connectionState(owner)).toBe("live"));
    // The token is kept for the tab, and nothing else is.
    expect(await owner.evaluate(() => [Object.keys(sessionStorage), localStorage.length])).toEqual([["access-dashboard.token"], 0]);
  });

  it("edits the IP whitelist on the API tab: a bad entry shows the API's message; a good list is saved", async () => {
    await owner.locator("summary[aria-label='User menu']").click();
    await owner.locator(".user-menu").getByRole("link", { name: "Access list" }).click();
    await owner.getByRole("navigation", { name: "Access list" }).getByRole("link", { name: "API" }).click();
    expect(owner.url()).toBe(`${web.url}/access-list/api`);

    await owner.getByLabel("Whitelist entry 1", { exact: true }).fill("127.0.0.1");
    await owner.getByRole("button", { name: "Add an entry" }).click();
    await owner.getByLabel("Whitelist entry 2", { exact: true }).fill("10.0.0.300");
    await owner.getByRole("button", { name: "Save whitelist" }).click();
    await confirmInPopup(owner, "Save", server.confirmation());

    // The input is refused before the code is looked at: the popup closes, the entry is marked with the API's words.
    const refusal = owner.locator("form.whitelist [role=alert]");
    await refusal.waitFor();
    expect(await refusal.locator(".error-message").textContent()).toBe('entries[1] "10.0.0.300" is not an IPv4 or IPv6 address or CIDR range');
    expect(await refusal.locator(".error-code").textContent()).toBe("BAD_USER_INPUT");
    expect(await owner.getByRole("dialog").count()).toBe(0);
    expect(await owner.getByLabel("Whitelist entry 2", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    expect((await execute(router.url, ApiAccessDocument, {}, { token: ownerToken })).data!.apiAccess.ipWhitelist).toEqual([]);

    await owner.getByLabel("Whitelist entry 2", { exact: true }).fill("10.0.0.0/8");
    await owner.getByRole("button", { name: "Save whitelist" }).click();
    await confirmInPopup(owner, "Save", server.confirmation());
    await owner.getByRole("dialog").waitFor({ state: "detached" });
    await eventually(async () =>
      expect((await execute(router.url, ApiAccessDocument, {}, { token: ownerToken })).data!.apiAccess.ipWhitelist).toEqual(["127.0.0.1", "10.0.0.0/8"]),
    );
    await eventually(async () => expect(await owner.locator("form.whitelist [role=alert]").count()).toBe(0));
  });

  it("switches the Activate API user toggle, confirmed in the popup", async () => {
    const toggle = owner.getByRole("switch", { name: "Activate API user" });
    expect(await toggle.getAttribute("aria-checked")).toBe("false");
    await toggle.click();
    await confirmInPopup(owner, "Activate", server.confirmation());
    await eventually(async () => expect(await toggle.getAttribute("aria-checked")).toBe("true"));
    expect((await execute(router.url, ApiAccessDocument, {}, { token: ownerToken })).data!.apiAccess.apiUserActive).toBe(true);
  });

  it("regenerates the API key and secret: a wrong code gets the API's words; the pair is revealed once, then kept nowhere", async () => {
    await owner.getByRole("button", { name: "Regenerate" }).click();
    const popup = owner.getByRole("dialog");
    await confirmInPopup(owner, "Regenerate", { password: DEMO_PASSWORD, otp: wrongCode() });
    const refusal = popup.getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.locator(".error-message").textContent()).toBe("The password or the one-time code is incorrect");
    expect(await refusal.locator(".error-code").textContent()).toBe("CONFIRMATION_FAILED");

    await confirmInPopup(owner, "Regenerate", server.confirmation());
    const apiKey = (await popup.getByLabel("API key", { exact: true }).textContent())!;
    const apiSecret = (await popup.getByLabel("API secret", { exact: true }).textContent())!;
    expect(apiKey).toMatch(/^acs_key_/);
    expect(apiSecret).toMatch(/^acs_secret_/);
    expect(await popup.getByRole("note").textContent()).toContain("only reveal once in this popup");
    // Copy puts the secret on the clipboard; and the pair is the one /token accepts.
    await popup.getByRole("button", { name: "Copy API secret" }).click();
    await eventually(async () => expect(await popup.getByRole("button", { name: "Copy API secret" }).textContent()).toBe("Copied"));
    expect(await owner.evaluate(() => navigator.clipboard.readText())).toBe(apiSecret);
    await owner.evaluate(() => navigator.clipboard.writeText(""));
    expect((await requestToken(server.url, apiKey, apiSecret)).status).toBe(200);

    await popup.getByRole("button", { name: "Close", exact: true }).last().click();
    await popup.waitFor({ state: "detached" });
    // The key is no secret (the tab shows it); the secret is nowhere, and neither is the password.
    await eventually(async () => expect(await owner.locator("dl.facts code").textContent()).toBe(apiKey));
    expect(await whereabouts(owner, [apiSecret, DEMO_PASSWORD])).toEqual({ [apiSecret]: NOWHERE, [DEMO_PASSWORD]: NOWHERE });
    await screenshot(owner, "dashboard-api-tab.png");
  });

  it("regenerates the callback secret with an overlap: revealed once, then only \"Set\"", async () => {
    await owner.getByRole("navigation", { name: "Access list" }).getByRole("link", { name: "Callback secret" }).click();
    const status = owner.locator("dd.secret-status");
    expect(await status.textContent()).toBe("Not set");
    await owner.getByLabel("The previous secret keeps verifying callbacks").selectOption("3600");
    await owner.getByRole("button", { name: "Regenerate" }).click();
    await confirmInPopup(owner, "Regenerate", server.confirmation());
    const popup = owner.getByRole("dialog");
    callbackSecret = (await popup.getByLabel("Callback secret", { exact: true }).textContent())!;
    expect(callbackSecret).toMatch(/^acs_whsec_/);
    await popup.getByRole("button", { name: "Close", exact: true }).last().click();
    await popup.waitFor({ state: "detached" });
    await eventually(async () => expect(await status.textContent()).toBe("Set"));
    expect(await whereabouts(owner, [callbackSecret])).toEqual({ [callbackSecret]: NOWHERE });
  });

  it("sees a callback signed with that secret appear live in the table", async () => {
    await owner.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Dashboard" }).click();
    await eventually(async () => expect(await connectionState(owner)).toBe("live"));
    for (const [trackingId, walletId] of [
      ["browser-btc-1", DEMO_WALLETS.BTC],
      ["browser-eth-1", DEMO_WALLETS.ETH],
    ] as const) {
      await simulateDeposit(trackingId, walletId);
      ownerSees.push(trackingId);
    }
    await eventually(async () => expect(await shownTrackingIds(owner)).toEqual([...ownerSees].reverse()));
    expect(await owner.locator("table.events tbody tr.arrived").count()).toBe(2);
  });
});

describe("the viewer, through the router", { timeout: TEST_TIMEOUT_MS }, () => {
  let viewer: Page;

  it("is told in the API's words when a pasted token is refused, then signs in with a good one", async () => {
    viewer = await newPage();
    await viewer.goto(web.url);
    await viewer.getByLabel("Bearer token").fill("not-a-token");
    await viewer.getByRole("button", { name: "Sign in" }).click();
    await eventually(async () =>
      expect(await viewer.locator(".sign-in [role=alert]").textContent()).toBe("The API refused your token: Invalid or expired bearer token"),
    );
    expect(await viewer.evaluate(() => sessionStorage.length)).toBe(0);

    await viewer.getByLabel("Bearer token").fill(await server.token("viewer@example.com"));
    await viewer.getByRole("button", { name: "Sign in" }).click();
    await viewer.locator("table.wallets tbody tr").first().waitFor();
    expect(await viewer.locator("table.wallets tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-wallet-id")))).toEqual([
      DEMO_WALLETS.ETH,
    ]);
  });

  it("sees only its wallet's events, from the history and live", async () => {
    await eventually(async () => expect(await connectionState(viewer)).toBe("live"));
    expect(await shownTrackingIds(viewer)).toEqual(["browser-eth-1"]);
    // Events are delivered in order: once the later ETH one is shown, the BTC one before it was left out.
    await postDeposit("viewer-btc-2", DEMO_WALLETS.BTC);
    await postDeposit("viewer-eth-2", DEMO_WALLETS.ETH);
    ownerSees.push("viewer-btc-2", "viewer-eth-2");
    await eventually(async () => expect(await shownTrackingIds(viewer)).toEqual(["viewer-eth-2", "browser-eth-1"]));
    await eventually(async () => expect(await shownTrackingIds(owner)).toEqual([...ownerSees].reverse()));
  });

  it("is offered no Owner-only action on the access list, the API tab or the Callback secret tab", async () => {
    await viewer.locator("summary[aria-label='User menu']").click();
    await viewer.locator(".user-menu").getByRole("link", { name: "Access list" }).click();
    await viewer.locator("table.access-list tbody tr").first().waitFor();
    expect(await viewer.locator("table.access-list tbody tr").evaluateAll((rows) => rows.map((row) => row.getAttribute("data-user")))).toEqual([
      "viewer@example.com",
    ]);
    expect(await viewer.locator("main select, main form.grant").count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Revoke" }).count()).toBe(0);

    for (const [tab, words] of [
      ["API", "Only the account's Owner manages API access"],
      ["Callback secret", "Only the account's Owner regenerates the callback secret"],
    ] as const) {
      await viewer.getByRole("navigation", { name: "Access list" }).getByRole("link", { name: tab }).click();
      await eventually(async () => expect(await viewer.getByRole("note").textContent()).toContain(words));
      expect(await viewer.locator("main button, main input, main [role=switch]").count()).toBe(0);
    }
  });
});

describe("the gateway restarted mid-stream", { timeout: TEST_TIMEOUT_MS }, () => {
  it("the Owner's table resumes after the last event it showed: nothing missed, nothing doubled", async () => {
    await postDeposit("before-restart");
    ownerSees.push("before-restart");
    await eventually(async () => expect(await shownTrackingIds(owner)).toEqual([...ownerSees].reverse()));

    await router.stop();
    await eventually(async () => expect(await connectionState(owner)).toBe("waiting"));
    for (const trackingId of ["while-down-1", "while-down-2"]) {
      await postDeposit(trackingId);
      ownerSees.push(trackingId);
    }
    router = await startRouter();

    // The missed events are replayed once the socket is back; then new ones arrive live.
    await eventually(async () => expect(await shownTrackingIds(owner)).toEqual([...ownerSees].reverse()), 60_000);
    expect(await connectionState(owner)).toBe("live");
    await postDeposit("after-restart");
    ownerSees.push("after-restart");
    await eventually(async () => expect(await shownTrackingIds(owner)).toEqual([...ownerSees].reverse()));
    // Exactly the account's history, once each.
    expect(await storedTrackingIds(server.url, ownerToken)).toEqual(ownerSees);
    await screenshot(owner, "dashboard-live-events.png");
  });
});

describe("the access list and a new person", { timeout: TEST_TIMEOUT_MS }, () => {
  let invitationLink: string;

  it("the Owner grants a new person access (the invitation revealed once), changes the role and revokes another's", async () => {
    await owner.locator("summary[aria-label='User menu']").click();
    await owner.locator(".user-menu").getByRole("link", { name: "Access list" }).click();
    await owner.getByLabel("E-mail").fill(NEWCOMER);
    await owner.locator("form.grant").getByLabel("Wallet").selectOption(DEMO_WALLETS.BTC);
    await owner.locator("form.grant").getByRole("button", { name: "Grant" }).click();
    const popup = owner.getByRole("dialog", { name: `Invitation for ${NEWCOMER}` });
    invitationLink = (await popup.getByLabel("Invitation link", { exact: true }).textContent())!;
    const invitationToken = (await popup.getByLabel("Invitation token", { exact: true }).textContent())!;
    expect(invitationLink).toBe(`${web.url}/invitation#invitation=${invitationToken}`);
    await popup.getByRole("button", { name: "Close", exact: true }).last().click();
    await popup.waitFor({ state: "detached" });
    expect(await whereabouts(owner, [invitationToken])).toEqual({ [invitationToken]: NOWHERE });

    const roleSelect = owner.getByLabel(`Role of ${NEWCOMER} on BTC settlements`);
    expect(await roleSelect.inputValue()).toBe("READ_ONLY");
    await roleSelect.selectOption("ADMIN");
    const roleOf = async (email: string) =>
      (await execute(router.url, AccessListDocument, {}, { token: ownerToken })).data!.accessList
        .find((entry) => entry.user.email === email)!
        .grants.map((grant) => [grant.wallet.id, grant.role]);
    await eventually(async () => expect(await roleOf(NEWCOMER)).toEqual([[DEMO_WALLETS.BTC, "ADMIN"]]));

    await owner.locator("tr[data-user='ops@example.com'] li", { hasText: "BTC settlements" }).getByRole("button", { name: "Revoke" }).click();
    await owner.getByRole("dialog", { name: "Revoke access" }).getByRole("button", { name: "Revoke" }).click();
    await eventually(async () => expect(await roleOf("ops@example.com")).toEqual([[DEMO_WALLETS.ETH, "WITHDRAWALS_WITH_APPROVAL"]]));
    await eventually(async () => expect(await owner.locator("tr[data-user='ops@example.com'] li").count()).toBe(1));
  });

  it("the new person follows the invitation, sets a password and turns on the authenticator from the QR code", async () => {
    const newcomer = await newPage();
    await newcomer.goto(invitationLink);
    await newcomer.getByRole("heading", { name: "Set your password" }).waitFor();
    expect(newcomer.url()).toBe(`${web.url}/invitation`);

    // The API's rule and words for a password.
    await newcomer.getByLabel("New password").fill("too short");
    await newcomer.getByLabel("Repeat the password").fill("too short");
    await newcomer.getByRole("button", { name: "Set password" }).click();
    await eventually(async () => expect(await newcomer.locator("[role=alert] .error-message").textContent()).toBe("password must be 12 to 1024 characters"));

    await newcomer.getByLabel("New password").fill(NEWCOMER_PASSWORD);
    await newcomer.getByLabel("Repeat the password").fill(NEWCOMER_PASSWORD);
    await newcomer.getByRole("button", { name: "Set password" }).click();
    await newcomer.getByRole("heading", { name: "Password set" }).waitFor();

    // Signing in leads on to the authenticator.
    const newcomerToken = await server.token(NEWCOMER);
    await newcomer.getByLabel("Bearer token").fill(newcomerToken);
    await newcomer.getByRole("button", { name: "Sign in" }).click();
    await newcomer.getByRole("heading", { name: "Two-factor authentication" }).waitFor();
    expect(newcomer.url()).toBe(`${web.url}/two-factor`);
    await newcomer.getByRole("button", { name: "Turn on the authenticator" }).click();

    // The QR code, read as a phone's camera reads it.
    const qr = newcomer.getByRole("img", { name: "QR code of the authenticator's secret" });
    await qr.waitFor();
    await eventually(async () => expect(decodeQr(await qr.screenshot())).toMatch(/^otpauth:\/\/totp\//));
    const otpauthUrl = decodeQr(await qr.screenshot())!;
    const secret = new URL(otpauthUrl).searchParams.get("secret")!;
    expect(otpauthUrl).toContain(encodeURIComponent(NEWCOMER));
    expect((await newcomer.getByLabel("Authenticator secret", { exact: true }).textContent())!.replace(/ /g, "")).toBe(secret);
    await screenshot(newcomer, "dashboard-enrolment.png");

    const firstCode = totpCodeAt(secret, server.clock.now());
    await newcomer.getByLabel("The 6-digit code the app shows").fill(firstCode === "000000" ? "111111" : "000000");
    await newcomer.getByRole("button", { name: "Turn on", exact: true }).click();
    await eventually(async () => expect(await newcomer.locator("[role=alert] .error-message").textContent()).toBe("The one-time code is incorrect"));

    await newcomer.getByLabel("The 6-digit code the app shows").fill(totpCodeAt(secret, server.clock.now()));
    await newcomer.getByRole("button", { name: "Turn on", exact: true }).click();
    await newcomer.getByRole("list", { name: "Recovery codes" }).waitFor();
    const codes = await newcomer.getByRole("list", { name: "Recovery codes" }).locator("code").allTextContents();
    expect(codes).toHaveLength(10);
    for (const code of codes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/i);
    await newcomer.getByRole("button", { name: "I have kept them" }).click();
    await eventually(async () => expect(await newcomer.locator("dd.authenticator-state").textContent()).toBe("On"));

    const factors = (await execute(router.url, "{ me { factors { hasPassword authenticatorActive recoveryCodesRemaining } } }", {}, { token: newcomerToken })).data;
    expect(factors).toEqual({ me: { factors: { hasPassword: true, authenticatorActive: true, recoveryCodesRemaining: 10 } } });
    expect(await whereabouts(newcomer, [secret, NEWCOMER_PASSWORD, ...codes])).toEqual(
      Object.fromEntries([secret, NEWCOMER_PASSWORD, ...codes].map((value) => [value, NOWHERE])),
    );
  });
});

/** jsQR's function: its CommonJS export, which is also its `default`. */
const jsQR = jsQRModule.default;

/** The text of the QR code in a PNG screenshot, as a phone's camera would read it; null when none is found. */
function decodeQr(png: Buffer): string | null {
  const image = PNG.sync.read(png);
  return jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.length), image.width, image.height)?.data ?? null;
}

describe("every page", () => {
  it("threw no error and broke no rule of its Content-Security-Policy", () => {
    expect(pageProblems).toEqual([]);
  });
});
