// A BullMQ job queue (its Lua scripts, streams of events, delayed and prioritized jobs,
// retries with backoff, repeatable jobs, flows, pause and resume, rate limiting) against
// one server. Prints one JSON line: what the workers did and the queue's counts, which
// tests/test_js_apps.py compares with what the same script gives against redis-server.
// Usage: node bullmq_queue.mjs PORT   (NODE_PATH: where bullmq is installed).
import { createRequire } from "node:module";

const require = createRequire(process.env.NODE_PATH.split(":")[0] + "/");
const { Queue, Worker, FlowProducer, QueueEvents } = require("bullmq");

const port = Number(process.argv[2]);
const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };
const out = { done: [], failed: [], progress: [], events: [] };

async function until(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timeout: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const q = new Queue("jobs", { connection });
const events = new QueueEvents("jobs", { connection });
await events.waitUntilReady();
events.on("completed", ({ jobId }) => out.events.push("completed"));
const w = new Worker("jobs", async (job) => {
  if (job.data.fail && job.attemptsMade < 1) throw new Error("boom");
  if (job.name === "slow") await job.updateProgress(50);
  return { doubled: job.data.n * 2 };
}, { connection, concurrency: 4 });
w.on("completed", (job, rv) => out.done.push([job.name, rv.doubled]));
w.on("failed", (job, err) => out.failed.push([job.name, err.message, job.attemptsMade]));
w.on("progress", (job, p) => out.progress.push([job.name, p]));
await w.waitUntilReady();

await q.add("a", { n: 1 });
await q.add("delayed", { n: 2 }, { delay: 300 });
await q.add("retried", { n: 3, fail: true }, { attempts: 2, backoff: { type: "fixed", delay: 100 } });
await q.add("prio", { n: 4 }, { priority: 5 });
await q.addBulk([{ name: "bulk1", data: { n: 5 } }, { name: "bulk2", data: { n: 6 } }]);
await q.add("slow", { n: 7 });
await q.add("every", { n: 8 }, { repeat: { every: 200, limit: 2 } });
const flow = new FlowProducer({ connection });
await flow.add({
  name: "parent", queueName: "jobs", data: { n: 10 },
  children: [{ name: "child", queueName: "jobs", data: { n: 11 } }],
});
await until(() => out.done.length >= 11, 15000, "the first jobs");

// Paused: nothing runs; resumed: it does.
await q.pause();
await q.add("while-paused", { n: 20 });
await new Promise((r) => setTimeout(r, 300));
const pausedCounts = await q.getJobCounts("paused", "wait", "completed");
await q.resume();
await until(() => out.done.length >= 12, 10000, "the job added while paused");

// Rate limited: a second worker on another queue, 2 jobs per 500 ms.
const lq = new Queue("limited", { connection });
const limited = [];
const lw = new Worker("limited", async (job) => job.data.n, { connection, limiter: { max: 2, duration: 500 } });
lw.on("completed", (job) => limited.push(job.data.n));
await lq.addBulk([1, 2, 3, 4].map((n) => ({ name: "l", data: { n } })));
const t0 = Date.now();
await until(() => limited.length >= 4, 10000, "the rate-limited jobs");
const limitedMs = Date.now() - t0;
await until(() => out.events.length >= 12, 5000, "the completed events");

const job = await q.getJob((await q.getCompleted(0, 0))[0].id);
out.done.sort();
out.failed.sort();
console.log(JSON.stringify({
  ...out, events: out.events.length, pausedCounts, counts: await q.getJobCounts(),
  limited: limited.sort(), limitedAtLeast500ms: limitedMs >= 500, lastReturn: job.returnvalue !== undefined,
}));
await Promise.all([w.close(), lw.close(), events.close(), flow.close(), q.obliterate({ force: true }), lq.obliterate({ force: true })]);
await Promise.all([q.close(), lq.close()]);
process.exit(0);
