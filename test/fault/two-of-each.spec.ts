/**
 * Fault: two gateways and two workers, all real `playsmart serve` processes on
 * one Redis and one database; mid-run one gateway and one worker are killed
 * with SIGKILL. The clients of the dead gateway get no answer (or a broken
 * connection) and resend the same batch to the other gateway; the dead
 * worker's pending entries are claimed by the other worker. Everything
 * accepted is stored once and every balance is exact.
 */
import assert from "node:assert/strict";
import { assertExact, auditStore, pendingByConsumer, streamState, waitDrained } from "./helpers/exactly-once.js";
import { createFaultEnv, debug, registerPlayers, sleep, type FaultEnv } from "./helpers/fault-env.js";
import { registerFaultGames } from "./helpers/fault-games.js";
import { summaryOf } from "./helpers/fault-summary.js";
import { serveEnv, spawnServe, type ServeProcess } from "./helpers/serve-process.js";
import { startLoad, type LoadPlayer } from "./helpers/workload.js";

const name = "fault_two";

describe("fault: two gateways and two workers, one of each killed mid-run", function () {
  this.timeout(60_000);
  let env: FaultEnv;
  let gateways: ServeProcess[];
  let workers: ServeProcess[];
  let players: LoadPlayer[];

  before(async () => {
    env = await createFaultEnv(name);
    gateways = ["gateway-a", "gateway-b"].map((label) => spawnServe({ role: "gateway", label, env: serveEnv(name) }));
    workers = ["worker-1", "worker-2"].map((label) =>
      spawnServe({ role: "worker", label, env: serveEnv(name, { WORKER_CONSUMER_NAME: `fault-two-${label}`, WORKER_READ_COUNT: "25" }) }),
    );
    await Promise.all([...gateways, ...workers].map((p) => p.listening()));
    await registerFaultGames(gateways[1]!.url);
    players = await registerPlayers(gateways[0]!.url, 6);
  });
  after(async () => {
    await Promise.all([...(gateways ?? []), ...(workers ?? [])].map((p) => p.kill("SIGKILL")));
    await env?.close();
  });

  it("clients of the killed gateway resend to the other; the other worker finishes; stored once, balances exact", async () => {
    const summary = summaryOf("two-gateways-two-workers", "SIGKILL of one of two gateways and one of two workers mid-run");
    let ok = false;
    try {
      const [a, b] = gateways as [ServeProcess, ServeProcess];
      // Clients 0 and 2 start on gateway A (REST and gRPC), 1 and 3 on B.
      const load = startLoad({
        tag: "t",
        players,
        targets: [
          { name: "gateway-a", url: a.url },
          { name: "gateway-b", url: b.url },
        ],
        clients: 4,
        protocols: ["rest", "rest", "grpc", "grpc"],
        eventsPerBatch: 20,
        pauseMs: 50,
        duplicateEvery: 5,
        attemptTimeoutMs: 3000,
      });
      await sleep(2000);
      const gatewayKilledAt = Date.now();
      const aExit = await a.kill("SIGKILL");
      debug("gateway A killed");
      await sleep(500);

      // Kill whichever worker holds entries right now (mid-batch), within 5 s.
      let victim: ServeProcess | undefined;
      let held = 0;
      const deadline = Date.now() + 5000;
      while (!victim && Date.now() < deadline) {
        const pending = await pendingByConsumer(env.redis, env.prefix);
        victim = workers.find((w) => (pending.get(`fault-two-${w.label}`) ?? 0) > 0);
        held = victim ? pending.get(`fault-two-${victim.label}`)! : 0;
      }
      if (!victim) {
        const keys = await env.redis.keys(`${env.prefix}:*`);
        const leases = await Promise.all(keys.filter((k) => k.includes("lease")).map(async (k) => `${k}=${await env.redis.get(k)}`));
        debug(`no worker held entries for 5 s; stream ${JSON.stringify(await streamState(env.redis, env.prefix))}; ${leases.join(" ")}\n${workers.map((w) => `${w.label}: ${w.tail()}`).join("\n")}`);
      }
      victim ??= workers[0]!;
      const wExit = await victim.kill("SIGKILL");
      const survivor = workers.find((w) => w !== victim)!;
      const heldAfter = (await pendingByConsumer(env.redis, env.prefix)).get(`fault-two-${victim.label}`) ?? 0;
      debug(`${victim.label} killed holding ${held} entries (${heldAfter} still pending under it)`);
      await sleep(3000);
      const result = await load.stop();
      summary.fromLoad(result);
      const afterKill = result.attempts.filter((x) => x.at >= gatewayKilledAt);
      const failedOnA = afterKill.filter((x) => x.target === "gateway-a" && x.outcome !== "accepted").length;
      const acceptedOnBAfterKill = afterKill.filter((x) => x.target === "gateway-b" && x.outcome === "accepted").length;
      summary.set({
        faultsInjected: 2,
        workerHoldingAtKill: held,
        workerKilledHolding: heldAfter,
        failedOverAttempts: failedOnA,
        acceptedByGatewayA: result.attempts.filter((x) => x.target === "gateway-a" && x.outcome === "accepted").length,
        acceptedByGatewayB: result.attempts.filter((x) => x.target === "gateway-b" && x.outcome === "accepted").length,
      });

      const drainMs = await waitDrained(env.pool, env.redis, env.prefix, result.eventsAccepted, 25_000, () => survivor.tail());
      summary.set({ drainAfterLoadMs: drainMs });
      const audit = await auditStore(env.pool, result.accepted);
      summary.fromAudit(audit);
      const stopped = await Promise.all([b.kill("SIGTERM"), survivor.kill("SIGTERM")]);

      assert.equal(aExit.signal, "SIGKILL");
      assert.equal(wExit.signal, "SIGKILL");
      assert.ok(failedOnA > 0, "clients of gateway A noticed it was gone");
      assert.ok(acceptedOnBAfterKill > 0, "and were served by gateway B");
      const serverErrors = result.attempts.filter((x) => x.outcome === "server_error" || x.outcome === "rejected");
      assert.deepEqual(serverErrors.map((x) => `${x.target} ${x.protocol} ${x.outcome} ${x.detail}`), [], "no 500 / INTERNAL, no refusal");
      assert.deepEqual(result.abandoned.map((x) => x.key), [], "every batch was accepted in the end");
      assertExact(audit);
      assert.deepEqual(await streamState(env.redis, env.prefix), { length: 0, pending: 0, deadLetters: 0 });
      assert.deepEqual(stopped.map((e) => e.code), [0, 0], "the survivors stop cleanly on SIGTERM");
      ok = true;
    } finally {
      summary.print(ok);
    }
  });
});
