import { parentPort, workerData } from "node:worker_threads";
import { performance } from "node:perf_hooks";
import { subscribers } from "./support.js";

/**
 * P2's subscribers, in a thread of their own so that receiving does not compete with sending on one event loop.
 * Each event's tracking id carries the time it was sent (`lat-<epoch µs>-<n>`); the latency is taken on receipt.
 */
const { url, token, count, query } = workerData as { url: string; token: string; count: number; query: string };
const latencies: number[] = [];
const now = () => (performance.timeOrigin + performance.now()) * 1000;
const subs = await subscribers(url, token, count, query, (event) => {
  const sent = /^lat-(\d+)-/.exec(event.trackingId);
  if (sent) latencies.push((now() - Number(sent[1])) / 1000);
});
parentPort!.postMessage({ ready: true });
parentPort!.on("message", async (message: { report?: boolean; close?: boolean }) => {
  if (message.report) parentPort!.postMessage({ received: latencies.length });
  if (message.close) {
    await subs.close();
    parentPort!.postMessage({ latencies });
  }
});
