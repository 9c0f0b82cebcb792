import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect as http2Connect } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestApp, type TestApp } from "../../helpers/start-app.js";

describe("TLS on the one port (ALPN h2 and http/1.1)", () => {
  let app: TestApp;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "playsmart-tls-"));
    // A throwaway self-signed certificate from Debian's openssl.
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"), "-days", "1", "-subj", "/CN=localhost",
    ], { stdio: "ignore" });
    app = await startTestApp({
      name: "tls",
      env: { TLS_CERT_FILE: join(dir, "cert.pem"), TLS_KEY_FILE: join(dir, "key.pem") },
    });
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves HTTP/1.1 to a client that negotiates no protocol (node:https offers no ALPN)", async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(
        { host: "127.0.0.1", port: app.port, path: "/healthz", rejectUnauthorized: false },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.end();
    });
    assert.equal(status, 200);
    assert.deepEqual(JSON.parse(body), { status: "ok" });
  });

  it("serves HTTP/2 when the client negotiates h2", async () => {
    const session = http2Connect(`https://127.0.0.1:${app.port}`, { rejectUnauthorized: false });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = session.request({ ":path": "/healthz" });
        req.on("response", (headers) => resolve(Number(headers[":status"])));
        req.on("error", reject);
        req.end();
      });
      assert.equal(status, 200);
      assert.equal(session.alpnProtocol, "h2");
    } finally {
      session.close();
    }
  });
});
