import assert from "node:assert/strict";
import { parseMysqlUrl } from "../../../src/store/mysql-pool.js";
import { consumerGroup, streamKey } from "../../../src/stream/stream-keys.js";
import { mysqlServerUrl } from "../../helpers/test-env.js";
import { createTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";
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

describe("drain worker: MySQL unreachable", function () {
  this.timeout(40_000);
  let env: DrainTestEnv;
  let proxy: TcpProxy;
  let proxiedUrl: string;
  before(async () => {
    env = await createDrainTestEnv("drain_outage");
    await registerGame(env.pool, { gameId: "com.example.outage", coinsPerLevel: 2n });
    const server = new URL(mysqlServerUrl);
    proxy = await createTcpProxy({ host: server.hostname, port: Number(server.port || 3306) });
    const url = new URL(mysqlServerUrl);
    url.port = String(proxy.port);
    url.pathname = `/${parseMysqlUrl(env.mysqlUrl).database}`;
    proxiedUrl = url.toString();
  });
  afterEach(stopAllWorkers);
  after(async () => {
    await proxy.down();
    await env.close();
  });

  const users = 10;
  const appendRound = async (round: string) => {
    // 10 players x 5 batches x 20 events = 1,000 events.
    for (let b = 0; b < 5; b++) {
      for (let u = 0; u < users; u++) {
        await env.producer.append(
          makeBatch({ userId: `outage-${u}`, gameId: "com.example.outage", events: mixedEvents(20, `${round}-b${b}`) }),
        );
      }
    }
  };

  it("holds 1,000 queued events while MySQL is down and drains them all once it is back", async () => {
    // Nothing listens on the proxy's port yet: connections are refused.
    const w = await startTestWorker(env, { mysqlUrl: proxiedUrl, config: { claimIdleMs: 300 } });
    await appendRound("r1");
    await waitFor("the worker to notice", async () => !w.worker.stats.mysqlAvailable);
    await new Promise((r) => setTimeout(r, 1000)); // long past claimIdleMs: nothing may be dropped or dead-lettered
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events"), 0);
    // Nothing acknowledged or deleted; the batch in hand was read once and is
    // held (its idle time kept fresh), and reading stopped behind it.
    const backlog = await streamBacklog(env);
    assert.equal(backlog.length, 50);
    assert.ok(backlog.pending >= 1, "the worker holds the batch it read");
    const pending = (await env.redis.xpending(streamKey(env.prefix, 0), consumerGroup, "IDLE", 0, "-", "+", 100)) as Array<
      [string, string, number, number]
    >;
    for (const [id, , idleMs, deliveries] of pending) {
      assert.equal(deliveries, 1, `entry ${id} was delivered once`);
      assert.ok(idleMs < 300, `entry ${id} kept fresh (idle ${idleMs} ms)`);
    }
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM dead_letters"), 0);

    await proxy.up();
    await waitFor("the backlog drained", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    }, 20_000);
    assert.ok(w.worker.stats.mysqlAvailable);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events"), 1000);
    for (let u = 0; u < users; u++) assert.equal(await balanceOf(env.pool, `outage-${u}`), 100n);

    // MySQL going away under open pooled connections, then back.
    await proxy.down();
    await appendRound("r2");
    await waitFor("the worker to notice again", async () => !w.worker.stats.mysqlAvailable);
    await proxy.up();
    await waitFor("the second backlog drained", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    }, 20_000);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM events"), 2000);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM coin_ledger"), 1000);
    for (let u = 0; u < users; u++) assert.equal(await balanceOf(env.pool, `outage-${u}`), 200n);
    assert.equal(await scalar(env.pool, "SELECT COUNT(*) FROM dead_letters"), 0);
    assert.equal(w.worker.stats.deadLetters, 0);
  });

  it("stops promptly while waiting for MySQL, leaving its batch pending for another worker", async () => {
    await proxy.down();
    const w = await startTestWorker(env, { mysqlUrl: proxiedUrl });
    await env.producer.append(makeBatch({ userId: "outage-stop", gameId: "com.example.outage", events: mixedEvents(4) }));
    await waitFor("the worker to notice", async () => !w.worker.stats.mysqlAvailable);
    const t0 = Date.now();
    await w.stop();
    assert.ok(Date.now() - t0 < 1000, `stop took ${Date.now() - t0} ms`);
    assert.deepEqual(await streamBacklog(env), { length: 1, pending: 1 });

    const other = await startTestWorker(env, { config: { claimIdleMs: 200 } });
    await waitFor("the other worker to claim and store it", async () => {
      const backlog = await streamBacklog(env);
      return backlog.length === 0 && backlog.pending === 0;
    });
    assert.equal(other.worker.stats.eventsStored, 4);
    assert.equal(await balanceOf(env.pool, "outage-stop"), 4n);
  });
});
