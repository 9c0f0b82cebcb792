/**
 * Fault: a slow MySQL. Another session holds what the worker needs for
 * seconds: first the players' wallet rows (`SELECT ... FOR UPDATE` in an open
 * transaction: the worker's wallet locks wait), then the whole `events` table
 * (`LOCK TABLES events WRITE`: every read and insert of the worker waits). The
 * service runs as one `playsmart serve` process with both roles, as `npm start`
 * does, so the stalled worker shares the event loop and the MySQL pool with the
 * gateway. Ingest must not notice: p99 under 200 ms, every request 202, wallet
 * reads unaffected; once the locks go, everything drains exactly once.
 */
import assert from "node:assert/strict";
import { createConnection, type Connection } from "mysql2/promise";
import { assertExact, auditStore, storedEvents, streamState, waitDrained } from "./helpers/exactly-once.js";
import { createFaultEnv, debug, registerPlayers, sleep, type FaultEnv } from "./helpers/fault-env.js";
import { registerFaultGames } from "./helpers/fault-games.js";
import { summaryOf } from "./helpers/fault-summary.js";
import { serveEnv, spawnServe, type ServeProcess } from "./helpers/serve-process.js";
import { quantile, startLoad, type LoadPlayer } from "./helpers/workload.js";

const name = "fault_slow";
const rowLockMs = 6000;
const tableLockMs = 5000;

describe("fault: a slow MySQL (long lock waits) does not stall the gateway", function () {
  this.timeout(60_000);
  let env: FaultEnv;
  let server: ServeProcess;
  let players: LoadPlayer[];
  let locker: Connection | undefined;

  before(async () => {
    env = await createFaultEnv(name);
    server = spawnServe({ role: "all", label: "serve", env: serveEnv(name, { WORKER_CONSUMER_NAME: "fault-slow" }) });
    await server.listening();
    await registerFaultGames(server.url);
    players = await registerPlayers(server.url, 4);
  });
  after(async () => {
    await locker?.end().catch(() => {});
    await server?.kill("SIGKILL");
    await env?.close();
  });

  it("ingest p99 stays under 200 ms while the worker waits on locks; afterwards all drains exactly once", async () => {
    const summary = summaryOf("slow-mysql", "wallet rows held FOR UPDATE for 6 s, then LOCK TABLES events WRITE for 5 s, by another session");
    let ok = false;
    try {
      const load = startLoad({
        tag: "s",
        players,
        targets: [{ name: "serve", url: server.url }],
        clients: 4,
        protocols: ["rest", "grpc"],
        eventsPerBatch: 10,
        pauseMs: 50,
        duplicateEvery: 5,
      });
      // Wallet reads through the same process meanwhile.
      const walletMs: Array<{ at: number; ms: number; status: number }> = [];
      let polling = true;
      const poller = (async () => {
        for (let i = 0; polling; i++) {
          const p = players[i % players.length]!;
          const at = Date.now();
          const t0 = performance.now();
          const res = await fetch(`${server.url}/wallet`, { headers: { authorization: `Bearer ${p.accessToken}` } });
          await res.arrayBuffer();
          walletMs.push({ at, ms: performance.now() - t0, status: res.status });
          await sleep(100);
        }
      })();

      // Warm-up: every player has a wallet row to lock.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const [rows] = await env.pool.query("SELECT COUNT(*) AS n FROM wallets");
        if (Number((rows as Array<{ n: number }>)[0]!.n) === players.length) break;
        if (Date.now() > deadline) throw new Error("wallets were not created by the warm-up");
        await sleep(100);
      }
      await sleep(1000);

      locker = await createConnection({ uri: env.mysqlUrl });
      const stalls: Array<{ kind: string; from: number; to: number; waitingSessions: number }> = [];
      // Sessions of this database waiting for a lock (the worker's), seen from information_schema.
      const waiting = async (): Promise<number> => {
        const [rows] = await env.pool.query(
          `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST
            WHERE DB = DATABASE() AND ID <> CONNECTION_ID()
              AND (STATE LIKE 'Waiting for table%' OR ID IN (SELECT trx_mysql_thread_id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'))`,
        );
        return Number((rows as Array<{ n: number }>)[0]!.n);
      };

      // 1. Row locks on every wallet.
      await locker.query("START TRANSACTION");
      await locker.query("SELECT user_id FROM wallets WHERE user_id IN (?) FOR UPDATE", [players.map((p) => p.userId)]);
      let from = Date.now();
      debug("wallet rows locked");
      await sleep(1000); // a transaction already past its locks commits meanwhile
      const storedAtStart = await storedEvents(env.pool);
      await sleep(rowLockMs - 1500);
      let waitingSessions = await waiting();
      const storedAtEnd = await storedEvents(env.pool);
      await sleep(500);
      await locker.query("COMMIT");
      stalls.push({ kind: "wallet rows FOR UPDATE", from, to: Date.now(), waitingSessions });

      // 2. The events table, for reads and writes (the audit's reads too: only
      // information_schema is looked at meanwhile).
      await locker.query("LOCK TABLES events WRITE");
      from = Date.now();
      debug("events table locked");
      await sleep(tableLockMs - 500);
      waitingSessions = await waiting();
      await sleep(500);
      await locker.query("UNLOCK TABLES");
      stalls.push({ kind: "LOCK TABLES events WRITE", from, to: Date.now(), waitingSessions });
      debug(`locks released; sessions seen waiting: ${stalls.map((s) => s.waitingSessions).join(", ")}`);

      await sleep(1000);
      const result = await load.stop();
      polling = false;
      await poller;
      summary.fromLoad(result);
      const inStall = (at: number) => stalls.some((s) => at >= s.from && at <= s.to);
      const stalledMs = result.attempts.filter((a) => inStall(a.at)).map((a) => a.ms);
      const walletDuring = walletMs.filter((w) => inStall(w.at));
      summary.set({
        faultsInjected: stalls.length,
        workerWaiting: stalls.map((s) => s.waitingSessions),
        stallMs: stalls.reduce((n, s) => n + s.to - s.from, 0),
        requestsDuringStall: stalledMs.length,
        ingestP50MsDuringStall: Math.round(quantile(stalledMs, 0.5)),
        ingestP99MsDuringStall: Math.round(quantile(stalledMs, 0.99)),
        ingestMaxMsDuringStall: Math.round(Math.max(0, ...stalledMs)),
        walletP99MsDuringStall: Math.round(quantile(walletDuring.map((w) => w.ms), 0.99)),
      });

      const drainMs = await waitDrained(env.pool, env.redis, env.prefix, result.eventsAccepted, 20_000, () => server.tail());
      summary.set({ drainAfterLoadMs: drainMs });
      const audit = await auditStore(env.pool, result.accepted);
      summary.fromAudit(audit);
      const stopped = await server.kill("SIGTERM");

      assert.equal(storedAtEnd, storedAtStart, "the worker stored nothing while the wallet rows were locked");
      for (const stall of stalls) assert.ok(stall.waitingSessions > 0, `the worker was waiting on the lock (${stall.kind})`);
      assert.ok(stalledMs.length > 100, `the load ran through the stalls (${stalledMs.length} requests)`);
      const notAccepted = result.attempts.filter((a) => a.outcome !== "accepted");
      assert.deepEqual(notAccepted.map((a) => `${a.protocol} ${a.outcome} ${a.detail}`), [], "every request answered 202 / OK");
      assert.ok(quantile(stalledMs, 0.99) < 200, `ingest p99 during the stalls ${Math.round(quantile(stalledMs, 0.99))} ms`);
      assert.ok(walletDuring.every((w) => w.status === 200), "wallet reads answered during the stalls");
      assert.ok(quantile(walletDuring.map((w) => w.ms), 0.99) < 200, "wallet reads were not stalled");
      assert.deepEqual(result.abandoned.map((b) => b.key), [], "every batch was accepted");
      assertExact(audit);
      assert.deepEqual(await streamState(env.redis, env.prefix), { length: 0, pending: 0, deadLetters: 0 });
      assert.equal(stopped.code, 0, `the process stops cleanly on SIGTERM\n${server.tail()}`);
      ok = true;
    } finally {
      summary.print(ok);
    }
  });
});
