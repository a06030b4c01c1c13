import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { totpCodeAt } from "../src/confirmation/totp.js";
import { AuditLogDocument, SetApiUserActiveDocument, type AuditLogQuery } from "./generated/graphql.js";
import { codes, execute, type GraphQLResult } from "./support/graphql-client.js";
import { DEMO_PASSWORD, DEMO_TOTP_SECRET, startTestServer, type TestServer } from "./support/test-server.js";

async function setActive(server: TestServer, token: string, confirmation: { password: string; otp: string }, headers = {}) {
  return execute(server.url, SetApiUserActiveDocument, { input: { active: true, confirmation } }, { token, headers });
}

describe("step-up confirmation", () => {
  let server: TestServer;
  let owner: string;
  beforeAll(async () => {
    server = await startTestServer();
    owner = await server.token("owner@example.com");
  });
  afterAll(() => server?.close());

  it("refuses a wrong password and a wrong code alike, with CONFIRMATION_FAILED", async () => {
    const right = totpCodeAt(DEMO_TOTP_SECRET, server.clock.now());
    const wrongCode = right === "000000" ? "111111" : "000000";
    const badPassword = await setActive(server, owner, { password: "not the password", otp: right });
    const badCode = await setActive(server, owner, { password: DEMO_PASSWORD, otp: wrongCode });
    for (const result of [badPassword, badCode]) {
      expect(codes(result)).toEqual(["CONFIRMATION_FAILED"]);
      expect(result.errors![0]!.message).toBe("The password or the one-time code is incorrect");
    }
    expect((await setActive(server, owner, server.confirmation())).errors).toBeUndefined();
  });

  it("refuses a code whose time step was already used, and codes of earlier steps", async () => {
    server.clock.advance(30_000);
    const now = server.clock.now();
    const current = { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, now) };
    const previous = { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, now - 30_000) };
    expect((await setActive(server, owner, current)).errors).toBeUndefined();
    expect(codes(await setActive(server, owner, current))).toEqual(["CONFIRMATION_FAILED"]);
    expect(codes(await setActive(server, owner, previous))).toEqual(["CONFIRMATION_FAILED"]);
    server.clock.advance(30_000);
    expect((await setActive(server, owner, server.confirmation())).errors).toBeUndefined();
  });

  it("accepts the previous step's code, but not the next step's", async () => {
    server.clock.advance(90_000);
    const now = server.clock.now();
    const next = { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, now + 30_000) };
    expect(codes(await setActive(server, owner, next))).toEqual(["CONFIRMATION_FAILED"]);
    const previous = { password: DEMO_PASSWORD, otp: totpCodeAt(DEMO_TOTP_SECRET, now - 30_000) };
    expect((await setActive(server, owner, previous)).errors).toBeUndefined();
    server.clock.advance(30_000);
  });
});

describe("1,000 wrong codes through aliases, batches, parallel requests and many addresses", () => {
  let server: TestServer;
  let owner: string;
  beforeAll(async () => {
    // The router in front is trusted, so every request below comes "from" another client address.
    server = await startTestServer({ TRUSTED_PROXIES: "127.0.0.1, ::1" });
    owner = await server.token("owner@example.com");
  });
  afterAll(() => server?.close());

  // Over a thousand requests: its timeout leaves room for a machine busy with other work.
  it("locks after 10 failures and never lets one through", async () => {
    const results: GraphQLResult<unknown>[] = [];
    const batchStatuses: number[] = [];
    let sent = 0;
    let address = 0;
    const nextAddress = () => ({ "x-forwarded-for": `198.51.100.${(address++ % 250) + 1}` });
    const wrong = () => {
      const right = totpCodeAt(DEMO_TOTP_SECRET, server.clock.now());
      const code = String((Number(right) + 1 + (sent % 1000)) % 1_000_000).padStart(6, "0");
      sent += 1;
      return { password: DEMO_PASSWORD, otp: code };
    };

    for (let wave = 0; wave < 20; wave++) {
      const parallel = Array.from({ length: 46 }, () => setActive(server, owner, wrong(), nextAddress()));
      const aliased = execute(
        server.url,
        `mutation($a: ConfirmationInput!, $b: ConfirmationInput!) {
          a: setApiUserActive(input: { active: true, confirmation: $a }) { apiAccess { apiUserActive } }
          b: setApiUserActive(input: { active: true, confirmation: $b }) { apiAccess { apiUserActive } }
        }`,
        { a: wrong(), b: wrong() },
        { token: owner, headers: nextAddress() },
      );
      const batch = fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${owner}`, ...nextAddress() },
        body: JSON.stringify(
          [wrong(), wrong()].map((confirmation) => ({
            query: "mutation($c: ConfirmationInput!) { setApiUserActive(input: { active: true, confirmation: $c }) { apiAccess { apiUserActive } } }",
            variables: { c: confirmation },
          })),
        ),
      }).then((response) => response.status);
      results.push(...(await Promise.all([...parallel, aliased])));
      batchStatuses.push(await batch);
      // Let any back-off pass, but not the 30-minute lock.
      server.clock.advance(20_000);
    }
    expect(sent).toBeGreaterThanOrEqual(1000);

    const outcome = results.map((result) => (result.errors ? codes(result)[0] : "SUCCESS"));
    expect(outcome).not.toContain("SUCCESS");
    expect(outcome.filter((code) => code === "CONFIRMATION_FAILED")).toHaveLength(10);
    expect(new Set(outcome)).toEqual(new Set(["CONFIRMATION_FAILED", "RATE_LIMITED", "BAD_USER_INPUT"]));
    expect(batchStatuses.every((status) => status === 400)).toBe(true);

    // Locked: even the right password and code are refused, with the time left.
    const locked = await setActive(server, owner, server.confirmation());
    expect(codes(locked)).toEqual(["RATE_LIMITED"]);
    const retryAfter = locked.errors![0]!.extensions!.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThan(1000);
    expect(retryAfter).toBeLessThanOrEqual(1800);
    expect(locked.errors![0]!.message).toMatch(/locked/);

    // The audit log shows every attempt it saw: the failures, the lock and the refusals.
    const outcomes: string[] = [];
    for (let after: string | null = null; ; ) {
      const page: AuditLogQuery["auditLog"] = (await execute(server.url, AuditLogDocument, { first: 100, after }, { token: owner }))
        .data!.auditLog;
      outcomes.push(...page.edges.map((edge) => edge.node.outcome));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(outcomes.filter((value) => value === "LOCKED")).toHaveLength(1);
    expect(outcomes.filter((value) => value === "CONFIRMATION_FAILED")).toHaveLength(9);
    expect(outcomes).toContain("RATE_LIMITED");

    // When the lock has run out, the right confirmation works again (with a token of that time).
    server.clock.advance(30 * 60 * 1000);
    expect((await setActive(server, await server.token("owner@example.com"), server.confirmation())).errors).toBeUndefined();
  }, 120_000);
});
