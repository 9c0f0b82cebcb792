/**
 * Fault: the stream's Redis goes away under load, once crashed (SIGKILL) and
 * once stopped cleanly (SIGTERM), and comes back on the same port. The gateway
 * (in this process) and the worker (a child process) share a private
 * redis-server of the test's own. While Redis is down every ingest is refused
 * fast with 503 / UNAVAILABLE (never a 202, never a 500); the gateway and the
 * worker reconnect by themselves; and every batch answered 202 is stored once.
 *
 * A 202 survives a Redis crash only if Redis persisted it: this Redis runs with
 * AOF and `appendfsync always`, and the worker is frozen (SIGSTOP) for a second
 * before each outage so accepted entries are waiting in Redis when it goes. The control case shows what the same crash does
 * to a Redis without persistence (the shared test helper's and Redis's own
 * default for `--save ""`): every accepted entry not yet drained is gone.
 */
import assert from "node:assert/strict";
import { startTestApp, type TestApp } from "../helpers/start-app.js";
import { assertExact, auditStore, storedEvents, streamState, waitDrained } from "./helpers/exactly-once.js";
import { createFaultEnv, debug, registerPlayers, sleep, type FaultEnv } from "./helpers/fault-env.js";
import { registerFaultGames } from "./helpers/fault-games.js";
import { createFaultRedis, type FaultRedis } from "./helpers/fault-redis.js";
import { summaryOf } from "./helpers/fault-summary.js";
import { serveEnv, spawnServe, type ServeProcess } from "./helpers/serve-process.js";
import { planBatch, postBatch, startLoad, type Attempt, type LoadPlayer, type PlannedBatch } from "./helpers/workload.js";

describe("fault: Redis restarted while the gateway is under load", function () {
  this.timeout(60_000);

  describe("with AOF persistence (appendfsync always)", () => {
    const name = "fault_redis";
    let redis: FaultRedis;
    let env: FaultEnv;
    let gateway: TestApp;
    let worker: ServeProcess;
    let players: LoadPlayer[];

    before(async () => {
      redis = await createFaultRedis({ persistence: "aof-always" });
      await redis.start();
      env = await createFaultEnv(name, { redisUrl: redis.url });
      gateway = await startTestApp({ name, role: "gateway", env: { REDIS_URL: redis.url } });
      await registerFaultGames(gateway.url);
      players = await registerPlayers(gateway.url, 4);
      worker = spawnServe({ role: "worker", label: "worker", env: serveEnv(name, { REDIS_URL: redis.url, WORKER_CONSUMER_NAME: "fault-redis-worker" }) });
      await worker.listening();
    });
    after(async () => {
      await worker?.kill("SIGKILL");
      await gateway?.close();
      await env?.close();
      await redis?.dispose();
    });

    /**
     * Sends one small batch every 50 ms until it is answered 202: how long after
     * Redis is back the gateway takes new batches (the load's clients are
     * sleeping their Retry-After meanwhile). The probe batches count as accepted.
     */
    async function probeUntilAccepted(player: LoadPlayer, tag: string, accepted: PlannedBatch[]): Promise<void> {
      const started = Date.now();
      for (let seq = 0; Date.now() - started < 15_000; seq++) {
        const batch = planBatch(tag, 0, seq, player, 2);
        const r = await postBatch(gateway.url, player, batch, 2000);
        if (r.outcome === "accepted") {
          accepted.push(batch);
          return;
        }
        if (r.outcome !== "unavailable") throw new Error(`probe answered ${r.outcome}: ${r.detail}`);
        await sleep(50);
      }
      throw new Error("the gateway did not take a batch within 15 s of Redis coming back");
    }

    it("refuses with 503 / UNAVAILABLE during the outages, reconnects by itself, and loses no 202", async () => {
      const summary = summaryOf(
        "redis-restart",
        "Redis (AOF, appendfsync always) crashed (SIGKILL) and stopped (SIGTERM) under load with a backlog (worker frozen 1 s by SIGSTOP first), restarted on its port",
      );
      let ok = false;
      try {
        const load = startLoad({
          tag: "r",
          players,
          targets: [{ name: "gateway", url: gateway.url }],
          clients: 4,
          protocols: ["rest", "grpc"],
          eventsPerBatch: 10,
          pauseMs: 40,
          duplicateEvery: 5,
        });
        const probes: PlannedBatch[] = [];
        // down: redis-server exited; up: spawned again; reconnectMs: from up
        // to the first 202; backlog: entries in the stream at the crash.
        const outages: Array<{ kind: string; down: number; up: number; reconnectMs: number; backlog: number }> = [];
        for (const kind of ["SIGKILL", "SIGTERM"] as const) {
          await sleep(1500);
          // Freeze the worker for a second first, so the crash finds a backlog
          // of accepted entries that only the AOF can bring back.
          worker.child.kill("SIGSTOP");
          await sleep(1000);
          const backlog = (await streamState(env.redis, env.prefix)).length;
          if (kind === "SIGKILL") await redis.kill();
          else await redis.shutdown(); // a clean shutdown takes a moment: Redis answers until it exits
          const down = Date.now();
          debug(`redis ${kind} with ${backlog} entries in the stream`);
          await sleep(2500);
          const up = Date.now(); // from here on Redis may answer again
          await redis.start();
          worker.child.kill("SIGCONT");
          await probeUntilAccepted(players[0]!, `probe${outages.length}`, probes);
          const reconnectMs = Date.now() - up;
          debug(`redis restarted; the gateway took a batch ${reconnectMs} ms after the restart`);
          outages.push({ kind, down, up, reconnectMs, backlog });
        }
        await sleep(1500);
        const result = await load.stop();
        const accepted = [...result.accepted, ...probes];
        summary.fromLoad(result);
        summary.set({ faultsInjected: outages.length, eventsAccepted: accepted.reduce((n, b) => n + b.events.length, 0) });

        const inside = (a: Attempt, o: (typeof outages)[number]) => a.at > o.down + 50 && a.at + a.ms < o.up;
        const duringOutage = result.attempts.filter((a) => outages.some((o) => inside(a, o)));
        const refusedMs = duringOutage.filter((a) => a.outcome === "unavailable").map((a) => a.ms);
        summary.set({
          attemptsDuringOutages: duringOutage.length,
          refusedMaxMs: Math.round(Math.max(0, ...refusedMs)),
          reconnectMs: outages.map((o) => o.reconnectMs),
          backlogAtCrash: outages.map((o) => o.backlog),
        });

        const drainMs = await waitDrained(env.pool, env.redis, env.prefix, accepted.reduce((n, b) => n + b.events.length, 0), 30_000, () => worker.tail());
        summary.set({ drainAfterLoadMs: drainMs });
        const audit = await auditStore(env.pool, accepted);
        summary.fromAudit(audit);
        const stopped = await worker.kill("SIGTERM");

        for (const o of outages) {
          assert.ok(o.backlog > 0, `accepted entries were waiting in Redis at the ${o.kind}`);
          const refused = result.attempts.filter((a) => inside(a, o) && a.outcome === "unavailable");
          assert.ok(refused.length > 0, `requests were refused during the ${o.kind} outage`);
        }
        const wrong = duringOutage.filter((a) => a.outcome !== "unavailable");
        assert.deepEqual(wrong.map((a) => `${a.protocol} ${a.outcome} ${a.detail}`), [], "while Redis is down every answer is 503 / UNAVAILABLE");
        assert.ok(Math.max(...refusedMs) < 1000, `refused within a second (slowest ${Math.round(Math.max(...refusedMs))} ms)`);
        for (const o of outages) assert.ok(o.reconnectMs < 5000, `the gateway took batches again ${o.reconnectMs} ms after the ${o.kind} restart`);
        assert.deepEqual(result.abandoned.map((b) => b.key), [], "every batch was accepted in the end");
        assert.equal(result.counts.server_error, 0, "no 500 / INTERNAL");
        assert.equal(result.counts.rejected, 0, "no unexpected refusal");
        assertExact(audit);
        assert.deepEqual(await streamState(env.redis, env.prefix), { length: 0, pending: 0, deadLetters: 0 });
        assert.equal(stopped.code, 0, `the worker stops cleanly on SIGTERM\n${worker.tail()}`);
        ok = true;
      } finally {
        summary.print(ok);
      }
    });
  });

  describe("control: without persistence", () => {
    const name = "fault_redis_nopersist";
    let redis: FaultRedis;
    let env: FaultEnv;
    let gateway: TestApp;
    let worker: ServeProcess | undefined;
    let players: LoadPlayer[];

    before(async () => {
      redis = await createFaultRedis({ persistence: "none" });
      await redis.start();
      env = await createFaultEnv(name, { redisUrl: redis.url });
      gateway = await startTestApp({ name, role: "gateway", env: { REDIS_URL: redis.url } });
      await registerFaultGames(gateway.url);
      players = await registerPlayers(gateway.url, 1);
    });
    after(async () => {
      await worker?.kill("SIGKILL");
      await gateway?.close();
      await env?.close();
      await redis?.dispose();
    });

    it("a crash loses every accepted batch still in Redis; afterwards the gateway and a worker carry on", async () => {
      const summary = summaryOf("redis-crash-without-persistence", "Redis without persistence crashed (SIGKILL) with a backlog, no worker running");
      let ok = false;
      try {
        const player = players[0]!;
        const send = async (tag: string, n: number): Promise<PlannedBatch[]> => {
          const sent: PlannedBatch[] = [];
          for (let seq = 0; seq < n; seq++) {
            const batch = planBatch(tag, 0, seq, player, 10);
            for (let attempt = 0; ; attempt++) {
              const r = await postBatch(gateway.url, player, batch);
              if (r.outcome === "accepted") break;
              if (r.outcome !== "unavailable" || attempt > 50) throw new Error(`${tag} batch ${seq}: ${r.outcome} ${r.detail}`);
              await sleep(100);
            }
            sent.push(batch);
          }
          return sent;
        };
        const before = await send("lost", 20);
        const backlog = (await streamState(env.redis, env.prefix)).length;
        await redis.kill();
        await redis.start();
        const after = await send("kept", 10);
        worker = spawnServe({ role: "worker", label: "worker", env: serveEnv(name, { REDIS_URL: redis.url }) });
        await worker.listening();
        await waitDrained(env.pool, env.redis, env.prefix, 100, 20_000, () => worker!.tail());
        const stored = await storedEvents(env.pool);
        const audit = await auditStore(env.pool, after);
        summary.set({
          faultsInjected: 1,
          batchesAccepted: before.length + after.length,
          eventsAccepted: (before.length + after.length) * 10,
          eventsStored: stored,
          eventsLost: (before.length + after.length) * 10 - stored,
          backlogAtCrash: backlog,
          coinsExpected: String(audit.coinsExpected),
          coinsPaid: String(audit.coinsPaid),
          deadLetters: audit.deadLetters,
        });
        assert.equal(backlog, 20, "the 20 accepted batches were in the stream when Redis crashed");
        assert.equal(stored, 100, "only the batches accepted after the restart are stored: the 200 events before it are lost");
        assertExact(audit);
        ok = true;
      } finally {
        summary.print(ok);
      }
    });
  });
});
