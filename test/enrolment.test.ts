import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../src/access/password.js";
import { User } from "../src/access/user.entity.js";
import { loadViewer } from "../src/access/viewer.js";
import { IdentityLink } from "../src/auth/identity-link.entity.js";
import { ConfirmationState } from "../src/confirmation/confirmation-state.entity.js";
import { DEFAULT_STEP_UP_POLICY } from "../src/confirmation/step-up.js";
import { totpCodeAt } from "../src/confirmation/totp.js";
import { deriveKeys, loadMasterKeyring } from "../src/credentials/keys.js";
import { confirmAuthenticatorEnrolment, startAuthenticatorEnrolment } from "../src/enrolment/enrolment.service.js";
import { Invitation } from "../src/enrolment/invitation.entity.js";
import { acceptInvitation, invitationFailureLimiter } from "../src/enrolment/invitations.js";
import { RecoveryCode } from "../src/enrolment/recovery-code.entity.js";
import {
  AcceptInvitationDocument,
  AuditLogDocument,
  ChangePasswordDocument,
  ConfirmAuthenticatorEnrolmentDocument,
  InviteByGrantDocument,
  MeDocument,
  MyFactorsDocument,
  ResetUserAuthenticatorDocument,
  ResetUserPasswordDocument,
  StartAuthenticatorEnrolmentDocument,
  type AuditLogQuery,
} from "./generated/graphql.js";
import { databaseText } from "./support/database-text.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { codes, execute, type GraphQLResult } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";

const INVITATION_TTL_SECONDS = 3600;
const INVALID = "The invitation is not valid";

let server: TestServer;
let owner: string;
/** Every address a test sends invitations from is its own, so that one test's failures never throttle another. */
let addressCounter = 0;
const nextAddress = () => `203.0.113.${++addressCounter}`;

beforeAll(async () => {
  // The router in front is trusted: each test names the client address its invitation calls come from.
  server = await startTestServer({ TRUSTED_PROXIES: "127.0.0.1, ::1", INVITATION_TTL_SECONDS: String(INVITATION_TTL_SECONDS) });
  owner = await server.token("owner@example.com");
});
afterAll(() => server?.close());

/** The demo Owner adds a user by e-mail (READ_ONLY on the ETH wallet); answers the invitation shown once. */
async function invite(email: string) {
  const result = await execute(server.url, InviteByGrantDocument, { input: { email, walletId: DEMO_WALLETS.ETH } }, { token: owner });
  expect(result.errors).toBeUndefined();
  const { entry, invitation } = result.data!.grantWalletAccess;
  expect(invitation).not.toBeNull();
  return { userId: entry.user.id, token: invitation!.token, expiresAt: invitation!.expiresAt, headers: result.headers };
}

function accept(token: string, password: string, options: { address?: string; bearer?: string } = {}) {
  return execute(
    server.url,
    AcceptInvitationDocument,
    { input: { token, password } },
    { token: options.bearer, headers: { "x-forwarded-for": options.address ?? nextAddress() } },
  );
}

const factorsOf = async (token: string) => (await execute(server.url, MyFactorsDocument, {}, { token })).data!.me.factors;

/** Starts and confirms the authenticator of a signed-in user; answers its secret and recovery codes. */
async function enrol(token: string) {
  const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token });
  expect(started.errors).toBeUndefined();
  const { secret } = started.data!.startAuthenticatorEnrolment;
  const confirmed = await execute(
    server.url,
    ConfirmAuthenticatorEnrolmentDocument,
    { input: { otp: totpCodeAt(secret, server.clock.now()) } },
    { token },
  );
  expect(confirmed.errors).toBeUndefined();
  // The enrolment code's step is spent: the next confirmation needs a code of a later step.
  server.clock.advance(30_000);
  return { secret, recoveryCodes: confirmed.data!.confirmAuthenticatorEnrolment.recoveryCodes };
}

/** A confirmation with a fresh code of a secret: the clock moves to the next step first (see `TestServer.confirmation`). */
function confirmationOf(password: string, secret: string) {
  server.clock.advance(30_000);
  return { password, otp: totpCodeAt(secret, server.clock.now()) };
}

function changePassword(token: string, confirmation: { password: string; otp: string }, newPassword: string) {
  return execute(server.url, ChangePasswordDocument, { input: { confirmation, newPassword } }, { token });
}

/** A user invited, with a password set and the authenticator on: their token, password, secret and recovery codes. */
async function enrolledUser(email: string, password = "a long enough password") {
  const { userId, token } = await invite(email);
  expect((await accept(token, password)).errors).toBeUndefined();
  const bearer = await server.token(email);
  return { userId, bearer, password, ...(await enrol(bearer)) };
}

type AuditRow = AuditLogQuery["auditLog"]["edges"][number]["node"];

/** The demo account's audit log, newest first. */
async function auditLog(): Promise<AuditRow[]> {
  const result = await execute(server.url, AuditLogDocument, { first: 100 }, { token: owner });
  return result.data!.auditLog.edges.map((edge) => edge.node);
}

/** The audit entries about one user, oldest first, as [action, outcome, actor]. */
async function auditOf(userId: string): Promise<[string, string, string | undefined][]> {
  return (await auditLog())
    .filter((row) => row.targetUser?.id === userId)
    .reverse()
    .map((row) => [row.action, row.outcome, row.actor?.email]);
}

const storedUser = (userId: string) =>
  server.em().findOneOrFail(User, { id: userId }, { populate: ["passwordHash", "totpSecretEncrypted", "pendingTotpSecretEncrypted"] });

describe("from invitation to confirmation", () => {
  it("invites a user added by e-mail, who sets a password, turns on the authenticator and confirms with a code or a recovery code once", async () => {
    const email = "new.person@example.com";
    const invited = await invite(email);
    expect(invited.token).toMatch(/^acs_inv_[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(invited.expiresAt)).toBeCloseTo(server.clock.now() + INVITATION_TTL_SECONDS * 1000, -4);
    expect(invited.headers.get("cache-control")).toBe("no-store");
    // A grant to a user already in the account invites no one.
    const again = await execute(server.url, InviteByGrantDocument, { input: { email, walletId: DEMO_WALLETS.BTC } }, { token: owner });
    expect(again.data!.grantWalletAccess.invitation).toBeNull();

    const bearer = await server.token(email);
    expect(await factorsOf(bearer)).toEqual({
      hasPassword: false,
      authenticatorActive: false,
      authenticatorPending: false,
      recoveryCodesRemaining: 0,
    });

    const accepted = await accept(invited.token, "correct horse battery staple");
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptInvitation).toEqual({ userId: invited.userId, email, identityLinked: false });
    expect((await factorsOf(bearer)).hasPassword).toBe(true);

    const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: bearer });
    expect(started.errors).toBeUndefined();
    expect(started.headers.get("cache-control")).toBe("no-store");
    const { otpauthUrl, secret } = started.data!.startAuthenticatorEnrolment;
    expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\//);
    expect(new URL(otpauthUrl).searchParams.get("secret")).toBe(secret);
    expect(await factorsOf(bearer)).toMatchObject({ authenticatorActive: false, authenticatorPending: true });

    const right = totpCodeAt(secret, server.clock.now());
    const wrong = await execute(
      server.url,
      ConfirmAuthenticatorEnrolmentDocument,
      { input: { otp: right === "000000" ? "111111" : "000000" } },
      { token: bearer },
    );
    expect(codes(wrong)).toEqual(["CONFIRMATION_FAILED"]);
    expect(await factorsOf(bearer)).toMatchObject({ authenticatorActive: false, authenticatorPending: true });
    expect((await server.em().findOneOrFail(ConfirmationState, { user: invited.userId })).failures).toBe(1);

    const confirmed = await execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp: right } }, { token: bearer });
    expect(confirmed.errors).toBeUndefined();
    expect(confirmed.headers.get("cache-control")).toBe("no-store");
    const { recoveryCodes, factors } = confirmed.data!.confirmAuthenticatorEnrolment;
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const code of recoveryCodes) expect(code).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/);
    expect(factors).toEqual({ hasPassword: true, authenticatorActive: true, authenticatorPending: false, recoveryCodesRemaining: 10 });

    // The enrolment code cannot be replayed to confirm an operation.
    expect(codes(await changePassword(bearer, { password: "correct horse battery staple", otp: right }, "another long password"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    server.clock.advance(30_000);

    // Password and a current code.
    const changed = await changePassword(bearer, confirmationOf("correct horse battery staple", secret), "another long password");
    expect(changed.errors).toBeUndefined();
    expect(changed.data!.changePassword.factors.recoveryCodesRemaining).toBe(10);

    // A recovery code with a wrong password is refused and stays unused.
    const [first, second] = recoveryCodes;
    expect(codes(await changePassword(bearer, { password: "not the password at all", otp: first! }, "a third long password"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    expect((await factorsOf(bearer)).recoveryCodesRemaining).toBe(10);
    // With the right password it confirms once (typed in capitals, without the hyphen, as people do)...
    const byRecovery = await changePassword(
      bearer,
      { password: "another long password", otp: first!.replace("-", "").toUpperCase() },
      "a third long password",
    );
    expect(byRecovery.errors).toBeUndefined();
    expect(byRecovery.data!.changePassword.factors.recoveryCodesRemaining).toBe(9);
    // ...and never again.
    expect(codes(await changePassword(bearer, { password: "a third long password", otp: first! }, "a fourth long password"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    expect((await factorsOf(bearer)).recoveryCodesRemaining).toBe(9);
    expect((await changePassword(bearer, { password: "a third long password", otp: second! }, "a fourth long password")).errors).toBeUndefined();
    expect(await verifyPassword((await storedUser(invited.userId)).passwordHash!, "a fourth long password")).toBe(true);

    expect(await auditOf(invited.userId)).toEqual([
      ["GRANT_WALLET_ACCESS", "SUCCESS", "owner@example.com"],
      ["GRANT_WALLET_ACCESS", "SUCCESS", "owner@example.com"],
      ["ACCEPT_INVITATION", "SUCCESS", email],
      ["ENROL_AUTHENTICATOR", "SUCCESS", email],
      ["ENROL_AUTHENTICATOR", "CONFIRMATION_FAILED", email],
      ["ENROL_AUTHENTICATOR", "SUCCESS", email],
      ["CHANGE_PASSWORD", "CONFIRMATION_FAILED", email],
      ["CHANGE_PASSWORD", "SUCCESS", email],
      ["CHANGE_PASSWORD", "CONFIRMATION_FAILED", email],
      ["CHANGE_PASSWORD", "SUCCESS", email],
      ["CHANGE_PASSWORD", "CONFIRMATION_FAILED", email],
      ["CHANGE_PASSWORD", "SUCCESS", email],
    ]);

    // Shown once, stored only as hashes or sealed, never logged.
    const stored = await databaseText(server);
    const secrets = [invited.token, secret, ...recoveryCodes, ...recoveryCodes.map((code) => code.replace("-", ""))];
    for (const value of secrets) {
      expect(stored.includes(value), `${value} in the database`).toBe(false);
      expect(server.logs.join("\n").includes(value), `${value} in the logs`).toBe(false);
    }
    const rows = await server.em().find(RecoveryCode, { user: invited.userId });
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(row.codeHash).toMatch(/^h2\.[0-9a-f]{12}\.[A-Za-z0-9_-]{54}$/);
  });

  it("refuses confirmations with ENROLMENT_REQUIRED until both factors are set, without counting a failure", async () => {
    const email = "half.enrolled@example.com";
    const { userId, token } = await invite(email);
    const bearer = await server.token(email);
    const anything = { password: "whatever it is here", otp: "123456" };

    const noPassword = await changePassword(bearer, anything, "a new long password");
    expect(codes(noPassword)).toEqual(["ENROLMENT_REQUIRED"]);
    expect(noPassword.errors![0]!.extensions!.missing).toBe("password");

    expect((await accept(token, "a long enough password")).errors).toBeUndefined();
    const noAuthenticator = await changePassword(bearer, { ...anything, password: "a long enough password" }, "a new long password");
    expect(codes(noAuthenticator)).toEqual(["ENROLMENT_REQUIRED"]);
    expect(noAuthenticator.errors![0]!.extensions!.missing).toBe("authenticator");

    // A pending authenticator does not count yet.
    expect((await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: bearer })).errors).toBeUndefined();
    expect(codes(await changePassword(bearer, anything, "a new long password"))).toEqual(["ENROLMENT_REQUIRED"]);

    expect(await server.em().findOne(ConfirmationState, { user: userId })).toBeNull();
    expect((await auditOf(userId)).filter(([action]) => action === "CHANGE_PASSWORD")).toEqual([
      ["CHANGE_PASSWORD", "ENROLMENT_REQUIRED", email],
      ["CHANGE_PASSWORD", "ENROLMENT_REQUIRED", email],
      ["CHANGE_PASSWORD", "ENROLMENT_REQUIRED", email],
    ]);
  });

  it("checks a new password's length before spending a code", async () => {
    const user = await enrolledUser("short.password@example.com");
    for (const newPassword of ["too short", "x".repeat(1025)]) {
      const result = await changePassword(user.bearer, { password: user.password, otp: "000000" }, newPassword);
      expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors![0]!.extensions!.field).toBe("newPassword");
    }
    expect((await server.em().findOneOrFail(ConfirmationState, { user: user.userId })).failures).toBe(0);
  });

  it("replaces an active authenticator only with the current factors; the old one works until the new one is confirmed", async () => {
    const user = await enrolledUser("replacing@example.com");
    const unconfirmed = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: user.bearer });
    expect(codes(unconfirmed)).toEqual(["BAD_USER_INPUT"]);
    expect(unconfirmed.errors![0]!.extensions!.field).toBe("confirmation");

    const started = await execute(
      server.url,
      StartAuthenticatorEnrolmentDocument,
      { input: { confirmation: confirmationOf(user.password, user.secret) } },
      { token: user.bearer },
    );
    expect(started.errors).toBeUndefined();
    const newSecret = started.data!.startAuthenticatorEnrolment.secret;
    expect(newSecret).not.toBe(user.secret);
    expect(await factorsOf(user.bearer)).toMatchObject({ authenticatorActive: true, authenticatorPending: true, recoveryCodesRemaining: 10 });
    // Until then the old authenticator still confirms.
    expect((await changePassword(user.bearer, confirmationOf(user.password, user.secret), "a changed long password")).errors).toBeUndefined();

    const confirmed = await execute(
      server.url,
      ConfirmAuthenticatorEnrolmentDocument,
      { input: { otp: totpCodeAt(newSecret, server.clock.now()) } },
      { token: user.bearer },
    );
    expect(confirmed.errors).toBeUndefined();
    const newCodes = confirmed.data!.confirmAuthenticatorEnrolment.recoveryCodes;
    expect(newCodes.some((code) => user.recoveryCodes.includes(code))).toBe(false);
    server.clock.advance(30_000);
    // The old authenticator and the old recovery codes are gone; the new ones work.
    expect(codes(await changePassword(user.bearer, confirmationOf("a changed long password", user.secret), "yet another long one"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    expect(codes(await changePassword(user.bearer, { password: "a changed long password", otp: user.recoveryCodes[0]! }, "yet another long one"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    expect((await changePassword(user.bearer, confirmationOf("a changed long password", newSecret), "yet another long one")).errors).toBeUndefined();
  });

  it("throttles wrong enrolment codes as failed confirmations: back-off after 5, right code included", async () => {
    const email = "slow.typist@example.com";
    const { token } = await invite(email);
    expect((await accept(token, "a long enough password")).errors).toBeUndefined();
    const bearer = await server.token(email);
    const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: bearer });
    const { secret } = started.data!.startAuthenticatorEnrolment;
    const confirm = (otp: string) => execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp } }, { token: bearer });
    const right = () => totpCodeAt(secret, server.clock.now());
    const wrong = () => String((Number(right()) + 1) % 1_000_000).padStart(6, "0");
    for (let i = 0; i < 5; i++) expect(codes(await confirm(wrong()))).toEqual(["CONFIRMATION_FAILED"]);
    const waiting = await confirm(right());
    expect(codes(waiting)).toEqual(["RATE_LIMITED"]);
    expect(waiting.errors![0]!.extensions!.retryAfterSeconds).toBe(1);
    server.clock.advance(1000);
    expect((await confirm(right())).errors).toBeUndefined();
    server.clock.advance(30_000);
  });

  it("enrols a given secret through the service function, as the demo seed does", async () => {
    const { token } = await invite("seeded@example.com");
    expect((await accept(token, "a long enough password")).errors).toBeUndefined();
    const keys = deriveKeys(loadMasterKeyring(server.service.config));
    const em = server.em();
    const context = {
      em,
      viewer: (await loadViewer(server.service.db.execute, await server.userId("seeded@example.com")))!,
      clientAddress: "seed",
      logger: server.service.logger,
      stepUp: { box: server.service.box, hasher: keys.secretHasher, clock: server.clock, policy: DEFAULT_STEP_UP_POLICY },
    };
    await expect(startAuthenticatorEnrolment(context, { secret: "not base32!" })).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    const given = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    const started = await startAuthenticatorEnrolment(context, { secret: given.toLowerCase() });
    expect(started.secret).toBe(given);
    const { recoveryCodes } = await confirmAuthenticatorEnrolment(context, { otp: totpCodeAt(given, server.clock.now()) });
    expect(recoveryCodes).toHaveLength(10);
    server.clock.advance(30_000);
    const bearer = await server.token("seeded@example.com");
    expect((await changePassword(bearer, confirmationOf("a long enough password", given), "another long password")).errors).toBeUndefined();
  });

  it("refuses a malformed code, and a code when no authenticator is being turned on", async () => {
    const bearer = await server.token("new.person@example.com");
    const malformed = await execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp: "12345x" } }, { token: bearer });
    expect(codes(malformed)).toEqual(["BAD_USER_INPUT"]);
    const nothingPending = await execute(server.url, ConfirmAuthenticatorEnrolmentDocument, { input: { otp: "123456" } }, { token: bearer });
    expect(codes(nothingPending)).toEqual(["BAD_USER_INPUT"]);
    expect(nothingPending.errors![0]!.message).toMatch(/No authenticator is being turned on/);
  });
});

describe("invitations", () => {
  it("refuses garbage, unknown, reused and expired tokens alike, and a short password before looking at the token", async () => {
    const { userId, token } = await invite("careful@example.com");
    const address = nextAddress();
    const unknown = `acs_inv_${"A".repeat(43)}`;
    for (const garbage of ["", "nope", unknown, `${token}x`, token.slice(0, -1), "acs_inv_" + "!".repeat(43), "x".repeat(100_000)]) {
      const result = await accept(garbage, "a long enough password", { address });
      expect(codes(result), garbage.slice(0, 20)).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors![0]!.message).toBe(INVALID);
      expect(result.data ?? null).toBeNull();
    }
    for (const password of ["short", "x".repeat(1025)]) {
      const result = await accept(token, password);
      expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
      expect(result.errors![0]!.extensions!.field).toBe("password");
    }
    expect((await storedUser(userId)).passwordHash).toBeNull();

    expect((await accept(token, "a long enough password")).errors).toBeUndefined();
    const reused = await accept(token, "an attacker's long password");
    expect(reused.errors![0]!.message).toBe(INVALID);
    expect(await verifyPassword((await storedUser(userId)).passwordHash!, "a long enough password")).toBe(true);

    const late = await invite("late@example.com");
    server.clock.advance(INVITATION_TTL_SECONDS * 1000 + 1000);
    const expired = await accept(late.token, "a long enough password");
    expect(codes(expired)).toEqual(["BAD_USER_INPUT"]);
    expect(expired.errors![0]!.message).toBe(INVALID);
    expect((await storedUser(late.userId)).passwordHash).toBeNull();

    // Refusals of a token that names a user are in the account's log, with that user as actor.
    expect((await auditOf(userId)).slice(-2)).toEqual([
      ["ACCEPT_INVITATION", "SUCCESS", "careful@example.com"],
      ["ACCEPT_INVITATION", "BAD_USER_INPUT", "careful@example.com"],
    ]);
    expect((await auditOf(late.userId)).slice(-1)).toEqual([["ACCEPT_INVITATION", "BAD_USER_INPUT", "late@example.com"]]);
  });

  it("lets exactly one of two parallel acceptances of one token win", async () => {
    const { userId, token } = await invite("twice@example.com");
    const results = await Promise.all([accept(token, "first long password"), accept(token, "second long password")]);
    const winners = results.filter((result) => !result.errors);
    const losers = results.filter((result) => result.errors);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(1);
    expect(losers[0]!.errors![0]!.message).toBe(INVALID);
    const winning = results[0]!.errors ? "second long password" : "first long password";
    expect(await verifyPassword((await storedUser(userId)).passwordHash!, winning)).toBe(true);
    expect(await server.em().count(Invitation, { user: userId, usedAt: { $ne: null } })).toBe(1);
  });

  it("makes an address that keeps failing wait, even with a good token", async () => {
    // Start at the beginning of a counting window (15 minutes), so that every failure below falls in it.
    const windowMs = 15 * 60_000;
    server.clock.advance(windowMs - (server.clock.now() % windowMs) + 1000);
    const { token } = await invite("patient@example.com");
    const address = nextAddress();
    for (let i = 0; i < 10; i++) {
      expect(codes(await accept(`acs_inv_${String(i).padStart(43, "B")}`, "a long enough password", { address }))).toEqual(["BAD_USER_INPUT"]);
    }
    const limited: GraphQLResult<unknown> = await accept(token, "a long enough password", { address });
    expect(codes(limited)).toEqual(["RATE_LIMITED"]);
    const retryAfter = limited.errors![0]!.extensions!.retryAfterSeconds as number;
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    // Another address is not held up, and this one may try again once the window is over.
    server.clock.advance(retryAfter * 1000);
    expect((await accept(token, "a long enough password", { address })).errors).toBeUndefined();
  });

  it("is answered without a bearer token, and one mutation per request", async () => {
    const { token } = await invite("alone@example.com");
    const both = await execute(
      server.url,
      `mutation($t: String!) {
        a: acceptInvitation(input: { token: $t, password: "a long enough password" }) { userId }
        b: acceptInvitation(input: { token: $t, password: "another long password" }) { userId }
      }`,
      { t: token },
    );
    expect(codes(both)).toEqual(["BAD_USER_INPUT"]);
    expect(both.status).toBe(400);
    // Beside it, nothing runs without a token.
    expect(codes(await execute(server.url, MeDocument, {}))).toEqual(["UNAUTHENTICATED"]);
    expect((await accept(token, "a long enough password")).errors).toBeUndefined();
  });
});

describe("identity links", () => {
  it("links the identity provider's subject of the accepting request to the user, and never to a second one", async () => {
    const first = await invite("linked@example.com");
    const idToken = await server.service.tokens.sign("provider-subject-1", 3600);
    // Before the link the provider's token names nobody.
    expect(codes(await execute(server.url, MeDocument, {}, { token: idToken }))).toEqual(["UNAUTHENTICATED"]);

    const accepted = await accept(first.token, "a long enough password", { bearer: idToken });
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.acceptInvitation.identityLinked).toBe(true);
    const links = await server.em().find(IdentityLink, { user: first.userId });
    expect(links.map((link) => [link.issuer, link.subject])).toEqual([["access-subgraph", "provider-subject-1"]]);
    // From now on the provider's token signs in as that user.
    const me = await execute(server.url, MeDocument, {}, { token: idToken });
    expect(me.data!.me.user.email).toBe("linked@example.com");

    const second = await invite("second@example.com");
    const taken = await accept(second.token, "a long enough password", { bearer: idToken });
    expect(codes(taken)).toEqual(["FORBIDDEN"]);
    expect(taken.errors![0]!.extensions!.reason).toBe("IDENTITY_ALREADY_LINKED");
    // The refused acceptance used nothing up: the invitation still works.
    expect((await storedUser(second.userId)).passwordHash).toBeNull();
    expect(await server.em().count(IdentityLink, { user: second.userId })).toBe(0);

    // Called without GraphQL, where no token signs anyone in, the stored link alone refuses the subject.
    const keys = deriveKeys(loadMasterKeyring(server.service.config));
    const direct = acceptInvitation(
      server.em(),
      { hasher: keys.secretHasher, clock: server.clock, failures: invitationFailureLimiter(server.clock) },
      {
        token: second.token,
        password: "a long enough password",
        identity: { issuer: "access-subgraph", subject: "provider-subject-1" },
        clientAddress: nextAddress(),
        logger: server.service.logger,
      },
    );
    await expect(direct).rejects.toMatchObject({ code: "FORBIDDEN", details: { reason: "IDENTITY_ALREADY_LINKED" } });
    expect((await storedUser(second.userId)).passwordHash).toBeNull();

    // A token that does not verify is refused, and a token of another signed-in user too.
    const [header, payload] = idToken.split(".");
    const forged = await accept(second.token, "a long enough password", { bearer: `${header}.${payload}.${"A".repeat(43)}` });
    expect(codes(forged)).toEqual(["UNAUTHENTICATED"]);
    const someoneElse = await accept(second.token, "a long enough password", { bearer: await server.token("ops@example.com") });
    expect(codes(someoneElse)).toEqual(["FORBIDDEN"]);
    expect(someoneElse.errors![0]!.extensions!.reason).toBe("IDENTITY_ALREADY_LINKED");
    expect((await accept(second.token, "a long enough password")).errors).toBeUndefined();

    expect((await auditOf(second.userId)).slice(-4)).toEqual([
      ["ACCEPT_INVITATION", "FORBIDDEN", "second@example.com"],
      ["ACCEPT_INVITATION", "FORBIDDEN", "second@example.com"],
      ["ACCEPT_INVITATION", "FORBIDDEN", "second@example.com"],
      ["ACCEPT_INVITATION", "SUCCESS", "second@example.com"],
    ]);
  });
});

describe("resets by the Owner", () => {
  it("resets a password: a new invitation (shown once) sets a new one; the old password confirms nothing", async () => {
    const user = await enrolledUser("forgetful@example.com");
    const reset = await execute(
      server.url,
      ResetUserPasswordDocument,
      { input: { userId: user.userId, confirmation: server.confirmation() } },
      { token: owner },
    );
    expect(reset.errors).toBeUndefined();
    expect(reset.headers.get("cache-control")).toBe("no-store");
    const { invitation } = reset.data!.resetUserPassword;
    expect(invitation.token).toMatch(/^acs_inv_/);
    expect(await factorsOf(user.bearer)).toMatchObject({ hasPassword: false, authenticatorActive: true });

    const old = await changePassword(user.bearer, confirmationOf(user.password, user.secret), "a brand new password");
    expect(codes(old)).toEqual(["ENROLMENT_REQUIRED"]);
    expect((await accept(invitation.token, "a brand new password")).errors).toBeUndefined();
    expect(codes(await changePassword(user.bearer, confirmationOf(user.password, user.secret), "a newer password here"))).toEqual([
      "CONFIRMATION_FAILED",
    ]);
    expect((await changePassword(user.bearer, confirmationOf("a brand new password", user.secret), "a newer password here")).errors).toBeUndefined();

    expect((await auditOf(user.userId)).filter(([action]) => action === "RESET_PASSWORD")).toEqual([
      ["RESET_PASSWORD", "SUCCESS", "owner@example.com"],
    ]);
  });

  it("resets an authenticator: active, pending and recovery codes are gone, and the user turns one on again", async () => {
    const user = await enrolledUser("lost.phone@example.com");
    const reset = await execute(
      server.url,
      ResetUserAuthenticatorDocument,
      { input: { userId: user.userId, confirmation: server.confirmation() } },
      { token: owner },
    );
    expect(reset.errors).toBeUndefined();
    expect(reset.data!.resetUserAuthenticator.user).toEqual({ id: user.userId, email: "lost.phone@example.com" });
    expect(await factorsOf(user.bearer)).toEqual({
      hasPassword: true,
      authenticatorActive: false,
      authenticatorPending: false,
      recoveryCodesRemaining: 0,
    });
    expect(await server.em().count(RecoveryCode, { user: user.userId })).toBe(0);
    const refused = await changePassword(user.bearer, confirmationOf(user.password, user.secret), "a brand new password");
    expect(codes(refused)).toEqual(["ENROLMENT_REQUIRED"]);
    expect(refused.errors![0]!.extensions!.missing).toBe("authenticator");

    // Turning one on again needs no confirmation: there is no authenticator to confirm with.
    const again = await enrol(user.bearer);
    expect((await changePassword(user.bearer, confirmationOf(user.password, again.secret), "a brand new password")).errors).toBeUndefined();
    expect((await auditOf(user.userId)).filter(([action]) => action === "RESET_AUTHENTICATOR")).toEqual([
      ["RESET_AUTHENTICATOR", "SUCCESS", "owner@example.com"],
    ]);
  });

  it("are the Owner's alone, for users of the Owner's account other than the Owner", async () => {
    const target = await server.userId("viewer@example.com");
    const cases: [string, string, string, string][] = [
      ["ops@example.com", target, "FORBIDDEN", "not the Owner"],
      ["owner@example.com", await server.userId("other-reader@example.com"), "NOT_FOUND", "another account's user"],
      ["owner@example.com", await server.userId("owner@example.com"), "BAD_USER_INPUT", "the Owner"],
      ["owner@example.com", "not-a-uuid", "BAD_USER_INPUT", "a malformed id"],
    ];
    for (const document of [ResetUserPasswordDocument, ResetUserAuthenticatorDocument]) {
      for (const [email, userId, code, why] of cases) {
        const before = await server.em().count(ConfirmationState, {});
        const result = await execute(
          server.url,
          document as typeof ResetUserPasswordDocument,
          { input: { userId, confirmation: { password: "not checked at all", otp: "000000" } } },
          { token: await server.token(email) },
        );
        expect(codes(result), why).toEqual([code]);
        // Refused before any confirmation was looked at.
        expect(await server.em().count(ConfirmationState, {}), why).toBe(before);
      }
    }
  });
});
