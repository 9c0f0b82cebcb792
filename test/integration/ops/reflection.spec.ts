import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startTestApp, type TestApp } from "../../helpers/start-app.js";

const run = promisify(execFile);
const buf = fileURLToPath(new URL("../../../node_modules/.bin/buf", import.meta.url));

describe("gRPC server reflection (buf curl --reflect, over h2c)", () => {
  let app: TestApp;
  let off: TestApp;

  before(async () => {
    app = await startTestApp({ name: "reflection" });
    off = await startTestApp({ name: "reflection", env: { GRPC_REFLECTION: "false" } });
  });
  after(async () => {
    await app.close();
    await off.close();
  });

  for (const version of ["v1", "v1alpha"]) {
    it(`lists every service with grpc.reflection.${version}`, async () => {
      const { stdout } = await run(buf, [
        "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--reflect", "--reflect-protocol", `grpc-${version}`,
        "--list-services", app.url,
      ]);
      assert.deepEqual(stdout.trim().split("\n").sort(), [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "playsmart.admin.v1.EventAdminService",
        "playsmart.admin.v1.PlayerAdminService",
        "playsmart.auth.v1.AuthService",
        "playsmart.games.v1.GameService",
        "playsmart.ingest.v1.IngestService",
        "playsmart.wallet.v1.WalletService",
      ]);
    });
  }

  it("describes methods and calls one with nothing but reflection", async () => {
    const { stdout: methods } = await run(buf, [
      "curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", app.url,
    ]);
    const listed = methods.trim().split("\n");
    for (const m of [
      "playsmart.ingest.v1.IngestService/IngestEvents",
      "playsmart.auth.v1.AuthService/Register",
      "playsmart.wallet.v1.WalletService/ListLedger",
      "playsmart.games.v1.GameService/UpsertGame",
      "grpc.health.v1.Health/Watch",
    ]) {
      assert.ok(listed.includes(m), `${m} in ${methods}`);
    }
    const email = `reflect-${Date.now()}@example.com`;
    const { stdout } = await run(buf, [
      "curl", "--protocol", "grpc", "--http2-prior-knowledge",
      "-d", JSON.stringify({ email, password: "long enough password" }),
      `${app.url}/playsmart.auth.v1.AuthService/Register`,
    ]);
    const answer = JSON.parse(stdout) as { userId: string; tokenType: string; accessToken: string };
    assert.equal(answer.tokenType, "Bearer");
    assert.match(answer.userId, /^[0-9a-f-]{36}$/);
    // A message with a google.protobuf.Struct field: the import must resolve through reflection too.
    const ingest = await run(buf, [
      "curl", "--protocol", "grpc", "--http2-prior-knowledge", "-H", `authorization: Bearer ${answer.accessToken}`,
      "-d", JSON.stringify({ user_id: answer.userId, game_id: "com.example.mygame", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z", customdata: { a: [1, { b: null }] } }] }),
      `${app.url}/playsmart.ingest.v1.IngestService/IngestEvents`,
    ]);
    assert.equal((JSON.parse(ingest.stdout) as { accepted: number }).accepted, 1);
  });

  it("is off with GRPC_REFLECTION=false", async () => {
    await assert.rejects(
      run(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", off.url]),
      (err: { stderr: string }) => /unimplemented|not implemented|Unimplemented/i.test(err.stderr),
    );
  });
});
