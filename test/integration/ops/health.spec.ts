import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../../gen/health/v1/health_pb.js";
import { createPrivateRedis, type PrivateRedis } from "../../helpers/private-redis.js";
import { startTestApp, type TestApp } from "../../helpers/start-app.js";

const healthProto = fileURLToPath(new URL("../../../node_modules/grpc-health-check/proto/health/v1/health.proto", import.meta.url));

/** Polls `probe` until it returns true or `ms` pass. */
async function eventually(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("health: grpc.health.v1 and HTTP probes", () => {
  let redis: PrivateRedis;
  let app: TestApp;
  let grpcClient: grpc.Client & Record<string, (...args: unknown[]) => unknown>;

  before(async () => {
    redis = await createPrivateRedis();
    await redis.start();
    app = await startTestApp({ name: "health", env: { REDIS_URL: redis.url } });
    const def = protoLoader.loadSync(healthProto, { keepCase: true, enums: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    grpcClient = new pkg.grpc.health.v1.Health(`127.0.0.1:${app.port}`, grpc.credentials.createInsecure()) as never;
  });
  after(async () => {
    grpcClient.close();
    await app.close();
    await redis.stop();
  });

  const grpcCheck = (service: string) =>
    new Promise<string>((resolve, reject) =>
      grpcClient.Check!({ service }, (err: grpc.ServiceError | null, res: { status: string }) => (err ? reject(err) : resolve(res.status))),
    );

  it("Check answers SERVING overall and per service over gRPC (grpc-js)", async () => {
    assert.equal(await grpcCheck(""), "SERVING");
    assert.equal(await grpcCheck("playsmart.ingest.v1.IngestService"), "SERVING");
    await assert.rejects(grpcCheck("no.such.Service"), (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
  });

  it("Check answers over Connect and gRPC with the generated client", async () => {
    for (const transport of [
      createConnectTransport({ baseUrl: app.url, httpVersion: "1.1" }),
      createGrpcTransport({ baseUrl: app.url }),
    ]) {
      const client = createClient(Health, transport);
      assert.equal((await client.check({ service: "" })).status, Status.SERVING);
      assert.equal((await client.check({ service: "playsmart.auth.v1.AuthService" })).status, Status.SERVING);
      await assert.rejects(client.check({ service: "nope" }), (err) => ConnectError.from(err).code === Code.NotFound);
    }
  });

  it("flips to NOT_SERVING when Redis is unreachable and back when it returns, on Watch, Check and /readyz", async () => {
    const seen: string[] = [];
    const call = (grpcClient.Watch as (req: unknown) => grpc.ClientReadableStream<{ status: string }>)({ service: "" });
    call.on("data", (m: { status: string }) => seen.push(m.status));
    call.on("error", () => {});
    const connectSeen: Status[] = [];
    const abort = new AbortController();
    const connectWatch = (async () => {
      const client = createClient(Health, createGrpcTransport({ baseUrl: app.url }));
      try {
        for await (const m of client.watch({ service: "playsmart.ingest.v1.IngestService" }, { signal: abort.signal })) {
          connectSeen.push(m.status);
        }
      } catch {
        // aborted at the end of the test
      }
    })();
    try {
      await eventually(() => seen.length === 1 && connectSeen.length === 1, 3000, "first Watch message");
      assert.deepEqual(seen, ["SERVING"]);
      assert.equal((await fetch(`${app.url}/readyz`)).status, 200);

      await redis.stop();
      await eventually(() => seen.at(-1) === "NOT_SERVING", 5000, "NOT_SERVING after Redis stopped");
      await eventually(() => connectSeen.at(-1) === Status.NOT_SERVING, 3000, "NOT_SERVING on the Connect watch");
      assert.equal(await grpcCheck(""), "NOT_SERVING");
      const notReady = await fetch(`${app.url}/readyz`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(await notReady.json(), { status: "not ready" });
      assert.equal((await fetch(`${app.url}/healthz`)).status, 200, "alive while not ready");

      await redis.start();
      await eventually(() => seen.at(-1) === "SERVING", 10_000, "SERVING after Redis returned");
      assert.deepEqual(seen, ["SERVING", "NOT_SERVING", "SERVING"]);
      await eventually(() => connectSeen.at(-1) === Status.SERVING, 3000, "SERVING on the Connect watch");
      assert.equal((await fetch(`${app.url}/readyz`)).status, 200);
    } finally {
      call.cancel();
      abort.abort();
      await connectWatch;
    }
  });

  it("Watch of an unknown service answers SERVICE_UNKNOWN and stays open", async () => {
    const call = (grpcClient.Watch as (req: unknown) => grpc.ClientReadableStream<{ status: string }>)({ service: "nope" });
    const first = await new Promise<string>((resolve, reject) => {
      call.once("data", (m: { status: string }) => resolve(m.status));
      call.once("error", reject);
    });
    call.on("error", () => {});
    assert.equal(first, "SERVICE_UNKNOWN");
    call.cancel();
  });
});
