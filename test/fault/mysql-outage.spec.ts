/**
 * Fault: MySQL unreachable for 30 s under load. A TCP proxy stands in front of
 * MariaDB for both the gateway's pool (in this process) and the worker (a child
 * process); taking it down refuses new connections and cuts the open ones, as a
 * crashed or partitioned database would. Players and games are registered
 * before (the gateway needs MySQL only for accounts). The gateway keeps
 * answering 202, the worker holds its batch and waits, and once MySQL is back
 * the backlog drains: nothing lost, nothing doubled, no dead letter.
 */
import assert from "node:assert/strict";
import type { RowDataPacket } from "mysql2/promise";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { WalletService } from "../../gen/playsmart/wallet/v1/wallet_pb.js";
import { parseMysqlUrl } from "../../src/store/mysql-pool.js";
import { startTestApp, type TestApp } from "../helpers/start-app.js";
import { createTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { mysqlServerUrl, testMysqlUrl } from "../helpers/test-env.js";
import { assertExact, auditStore, storedEvents, streamState, waitDrained } from "./helpers/exactly-once.js";
import { createFaultEnv, debug, registerPlayers, sleep, type FaultEnv, type FaultPlayer } from "./helpers/fault-env.js";
import { registerFaultGames } from "./helpers/fault-games.js";
import { summaryOf } from "./helpers/fault-summary.js";
import { serveEnv, spawnServe, type ServeProcess } from "./helpers/serve-process.js";
import { quantile, startLoad } from "./helpers/workload.js";

const name = "fault_mysql";
const outageMs = 30_000;

describe("fault: MySQL unreachable for 30 s under load", function () {
  this.timeout(60_000);
  let proxy: TcpProxy;
  let env: FaultEnv;
  let gateway: TestApp;
  let worker: ServeProcess;
  let players: FaultPlayer[];

  before(async () => {
    const server = new URL(mysqlServerUrl);
    proxy = await createTcpProxy({ host: server.hostname, port: Number(server.port || 3306) });
    await proxy.up();
    const proxied = new URL(mysqlServerUrl);
    proxied.port = String(proxy.port);
    proxied.pathname = `/${parseMysqlUrl(testMysqlUrl(name)).database}`;
    env = await createFaultEnv(name);
    gateway = await startTestApp({ name, role: "gateway", env: { MYSQL_URL: proxied.toString() } });
    await registerFaultGames(gateway.url);
    players = await registerPlayers(gateway.url, 4);
    worker = spawnServe({
      role: "worker",
      label: "worker",
      env: serveEnv(name, { MYSQL_URL: proxied.toString(), WORKER_CONSUMER_NAME: "fault-mysql-worker" }),
    });
    await worker.listening();
  });
  after(async () => {
    await worker?.kill("SIGKILL");
    await proxy?.up(); // lets the gateway's pool end cleanly
    await gateway?.close();
    await env?.close();
    await proxy?.down();
  });

  const status = async (url: string) => (await fetch(url)).status;
  const retryAfterSet = (value: string | null) => (value !== null && /^[1-9]\d*$/.test(value) ? "yes" : "no");

  it("keeps answering 202 while MySQL is down and drains the backlog exactly once when it is back", async () => {
    const summary = summaryOf("mysql-outage", "MySQL unreachable for 30 s (TCP proxy down: connections refused and cut) under load");
    let ok = false;
    try {
      const load = startLoad({
        tag: "m",
        players,
        targets: [{ name: "gateway", url: gateway.url }],
        clients: 3,
        protocols: ["rest", "grpc"],
        eventsPerBatch: 10,
        pauseMs: 100,
        duplicateEvery: 5,
      });
      await sleep(2000);
      const down = Date.now();
      await proxy.down();
      debug("mysql down");
      await sleep(3000);
      const storedEarly = await storedEvents(env.pool);
      const readyDuring = { gateway: await status(`${gateway.url}/readyz`), worker: await status(`${worker.url}/readyz`) };
      await sleep(outageMs - 3500);
      const storedLate = await storedEvents(env.pool);
      const backlog = (await streamState(env.redis, env.prefix)).length;
      await sleep(down + outageMs - Date.now());
      const up = Date.now();
      await proxy.up();
      debug(`mysql up after ${up - down} ms; ${backlog} entries waiting`);
      await sleep(2000);
      const result = await load.stop();
      summary.fromLoad(result);
      const during = result.attempts.filter((a) => a.at > down && a.at + a.ms < up);
      summary.set({
        faultsInjected: 1,
        outageMs: up - down,
        acceptedDuringOutage: during.filter((a) => a.outcome === "accepted").length,
        backlogAtEnd: backlog,
        ingestP99MsDuringOutage: Math.round(quantile(during.map((a) => a.ms), 0.99)),
      });

      const drainMs = await waitDrained(env.pool, env.redis, env.prefix, result.eventsAccepted, 20_000, () => worker.tail());
      summary.set({ drainAfterLoadMs: drainMs });
      const audit = await auditStore(env.pool, result.accepted);
      summary.fromAudit(audit);
      // The gateway's own pool (accounts, wallets) reconnects too: each balance through the API.
      const apiBalances = await Promise.all(
        players.map(async (p) => {
          const res = await fetch(`${gateway.url}/wallet`, { headers: { authorization: `Bearer ${p.accessToken}` } });
          return { status: res.status, balance: BigInt(((await res.json()) as { balance: string }).balance) };
        }),
      );
      const readyAfter = await status(`${worker.url}/readyz`);

      assert.deepEqual(readyDuring, { gateway: 200, worker: 503 }, "during the outage the gateway is ready and the worker is not");
      assert.equal(readyAfter, 200, "the worker is ready again");
      assert.equal(storedLate, storedEarly, "nothing was stored while MySQL was down (the fault held)");
      assert.ok(during.length > 50, `the load ran through the outage (${during.length} requests)`);
      const notAccepted = result.attempts.filter((a) => a.outcome !== "accepted");
      assert.deepEqual(notAccepted.map((a) => `${a.protocol} ${a.outcome} ${a.detail}`), [], "every request answered 202 / OK, during the outage too");
      assert.deepEqual(result.abandoned.map((b) => b.key), [], "every batch was accepted");
      assertExact(audit);
      assert.deepEqual(await streamState(env.redis, env.prefix), { length: 0, pending: 0, deadLetters: 0 });
      const [wallets] = await env.pool.query<Array<RowDataPacket & { user_id: string; balance: string }>>(
        "SELECT user_id, balance FROM wallets",
      );
      const db = new Map(wallets.map((w) => [w.user_id, BigInt(w.balance)]));
      players.forEach((p, i) => {
        assert.equal(apiBalances[i]!.status, 200, "GET /wallet answers after the outage");
        assert.equal(apiBalances[i]!.balance, db.get(p.userId) ?? 0n, "GET /wallet shows the stored balance");
      });
      ok = true;
    } finally {
      summary.print(ok);
    }
  });
  /**
   * The routes that need MySQL (accounts, wallet) cannot work while it is down,
   * but the contract's answer for a dependency that does not answer is 503 /
   * UNAVAILABLE with Retry-After ("retry later"), never a 500.
   *
   * FAILS today (src bug): a MySQL connection error escapes the accounts and
   * wallet code as a plain driver error, and src/server/error-map.ts
   * (toHttpError / toConnectError) turns anything that is not a domain error
   * into 500 INTERNAL: GET /wallet, POST /auth/login, POST /auth/register and
   * WalletService.GetBalance all answer 500 / INTERNAL within milliseconds while
   * MySQL refuses connections. Suggested fix: map MySQL errors that mean
   * "unreachable" (the `unavailable` kind of src/worker/mysql-errors.ts:
   * ECONNREFUSED, PROTOCOL_CONNECTION_LOST, fatal errors, 1040, 1053, ...) to
   * UnavailableError at the store boundary (or in error-map.ts), so they
   * answer 503 + Retry-After / UNAVAILABLE + RetryInfo like Redis outages do.
   */
  it("answers 503 / UNAVAILABLE (not 500) on the routes that need MySQL while it is down", async () => {
    const summary = summaryOf("mysql-outage-account-routes", "MySQL unreachable: login, register, wallet over REST and gRPC");
    let ok = false;
    const answers: Record<string, string> = {};
    try {
      const p = players[0]!;
      await proxy.down();
      const rest = async (label: string, path: string, init: RequestInit = {}) => {
        const res = await fetch(`${gateway.url}${path}`, init);
        const body = (await res.json()) as { error?: string };
        answers[label] = `${res.status} ${body.error ?? ""} retry-after:${retryAfterSet(res.headers.get("retry-after"))}`;
      };
      const json = { "content-type": "application/json" };
      await rest("GET /wallet", "/wallet", { headers: { authorization: `Bearer ${p.accessToken}` } });
      await rest("POST /auth/login", "/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email: p.email, password: p.password }) });
      await rest("POST /auth/register", "/auth/register", {
        method: "POST",
        headers: json,
        body: JSON.stringify({ email: `outage-${Date.now()}@example.com`, password: "correct horse battery" }),
      });
      const wallet = createClient(WalletService, createGrpcTransport({ baseUrl: gateway.url, idleConnectionTimeoutMs: 1000 }));
      try {
        await wallet.getBalance({}, { headers: { authorization: `Bearer ${p.accessToken}` } });
        answers["WalletService.GetBalance"] = "OK";
      } catch (err) {
        const e = ConnectError.from(err);
        answers["WalletService.GetBalance"] = `${Code[e.code]} retry-after:${retryAfterSet(e.metadata.get("retry-after"))}`;
      }
      await proxy.up();
      const serverErrors = Object.values(answers).filter((a) => a.startsWith("500") || a.startsWith("Internal")).length;
      summary.set({ faultsInjected: 1, requests: Object.keys(answers).length, serverErrors, answers });
      assert.deepEqual(answers, {
        "GET /wallet": "503 SERVICE_UNAVAILABLE retry-after:yes",
        "POST /auth/login": "503 SERVICE_UNAVAILABLE retry-after:yes",
        "POST /auth/register": "503 SERVICE_UNAVAILABLE retry-after:yes",
        "WalletService.GetBalance": "Unavailable retry-after:yes",
      });
      ok = true;
    } finally {
      await proxy.up();
      summary.print(ok);
    }
  });
});
