// A TCP proxy that can stop answering without closing anything, as a network partition or a hung database
// server does: run in a process of its own (`fork`), so that nothing the test process does can unblock it.
//
//   node stalling-proxy.mjs <target host> <target port>
//
// It listens on 127.0.0.1 on a free port and sends `{ port }` to its parent. Messages from the parent:
// "stall"  stops forwarding in both directions; every connection stays open, new ones are accepted and connected
//          upstream but nothing passes. What arrives meanwhile waits in the sockets' buffers, as unacknowledged
//          segments wait for a partition to heal.
// "resume" forwards again, the waiting bytes included.
// "count"  changes nothing.
// Each command is answered `{ done: command, connections }` once it took effect, with the number of client
// connections still open. The proxy exits with its parent.
import net from "node:net";
import process from "node:process";

const [host, port] = process.argv.slice(2);
/** @type {Set<{ client: net.Socket; upstream: net.Socket }>} */
const pairs = new Set();
let stalled = false;

/** Copies `from` to `to`, pausing `from` while `to` is full or while the proxy is stalled. */
function forward(from, to) {
  from.on("data", (chunk) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on("drain", () => {
    if (!stalled) from.resume();
  });
  from.on("end", () => to.end());
  from.on("error", () => to.destroy());
}

const server = net.createServer((client) => {
  const upstream = net.connect(Number(port), host);
  const pair = { client, upstream };
  pairs.add(pair);
  if (stalled) {
    client.pause();
    upstream.pause();
  }
  forward(client, upstream);
  forward(upstream, client);
  const close = () => {
    client.destroy();
    upstream.destroy();
    pairs.delete(pair);
  };
  client.on("close", close);
  upstream.on("close", close);
});

server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));

process.on("message", (command) => {
  if (command === "stall" || command === "resume") {
    stalled = command === "stall";
    for (const { client, upstream } of pairs) {
      for (const socket of [client, upstream]) {
        if (stalled) socket.pause();
        else socket.resume();
      }
    }
  }
  process.send({ done: command, connections: pairs.size });
});
process.on("disconnect", () => process.exit(0));
