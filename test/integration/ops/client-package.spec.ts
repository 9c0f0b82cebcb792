import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { registerPlayer, startTestApp, type TestApp } from "../../helpers/start-app.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("the package's generated client (playsmart-gateway/client)", function () {
  this.timeout(30_000);
  let app: TestApp;
  before(async () => {
    await promisify(execFile)("npm", ["run", "-s", "build:client"], { cwd: root });
    app = await startTestApp({ name: "client_pkg" });
  });
  after(() => app.close());

  it("builds to JavaScript with types and drives the live service", async () => {
    // Imported by package name through the exports map, as a Node caller would.
    const pkg = "playsmart-gateway/client";
    const { IngestService, AuthService } = (await import(pkg)) as typeof import("../../../client/index.js");
    assert.equal(IngestService.typeName, "playsmart.ingest.v1.IngestService");
    const transport = createGrpcTransport({ baseUrl: app.url });
    const player = await registerPlayer(app.url);
    const res = await createClient(IngestService, transport).ingestEvents(
      { userId: player.userId, gameId: "com.example.mygame", events: [{ type: "AppOpen", timestamp: "2026-11-26T09:15:00Z" }] },
      { headers: { authorization: `Bearer ${player.accessToken}` } },
    );
    assert.equal(res.accepted, 1);
    const login = await createClient(AuthService, transport).login({ email: player.email, password: player.password });
    assert.equal(login.userId, player.userId);
  });
});
