/**
 * Fault: worker processes (`playsmart serve --role worker`) killed with SIGKILL
 * at random points while batches with coins keep arriving. Three workers run at
 * a time; every 0.2-0.8 s the one at work (holding entries; waiting up to 1 s
 * for one to be) is killed and replaced, either under the dead one's consumer
 * name (it takes back its own pending entries on start) or under a new one (the
 * dead one's entries are claimed with XAUTOCLAIM after WORKER_CLAIM_IDLE_MS).
 * Every fifth batch is sent twice at once (same event ids). Afterwards every accepted event is stored once and
 * every balance is exact. The kill points come from a seeded PRNG; the seed is
 * in the summary line, and FAULT_SEED=<seed> replays the schedule.
 */
import assert from "node:assert/strict";
import { createConnection } from "mysql2/promise";
import { startTestApp, type TestApp } from "../helpers/start-app.js";
import { assertExact, auditStore, pendingByConsumer, pendingOf, streamState, waitDrained } from "./helpers/exactly-once.js";
import { createFaultEnv, debug, faultSeed, registerPlayers, seededRandom, sleep, type FaultEnv } from "./helpers/fault-env.js";
import { registerFaultGames } from "./helpers/fault-games.js";
import { summaryOf } from "./helpers/fault-summary.js";
import { serveEnv, spawnServe, type ServeProcess } from "./helpers/serve-process.js";
import { planBatch, postBatch, startLoad, type LoadPlayer, type PlannedBatch } from "./helpers/workload.js";

const name = "fault_sigkill";
const totalKills = 20;

describe("fault: worker processes killed with SIGKILL at random points", function () {
  this.timeout(60_000);
  let env: FaultEnv;
  let gateway: TestApp;
  let players: LoadPlayer[];
  const workers = new Set<ServeProcess>();

  before(async () => {
    env = await createFaultEnv(name);
    gateway = await startTestApp({ name, role: "gateway" });
    await registerFaultGames(gateway.url);
    players = await registerPlayers(gateway.url, 6);
  });
  after(async () => {
    await Promise.all([...workers].map((w) => w.kill("SIGKILL")));
    await gateway?.close();
    await env?.close();
  });

  const startWorker = (consumer: string): ServeProcess => {
    const w = spawnServe({
      role: "worker",
      label: consumer,
      // WORKER_MAX_ATTEMPTS is raised because this scenario kills the worker in
      // hand on purpose, up to 20 times: with the default 5, five kills while the
      // same read is in hand dead-letter every healthy batch of it (the
      // crash-loop case below, a bug).
      env: serveEnv(name, { WORKER_CONSUMER_NAME: consumer, WORKER_READ_COUNT: "25", WORKER_CLAIM_IDLE_MS: "300", WORKER_MAX_ATTEMPTS: "50" }),
    });
    workers.add(w);
    void w.exited.then(() => workers.delete(w));
    return w;
  };

  it(`${totalKills} kills: every accepted event stored once, every balance exact, no dead letter`, async () => {
    const seed = faultSeed();
    const random = seededRandom(seed);
    const summary = summaryOf("worker-sigkill", "SIGKILL of the worker at work (holding entries) at a random moment; 3 workers, each killed one replaced");
    let ok = false;
    try {
      const load = startLoad({
        tag: "k",
        players,
        targets: [{ name: "gateway", url: gateway.url }],
        clients: 4,
        protocols: ["rest", "grpc"],
        eventsPerBatch: 20,
        pauseMs: 80,
        duplicateEvery: 5,
      });
      // A rolling set of three workers: every 0.2-0.8 s one that is running is
      // SIGKILLed and a replacement spawned, so replacements start while the
      // others drain.
      const kills: Array<{ consumer: string; livedMs: number; held: number; signal: string | null }> = [];
      const live: Array<{ w: ServeProcess; consumer: string; listeningAt: number | undefined }> = [];
      let named = 0;
      let reusedNames = 0;
      const spawned: ServeProcess[] = [];
      const spawnInto = (consumer: string) => {
        const slot: { w: ServeProcess; consumer: string; listeningAt: number | undefined } = { w: startWorker(consumer), consumer, listeningAt: undefined };
        spawned.push(slot.w);
        void slot.w.listening().then(() => (slot.listeningAt = Date.now()), () => {});
        live.push(slot);
      };
      for (let i = 0; i < 3; i++) spawnInto(`fault-kill-${named++}`);
      while (kills.length < totalKills) {
        await sleep(200 + Math.floor(random() * 600));
        let ready: typeof live = [];
        for (;;) {
          const dead = live.find((s) => !s.w.alive);
          if (dead) throw new Error(`${dead.consumer} exited on its own\n${dead.w.tail()}`);
          ready = live.filter((s) => s.listeningAt !== undefined);
          if (ready.length > 0) break;
          await sleep(50);
        }
        // The victim is a worker at work (holding entries): killing an idle one
        // proves little. Wait up to 1 s for one to be; else any running one.
        let busy: typeof live = [];
        for (const until = Date.now() + 1000; busy.length === 0 && Date.now() < until; ) {
          const pending = await pendingByConsumer(env.redis, env.prefix);
          busy = live.filter((s) => s.listeningAt !== undefined && (pending.get(s.consumer) ?? 0) > 0);
          if (busy.length === 0) await sleep(5);
        }
        const candidates = busy.length > 0 ? busy : ready;
        const victim = candidates[Math.floor(random() * candidates.length)]!;
        live.splice(live.indexOf(victim), 1);
        const exit = await victim.w.kill("SIGKILL");
        kills.push({
          consumer: victim.consumer,
          livedMs: Date.now() - victim.listeningAt!,
          held: await pendingOf(env.redis, env.prefix, victim.consumer),
          signal: exit.signal,
        });
        debug(`kill ${kills.length}: ${victim.consumer} after ${kills[kills.length - 1]!.livedMs} ms, held ${kills[kills.length - 1]!.held}`);
        // Half the replacements come back under the dead one's name (they take
        // back its pending entries at start), half under a new one (the dead
        // one's entries are claimed once idle).
        if (random() < 0.5) {
          reusedNames++;
          spawnInto(victim.consumer);
        } else {
          spawnInto(`fault-kill-${named++}`);
        }
      }
      debug("kills done; stopping the load");
      const result = await load.stop();
      debug(`load stopped: ${result.accepted.length} batches`);
      summary.fromLoad(result);
      const killsHoldingEntries = kills.filter((k) => k.held > 0).length;
      summary.set({ faultsInjected: kills.length, killsHoldingEntries, reusedNames, seed });

      // The three left alive finish what the dead ones left, then stop cleanly.
      const drainMs = await waitDrained(env.pool, env.redis, env.prefix, result.eventsAccepted, 25_000, () =>
        live.map((s) => `${s.consumer} (${s.w.alive ? "alive" : "dead"}):\n${s.w.tail()}`).join("\n"),
      );
      const logged = (msg: string) => spawned.reduce((n, w) => n + (w.logCounts.get(msg) ?? 0), 0);
      summary.set({
        drainAfterLoadMs: drainMs,
        claimsLogged: logged("claimed entries idle too long"),
        recoveriesLogged: logged("recovering entries this consumer left pending"),
      });
      // (A process still starting has no SIGTERM handler yet: let it finish starting.)
      await Promise.all(live.map((s) => s.w.listening()));
      const stopped = await Promise.all(live.map((s) => s.w.kill("SIGTERM")));
      const audit = await auditStore(env.pool, result.accepted);
      summary.fromAudit(audit);

      assert.equal(kills.length, totalKills);
      assert.ok(kills.every((k) => k.signal === "SIGKILL"), "every worker died of SIGKILL");
      assert.ok(killsHoldingEntries >= totalKills / 4, `at least a quarter of the kills hit a worker holding entries (${killsHoldingEntries})`);
      assert.deepEqual(stopped.map((e) => e.code), [0, 0, 0], "the surviving workers stop cleanly on SIGTERM");
      assert.deepEqual(result.abandoned.map((b) => b.key), [], "every batch was accepted in the end");
      assert.equal(result.counts.server_error, 0, "no 500 / INTERNAL");
      assert.equal(result.counts.rejected, 0, "no unexpected refusal");
      assertExact(audit);
      assert.deepEqual(await streamState(env.redis, env.prefix), { length: 0, pending: 0, deadLetters: 0 });
      ok = true;
    } finally {
      summary.print(ok);
    }
  });
});

/**
 * A crash loop with the default WORKER_MAX_ATTEMPTS (5): the worker holding a
 * read of ten healthy batches is killed five times in a row (each time while
 * it waits for the players' wallet locks, held by another session, so every
 * kill lands inside its transaction). The next worker must store and pay all
 * ten batches.
 *
 * This was a bug, fixed: every entry a crashed worker held was charged a
 * delivery and claimed again a whole page at a time, so after five crashes the
 * whole read went to the dead letters though none of it was poison. Now
 * entries delivered before are claimed and processed one at a time, so a crash
 * is charged only to the entry in hand (and WORKER_MAX_ATTEMPTS defaults to 10).
 */
describe("fault: a crash loop of the worker in hand (default WORKER_MAX_ATTEMPTS)", function () {
  this.timeout(60_000);
  const loopName = "fault_crashloop";
  let env: FaultEnv;
  let gateway: TestApp;
  let players: LoadPlayer[];
  const procs = new Set<ServeProcess>();

  before(async () => {
    env = await createFaultEnv(loopName);
    gateway = await startTestApp({ name: loopName, role: "gateway" });
    await registerFaultGames(gateway.url);
    players = await registerPlayers(gateway.url, 2);
  });
  after(async () => {
    await Promise.all([...procs].map((w) => w.kill("SIGKILL")));
    await gateway?.close();
    await env?.close();
  });

  it("five kills of the worker holding ten healthy batches: all ten are still stored and paid, none dead-lettered", async () => {
    const summary = summaryOf("worker-crash-loop", "5 SIGKILLs in a row of the worker holding the same read (default WORKER_MAX_ATTEMPTS=5)");
    let ok = false;
    const locker = await createConnection({ uri: env.mysqlUrl });
    try {
      const accepted: PlannedBatch[] = [];
      for (let seq = 0; seq < 10; seq++) {
        const player = players[seq % players.length]!;
        // Games 0 and 1 of the cycle pay coins, so every read takes wallet locks.
        const batch = planBatch("loop", seq % 2, seq, player, 20);
        const r = await postBatch(gateway.url, player, batch);
        assert.equal(r.outcome, "accepted", r.detail);
        accepted.push(batch);
      }
      // The players' wallets, locked by another session for the whole loop.
      await env.pool.query("INSERT INTO wallets (user_id, balance) VALUES ?", [players.map((p) => [p.userId, 0])]);
      await locker.query("START TRANSACTION");
      await locker.query("SELECT user_id FROM wallets WHERE user_id IN (?) FOR UPDATE", [players.map((p) => p.userId)]);

      const held: number[] = [];
      for (let k = 0; k < 5; k++) {
        const consumer = `fault-loop-${k}`;
        const w = spawnServe({ role: "worker", label: consumer, env: serveEnv(loopName, { WORKER_CONSUMER_NAME: consumer }) });
        procs.add(w);
        await w.listening();
        const until = Date.now() + 10_000;
        while ((await pendingOf(env.redis, env.prefix, consumer)) === 0) {
          if (Date.now() > until) throw new Error(`${consumer} did not take the entries\n${w.tail()}`);
          await sleep(20);
        }
        await sleep(100); // inside its transaction, waiting for the wallet locks
        await w.kill("SIGKILL");
        procs.delete(w);
        held.push(await pendingOf(env.redis, env.prefix, consumer));
      }
      await locker.query("COMMIT");

      const last = spawnServe({ role: "worker", label: "fault-loop-last", env: serveEnv(loopName, { WORKER_CONSUMER_NAME: "fault-loop-last" }) });
      procs.add(last);
      await last.listening();
      await waitDrained(env.pool, env.redis, env.prefix, 0, 15_000, () => last.tail());
      const audit = await auditStore(env.pool, accepted);
      summary.set({ faultsInjected: held.length, batchesAccepted: 10, eventsAccepted: 200, killedHolding: held });
      summary.fromAudit(audit);
      await last.kill("SIGTERM");

      // The first worker read the whole page; the later ones take back one entry at a time.
      assert.equal(held[0], 10, "the first worker held the whole read");
      assert.ok(held.slice(1).every((n) => n >= 1), `each later worker held an entry when killed: ${held.join(",")}`);
      assertExact(audit);
      ok = true;
    } finally {
      await locker.end().catch(() => {});
      summary.print(ok);
    }
  });
});
