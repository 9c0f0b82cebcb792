import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { consumerGroup, streamKey } from "../../../src/stream/stream-keys.js";
import { redisUrl } from "../../helpers/test-env.js";
import {
  balanceOf,
  createDrainTestEnv,
  makeBatch,
  mixedEvents,
  registerGame,
  scalar,
  startTestWorker,
  stopAllWorkers,
  streamBacklog,
  waitFor,
  type DrainTestEnv,
} from "./worker-harness.js";

const childScript = fileURLToPath(new URL("../../helpers/worker-crash-child.ts", import.meta.url));

/** Runs the crash child until it kills itself; resolves with the signal it died of. */
function runCrashingWorker(env: DrainTestEnv, crashAt: "beforeCommit" | "afterCommit", consumer: string): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", childScript], {
      env: {
        ...process.env,
        CRASH_AT: crashAt,
        CRASH_MYSQL_URL: env.mysqlUrl,
        CRASH_REDIS_URL: redisUrl,
        CRASH_STREAM_PREFIX: env.prefix,
        CRASH_CONSUMER: consumer,
      },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error("the crash child did not reach its hook within 15 s"));
    }, 15_000);
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      clearTimeout(timer);
      resolve(signal);
    });
  });
}

describe("drain worker: a worker process killed with SIGKILL", function () {
  this.timeout(40_000);
  let env: DrainTestEnv;
  before(async () => {
    env = await createDrainTestEnv("drain_crash");
    await registerGame(env.pool, { gameId: "com.example.crash", coinsPerLevel: 3n });
  });
  afterEach(stopAllWorkers);
  after(async () => env.close());

  async function appendBatches(prefix: string, users: number, batchesPerUser: number): Promise<void> {
    for (let u = 0; u < users; u++) {
      for (let b = 0; b < batchesPerUser; b++) {
        await env.producer.append(makeBatch({ userId: `${prefix}-${u}`, gameId: "com.example.crash", events: mixedEvents(10) }));
      }
    }
  }

  async function pendingOwners(): Promise<Map<string, number>> {
    const rows = (await env.redis.xpending(streamKey(env.prefix, 0), consumerGroup, "-", "+", 1000)) as Array<[string, string]>;
    const owners = new Map<string, number>();
    for (const [, owner] of rows) owners.set(owner, (owners.get(owner) ?? 0) + 1);
    return owners;
  }

  async function assertExactlyOnce(prefix: string, users: number, batchesPerUser: number): Promise<void> {
    const like = `${prefix}-%`;
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id LIKE ?", [like]), users * batchesPerUser * 10);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id LIKE ?", [like]), users * batchesPerUser * 5);
    for (let u = 0; u < users; u++) {
      assert.equal(await balanceOf(env.pool, `${prefix}-${u}`), BigInt(batchesPerUser * 5 * 3), `balance of ${prefix}-${u}`);
    }
    assert.deepEqual(await streamBacklog(env), { length: 0, pending: 0 });
  }

  it("between commit and XACK: the entries stay pending, a second worker claims them, nothing is stored or paid twice", async () => {
    await appendBatches("after-commit", 4, 5);
    const signal = await runCrashingWorker(env, "afterCommit", "crash-after-commit");
    assert.equal(signal, "SIGKILL");
    // Committed, yet nothing acknowledged.
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id LIKE 'after-commit-%'"), 200);
    assert.deepEqual(await pendingOwners(), new Map([["crash-after-commit", 20]]));

    const second = await startTestWorker(env, { config: { claimIdleMs: 300 } });
    await waitFor("the claimed entries acknowledged", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(second.worker.stats.entriesRead, 20, "the second worker replayed all 20 entries");
    assert.equal(second.worker.stats.eventsStored, 0, "the replay stored nothing new");
    assert.equal(second.worker.stats.coinsAwarded, 0n, "the replay paid nothing");
    await assertExactlyOnce("after-commit", 4, 5);
  });

  it("mid-transaction: MySQL rolls back, a second worker claims the entries and stores and pays them once", async () => {
    await appendBatches("mid-tx", 4, 5);
    const signal = await runCrashingWorker(env, "beforeCommit", "crash-mid-tx");
    assert.equal(signal, "SIGKILL");
    // The server rolls back when it sees the connection drop.
    await waitFor("the rollback", async () => (await scalar(env.pool, "SELECT COUNT(*) FROM events WHERE user_id LIKE 'mid-tx-%'")) === 0);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger WHERE user_id LIKE 'mid-tx-%'"), 0);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM wallets WHERE user_id LIKE 'mid-tx-%'"), 0);
    assert.deepEqual(await pendingOwners(), new Map([["crash-mid-tx", 20]]));

    const second = await startTestWorker(env, { config: { claimIdleMs: 300 } });
    await waitFor("the claimed entries acknowledged", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(second.worker.stats.eventsStored, 200);
    assert.equal(second.worker.stats.coinsAwarded, 4n * 5n * 5n * 3n);
    await assertExactlyOnce("mid-tx", 4, 5);
  });
});
