import http from "node:http";
import { brotliCompressSync, constants, deflateSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INFLATION_ALLOWANCE, MAX_CALLBACK_BYTES, MAX_INFLATION_RATIO } from "../../src/callbacks/callback-route.js";
import { CallbackEvent } from "../../src/events/event.entity.js";
import { OnCallbackEventDocument, type OnCallbackEventSubscription } from "../generated/graphql.js";
import { depositCallback, headCursor, postCallback, regenerateCallbackSecret } from "../support/callbacks.js";
import { subscribe, wsClient } from "../support/ws-client.js";
import { startTestServer, type TestServer } from "../support/test-server.js";

let server: TestServer;
let secret: string;
const disposables: (() => unknown)[] = [];

beforeAll(async () => {
  server = await startTestServer({ LOG_LEVEL: "warn" });
  secret = await regenerateCallbackSecret(server);
});
afterAll(async () => {
  for (const dispose of disposables) await dispose();
  await server?.close();
});

const compressors = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync } as const;
type Encoding = keyof typeof compressors;
const ENCODINGS = Object.keys(compressors) as Encoding[];

/** A gzip member that inflates to nothing (20 bytes); the server inflates concatenated members one after another. */
const EMPTY_MEMBER = gzipSync(Buffer.alloc(0));
/** Twenty megabytes: far past every limit, and more than the socket buffers between client and server hold. */
const HOSTILE_BYTES = 20 * 1024 * 1024;

/** `total` bytes of `chunk` repeated, as the chunks a sender writes one after another. */
function* repeated(chunk: Buffer, total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += chunk.length) yield chunk;
}

/** `bytes` bytes of gzip members that together inflate to at most 19 spaces (JSON whitespace). */
function gzipPadding(bytes: number): Buffer {
  // A stored member of m spaces takes 23 + m bytes; the rest is empty members of 20 bytes.
  const empties = Math.floor((bytes - 23) / EMPTY_MEMBER.length);
  const spaces = bytes - 23 - empties * EMPTY_MEMBER.length;
  const padding = Buffer.concat([...Array.from({ length: empties }, () => EMPTY_MEMBER), gzipSync(" ".repeat(spaces), { level: 0 })]);
  expect(padding.length).toBe(bytes);
  return padding;
}

interface Streamed {
  status?: number;
  connection?: string;
  text: string;
  /** Body bytes handed to the socket when the answer (or the socket's end) came. */
  sent: number;
  /** Whether the whole body was handed to the socket by then. */
  finished: boolean;
  error?: string;
}

/**
 * Posts `chunks` to `/callbacks` with `node:http` (chunked unless `headers` declare a length), writing the next
 * chunk only once the socket drained, and stops writing as soon as an answer comes or the socket is closed.
 */
function streamCallback(
  encoding: Encoding,
  chunks: Iterable<Buffer>,
  headers: Record<string, string> = {},
  deadlineMs = 20_000,
): Promise<Streamed> {
  return new Promise((resolve) => {
    const iterator = chunks[Symbol.iterator]();
    let sent = 0;
    let finished = false;
    let stopped = false;
    let settled = false;
    const request = http.request(`${server.url}/callbacks`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": encoding, ...headers },
    });
    const settle = (result: Streamed) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ text: "", sent, finished, error: `no answer within ${deadlineMs} ms` }), deadlineMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      stopped = true;
      settle({ text: "", sent, finished, error: error.code ?? error.message });
    });
    request.on("response", (response) => {
      stopped = true;
      const answeredAt = { sent, finished };
      const parts: Buffer[] = [];
      response.on("data", (part: Buffer) => parts.push(part));
      response.on("end", () =>
        settle({ status: response.statusCode, connection: response.headers.connection, text: Buffer.concat(parts).toString("utf8"), ...answeredAt }),
      );
    });
    const pump = () => {
      while (!stopped) {
        const next = iterator.next();
        if (next.done) {
          finished = true;
          request.end();
          return;
        }
        sent += next.value.length;
        if (!request.write(next.value)) {
          request.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
}

async function tooLargeAnswers(): Promise<number> {
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^callbacks_total\{outcome="too_large"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/**
 * Runs `refusals`, which must each be answered 413, and checks that none of them stored or published anything
 * and that the server then still takes a valid callback.
 */
async function refusedWithoutTrace(count: number, refusals: () => Promise<void>): Promise<void> {
  const client = wsClient(server.url, { token: await server.token("owner@example.com") });
  disposables.push(() => client.dispose());
  const subscriber = subscribe<OnCallbackEventSubscription>(client, OnCallbackEventDocument, { after: await headCursor(server, secret) });
  const stored = await server.em().count(CallbackEvent, {});
  const tooLarge = await tooLargeAnswers();

  await refusals();

  expect(await tooLargeAnswers()).toBe(tooLarge + count);
  expect(await server.em().count(CallbackEvent, {})).toBe(stored);
  expect(subscriber.queued()).toBe(0);
  const trackingId = `after-refusals-${count}-${stored}`;
  expect((await postCallback(server.url, depositCallback(secret, { trackingId }))).status).toBe(200);
  expect((await subscriber.next()).data!.callbackEvents.trackingId).toBe(trackingId);
  subscriber.dispose();
}

describe("compressed callbacks that are within the limits", () => {
  it.each(ENCODINGS)("a signed %s callback is stored and answered 200", async (encoding) => {
    const before = await server.em().count(CallbackEvent, {});
    const body = compressors[encoding](Buffer.from(JSON.stringify(depositCallback(secret))));
    const answer = await postCallback(server.url, body, { "content-type": "application/json", "content-encoding": encoding });
    expect(answer).toEqual({ status: 200, text: "" });
    expect(await server.em().count(CallbackEvent, {})).toBe(before + 1);
  });

  it("a signed gzip callback padded with members to exactly 256 KiB, sent chunked, is stored; one byte more is refused 413", async () => {
    const before = await server.em().count(CallbackEvent, {});
    const callback = gzipSync(JSON.stringify(depositCallback(secret)));
    const atLimit = Buffer.concat([callback, gzipPadding(MAX_CALLBACK_BYTES - callback.length)]);
    const accepted = await streamCallback("gzip", repeated(atLimit, atLimit.length));
    expect(accepted).toMatchObject({ status: 200, text: "", finished: true });
    expect(await server.em().count(CallbackEvent, {})).toBe(before + 1);

    const callbackOver = gzipSync(JSON.stringify(depositCallback(secret)));
    const overLimit = Buffer.concat([callbackOver, gzipPadding(MAX_CALLBACK_BYTES + 1 - callbackOver.length)]);
    await refusedWithoutTrace(1, async () => {
      const refused = await streamCallback("gzip", repeated(overLimit, overLimit.length));
      expect(refused).toMatchObject({ status: 413, connection: "close" });
      expect(refused.text).toMatch(`The compressed body exceeds ${MAX_CALLBACK_BYTES} bytes`);
    });
  });

  it(`a body inflating past ${MAX_INFLATION_RATIO} times but to at most ${INFLATION_ALLOWANCE} bytes is read, and judged as JSON`, async () => {
    const body = brotliCompressSync("[" + " ".repeat(INFLATION_ALLOWANCE - 2) + "]");
    expect(body.length * MAX_INFLATION_RATIO).toBeLessThan(INFLATION_ALLOWANCE);
    const answer = await postCallback(server.url, body, { "content-type": "application/json", "content-encoding": "br" });
    expect(answer.status).toBe(400);
  });
});

describe("compressed bodies refused while being read: 413, nothing stored or published, the server still serves", () => {
  const fast = { params: { [constants.BROTLI_PARAM_QUALITY]: 4 } };
  const cases: { name: string; encoding: Encoding; body: () => Buffer; text: RegExp | string }[] = [
    ...ENCODINGS.map((encoding) => ({
      name: `${encoding}: 200 KiB of whitespace from a few hundred bytes`,
      encoding,
      body: () => compressors[encoding](" ".repeat(200 * 1024) + "{}"),
      text: `The inflated body exceeds ${MAX_INFLATION_RATIO} times its compressed size`,
    })),
    ...ENCODINGS.map((encoding) => ({
      name: `${encoding}: a bomb of 64 MiB of zeros`,
      encoding,
      body: () => (encoding === "br" ? brotliCompressSync(Buffer.alloc(64 * 1024 * 1024), fast) : compressors[encoding](Buffer.alloc(64 * 1024 * 1024))),
      text: /^\{"errors":\[\{"status":"413","detail":"The inflated body exceeds /,
    })),
    {
      name: "gzip: 300 KiB of empty members, by its declared content-length",
      encoding: "gzip",
      body: () => Buffer.concat(Array.from({ length: Math.ceil((300 * 1024) / EMPTY_MEMBER.length) }, () => EMPTY_MEMBER)),
      text: `The compressed body exceeds ${MAX_CALLBACK_BYTES} bytes`,
    },
  ];

  it("answers each whole body with 413 and the limit it broke", async () => {
    await refusedWithoutTrace(cases.length, async () => {
      for (const { name, encoding, body, text } of cases) {
        const answer = await postCallback(server.url, body(), { "content-type": "application/json", "content-encoding": encoding });
        expect(answer.status, name).toBe(413);
        expect(answer.text, name).toMatch(text);
      }
    });
  });

  const streams: { name: string; member: Buffer; headers?: Record<string, string>; text: RegExp | string }[] = [
    { name: "empty gzip members", member: EMPTY_MEMBER, text: `The compressed body exceeds ${MAX_CALLBACK_BYTES} bytes` },
    { name: "gzip members of one space each", member: gzipSync(" "), text: `The compressed body exceeds ${MAX_CALLBACK_BYTES} bytes` },
    { name: "gzip members inflating to 10 MiB each", member: gzipSync(Buffer.alloc(10 * 1024 * 1024)), text: /The inflated body exceeds / },
    {
      name: "empty gzip members with a declared content-length",
      member: EMPTY_MEMBER,
      headers: { "content-length": String(HOSTILE_BYTES) },
      text: `The compressed body exceeds ${MAX_CALLBACK_BYTES} bytes`,
    },
  ];

  it.each(streams)("answers 20 MB of $name before they are sent, and closes the connection", async ({ member, headers, text }) => {
    const chunk = Buffer.concat(Array.from({ length: Math.floor((64 * 1024) / member.length) }, () => member));
    const total = Math.floor(HOSTILE_BYTES / chunk.length) * chunk.length;
    const body = headers ? { ...headers, "content-length": String(total) } : {};
    await refusedWithoutTrace(1, async () => {
      const answer = await streamCallback("gzip", repeated(chunk, total), body);
      expect(answer.error).toBeUndefined();
      expect(answer).toMatchObject({ status: 413, connection: "close", finished: false });
      expect(answer.text).toMatch(text);
      // What was handed over is what the server read (at most 256 KiB and a chunk) plus what the socket buffers
      // between the two hold: a few megabytes on loopback.
      expect(answer.sent).toBeLessThan(total / 2);
    });
  }, 60_000);
});
