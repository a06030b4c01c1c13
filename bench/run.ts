import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import autocannon from "autocannon";
import { parse } from "graphql";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import http from "node:http";
import { Account } from "../src/access/account.entity.js";
import { startService } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { createLogger } from "../src/logger.js";
import { WalletStatus, WalletType } from "../src/wallets/wallet-enums.js";
import { Wallet } from "../src/wallets/wallet.entity.js";
import {
  DIST,
  freshDatabase,
  INSPECTOR_FLAG,
  median,
  percentile,
  regenerateCallbackSecret,
  serviceEnv,
  signedBody,
  sleep,
  spawnServer,
  subscribers,
} from "./support.js";

/** How the report reads a figure's ratio against the baseline: the larger or the smaller the better. */
type Better = "higher" | "lower";

/** A build's value of a figure, the bare baseline's measured in the same run, and their ratio. */
interface Measured {
  value: number;
  baseline: number;
  ratio: number;
}

/** One figure of the report: this build's measurement, what it means, and the target; with `--against`, the other's. */
interface Figure extends Measured {
  id: string;
  label: string;
  better: Better;
  target: number | string;
  unit: string;
  against?: Measured;
}

const figures: Figure[] = [];
const argumentsGiven = process.argv.slice(2);
/**
 * Another build to compare with (`--against=<its dist directory>`): P1–P3 then start a service of each build and the
 * bare server together, and measure them in turns in the same run.
 */
const againstArgument = argumentsGiven.find((argument) => argument.startsWith("--against="));
const AGAINST = againstArgument ? path.resolve(againstArgument.slice("--against=".length)) : null;
/**
 * P1's connections: 16 for the figure, and 64 and 128 besides. A store that commits callbacks in groups gets more
 * per commit as more are in flight, while the bare server's rate does not depend on it; all are shown.
 */
const P1_CONNECTIONS = [16, 64, 128];
/** Each server's measured seconds in P1 and P2. */
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
/**
 * P1 and P2 measure the servers in turns: `ROUNDS` slices each, the order turning every round, so that a change in
 * the machine's speed during a run (other work on its cores, the disk's flushes) reaches every server alike.
 */
const ROUNDS = 5;
const SLICE_S = DURATION_S / ROUNDS;
/** Load before measuring, not measured: every server is slow while its code is still being compiled. */
const WARMUP_S = 2;
const EVENT_QUERY = "subscription { callbackEvents { cursor trackingId amount transferStatus signedAt } }";

/** The builds under measurement, by their `dist` directories: this one, and with `--against` the other. */
const BUILDS: string[] = [DIST, ...(AGAINST ? [AGAINST] : [])];

/** A server that takes callbacks: a build's service (`build`: its `dist` directory), or the bare server (null). */
interface Target {
  build: string | null;
  url: string;
  /** A full garbage collection in the server's main thread (servers started with `INSPECTOR_FLAG` only). */
  collectGarbage(): Promise<void>;
  token: string;
  /** The callback secret its callbacks are signed with. */
  secret: string;
}

/** A bearer token of the demo Owner, from a build's own CLI (development signing key). */
async function ownerToken(dist: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(dist, "src/cli/main.js"), "token", "owner@example.com"], {
    env: { PATH: process.env.PATH, ...env },
  });
  return stdout.trim().split("\n").at(-1)!;
}

/** Runs `run` with a service of each build (each on a fresh database) and the bare server, all started with `nodeFlags`. */
async function withTargets<T>(run: (services: Target[], bare: Target) => Promise<T>, nodeFlags: readonly string[] = []): Promise<T> {
  const stops: (() => Promise<void>)[] = [];
  try {
    const services: Target[] = [];
    for (const build of BUILDS) {
      const database = await freshDatabase();
      stops.push(() => database.drop());
      const service = await spawnServer("src/main.js", serviceEnv(database.env), build, nodeFlags);
      stops.push(() => service.stop());
      const token = await ownerToken(build, database.env);
      services.push({ build, url: service.url, collectGarbage: service.collectGarbage, token, secret: await regenerateCallbackSecret(service.url, token) });
    }
    const { token, secret } = services[0]!;
    const bare = await spawnServer("bench/baseline-server.js", { CALLBACK_SECRET: secret }, DIST, nodeFlags);
    stops.push(() => bare.stop());
    return await run(services, { build: null, url: bare.url, collectGarbage: bare.collectGarbage, token, secret });
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

/** The items in another order each round, so that none is always measured first. */
const turned = <T>(items: readonly T[], round: number): T[] => items.map((_, index) => items[(index + round) % items.length]!);

const over = (value: number, baseline: number): Measured => ({ value, baseline, ratio: value / baseline });
const under = (value: number, baseline: number): Measured => ({ value, baseline, ratio: baseline / value });

/** Adds a figure measured on each build's service: this build's, and the other's beside it when compared. */
function report(services: Target[], figure: Omit<Figure, keyof Measured | "against">, measure: (service: Target) => Measured): void {
  const [self, other] = services.map(measure);
  figures.push({ ...figure, ...self!, ...(other ? { against: other } : {}) });
}

/** Callbacks answered 200 and the seconds they took, under the load generator with `connections` connections. */
interface Answered {
  count: number;
  seconds: number;
}

async function answered(target: Target, connections: number, seconds: number): Promise<Answered> {
  const started = performance.now();
  const result = await autocannon({
    url: `${target.url}/callbacks`,
    connections,
    duration: seconds,
    requests: [{ method: "POST", headers: { "content-type": "application/json" }, setupRequest: (request) => ({ ...request, body: signedBody(target.secret) }) }],
  });
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${target.url}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { count: result["2xx"], seconds: (performance.now() - started) / 1000 };
}

async function p1(): Promise<void> {
  for (const connections of P1_CONNECTIONS) {
    await withTargets(async (services, bare) => {
      const targets = [...services, bare];
      for (const target of targets) await answered(target, connections, WARMUP_S);
      const totals = new Map<Target, Answered>(targets.map((target) => [target, { count: 0, seconds: 0 }]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of turned(targets, round)) {
          const slice = await answered(target, connections, SLICE_S);
          const total = totals.get(target)!;
          total.count += slice.count;
          total.seconds += slice.seconds;
        }
      }
      const rate = (target: Target) => totals.get(target)!.count / totals.get(target)!.seconds;
      report(
        services,
        {
          id: connections === P1_CONNECTIONS[0] ? "P1" : `P1@${connections}`,
          label: `ingress throughput (verified + stored + published), ${connections} connections`,
          better: "higher",
          target: ">= 0.5x",
          unit: "callbacks/s",
        },
        (service) => over(rate(service), rate(bare)),
      );
    });
  }
}

/** P2's subscribers of one server, in a thread of their own (`latency-subscribers.ts`). */
class LatencyProbe {
  private readonly messages: Record<string, unknown>[] = [];

  private constructor(private readonly worker: Worker) {
    worker.on("message", (message: Record<string, unknown>) => this.messages.push(message));
  }

  static async open(target: Target, count: number): Promise<LatencyProbe> {
    const workerData = { url: target.url, token: target.token, count, query: EVENT_QUERY };
    const probe = new LatencyProbe(new Worker(new URL("./latency-subscribers.js", import.meta.url), { workerData }));
    await probe.message("ready");
    return probe;
  }

  /** Waits until its subscribers received `count` measured events in all, for at most 10 s. */
  async settle(count: number): Promise<void> {
    const deadline = performance.now() + 10_000;
    for (;;) {
      this.worker.postMessage({ report: true });
      const { received } = (await this.message("received")) as { received: number };
      if (received >= count || performance.now() > deadline) return;
      await sleep(50);
    }
  }

  /** Closes the subscribers; answers the latencies of every measured event each received, in ms. */
  async close(): Promise<number[]> {
    this.worker.postMessage({ close: true });
    const { latencies } = (await this.message("latencies")) as { latencies: number[] };
    await this.worker.terminate();
    return latencies;
  }

  private async message(key: string): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.messages.find((message) => key in message);
      if (found) {
        this.messages.splice(this.messages.indexOf(found), 1);
        return found;
      }
      await sleep(20);
    }
  }
}

/**
 * Posts callbacks to one server at a fixed rate, at most 64 in flight over kept-alive connections: a server that
 * cannot keep up gets fewer than asked. Each callback's tracking id carries its send time (`<prefix>-<epoch µs>-<n>`).
 */
class RateSender {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private inFlight = 0;
  private sent = 0;

  constructor(
    private readonly target: Target,
    private readonly rate: number,
  ) {}

  /** Posts at the rate for `seconds`; answers how many were posted. Those led by `lat-` are measured. */
  async stream(seconds: number, prefix: string): Promise<number> {
    const total = this.rate * seconds;
    let due = 0;
    let posted = 0;
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    while (performance.now() - started < seconds * 1000) {
      const now = Math.min(total, Math.floor(((performance.now() - started) / 1000) * this.rate));
      while (due < now && this.inFlight < 64) {
        const sentAt = Math.round((performance.timeOrigin + performance.now()) * 1000);
        due += 1;
        posted += 1;
        pending.push(this.post(signedBody(this.target.secret, `${prefix}-${sentAt}-${this.sent++}`)));
      }
      // Catch up on what could not be sent in time rather than bursting it later.
      due = now;
      await sleep(1);
    }
    await Promise.all(pending);
    return posted;
  }

  close(): void {
    this.agent.destroy();
  }

  private post(body: string): Promise<void> {
    this.inFlight += 1;
    return new Promise<void>((resolve) => {
      const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
      const request = http.request(`${this.target.url}/callbacks`, { method: "POST", agent: this.agent, headers }, (response) => {
        response.resume();
        response.on("end", resolve);
      });
      request.on("error", () => resolve());
      request.end(body);
    }).finally(() => (this.inFlight -= 1));
  }
}

/** P2 at the rate the issue asks (1,000/s), and at one these two cores can sustain with 100 subscribers. */
const P2_RATES = [1000, 100];
const P2_SUBSCRIBERS = 100;

/**
 * Ingress-to-subscriber latencies at a fixed rate, 100 subscribers a server. After a warm-up, each server takes its
 * slices in turn, and the next slice starts once every event of this one was delivered (or 10 s passed).
 */
async function p2(): Promise<void> {
  for (const rate of P2_RATES) {
    await withTargets(async (services, bare) => {
      const targets = [...services, bare];
      const probes = new Map<Target, LatencyProbe>();
      for (const target of targets) probes.set(target, await LatencyProbe.open(target, P2_SUBSCRIBERS));
      await sleep(500);
      const senders = new Map(targets.map((target) => [target, new RateSender(target, rate)]));
      const posted = new Map(targets.map((target) => [target, 0]));
      for (const target of targets) await senders.get(target)!.stream(WARMUP_S, "warmup");
      await sleep(1000);
      for (let round = 0; round < ROUNDS; round++) {
        for (const target of turned(targets, round)) {
          posted.set(target, posted.get(target)! + (await senders.get(target)!.stream(SLICE_S, "lat")));
          await probes.get(target)!.settle(posted.get(target)! * P2_SUBSCRIBERS);
        }
      }
      const latencies = new Map<Target, number[]>();
      for (const target of targets) {
        senders.get(target)!.close();
        latencies.set(target, await probes.get(target)!.close());
      }
      const achieved = (target: Target) => posted.get(target)! / (ROUNDS * SLICE_S);
      const suffix = rate === 1000 ? "" : `@${rate}`;
      report(
        services,
        { id: `P2-rate${suffix}`, label: `callbacks/s achieved of the ${rate}/s asked`, better: "higher", target: String(rate), unit: "callbacks/s" },
        (service) => over(achieved(service), achieved(bare)),
      );
      for (const p of [50, 99]) {
        report(
          services,
          { id: `P2-p${p}${suffix}`, label: `ingress -> subscriber latency p${p} (${rate}/s, 100 subscribers)`, better: "lower", target: p === 99 ? "<= 20 ms" : "-", unit: "ms" },
          (service) => over(percentile(latencies.get(service)!, p), percentile(latencies.get(bare)!, p)),
        );
      }
    });
  }
}

/** Events P3 sends to the subscribers of each server, one at a time: its figure is the median of their fan-out times. */
const FAN_OUT_ROUNDS = 7;
/**
 * Events sent to each server's subscribers before the measured ones, not measured: the first fan-outs of a server
 * take up to three times as long as the later ones while its delivery path is still being compiled.
 */
const FAN_OUT_WARMUP = 5;

/**
 * One server's `count` subscribers in P3, and what is measured of the server: its memory per subscription (its
 * resident memory's growth while they subscribed, each reading taken after a full garbage collection, so that it
 * counts what the subscriptions hold and not how much garbage the collector had yet to free), and the time one event
 * takes from the ingress to every subscriber.
 */
class Audience {
  private received = 0;
  private expected = "";
  private done: () => void = () => {};
  private after = 0;
  private subs: Awaited<ReturnType<typeof subscribers>> | null = null;

  private constructor(
    private readonly target: Target,
    private readonly count: number,
    private readonly before: number,
  ) {}

  static async open(target: Target, count: number): Promise<Audience> {
    const audience = new Audience(target, count, await Audience.memory(target));
    audience.subs = await subscribers(target.url, target.token, count, EVENT_QUERY, (event) => {
      if (event.trackingId === audience.expected && ++audience.received === count) audience.done();
    });
    return audience;
  }

  /** The server's resident memory after a full garbage collection. */
  private static async memory(target: Target): Promise<number> {
    await target.collectGarbage();
    return residentMemory(target);
  }

  /** Reads the server's memory once its subscriptions started. */
  async settled(): Promise<void> {
    this.after = await Audience.memory(this.target);
  }

  get bytesPerSubscription(): number {
    return (this.after - this.before) / this.count;
  }

  /** Sends one event through the server's ingress; answers the time until every subscriber received it, in ms. */
  async fanOut(trackingId: string): Promise<number> {
    this.received = 0;
    this.expected = trackingId;
    const all = new Promise<void>((resolve) => (this.done = resolve));
    const started = performance.now();
    const { url, secret } = this.target;
    await fetch(`${url}/callbacks`, { method: "POST", headers: { "content-type": "application/json" }, body: signedBody(secret, trackingId) });
    await all;
    return performance.now() - started;
  }

  async close(): Promise<void> {
    await this.subs?.close();
  }
}

/** A server's resident memory: the service's from its metrics, the bare server's from `/rss`. */
async function residentMemory(target: Target): Promise<number> {
  if (!target.build) return Number(await (await fetch(`${target.url}/rss`)).text());
  const text = await (await fetch(`${target.url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)![1]);
}

/**
 * P3's servers start with the young generation at its full size (V8's default largest, 16 MiB a semi-space). Left to
 * grow, it grows by steps when allocation is heavy, as while thousands of subscriptions start, and a step taken during
 * the measurement (or just before it) moves the memory per subscription by several KiB: the figure then measures
 * where the step fell, not what a subscription holds. Their inspector is open, for the full collections before each
 * memory reading.
 */
const P3_NODE_FLAGS = ["--min-semi-space-size=16", "--max-semi-space-size=16", INSPECTOR_FLAG];

/**
 * Every server gets its subscribers first; then each round sends one event to each server's, the order turning every
 * round, so that a change in the machine's speed during the run reaches every server alike (as in P1 and P2).
 */
async function p3(): Promise<void> {
  for (const [index, count] of [1000, 5000].entries()) {
    await withTargets(async (services, bare) => {
      const audiences = new Map<Target, Audience>();
      const times = new Map<Target, number[]>();
      try {
        for (const target of turned([...services, bare], index)) audiences.set(target, await Audience.open(target, count));
        await sleep(1000);
        for (const [target, audience] of audiences) {
          await audience.settled();
          for (let round = 0; round < FAN_OUT_WARMUP; round++) await audience.fanOut(`warm-${count}-${round}`);
          times.set(target, []);
        }
        for (let round = 0; round < FAN_OUT_ROUNDS; round++) {
          for (const target of turned([...audiences.keys()], round)) times.get(target)!.push(await audiences.get(target)!.fanOut(`fan-${count}-${round}`));
        }
      } finally {
        for (const audience of audiences.values()) await audience.close();
      }
      const of = (target: Target) => audiences.get(target)!;
      report(
        services,
        { id: `P3-${count}`, label: `fan-out of one event to ${count} subscribers`, better: "higher", target: ">= 0.8x", unit: "ms" },
        (service) => under(median(times.get(service)!), median(times.get(bare)!)),
      );
      report(
        services,
        { id: `P3-${count}-rss`, label: `server memory per subscription (${count})`, better: "lower", target: "<= 30 KiB", unit: "KiB" },
        (service) => ({ value: of(service).bytesPerSubscription / 1024, baseline: of(bare).bytesPerSubscription / 1024, ratio: of(service).bytesPerSubscription / Math.max(1, of(bare).bytesPerSubscription) }),
      );
    }, P3_NODE_FLAGS);
  }
}

async function p4(): Promise<void> {
  const database = await freshDatabase();
  const config = loadConfig({ ...serviceEnv(database.env), LOG_LEVEL: "warn" });
  const service = await startService(config, { logger: createLogger("warn") });
  const wallets = Array.from({ length: 1000 }, (_, index) => `b${index}`);
  try {
    const em = service.db.orm.em.fork();
    const account = await em.findOneOrFail(Account, { name: "Demo Merchant" });
    for (const id of wallets) {
      em.create(Wallet, { id, account, label: id, status: WalletStatus.ACTIVE, type: WalletType.MERCHANT, currency: { iso: 1002, alpha: "ETH", name: "Ethereum", exp: 18 } });
    }
    await em.flush();
    const { User } = await import("../src/access/user.entity.js");
    const token = await service.tokens.sign((await em.findOneOrFail(User, { email: "owner@example.com" })).id, 3600);
    const query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Wallet { id label currency { alpha } } } }";
    const representations = wallets.map((id) => ({ __typename: "Wallet", id }));

    const time = async (url: string, headers: Record<string, string>) => {
      const samples: number[] = [];
      for (let round = 0; round < 25; round++) {
        const started = performance.now();
        const response = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query, variables: { r: representations } }) });
        const body = (await response.json()) as { data: { _entities: unknown[] } };
        if (body.data._entities.filter(Boolean).length !== wallets.length) throw new Error("entities missing");
        samples.push(performance.now() - started);
      }
      return median(samples.slice(5));
    };
    const statementsBefore = (await service.metrics.dbStatements.get()).values[0]!.value;
    await fetch(`${service.url}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ query, variables: { r: representations } }) });
    const statements = (await service.metrics.dbStatements.get()).values[0]!.value - statementsBefore;
    const value = await time(service.url, { authorization: `Bearer ${token}` });

    const inMemory = new Map(wallets.map((id) => [id, { id, label: id, currency: { alpha: "ETH" } }]));
    const bare = new ApolloServer({
      schema: buildSubgraphSchema({
        typeDefs: parse(`extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])
          type Currency { alpha: String } type Wallet @key(fields: "id") { id: ID! label: String currency: Currency } type Query { ok: Boolean }`),
        resolvers: { Wallet: { __resolveReference: (reference: { id: string }) => inMemory.get(reference.id) } },
      }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: bareUrl } = await startStandaloneServer(bare, { listen: { port: 0, host: "127.0.0.1" } });
    const baseline = await time(bareUrl.replace(/\/$/, ""), {});
    await bare.stop();
    figures.push({ id: "P4", label: "_entities with 1,000 Wallet representations", value, baseline, ratio: baseline / value, better: "higher", target: "-", unit: "ms" });
    figures.push({ id: "P4-statements", label: "SQL statements for those 1,000 (1 authenticates the caller)", value: statements, baseline: 2, ratio: statements / 2, better: "lower", target: "1 per type + 1", unit: "statements" });
  } finally {
    await service.close();
    await database.drop();
  }
}

/** Sequential GET /healthz round trips, in ms. */
async function healthzLatencies(url: string, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let index = 0; index < count; index++) {
    const started = performance.now();
    await (await fetch(`${url}/healthz`)).arrayBuffer();
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * H1: the anonymous hostile document (480 KB, 25,000 `@include(if: true)`, which took the only event loop ~2 s
 * each when parsed in full). /healthz latency while 8 of them are in flight at all times, against the same server
 * idle.
 */
async function h1(): Promise<void> {
  await withTargets(async ([service]) => {
    if (!service) throw new Error("no service started");
    const bomb = JSON.stringify({ query: `{ me { isOwner ${"@include(if: true) ".repeat(25_000)} } }` });
    await healthzLatencies(service.url, 50);
    const idle = await healthzLatencies(service.url, 300);
    let attacking = true;
    let sent = 0;
    const attackers = Array.from({ length: 8 }, async () => {
      while (attacking) {
        const response = await fetch(`${service.url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: bomb });
        await response.arrayBuffer();
        sent += 1;
      }
    });
    await sleep(500);
    const underAttack = await healthzLatencies(service.url, 300);
    attacking = false;
    await Promise.all(attackers);
    for (const p of [50, 99]) {
      const value = percentile(underAttack, p);
      const baseline = percentile(idle, p);
      figures.push({ id: `H1-p${p}`, label: `/healthz latency p${p} with 8 hostile documents in flight (idle server: baseline)`, value, baseline, ratio: value / baseline, better: "lower", target: "-", unit: "ms" });
    }
    figures.push({ id: "H1-refused", label: "hostile documents refused during the measurement", value: sent, baseline: sent, ratio: 1, better: "higher", target: "-", unit: "requests" });
  });
}

const only = argumentsGiven.filter((argument) => !argument.startsWith("--"));
const benchmarks: Record<string, () => Promise<void>> = { P1: p1, P2: p2, P3: p3, P4: p4, H1: h1 };
/** P4 and H1 measure this build in-process or alone; a comparison runs P1–P3. */
const COMPARED = new Set(["P1", "P2", "P3"]);
for (const [id, run] of Object.entries(benchmarks)) {
  if (only.length > 0 && !only.includes(id)) continue;
  if (AGAINST && !COMPARED.has(id)) {
    process.stderr.write(`${id} is not compared (it measures this build only); skipped\n`);
    continue;
  }
  process.stderr.write(`running ${id}...\n`);
  await run();
}

/** How this build's ratio compares with the other's, positive when better. */
function change(figure: Figure): string {
  const other = figure.against!;
  const better = figure.better === "higher" ? figure.ratio / other.ratio : other.ratio / figure.ratio;
  const percent = Math.round((better - 1) * 100);
  return `${percent > 0 ? "+" : ""}${percent} %`;
}

const database = process.env.DATABASE_URL ? "PostgreSQL" : "SQLite";
const cells = (measured: Measured) => `${measured.value.toFixed(2)} | ${measured.baseline.toFixed(2)} | ${measured.ratio.toFixed(2)}`;
const table = [
  `Database: ${database}; machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
  ...(AGAINST ? [`Compared with the build in ${AGAINST} ("against"), measured in turns in the same run.`] : []),
  "",
  AGAINST
    ? "| id | figure | value | baseline | ratio | against: value | baseline | ratio | change | target | unit |"
    : "| id | figure | value | baseline | ratio | target | unit |",
  AGAINST ? "|---|---|---|---|---|---|---|---|---|---|---|" : "|---|---|---|---|---|---|---|",
  ...figures.map((figure) =>
    figure.against
      ? `| ${figure.id} | ${figure.label} | ${cells(figure)} | ${cells(figure.against)} | ${change(figure)} | ${figure.target} | ${figure.unit} |`
      : `| ${figure.id} | ${figure.label} | ${cells(figure)} | ${figure.target} | ${figure.unit} |`,
  ),
].join("\n");
console.log(table);
const resultsDir = path.join(DIST, "..", "bench", "results");
fs.mkdirSync(resultsDir, { recursive: true });
fs.writeFileSync(
  path.join(resultsDir, "latest.json"),
  JSON.stringify(figures.map(({ id, value, baseline, ratio, better, target, unit, against }) => ({ id, value, baseline, ratio, better, target, unit, against })), null, 2) + "\n",
);
process.exit(0);
