// Pub/sub through popular Node clients against a crdt-redis node, RESP2 and RESP3:
// ioredis and node-redis subscribe to a channel, a pattern and a shard channel, a second
// connection publishes, and every message must arrive once, in order, with no client error.
// Usage: node pubsub_clients.mjs PORT   (run by tests/test_js_clients.py, which installs
// the packages into a temporary directory and sets NODE_PATH).
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH.split(":")[0] + "/");
const Redis = require("ioredis");
const { createClient } = require("redis");

const port = Number(process.argv[2]);
const N = 50;
const results = [];

function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}

function waitFor(cond, what) {
  return withTimeout(new Promise((resolve) => {
    const t = setInterval(() => { if (cond()) { clearInterval(t); resolve(); } }, 5);
  }), 10000, what);
}

function check(name, got, errors) {
  const want = [];
  for (let i = 0; i < N; i++) want.push(`m${i}`);
  const ok = ["message", "pmessage", "smessage"].every(
    (k) => JSON.stringify(got[k]) === JSON.stringify(want));
  results.push({ name, ok: ok && errors.length === 0, counts: Object.fromEntries(
    Object.entries(got).map(([k, v]) => [k, v.length])), errors });
}

async function ioredisCase(protocol) {
  const errors = [];
  const sub = new Redis({ port, protocol, lazyConnect: true });
  const pub = new Redis({ port, protocol, lazyConnect: true });
  sub.on("error", (e) => errors.push(String(e)));
  pub.on("error", (e) => errors.push(String(e)));
  await sub.connect();
  await pub.connect();
  const got = { message: [], pmessage: [], smessage: [] };
  sub.on("message", (ch, m) => { if (ch === "ch") got.message.push(m); });
  sub.on("pmessage", (p, ch, m) => { if (p === "c*" && ch === "ch") got.pmessage.push(m); });
  sub.on("smessage", (ch, m) => { if (ch === "sh") got.smessage.push(m); });
  await sub.subscribe("ch");
  await sub.psubscribe("c*");
  await sub.ssubscribe("sh");
  for (let i = 0; i < N; i++) {
    const n = await pub.publish("ch", `m${i}`);
    if (n !== 2) errors.push(`PUBLISH answered ${n}`);
    await pub.spublish("sh", `m${i}`);
  }
  await waitFor(() => got.message.length >= N && got.pmessage.length >= N && got.smessage.length >= N,
                `ioredis RESP${protocol} messages`);
  await sub.unsubscribe("ch");
  await sub.punsubscribe("c*");
  await sub.sunsubscribe("sh");
  if ((await pub.publish("ch", "after")) !== 0) errors.push("still subscribed after UNSUBSCRIBE");
  check(`ioredis RESP${protocol}`, got, errors);
  sub.disconnect();
  pub.disconnect();
}

async function nodeRedisCase(resp) {
  const errors = [];
  const pub = createClient({ url: `redis://127.0.0.1:${port}`, RESP: resp });
  pub.on("error", (e) => errors.push(String(e)));
  await pub.connect();
  const sub = pub.duplicate();
  sub.on("error", (e) => errors.push(String(e)));
  await sub.connect();
  const got = { message: [], pmessage: [], smessage: [] };
  await sub.subscribe("ch", (m) => got.message.push(m));
  await sub.pSubscribe("c*", (m, ch) => { if (ch === "ch") got.pmessage.push(m); });
  await sub.sSubscribe("sh", (m) => got.smessage.push(m));
  for (let i = 0; i < N; i++) {
    const n = await pub.publish("ch", `m${i}`);
    if (n !== 2) errors.push(`PUBLISH answered ${n}`);
    await pub.sPublish("sh", `m${i}`);
  }
  await waitFor(() => got.message.length >= N && got.pmessage.length >= N && got.smessage.length >= N,
                `node-redis RESP${resp} messages`);
  if (resp === 3) {
    // RESP3: the subscribed connection still runs ordinary commands.
    await sub.set("k", "v");
    if ((await sub.get("k")) !== "v") errors.push("GET on a RESP3 subscriber failed");
  }
  await sub.unsubscribe("ch");
  await sub.pUnsubscribe("c*");
  await sub.sUnsubscribe("sh");
  if ((await pub.publish("ch", "after")) !== 0) errors.push("still subscribed after UNSUBSCRIBE");
  check(`node-redis RESP${resp}`, got, errors);
  await sub.quit();
  await pub.quit();
}

try {
  for (const p of [2, 3]) await withTimeout(ioredisCase(p), 30000, `ioredis ${p}`);
  for (const r of [2, 3]) await withTimeout(nodeRedisCase(r), 30000, `node-redis ${r}`);
} catch (e) {
  results.push({ name: "run", ok: false, errors: [String(e && e.stack || e)] });
}
console.log(JSON.stringify(results));
process.exit(results.length === 4 && results.every((r) => r.ok) ? 0 : 1);
