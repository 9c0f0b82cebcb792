import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { createPrivateRedis, type PrivateRedis } from "../../helpers/private-redis.js";
import { parsePrometheusText, sampleValue } from "../../helpers/prometheus-text.js";
import { startTestApp, type TestApp } from "../../helpers/start-app.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("examples/ against the live server", function () {
  this.timeout(30_000);

  describe("mobile-flow.sh (curl)", () => {
    let app: TestApp;
    before(async () => (app = await startTestApp({ name: "examples", role: "all" })));
    after(() => app.close());

    it("registers, sends a batch twice with the same ids, and reads the wallet", async () => {
      // Asynchronously: the server under test runs in this process's event loop.
      const r = await promisify(execFile)("bash", ["examples/mobile-flow.sh"], { cwd: root, env: { ...process.env, BASE_URL: app.url } });
      assert.match(r.stdout, /^registered [0-9a-f-]{36}$/m);
      assert.match(r.stdout, /^ingest attempt 1: 202 \{"batch_id":"[0-9a-f-]{36}","accepted":2\}$/m);
      assert.match(r.stdout, /^ingest attempt 2: 202 /m);
      assert.match(r.stdout, /^wallet: \{"user_id":"[0-9a-f-]{36}","balance":"0"\}$/m);
    });
  });

  describe("grpc-game-server.ts (grpc-js with a retry policy)", () => {
    let redis: PrivateRedis;
    let app: TestApp;
    before(async () => {
      redis = await createPrivateRedis(); // not started: the gateway answers UNAVAILABLE
      app = await startTestApp({ name: "examples", env: { REDIS_URL: redis.url } });
    });
    after(async () => {
      await app.close();
      await redis.stop();
    });

    it("retries UNAVAILABLE with back-off and succeeds once Redis is back", async () => {
      const child = spawn(process.execPath, ["--import", "tsx", "examples/grpc-game-server.ts"], {
        cwd: root,
        env: { ...process.env, PLAYSMART_ADDRESS: `127.0.0.1:${app.port}` },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      child.stdout.on("data", (c: Buffer) => (out += c.toString()));
      child.stderr.on("data", (c: Buffer) => (err += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));

      const unavailable = async () => {
        const samples = parsePrometheusText(await (await fetch(`${app.url}/metrics`)).text());
        return sampleValue(samples, "playsmart_requests_total", {
          route: "/playsmart.ingest.v1.IngestService/IngestEvents", protocol: "grpc", status: "200", code: "unavailable",
        });
      };
      const deadline = Date.now() + 15_000;
      while ((await unavailable()) < 1) {
        assert.ok(Date.now() < deadline, "the example never reached the gateway");
        await new Promise((r) => setTimeout(r, 25));
      }
      await redis.start();
      assert.equal(await exited, 0, err);
      const answer = JSON.parse(out) as { accepted: number; batch_id: string };
      assert.equal(answer.accepted, 2);
      assert.ok((await unavailable()) >= 1);
    });
  });
});
