/**
 * openapi/openapi.json against the running service: the served document is the
 * file, the file is a valid OpenAPI 3.1 document, it lists exactly the routes
 * the REST router serves, and every answer it documents is provoked here with
 * real requests and checked (status, content type, body schema, headers). A
 * final test fails when a documented answer was never seen, so the document
 * cannot claim answers nobody checked.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020Module, { type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { Redis } from "ioredis";
import { createLogger } from "../../../src/logger.js";
import { openApiPath } from "../../../src/server/openapi-document.js";
import { createRestRoutes, type GatewayRoutes } from "../../../src/server/rest-routes.js";
import { parseMysqlUrl } from "../../../src/store/mysql-pool.js";
import { streamKey } from "../../../src/stream/stream-keys.js";
import { freePort } from "../../helpers/free-port.js";
import { registerPlayer, startTestApp, testAdminToken, testKeyId, type TestApp, type TestPlayer } from "../../helpers/start-app.js";
import { createTcpProxy, type TcpProxy } from "../../helpers/tcp-proxy.js";
import { mysqlServerUrl, redisUrl, testMysqlUrl, testStreamPrefix } from "../../helpers/test-env.js";

// ---------------------------------------------------------------------------
// The document and its schemas

// Parsed JSON of the document; `any` keeps the walks below readable.
type Json = any;

const docText = readFileSync(openApiPath, "utf8");
const doc: Json = JSON.parse(docText);

type Method = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS";
const httpMethods: Method[] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const operationKeys = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/** Every `METHOD /path` the document lists. */
const documentedOperations = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
  Object.keys(item).filter((k) => operationKeys.includes(k)).map((k) => `${k.toUpperCase()} ${path}`),
);

// The status name every error body carries (error-map.ts, and the router's 404 / 405).
const errorNames: Record<number, string> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL",
  503: "SERVICE_UNAVAILABLE",
};

/**
 * Documented answers that no test can provoke from a healthy service: 500 is
 * the answer to a fault of the service itself (a bug, or a MySQL error that is
 * neither an outage nor a known refusal). Its body is still documented, and
 * the final test checks that each entry here is documented and never seen.
 */
const notProvoked = new Set([
  "POST /auth/register 500",
  "POST /auth/login 500",
  "POST /auth/refresh 500",
  "POST /auth/device 500",
  "POST /auth/link 500",
  "POST /ingest/events 500",
  "GET /wallet 500",
]);

const escapePointer = (s: string) => s.replaceAll("~", "~0").replaceAll("/", "~1");
const unescapePointer = (s: string) => s.replaceAll("~1", "/").replaceAll("~0", "~");

/** The value at a JSON pointer (`/a/b`) of the document, or undefined. */
function at(pointer: string): Json {
  let value: Json = doc;
  for (const part of pointer.split("/").slice(1)) value = value === undefined || value === null ? undefined : value[unescapePointer(part)];
  return value;
}

/** Follows `$ref`s (local ones: the document has no other) from a pointer to the object it ends at. */
function follow(pointer: string): { pointer: string; value: Json } {
  let value = at(pointer);
  for (let hops = 0; value !== undefined && typeof value.$ref === "string"; hops++) {
    assert.ok(hops < 10, `$ref loop at ${pointer}`);
    assert.ok(value.$ref.startsWith("#/"), `non-local $ref ${value.$ref}`);
    pointer = value.$ref.slice(1);
    value = at(pointer);
  }
  return { pointer, value };
}

// Ajv's modules are CommonJS: under NodeNext the class and the plugin are their `default`.
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

const docId = "urn:playsmart:openapi";
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
// The document's own top-level fields are not schema keywords: schemas are
// compiled from pointers into it, so its `#/components/...` refs resolve.
ajv.addVocabulary(["openapi", "info", "tags", "paths", "components", "servers", "security", "webhooks", "jsonSchemaDialect", "externalDocs"]);
ajv.addSchema(doc, docId);

const validators = new Map<string, ValidateFunction>();
/** The compiled schema at a pointer of the document. */
function schemaAt(pointer: string): ValidateFunction {
  let v = validators.get(pointer);
  if (v === undefined) {
    assert.notEqual(at(pointer), undefined, `no schema at ${pointer}`);
    v = ajv.compile({ $ref: `${docId}#${pointer}` });
    validators.set(pointer, v);
  }
  return v;
}

function assertValid(pointer: string, value: unknown, what: string): void {
  const validate = schemaAt(pointer);
  assert.ok(validate(value), `${what} does not match ${pointer}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(value)?.slice(0, 500)}`);
}

const operationPointer = (method: string, path: string) => `/paths/${escapePointer(path)}/${method.toLowerCase()}`;
const requestSchemaPointer = (method: string, path: string) => `${operationPointer(method, path)}/requestBody/content/application~1json/schema`;

// ---------------------------------------------------------------------------
// Requests, and checking each answer against the document

/** Which documented answers were seen: `METHOD /path status`. */
const exercised = new Set<string>();

interface Send {
  /** The app to ask (default: the main one). */
  app?: TestApp;
  /** `Authorization: Bearer <token>`. */
  token?: string;
  /** The Authorization header as is. */
  authorization?: string;
  /** Query string, with its `?`. */
  query?: string;
  /** A body, sent as JSON. */
  json?: unknown;
  /** A body, sent as it is. */
  raw?: string;
  headers?: Record<string, string>;
  /** Also assert that the documented request schema accepts (or refuses) `json`. */
  request?: "valid" | "invalid";
}

interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

let main: TestApp;

/**
 * Sends one request and checks the answer against the document: the status is
 * `status` and documented for the operation; the content type, the body and
 * every documented header match; an error body names the status.
 */
async function expectAnswer(method: Method, path: string, status: number, send: Send = {}): Promise<Answer> {
  const app = send.app ?? main;
  const headers: Record<string, string> = { ...send.headers };
  if (send.json !== undefined || send.raw !== undefined) headers["content-type"] ??= "application/json";
  if (send.token !== undefined) headers.authorization = `Bearer ${send.token}`;
  if (send.authorization !== undefined) headers.authorization = send.authorization;
  const body = send.raw ?? (send.json === undefined ? undefined : JSON.stringify(send.json));
  const res = await fetch(`${app.url}${path}${send.query ?? ""}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  const what = `${method} ${path}${send.query ?? ""}`;
  assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status} ${text.slice(0, 300)}`);

  if (send.request !== undefined) {
    const validate = schemaAt(requestSchemaPointer(method, path));
    assert.equal(validate(send.json), send.request === "valid", `${what}: the request schema should ${send.request === "valid" ? "accept" : "refuse"} ${JSON.stringify(send.json)?.slice(0, 300)} (${ajv.errorsText(validate.errors)})`);
  }

  assert.ok(at(operationPointer(method, path)), `${method} ${path} is not documented`);
  const response = follow(`${operationPointer(method, path)}/responses/${status}`);
  assert.ok(response.value, `${what}: status ${status} is not documented`);
  return checkResponse(what, response.pointer, res, text, () => exercised.add(`${method} ${path} ${status}`));
}

/** Checks an answer against the response object at `pointer`. */
function checkResponse(what: string, pointer: string, res: Response, text: string, seen = () => {}): Answer {
  const response = at(pointer);
  const contentType = res.headers.get("content-type") ?? "";
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  const media = Object.keys(response.content ?? {});
  assert.ok(media.includes(essence), `${what}: content type ${JSON.stringify(contentType)} is not one of ${JSON.stringify(media)}`);
  // The service writes JSON as exactly `application/json`; other types carry parameters.
  if (essence === "application/json") assert.equal(contentType, "application/json", what);
  let body: Json = text;
  if (essence === "application/json") {
    assert.doesNotThrow(() => (body = JSON.parse(text)), `${what}: the body is not JSON: ${text.slice(0, 200)}`);
  }
  assertValid(`${pointer}/content/${escapePointer(essence)}/schema`, body, `${what}: the body`);
  if (res.status >= 400 && typeof body === "object" && body !== null && "error" in body) {
    assert.equal(body.error, errorNames[res.status], `${what}: error name`);
  }
  for (const name of Object.keys(response.headers ?? {})) {
    const header = follow(`${pointer}/headers/${escapePointer(name)}`);
    const value = res.headers.get(name);
    if (header.value.required) assert.notEqual(value, null, `${what}: header ${name} missing`);
    if (value === null) continue;
    const schema = follow(`${header.pointer}/schema`).value;
    // Header values are text: an integer header must be written as digits.
    const typed = schema.type === "integer" && /^-?\d+$/.test(value) ? Number(value) : value;
    assertValid(`${header.pointer}/schema`, typed, `${what}: header ${name}`);
  }
  seen();
  return { status: res.status, headers: res.headers, body };
}

// ---------------------------------------------------------------------------
// Test data

const ts = "2026-11-26T09:15:00Z";
const uid = () => randomBytes(6).toString("hex");
const freshEmail = (tag = "p") => `oa-${tag}-${uid()}@example.com`;
const freshDevice = () => `device-${uid()}-${uid()}`;
const password = "correct horse battery";
const batch = (player: TestPlayer, events: unknown[] = [{ type: "AppOpen", timestamp: ts }]) => ({
  user_id: player.userId,
  game_id: "com.example.mygame",
  events,
});
/** A body over BODY_LIMIT_BYTES=1024 of the small app. */
const padding = "x".repeat(2000);
const daysFromNow = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
const fieldsOf = (details: Array<{ index: number; field: string }>) => details.map((d) => ({ index: d.index, field: d.field }));

/** A guest player made by POST /auth/device on the main app. */
interface Guest {
  userId: string;
  accessToken: string;
  deviceId: string;
}

// ---------------------------------------------------------------------------

describe("OpenAPI document openapi/openapi.json against the running service", function () {
  this.timeout(30_000);
  const name = "rest_openapi";
  let redis: Redis;
  let alice: TestPlayer;
  let bob: TestPlayer;

  // Apps with other limits, started when first needed. Each has its own Redis
  // prefix (fresh rate and account counters, its own stream) and shares the
  // main app's database and signing key, so every player and token works on all.
  const apps = new Map<string, Promise<TestApp>>();
  const appWith = (tag: string, env: Record<string, string> = {}): Promise<TestApp> => {
    let app = apps.get(tag);
    if (app === undefined) {
      app = startTestApp({ name, env: { STREAM_PREFIX: testStreamPrefix(`${name}_${tag}`), ...env } });
      apps.set(tag, app);
    }
    return app;
  };
  const small = () => appWith("small", { BODY_LIMIT_BYTES: "1024" });

  // Redis refused (a port nobody listens on) and MySQL behind a proxy taken
  // down after the start: readiness, ingest, accounts and wallet all answer 503.
  let outageProxy: TcpProxy | undefined;
  let outage: Promise<TestApp> | undefined;
  const outageApp = (): Promise<TestApp> =>
    (outage ??= (async () => {
      const server = new URL(mysqlServerUrl);
      outageProxy = await createTcpProxy({ host: server.hostname, port: Number(server.port || 3306) });
      await outageProxy.up();
      const proxied = new URL(mysqlServerUrl);
      proxied.port = String(outageProxy.port);
      proxied.pathname = `/${parseMysqlUrl(testMysqlUrl(name)).database}`;
      const app = await startTestApp({
        name,
        env: { STREAM_PREFIX: testStreamPrefix(`${name}_outage`), MYSQL_URL: proxied.toString(), REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
      });
      await outageProxy.down();
      return app;
    })());

  const newGuest = async (app: TestApp = main): Promise<Guest> => {
    const deviceId = freshDevice();
    const { body } = await expectAnswer("POST", "/auth/device", 201, { app, json: { device_id: deviceId }, request: "valid" });
    return { userId: body.user_id, accessToken: body.access_token, deviceId };
  };

  before(async () => {
    main = await startTestApp({ name });
    redis = new Redis(redisUrl);
    alice = await registerPlayer(main.url);
    bob = await registerPlayer(main.url);
  });
  after(async () => {
    redis?.disconnect();
    await outageProxy?.up(); // lets the outage app's pool end cleanly
    const started = await Promise.allSettled([...apps.values(), ...(outage ? [outage] : [])]);
    await Promise.all(started.flatMap((s) => (s.status === "fulfilled" ? [s.value.close()] : [])));
    await outageProxy?.down();
    await main?.close();
  });

  // --- the document itself -------------------------------------------------

  it("is served at GET /openapi.json exactly as the repository holds it, and declares OpenAPI 3.1", async () => {
    const { body } = await expectAnswer("GET", "/openapi.json", 200);
    assert.deepEqual(body, doc);
    assert.equal(await (await fetch(`${main.url}/openapi.json`)).text(), docText);
    assert.match(doc.openapi, /^3\.1\.\d+$/);
    assert.equal(docText, `${JSON.stringify(doc, null, 2)}\n`, "pretty-printed with 2 spaces");
  });

  it("is a valid OpenAPI 3.1 document whose refs resolve and whose schemas compile strictly", async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.ok(result.valid, `OpenAPI schema: ${JSON.stringify(result.errors, null, 1)?.slice(0, 2000)}`);
    assert.equal(validator.version, "3.1");

    const walk = (value: Json, pointer: string) => {
      if (typeof value !== "object" || value === null) return;
      if (typeof value.$ref === "string") {
        assert.ok(value.$ref.startsWith("#/") && at(value.$ref.slice(1)) !== undefined, `${pointer}: $ref ${value.$ref} does not resolve`);
      }
      for (const [k, v] of Object.entries(value)) walk(v, `${pointer}/${escapePointer(k)}`);
    };
    walk(doc, "");

    const operationIds = new Set<string>();
    for (const op of documentedOperations) {
      const [method, path] = op.split(" ") as [string, string];
      const pointer = operationPointer(method, path);
      const operation = at(pointer);
      assert.ok(operation.operationId && !operationIds.has(operation.operationId), `${op}: operationId missing or repeated`);
      operationIds.add(operation.operationId);
      assert.ok(Array.isArray(operation.security), `${op}: security is stated`);
      const statuses = Object.keys(operation.responses ?? {});
      assert.ok(statuses.length > 0, `${op}: no responses`);
      for (const status of statuses) {
        assert.match(status, /^[1-5]\d\d$/, `${op}: responses are by status`);
        const response = follow(`${pointer}/responses/${status}`);
        assert.ok(response.value.description, `${op} ${status}: description`);
        const media = Object.keys(response.value.content ?? {});
        assert.ok(media.length > 0, `${op} ${status}: no content`);
        for (const m of media) schemaAt(`${response.pointer}/content/${escapePointer(m)}/schema`);
        for (const h of Object.keys(response.value.headers ?? {})) schemaAt(`${follow(`${response.pointer}/headers/${escapePointer(h)}`).pointer}/schema`);
        const statusCode = Number(status);
        if (statusCode === 401) assert.ok(response.value.headers?.["WWW-Authenticate"], `${op} 401: WWW-Authenticate`);
        if (statusCode === 429 || (statusCode === 503 && path !== "/readyz")) assert.ok(response.value.headers?.["Retry-After"], `${op} ${status}: Retry-After`);
      }
      if (operation.requestBody) schemaAt(requestSchemaPointer(method, path));
    }
    for (const schema of Object.keys(doc.components.schemas)) schemaAt(`/components/schemas/${escapePointer(schema)}`);
    assert.deepEqual(doc.components.schemas.ErrorName.enum, Object.values(errorNames));
    assert.equal(doc.components.schemas.Error.additionalProperties, false);
  });

  it("documents every path and method the REST router serves, and nothing else", async () => {
    // The router with stub domain parts: it is only asked which routes exist.
    const refuse = () => Promise.reject(new Error("stub"));
    const part = new Proxy({}, { get: () => refuse });
    const gateway = new Proxy({}, { get: () => part }) as GatewayRoutes;
    const routes = createRestRoutes({
      gateway,
      jwks: () => [],
      ready: () => true,
      metrics: async () => ({ contentType: "text/plain", body: "" }),
      bodyLimitBytes: 1024,
      log: createLogger("silent"),
    });
    assert.deepEqual([...routes.paths].sort(), Object.keys(doc.paths).sort());

    // A method is served on a path when the router answers anything but 405.
    const server = createServer((req, res) => routes(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const served: string[] = [];
      for (const path of routes.paths) {
        for (const method of httpMethods) {
          const res = await fetch(`${base}${path}`, { method });
          await res.arrayBuffer();
          if (res.status !== 405) served.push(`${method} ${path}`);
        }
      }
      assert.deepEqual(served.sort(), [...documentedOperations].sort());
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  // --- operations ------------------------------------------------------------

  it("GET /healthz, /readyz, /metrics and /.well-known/jwks.json answer 200", async () => {
    await expectAnswer("GET", "/healthz", 200);
    await expectAnswer("GET", "/readyz", 200);
    const metrics = await expectAnswer("GET", "/metrics", 200);
    assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    assert.match(metrics.body, /^# HELP /m);
    const jwks = await expectAnswer("GET", "/.well-known/jwks.json", 200);
    assert.deepEqual(jwks.body.keys.map((k: Json) => k.kid), [testKeyId]);
  });

  it("POST /auth/register answers 201, 400, 409", async () => {
    const email = freshEmail("Reg").replace("example", "Example");
    const created = await expectAnswer("POST", "/auth/register", 201, { json: { email, password }, request: "valid" });
    assert.equal(created.body.expires_in, 900);
    const bad = await expectAnswer("POST", "/auth/register", 400, { json: { email: "not-an-email", password: "short" }, request: "invalid" });
    assert.deepEqual(fieldsOf(bad.body.details), [{ index: -1, field: "email" }, { index: -1, field: "password" }]);
    const notJson = await expectAnswer("POST", "/auth/register", 400, { raw: "{not json" });
    assert.deepEqual(fieldsOf(notJson.body.details), [{ index: -1, field: "body" }]);
    await expectAnswer("POST", "/auth/register", 409, { json: { email: email.toUpperCase(), password }, request: "valid" });
  });

  it("POST /auth/login answers 200, 400, 401", async () => {
    const { body } = await expectAnswer("POST", "/auth/login", 200, { json: { email: alice.email, password: alice.password }, request: "valid" });
    assert.equal(body.user_id, alice.userId);
    await expectAnswer("POST", "/auth/login", 400, { raw: "[1," });
    await expectAnswer("POST", "/auth/login", 401, { json: { email: alice.email, password: "wrong password" }, request: "valid" });
    await expectAnswer("POST", "/auth/login", 401, { json: { email: freshEmail("ghost"), password: "wrong password" }, request: "valid" });
  });

  it("POST /auth/refresh answers 200 (either spelling), 400, 401", async () => {
    const player = await registerPlayer(main.url);
    const first = await expectAnswer("POST", "/auth/refresh", 200, { json: { refresh_token: player.refreshToken }, request: "valid" });
    assert.equal(first.body.user_id, player.userId);
    const second = await expectAnswer("POST", "/auth/refresh", 200, { json: { refreshToken: first.body.refresh_token }, request: "valid" });
    assert.equal(second.body.user_id, player.userId);
    await expectAnswer("POST", "/auth/refresh", 400, { raw: "not json" });
    await expectAnswer("POST", "/auth/refresh", 401, { json: { refresh_token: player.refreshToken }, request: "valid" }); // spent
    await expectAnswer("POST", "/auth/refresh", 401, { json: {}, request: "invalid" });
  });

  it("POST /auth/device answers 201 for a new device, then 200 for the same player (either spelling)", async () => {
    const deviceId = freshDevice();
    const created = await expectAnswer("POST", "/auth/device", 201, { json: { device_id: deviceId }, request: "valid" });
    const again = await expectAnswer("POST", "/auth/device", 200, { json: { device_id: deviceId }, request: "valid" });
    assert.equal(again.body.user_id, created.body.user_id);
    const camel = await expectAnswer("POST", "/auth/device", 200, { json: { deviceId }, request: "valid" });
    assert.equal(camel.body.user_id, created.body.user_id);
    // The guest's token is a player token like any other.
    const wallet = await expectAnswer("GET", "/wallet", 200, { token: created.body.access_token });
    assert.equal(wallet.body.user_id, created.body.user_id);
  });

  it("POST /auth/device with a player token attaches the device (200), 409 for another player's device", async () => {
    const deviceId = freshDevice();
    const attached = await expectAnswer("POST", "/auth/device", 200, { token: alice.accessToken, json: { device_id: deviceId }, request: "valid" });
    assert.equal(attached.body.user_id, alice.userId);
    const loggedIn = await expectAnswer("POST", "/auth/device", 200, { json: { device_id: deviceId }, request: "valid" });
    assert.equal(loggedIn.body.user_id, alice.userId);
    await expectAnswer("POST", "/auth/device", 409, { token: bob.accessToken, json: { device_id: deviceId }, request: "valid" });
    const guest = await newGuest();
    await expectAnswer("POST", "/auth/device", 409, { token: alice.accessToken, json: { device_id: guest.deviceId }, request: "valid" });
  });

  it("POST /auth/device answers 400 naming device_id, 401 for a bad token, 403 for the admin token", async () => {
    for (const json of [{ device_id: "short" }, { device_id: "x".repeat(129) }, { device_id: "é".repeat(12) }, { device_id: "tab\there-0123" }, { device_id: 12345678901 }, {}]) {
      const bad = await expectAnswer("POST", "/auth/device", 400, { json, request: "invalid" });
      assert.deepEqual(fieldsOf(bad.body.details), [{ index: -1, field: "device_id" }], JSON.stringify(json));
    }
    const notJson = await expectAnswer("POST", "/auth/device", 400, { raw: "{" });
    assert.deepEqual(fieldsOf(notJson.body.details), [{ index: -1, field: "body" }]);
    // Printable ASCII at both ends of the range, 10 and 128 characters, is fine.
    await expectAnswer("POST", "/auth/device", 201, { json: { device_id: ` ~${uid()}` }, request: "valid" });
    await expectAnswer("POST", "/auth/device", 201, { json: { device_id: `${uid()}`.padEnd(128, "~") }, request: "valid" });
    for (const authorization of ["Bearer garbage", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz"]) {
      await expectAnswer("POST", "/auth/device", 401, { authorization, json: { device_id: freshDevice() }, request: "valid" });
    }
    await expectAnswer("POST", "/auth/device", 403, { token: testAdminToken, json: { device_id: freshDevice() }, request: "valid" });
  });

  it("POST /auth/link gives a guest an email (200, again on a retry) it can then log in with", async () => {
    const guest = await newGuest();
    const email = freshEmail("Link").replace("example", "Example");
    const linked = await expectAnswer("POST", "/auth/link", 200, { token: guest.accessToken, json: { email, password }, request: "valid" });
    assert.deepEqual(linked.body, { user_id: guest.userId, email: email.toLowerCase() });
    // A retried link (its answer lost) answers the same.
    const retried = await expectAnswer("POST", "/auth/link", 200, { token: guest.accessToken, json: { email, password }, request: "valid" });
    assert.deepEqual(retried.body, linked.body);
    const login = await expectAnswer("POST", "/auth/login", 200, { json: { email, password }, request: "valid" });
    assert.equal(login.body.user_id, guest.userId);
  });

  it("POST /auth/link answers 409 for a taken email or a player with an email, 400, 401, 403", async () => {
    const first = await newGuest();
    const email = freshEmail("taken");
    await expectAnswer("POST", "/auth/link", 200, { token: first.accessToken, json: { email, password }, request: "valid" });
    const second = await newGuest();
    await expectAnswer("POST", "/auth/link", 409, { token: second.accessToken, json: { email: email.toUpperCase(), password }, request: "valid" });
    await expectAnswer("POST", "/auth/link", 409, { token: second.accessToken, json: { email: alice.email, password }, request: "valid" });
    await expectAnswer("POST", "/auth/link", 409, { token: first.accessToken, json: { email: freshEmail("again"), password }, request: "valid" });
    await expectAnswer("POST", "/auth/link", 409, { token: alice.accessToken, json: { email: freshEmail("alice2"), password }, request: "valid" });
    const bad = await expectAnswer("POST", "/auth/link", 400, { token: second.accessToken, json: { email: "nope", password: "short" }, request: "invalid" });
    assert.deepEqual(fieldsOf(bad.body.details), [{ index: -1, field: "email" }, { index: -1, field: "password" }]);
    await expectAnswer("POST", "/auth/link", 401, { json: { email: freshEmail(), password }, request: "valid" });
    await expectAnswer("POST", "/auth/link", 401, { token: "garbage", json: { email: freshEmail(), password }, request: "valid" });
    await expectAnswer("POST", "/auth/link", 403, { token: testAdminToken, json: { email: freshEmail(), password }, request: "valid" });
  });

  it("POST /ingest/events answers 202 and queues the batch, with either spelling of each field", async () => {
    const key = streamKey(main.config.streamPrefix, 0);
    const before = await redis.xlen(key);
    const snake = await expectAnswer("POST", "/ingest/events", 202, {
      token: alice.accessToken,
      request: "valid",
      json: batch(alice, [
        { type: "AppOpen", timestamp: ts, event_id: `e-${uid()}` },
        { type: "LevelCompleted", timestamp: "2026-11-26T09:20:31.250+01:00", customdata: { level: 12, score: 3400 } },
        { type: "Custom", custom_event_name: "ChestOpened", timestamp: "2026-11-26T09:21:00-05:00" },
      ]),
    });
    assert.equal(snake.body.accepted, 3);
    const camel = await expectAnswer("POST", "/ingest/events", 202, {
      token: alice.accessToken,
      request: "valid",
      json: { userId: alice.userId, gameId: "com.example.mygame", events: [{ type: "Custom", customEventName: "Chest", timestamp: ts, eventId: `e-${uid()}` }] },
    });
    assert.equal(camel.body.accepted, 1);
    assert.equal(await redis.xlen(key), before + 2);
  });

  it("POST /ingest/events dry runs answer 200 and queue nothing; sent_at within 31 days is accepted", async () => {
    const key = streamKey(main.config.streamPrefix, 0);
    const before = await redis.xlen(key);
    const two = batch(alice, [{ type: "AppOpen", timestamp: ts }, { type: "GameEnd", timestamp: ts }]);
    for (const send of [{ query: "?dry_run=true", json: two }, { json: { ...two, dry_run: true } }, { json: { ...two, dryRun: true } }]) {
      const { body } = await expectAnswer("POST", "/ingest/events", 200, { token: alice.accessToken, request: "valid", ...send });
      assert.deepEqual(body, { accepted: 2, dry_run: true }, JSON.stringify(send).slice(0, 80));
    }
    assert.equal(await redis.xlen(key), before, "a dry run queues nothing");
    await expectAnswer("POST", "/ingest/events", 202, { token: alice.accessToken, query: "?dry_run=false", json: two, request: "valid" });
    await expectAnswer("POST", "/ingest/events", 202, { token: alice.accessToken, json: { ...two, sent_at: new Date().toISOString() }, request: "valid" });
    await expectAnswer("POST", "/ingest/events", 202, { token: alice.accessToken, json: { ...two, sentAt: daysFromNow(-30) }, request: "valid" });
    await expectAnswer("POST", "/ingest/events", 202, { token: alice.accessToken, json: { ...two, sent_at: "", dry_run: false }, request: "valid" });
    assert.equal(await redis.xlen(key), before + 4);
  });

  it("POST /ingest/events answers 400 naming each bad field (also sent_at and in dry runs), and queues nothing", async () => {
    const key = streamKey(main.config.streamPrefix, 0);
    const before = await redis.xlen(key);
    const bad = await expectAnswer("POST", "/ingest/events", 400, {
      token: alice.accessToken,
      request: "invalid",
      json: batch(alice, [
        { type: "AppOpen", timestamp: ts },
        { type: "AppOpen", timestamp: "2026-02-30T10:00:00Z" },
        { type: "Custom", timestamp: ts },
        { type: "AppOpen", timestamp: ts, customdata: "not an object" },
      ]),
    });
    assert.deepEqual(fieldsOf(bad.body.details), [
      { index: 1, field: "timestamp" },
      { index: 2, field: "customEventName" },
      { index: 3, field: "customdata" },
    ]);
    const top = await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, request: "invalid", json: { user_id: alice.userId, game_id: "not a bundle id", events: [] } });
    assert.deepEqual(fieldsOf(top.body.details), [{ index: -1, field: "game_id" }, { index: -1, field: "events" }]);
    await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, query: "?dry_run=true", request: "invalid", json: batch(alice, [{ type: "Nope", timestamp: ts }]) });
    for (const sentAt of [daysFromNow(-40), daysFromNow(40)]) {
      const late = await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, json: { ...batch(alice), sent_at: sentAt } });
      assert.deepEqual(fieldsOf(late.body.details), [{ index: -1, field: "sent_at" }], sentAt);
    }
    const badQuery = await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, query: "?dry_run=yes", json: batch(alice), request: "valid" });
    assert.deepEqual(fieldsOf(badQuery.body.details), [{ index: -1, field: "dry_run" }]);
    const badFlag = await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, json: { ...batch(alice), dry_run: "true" }, request: "invalid" });
    assert.deepEqual(fieldsOf(badFlag.body.details), [{ index: -1, field: "dry_run" }]);
    const notJson = await expectAnswer("POST", "/ingest/events", 400, { token: alice.accessToken, raw: "{not json" });
    assert.deepEqual(fieldsOf(notJson.body.details), [{ index: -1, field: "body" }]);
    assert.equal(await redis.xlen(key), before);
  });

  it("POST /ingest/events answers 401 without a usable token, 403 for another player's batch or the admin token", async () => {
    await expectAnswer("POST", "/ingest/events", 401, { json: batch(alice), request: "valid" });
    await expectAnswer("POST", "/ingest/events", 401, { token: "garbage", json: batch(alice), request: "valid" });
    await expectAnswer("POST", "/ingest/events", 403, { token: bob.accessToken, json: batch(alice), request: "valid" });
    await expectAnswer("POST", "/ingest/events", 403, { token: testAdminToken, json: batch(alice), request: "valid" });
  });

  it("GET /wallet answers 200, 401, 403", async () => {
    const { body } = await expectAnswer("GET", "/wallet", 200, { token: alice.accessToken });
    assert.deepEqual(body, { user_id: alice.userId, balance: "0" });
    await expectAnswer("GET", "/wallet", 401);
    await expectAnswer("GET", "/wallet", 401, { token: "garbage" });
    await expectAnswer("GET", "/wallet", 403, { token: testAdminToken });
  });

  // --- answers of every body route: 413, 415, 503 ----------------------------

  // Each body route with a request that would otherwise succeed or get past auth.
  const bodyRoutes: Array<{ path: string; send: () => Send }> = [
    { path: "/auth/register", send: () => ({ json: { email: freshEmail(), password } }) },
    { path: "/auth/login", send: () => ({ json: { email: alice.email, password: alice.password } }) },
    { path: "/auth/refresh", send: () => ({ json: { refresh_token: "x".repeat(43) } }) },
    { path: "/ingest/events", send: () => ({ token: alice.accessToken, json: batch(alice) }) },
    { path: "/auth/device", send: () => ({ json: { device_id: freshDevice() } }) },
    { path: "/auth/link", send: () => ({ token: alice.accessToken, json: { email: freshEmail(), password } }) },
  ];
  for (const route of bodyRoutes) {
    it(`POST ${route.path} answers 413 past BODY_LIMIT_BYTES and 415 for an unknown Content-Encoding`, async () => {
      const base = route.send();
      await expectAnswer("POST", route.path, 413, { ...base, app: await small(), json: { ...(base.json as object), padding } });
      await expectAnswer("POST", route.path, 415, { ...base, headers: { "content-encoding": "br" } });
    });
  }

  // --- 429 -------------------------------------------------------------------

  it("POST /ingest/events answers 429 past the player's rate (INGEST_RATE_PER_USER / INGEST_BURST_PER_USER), but not to a dry run", async () => {
    const app = await appWith("ingest_rate", { INGEST_RATE_PER_USER: "1", INGEST_BURST_PER_USER: "1" });
    await expectAnswer("POST", "/ingest/events", 202, { app, token: alice.accessToken, json: batch(alice) });
    const limited = await expectAnswer("POST", "/ingest/events", 429, { app, token: alice.accessToken, json: batch(alice) });
    assert.equal(limited.headers.get("retry-after"), "1");
    // A dry run uses none of the rate.
    await expectAnswer("POST", "/ingest/events", 200, { app, token: alice.accessToken, query: "?dry_run=true", json: batch(alice) });
  });

  it("POST /auth/register answers 429 past REGISTER_MAX_PER_IP", async () => {
    const app = await appWith("register_limit", { REGISTER_MAX_PER_IP: "1" });
    await expectAnswer("POST", "/auth/register", 201, { app, json: { email: freshEmail(), password } });
    const limited = await expectAnswer("POST", "/auth/register", 429, { app, json: { email: freshEmail(), password } });
    assert.ok(Number(limited.headers.get("retry-after")) <= 900);
  });

  it("POST /auth/login answers 429 past LOGIN_MAX_FAILURES_PER_EMAIL", async () => {
    const app = await appWith("login_limit", { LOGIN_MAX_FAILURES_PER_EMAIL: "1" });
    const player = await registerPlayer(main.url);
    await expectAnswer("POST", "/auth/login", 401, { app, json: { email: player.email, password: "wrong password" } });
    await expectAnswer("POST", "/auth/login", 429, { app, json: { email: player.email, password: player.password } });
  });

  it("POST /auth/device answers 429 for new guests past REGISTER_MAX_PER_IP", async () => {
    const app = await appWith("device_limit", { REGISTER_MAX_PER_IP: "1" });
    await newGuest(app);
    await expectAnswer("POST", "/auth/device", 429, { app, json: { device_id: freshDevice() }, request: "valid" });
  });

  it("POST /auth/link answers 429 past REGISTER_MAX_PER_IP", async () => {
    const app = await appWith("link_limit", { REGISTER_MAX_PER_IP: "1" });
    const [first, second] = [await newGuest(), await newGuest()];
    await expectAnswer("POST", "/auth/link", 200, { app, token: first.accessToken, json: { email: freshEmail(), password } });
    await expectAnswer("POST", "/auth/link", 429, { app, token: second.accessToken, json: { email: freshEmail(), password } });
  });

  // --- 503 -------------------------------------------------------------------

  it("POST /ingest/events answers 503 past STREAM_MAX_BACKLOG, but not to a dry run", async () => {
    const app = await appWith("backlog", { STREAM_MAX_BACKLOG: "1" });
    await expectAnswer("POST", "/ingest/events", 202, { app, token: alice.accessToken, json: batch(alice) });
    const full = await expectAnswer("POST", "/ingest/events", 503, { app, token: bob.accessToken, json: batch(bob) });
    assert.equal(full.headers.get("retry-after"), "2");
    // A dry run is not refused for a full buffer.
    await expectAnswer("POST", "/ingest/events", 200, { app, token: bob.accessToken, json: { ...batch(bob), dry_run: true } });
  });

  it("GET /readyz answers 503 while Redis does not answer", async () => {
    const app = await outageApp();
    await expectAnswer("GET", "/readyz", 503, { app });
    await expectAnswer("GET", "/healthz", 200, { app });
  });

  it("GET /wallet answers 503 while MySQL does not answer", async () => {
    await expectAnswer("GET", "/wallet", 503, { app: await outageApp(), token: alice.accessToken });
  });

  for (const route of bodyRoutes) {
    it(`POST ${route.path} answers 503 while ${route.path === "/ingest/events" ? "Redis" : "MySQL"} does not answer`, async () => {
      await expectAnswer("POST", route.path, 503, { ...route.send(), app: await outageApp() });
    });
  }

  // --- 404 and 405 -----------------------------------------------------------

  it("answers 404 NOT_FOUND for a path it does not serve", async () => {
    for (const [method, path] of [["GET", "/nope"], ["POST", "/auth"], ["GET", "/openapi.yaml"], ["GET", "/wallet/"]] as const) {
      const res = await fetch(`${main.url}${path}`, { method });
      assert.equal(res.status, 404, `${method} ${path}`);
      checkResponse(`${method} ${path}`, "/components/responses/NotFound", res, await res.text());
    }
  });

  for (const path of Object.keys(doc.paths)) {
    it(`answers 405 METHOD_NOT_ALLOWED for the methods ${path} does not list`, async () => {
      for (const method of httpMethods.filter((m) => m !== "HEAD" && !documentedOperations.includes(`${m} ${path}`))) {
        const res = await fetch(`${main.url}${path}`, { method });
        assert.equal(res.status, 405, `${method} ${path}`);
        checkResponse(`${method} ${path}`, "/components/responses/MethodNotAllowed", res, await res.text());
      }
    });
  }

  // --- last: nothing documented went unchecked ------------------------------

  it("provoked every documented answer (except the commented allow-list)", () => {
    const documented = documentedOperations.flatMap((op) => {
      const [method, path] = op.split(" ") as [string, string];
      return Object.keys(at(operationPointer(method, path)).responses).map((status) => `${op} ${status}`);
    });
    const missing = documented.filter((answer) => !exercised.has(answer) && !notProvoked.has(answer));
    assert.deepEqual(missing, [], `documented but never provoked: ${missing.join(", ")}`);
    for (const answer of notProvoked) {
      assert.ok(documented.includes(answer), `allow-listed but not documented: ${answer}`);
      assert.ok(!exercised.has(answer), `allow-listed but provoked after all: ${answer}`);
    }
    const undocumented = [...exercised].filter((answer) => !documented.includes(answer));
    assert.deepEqual(undocumented, []);
  });
});
