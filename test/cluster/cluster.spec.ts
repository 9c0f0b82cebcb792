import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { streamKey } from "../../src/stream/stream-keys.js";
import { startRedisCluster, type TestRedisCluster } from "../helpers/redis-cluster.js";
import { registerPlayer, startTestApp, type TestApp, type TestPlayer } from "../helpers/start-app.js";

const shards = 4;
const players = 12;
const batchesPerPlayer = 15;
const coinsPerLevel = 3;

async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("Redis Cluster (3 masters, 3 replicas): 2 gateways, 3 workers, a master killed under load", function () {
  this.timeout(180_000);
  let cluster: TestRedisCluster;
  const gateways: TestApp[] = [];
  const workers: TestApp[] = [];

  before(async () => {
    cluster = await startRedisCluster();
    const env = {
      REDIS_URL: cluster.url,
      REDIS_CLUSTER_NODES: cluster.seeds.join(","),
      STREAM_SHARDS: String(shards),
      REDIS_MIN_REPLICAS_ACK: "1",
      WORKER_LEASE_TTL_MS: "1500",
      WORKER_CLAIM_IDLE_MS: "1500",
    };
    for (let i = 0; i < 2; i++) gateways.push(await startTestApp({ name: "cluster", role: "gateway", env }));
    for (let i = 0; i < 3; i++) workers.push(await startTestApp({ name: "cluster", role: "worker", env: { ...env, WORKER_CONSUMER_NAME: `cluster-worker-${i}` } }));
  });
  after(async () => {
    for (const app of [...workers, ...gateways]) await app.close().catch(() => {});
    await cluster?.stop();
  });

  it("stores every accepted event exactly once, pays exactly, and keeps each player's order", async () => {
    const gw = gateways[0]!;
    await gw.pool.query("INSERT INTO games (game_id, coins_enabled, coins_per_level) VALUES ('com.example.cluster', TRUE, ?)", [coinsPerLevel]);
    const team: TestPlayer[] = await Promise.all(Array.from({ length: players }, () => registerPlayer(gw.url)));
    await waitFor("the 4 shards leased across the 3 workers", () => {
      const held = workers.flatMap((w) => w.worker!.heldShards());
      return held.length === shards && new Set(held).size === shards && workers.every((w) => w.worker!.heldShards().length >= 1);
    }, 20_000);

    let sent = 0;
    let refusals = 0;
    const statuses = new Map<string, number>();
    const sendBatch = async (p: number, b: number) => {
      const player = team[p]!;
      const events = Array.from({ length: 10 }, (_, e) => ({
        type: e < 3 ? "LevelCompleted" : "GameEnd",
        timestamp: "2026-11-26T09:15:00Z",
        event_id: `b${String(b).padStart(2, "0")}-e${e}`,
      }));
      const body = JSON.stringify({ user_id: player.userId, game_id: "com.example.cluster", events });
      for (let attempt = 0; ; attempt++) {
        assert.ok(attempt < 300, `batch ${p}/${b} never accepted: ${JSON.stringify(Object.fromEntries(statuses))}`);
        const app = gateways[(p + b + attempt) % gateways.length]!;
        let status = "error";
        try {
          const res = await fetch(`${app.url}/ingest/events`, {
            method: "POST",
            headers: { authorization: `Bearer ${player.accessToken}`, "content-type": "application/json" },
            body,
          });
          await res.arrayBuffer();
          status = String(res.status);
        } catch {
          // connection trouble: retry like a client would
        }
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === "202") return;
        assert.ok(status === "503" || status === "error", `unexpected answer ${status}`);
        refusals++;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const load = Promise.all(
      team.map(async (_, p) => {
        for (let b = 0; b < batchesPerPlayer; b++) {
          await sendBatch(p, b);
          sent++;
        }
      }),
    );
    // Kill the master of shard 0 a third of the way in; its replica takes over.
    // With REDIS_MIN_REPLICAS_ACK=1 the promoted replica, alone, cannot confirm
    // writes: that shard answers 503 until the old master is back as its replica,
    // which is what an operator's restart (or a second replica) provides.
    await waitFor("a third of the load sent", () => sent >= (players * batchesPerPlayer) / 3, 60_000);
    const victim = await cluster.masterOf(streamKey(gw.config.streamPrefix, 0));
    await cluster.kill(victim);
    await new Promise((r) => setTimeout(r, 3000));
    await cluster.restart(victim);
    await load;
    await cluster.waitHealthy(30_000);

    const total = players * batchesPerPlayer * 10;
    const count = async (sql: string, params: unknown[] = []) => {
      const [rows] = await gw.pool.query<RowDataPacket[]>(sql, params);
      return Number(Object.values(rows[0]!)[0]);
    };
    const ids = team.map((p) => p.userId);
    await waitFor(`${total} events stored`, async () => (await count("SELECT COUNT(*) FROM events WHERE user_id IN (?)", [ids])) >= total, 60_000);
    assert.equal(await count("SELECT COUNT(*) FROM events WHERE user_id IN (?)", [ids]), total, "each event once");
    assert.equal(await count("SELECT COUNT(*) FROM coin_ledger WHERE user_id IN (?)", [ids]), players * batchesPerPlayer * 3);
    const [wallets] = await gw.pool.query<RowDataPacket[]>("SELECT user_id, balance FROM wallets WHERE user_id IN (?)", [ids]);
    assert.equal(wallets.length, players);
    for (const w of wallets) assert.equal(String(w.balance), String(batchesPerPlayer * 3 * coinsPerLevel), `balance of ${w.user_id}`);
    assert.equal(await count("SELECT COUNT(*) FROM dead_letters"), 0);

    // Order: every batch of a player was stored no later than the next one.
    const [rows] = await gw.pool.query<RowDataPacket[]>(
      `SELECT user_id, LEFT(event_id, 3) AS batch, MIN(stored_at) AS first, MAX(stored_at) AS last
         FROM events WHERE user_id IN (?) GROUP BY user_id, LEFT(event_id, 3) ORDER BY user_id, batch`,
      [ids],
    );
    for (let i = 1; i < rows.length; i++) {
      const [prev, cur] = [rows[i - 1]!, rows[i]!];
      if (prev.user_id !== cur.user_id) continue;
      assert.ok(String(prev.last) <= String(cur.first), `${cur.user_id}: ${prev.batch} stored after ${cur.batch}`);
    }
    console.log(`      cluster: ${total} events, master ${victim} killed, answers ${JSON.stringify(Object.fromEntries(statuses))}, retries ${refusals}`);
  });
});
