import { execFile } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiAccess } from "../src/credentials/api-access.entity.js";
import { MasterKeyring } from "../src/credentials/keys.js";
import { startService, type RunningService } from "../src/app.js";
import type { Config } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { apiUserAccess } from "./support/api-user.js";
import { BUILT_CLI } from "./support/built-server.js";
import { depositCallback, postCallback, regenerateCallbackSecret } from "./support/callbacks.js";
import { DEMO_WALLETS } from "./support/fixtures.js";
import { codes, execute } from "./support/graphql-client.js";
import { startTestServer, type TestServer } from "./support/test-server.js";
import { requestToken } from "./support/token-client.js";
import {
  AcceptInvitationDocument,
  ChangePasswordDocument,
  ConfirmAuthenticatorEnrolmentDocument,
  InviteByGrantDocument,
  SetApiUserActiveDocument,
  StartAuthenticatorEnrolmentDocument,
  WalletsDocument,
} from "./generated/graphql.js";
import { totpCodeAt } from "../src/confirmation/totp.js";

const run = promisify(execFile);

const keyA = randomBytes(32).toString("base64");
const keyB = randomBytes(32).toString("base64");
const jwtSecret1 = randomBytes(32).toString("hex");
const jwtSecret2 = randomBytes(32).toString("hex");

let server: TestServer;
const instances: RunningService[] = [];

/** Another instance on the same database, data directory and clock, with other keys. */
async function instanceWith(keys: Pick<Config, "masterKey" | "retiredMasterKeys"> & { jwtSecret: string; retiredJwtSecrets: string[] }) {
  const config: Config = {
    ...server.service.config,
    masterKey: keys.masterKey,
    retiredMasterKeys: keys.retiredMasterKeys,
    jwt: { ...server.service.config.jwt, secret: keys.jwtSecret, retiredSecrets: keys.retiredJwtSecrets },
  };
  const started = await startService(config, { logger: createLogger("error"), clock: server.clock });
  instances.push(started);
  return started;
}

/** `npm run cli -- keys …` as an operator runs it: the built CLI with the service's database and keys. */
async function keysCli(args: string[], env: Record<string, string>) {
  const database = server.service.config.databaseUrl ? { DATABASE_URL: server.service.config.databaseUrl } : {};
  try {
    const { stdout } = await run(process.execPath, [BUILT_CLI, "keys", ...args], {
      env: { PATH: process.env.PATH, DATA_DIR: server.dataDir, ...database, ...env },
    });
    return { code: 0, stdout };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout + failure.stderr };
  }
}

beforeAll(async () => {
  // API tokens outlive the clock's moves of the confirmations.
  server = await startTestServer({ MASTER_KEY: keyA, JWT_SECRET: jwtSecret1, API_TOKEN_LIFETIME_SECONDS: "86400" });
});
afterAll(async () => {
  for (const instance of instances) await instance.close();
  await server?.close();
});

describe("rotating the master key and the JWT key", () => {
  it("replaces an API secret hash without a key id at the secret's next /token", async () => {
    const api = await apiUserAccess(server);
    const em = server.em();
    const access = await em.findOneOrFail(ApiAccess, { apiKey: api.apiKey });
    // The format without a key id: HMAC-SHA-256 under the key derived for it from the master key.
    const legacyKey = new MasterKeyring(Buffer.from(keyA, "base64")).current.legacyHashKey;
    await em.nativeUpdate(ApiAccess, { account: access.account.id }, { secretHash: createHmac("sha256", legacyKey).update(api.apiSecret).digest("hex") });
    expect((await requestToken(server.url, api.apiKey, "not the secret")).status).toBe(400);
    expect((await requestToken(server.url, api.apiKey, api.apiSecret)).status).toBe(200);
    const stored = (await server.em().findOneOrFail(ApiAccess, { apiKey: api.apiKey })).secretHash!;
    expect(stored.startsWith(`h2.${new MasterKeyring(Buffer.from(keyA, "base64")).current.id}.`)).toBe(true);
    expect((await requestToken(server.url, api.apiKey, api.apiSecret)).status).toBe(200);
  });

  it("keeps callbacks, /token and confirmations working while keys rotate, and after the retired keys are removed", { timeout: 120_000 }, async () => {
    // Under key A: the API user's credentials and a token, a callback secret, an invitation and a user's recovery codes.
    const api = await apiUserAccess(server);
    const callbackSecret = await regenerateCallbackSecret(server);
    const owner = await server.token("owner@example.com");
    const invitations: string[] = [];
    for (const email of ["pending.one@example.com", "pending.two@example.com"]) {
      const invited = await execute(server.url, InviteByGrantDocument, { input: { email, walletId: DEMO_WALLETS.ETH } }, { token: owner });
      invitations.push(invited.data!.grantWalletAccess.invitation!.token);
    }
    const enrolled = await execute(server.url, InviteByGrantDocument, { input: { email: "enrolled@example.com", walletId: DEMO_WALLETS.ETH } }, { token: owner });
    await execute(server.url, AcceptInvitationDocument, { input: { token: enrolled.data!.grantWalletAccess.invitation!.token, password: "enrolled user password" } });
    const enrolledToken = await server.token("enrolled@example.com");
    const started = await execute(server.url, StartAuthenticatorEnrolmentDocument, { input: {} }, { token: enrolledToken });
    const enrolledSecret = started.data!.startAuthenticatorEnrolment.secret;
    const confirmed = await execute(
      server.url,
      ConfirmAuthenticatorEnrolmentDocument,
      { input: { otp: totpCodeAt(enrolledSecret, server.clock.now()) } },
      { token: enrolledToken },
    );
    const recoveryCodes = confirmed.data!.confirmAuthenticatorEnrolment.recoveryCodes;
    server.clock.advance(30_000);

    const idA = new MasterKeyring(Buffer.from(keyA, "base64")).current.id;
    const idB = new MasterKeyring(Buffer.from(keyB, "base64")).current.id;
    const before = await keysCli(["status"], { MASTER_KEY: keyA });
    expect(before.code).toBe(0);
    for (const name of ["authenticator secrets", "callback secrets", "API secret hashes", "invitation token hashes", "recovery code hashes"]) {
      expect(before.stdout).toMatch(new RegExp(`^${name}: ${idA} \\(current\\): \\d+$`, "m"));
    }

    const ownerId = await server.userId("owner@example.com");
    const enrolledId = await server.userId("enrolled@example.com");

    // The service restarts with B current and A retired, and the new JWT key with the old one retired; the
    // instance of before gets no more requests.
    const rotated = await instanceWith({ masterKey: keyB, retiredMasterKeys: [keyA], jwtSecret: jwtSecret2, retiredJwtSecrets: [jwtSecret1] });
    const wallets = async (token: string) => execute(rotated.url, WalletsDocument, {}, { token });
    expect((await wallets(owner)).errors).toBeUndefined();
    expect((await wallets(api.token)).errors).toBeUndefined();

    // Traffic of every kind runs while `keys rotate` moves the stored secrets, a row at a time.
    const refused: string[] = [];
    const done = { callbacks: 0, tokens: 0, confirmations: 0, reads: 0 };
    let rotating = true;
    const traffic = async (kind: keyof typeof done, step: () => Promise<string | null>) => {
      while (rotating) {
        const failure = await step();
        if (failure) refused.push(`${kind}: ${failure}`);
        done[kind]++;
      }
    };
    const rotation = keysCli(["rotate", "--batch-size", "1", "--pause-ms", "150"], {
      MASTER_KEY: keyB,
      MASTER_KEYS_RETIRED: keyA,
    }).finally(() => (rotating = false));
    await Promise.all([
      rotation,
      traffic("callbacks", async () => {
        const answer = await postCallback(rotated.url, depositCallback(callbackSecret));
        return answer.status === 200 ? null : `${answer.status} ${answer.text}`;
      }),
      traffic("tokens", async () => {
        const answer = await requestToken(rotated.url, api.apiKey, api.apiSecret);
        if (answer.status !== 200) return `${answer.status} ${JSON.stringify(answer.body)}`;
        const read = await wallets(answer.body.data.attributes.access);
        return read.errors ? JSON.stringify(read.errors) : null;
      }),
      traffic("confirmations", async () => {
        const answer = await execute(rotated.url, SetApiUserActiveDocument, { input: { active: true, confirmation: server.confirmation() } }, { token: owner });
        return answer.errors ? JSON.stringify(answer.errors) : null;
      }),
      traffic("reads", async () => {
        const answers = await Promise.all([wallets(owner), wallets(api.token)]);
        const errors = answers.flatMap((answer) => answer.errors ?? []);
        return errors.length ? JSON.stringify(errors) : null;
      }),
    ]);
    const rotationResult = await rotation;
    expect(rotationResult.stdout).toContain("Nothing is left under another key");
    expect(rotationResult.code).toBe(0);
    expect(refused).toEqual([]);
    for (const count of Object.values(done)) expect(count).toBeGreaterThan(1);

    const after = await keysCli(["status"], { MASTER_KEY: keyB });
    for (const name of ["authenticator secrets", "callback secrets", "API secret hashes", "invitation token hashes", "recovery code hashes"]) {
      expect(after.stdout).toMatch(new RegExp(`^${name}: ${idB} \\(current\\): \\d+$`, "m"));
    }
    expect(after.stdout).not.toContain(idA);

    // The retired keys are removed: everything stored still works; only what the old keys signed is refused.
    const only = await instanceWith({ masterKey: keyB, retiredMasterKeys: [], jwtSecret: jwtSecret2, retiredJwtSecrets: [] });
    expect((await postCallback(only.url, depositCallback(callbackSecret))).status).toBe(200);
    const issued = await requestToken(only.url, api.apiKey, api.apiSecret);
    expect(issued.status).toBe(200);
    expect((await execute(only.url, WalletsDocument, {}, { token: issued.body.data.attributes.access })).errors).toBeUndefined();
    const ownerNow = await only.tokens.sign(ownerId, 600);
    const confirmedAfter = await execute(only.url, SetApiUserActiveDocument, { input: { active: true, confirmation: server.confirmation() } }, { token: ownerNow });
    expect(confirmedAfter.errors).toBeUndefined();
    const accepted = await execute(only.url, AcceptInvitationDocument, { input: { token: invitations[0]!, password: "a pending user's password" } });
    expect(accepted.errors).toBeUndefined();
    const byRecoveryCode = await execute(
      only.url,
      ChangePasswordDocument,
      { input: { confirmation: { password: "enrolled user password", otp: recoveryCodes[0]! }, newPassword: "another enrolled password" } },
      { token: await only.tokens.sign(enrolledId, 600) },
    );
    expect(byRecoveryCode.errors).toBeUndefined();
    expect(codes(await execute(only.url, WalletsDocument, {}, { token: api.token }))).toEqual(["UNAUTHENTICATED"]);
    expect(codes(await execute(only.url, WalletsDocument, {}, { token: owner }))).toEqual(["UNAUTHENTICATED"]);
    expect((await execute(only.url, WalletsDocument, {}, { token: ownerNow })).errors).toBeUndefined();
  });

});
