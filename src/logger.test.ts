import { describe, expect, it } from "vitest";
import { Writable } from "node:stream";
import { createLogger, redactDeep } from "./logger.js";

describe("log redaction", () => {
  it("hides passwords, secrets, tokens and authorization headers at any depth", () => {
    const out = redactDeep({
      req: { headers: { authorization: "Bearer abc", "user-agent": "x" } },
      input: { confirmation: { password: "p", otp: "123456" }, apiSecret: "s", nested: [{ accessToken: "t" }] },
      answer: { otpauthUrl: "otpauth://totp/x", recoveryCodes: ["abcde-fgh23"], invitation: { token: "acs_inv_x" } },
      count: 3,
    });
    expect(JSON.stringify(out)).not.toMatch(/Bearer abc|"p"|123456|"s"|"t"|otpauth:|abcde|acs_inv_/);
    expect(out).toMatchObject({ req: { headers: { "user-agent": "x" } }, count: 3 });
  });

  it("applies to every line the logger writes", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger("info", sink);
    logger.info({ headers: { Authorization: "Bearer zzz" }, clientSecret: "qqq" }, "hello");
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.join("")).toContain("hello");
    expect(lines.join("")).not.toMatch(/zzz|qqq/);
  });
});
