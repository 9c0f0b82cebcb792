import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { Accounts } from "../auth/accounts.js";
import type { Authenticator } from "../auth/authenticator.js";
import type { GuestAccounts } from "../auth/guest-accounts.js";
import { ValidationError } from "../errors.js";
import { optionalPlayer, requirePlayer } from "../auth/principal.js";
import type { IngestBatches } from "../ingest/ingest-batches.js";
import { parseJsonBody } from "../ingest/json-body.js";
import type { Logger } from "../logger.js";
import { tokenPairMessage } from "./auth-service.js";
import { isUnexpected, toHttpError } from "./error-map.js";
import { loadOpenApiDocument } from "./openapi-document.js";
import { readBody } from "./read-body.js";
import { requestInfoOf } from "./request-info.js";

// The request and response types of the Connect adapter (http or http2 compat).
type Fallback = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
type Req = Parameters<Fallback>[0];
type Res = Parameters<Fallback>[1];

/** Balance look-up used by `GET /wallet`. */
export interface WalletReader {
  getBalance(userId: string): Promise<bigint>;
}

/** The domain parts behind the player-facing routes (gateway roles only). */
export interface GatewayRoutes {
  ingest: IngestBatches;
  accounts: Accounts;
  guests: GuestAccounts;
  authenticator: Authenticator;
  wallets: WalletReader;
}

/** Options of {@link createRestRoutes}. */
export interface RestRoutesOptions {
  /** Player-facing routes; undefined for the worker role, which serves only probes and metrics. */
  gateway: GatewayRoutes | undefined;
  jwks: () => unknown[];
  /** Whether the role's dependencies answer, for `GET /readyz`. */
  ready: () => boolean;
  /** The Prometheus exposition, for `GET /metrics`. */
  metrics: () => Promise<{ contentType: string; body: string }>;
  bodyLimitBytes: number;
  log: Logger;
}

/** A REST handler for the Connect adapter's `fallback`: every non-RPC path. */
export type RestHandler = (req: Req, res: Res) => void;

/** The REST handler and the paths it serves (for bounded log and metric labels). */
export type RestRoutes = RestHandler & { paths: ReadonlySet<string> };

function send(res: Res, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * The plain REST aliases of the contract. Each route decodes, calls the same
 * domain code as the RPC, and maps errors with `error-map.ts`.
 */
export function createRestRoutes(options: RestRoutesOptions): RestRoutes {
  const { bodyLimitBytes, log } = options;
  const noStore = { "cache-control": "no-store" };

  const routes: Record<string, (req: Req, res: Res) => Promise<void>> = {
    "GET /healthz": async (_req, res) => {
      send(res, 200, { status: "ok" });
    },
    "GET /readyz": async (_req, res) => {
      const ok = options.ready();
      send(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready" });
    },
    "GET /metrics": async (_req, res) => {
      const { contentType, body } = await options.metrics();
      res.writeHead(200, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
      res.end(body);
    },
  };

  const g = options.gateway;
  if (g !== undefined) {
    const openApi = loadOpenApiDocument();
    const player = async (req: Req): Promise<string> => {
      const userId = requirePlayer(await g.authenticator.authenticate(req.headers.authorization));
      const info = requestInfoOf(req);
      if (info) info.userId = userId;
      return userId;
    };
    const readJson = async (req: Req) => parseJsonBody(await readBody(req, bodyLimitBytes));
    const clientIp = (req: Req) => requestInfoOf(req)?.clientIp;
    Object.assign(routes, {
      "POST /ingest/events": async (req: Req, res: Res) => {
        const userId = await player(req);
        const dryRun = dryRunParameter(req.url);
        const raw = await readBody(req, bodyLimitBytes);
        const accepted = await g.ingest.acceptJson(userId, raw, { dryRun, trace: requestInfoOf(req)?.traceContext });
        if (accepted.dryRun) send(res, 200, { accepted: accepted.accepted, dry_run: true });
        else send(res, 202, { batch_id: accepted.batchId, accepted: accepted.accepted });
      },
      "POST /auth/register": async (req: Req, res: Res) => {
        const body = await readJson(req);
        const pair = await g.accounts.register(field(body, "email"), field(body, "password"), requestInfoOf(req)?.clientIp);
        send(res, 201, restTokenPair(pair), noStore);
      },
      "POST /auth/login": async (req: Req, res: Res) => {
        const body = await readJson(req);
        const pair = await g.accounts.login(field(body, "email"), field(body, "password"), requestInfoOf(req)?.clientIp);
        send(res, 200, restTokenPair(pair), noStore);
      },
      "POST /auth/device": async (req: Req, res: Res) => {
        // A token is optional here: with one, the device is attached to its player.
        const caller = optionalPlayer(await g.authenticator.authenticate(req.headers.authorization));
        const body = await readJson(req);
        const signIn = await g.guests.authenticateDevice(field(body, "device_id") ?? field(body, "deviceId"), caller, clientIp(req));
        send(res, signIn.created ? 201 : 200, restTokenPair(signIn), noStore);
      },
      "POST /auth/link": async (req: Req, res: Res) => {
        const userId = await player(req);
        const body = await readJson(req);
        const linked = await g.guests.linkEmail(userId, field(body, "email"), field(body, "password"), clientIp(req));
        send(res, 200, { user_id: linked.userId, email: linked.email }, noStore);
      },
      "POST /auth/refresh": async (req: Req, res: Res) => {
        const body = await readJson(req);
        const token = field(body, "refresh_token") ?? field(body, "refreshToken");
        send(res, 200, restTokenPair(await g.accounts.refresh(token)), noStore);
      },
      "GET /wallet": async (req: Req, res: Res) => {
        const userId = await player(req);
        const balance = await g.wallets.getBalance(userId);
        send(res, 200, { user_id: userId, balance: balance.toString() }, noStore);
      },
      "GET /openapi.json": async (_req: Req, res: Res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(openApi), "cache-control": "public, max-age=300" });
        res.end(openApi);
      },
      "GET /.well-known/jwks.json": async (_req: Req, res: Res) => {
        send(res, 200, { keys: options.jwks() }, { "cache-control": "public, max-age=300" });
      },
    });
  }
  const paths = new Set(Object.keys(routes).map((k) => k.slice(k.indexOf(" ") + 1)));
  // The methods of each path, for the `Allow` header a 405 must carry (RFC 9110).
  const allowOf = (path: string) =>
    Object.keys(routes)
      .filter((k) => k.slice(k.indexOf(" ") + 1) === path)
      .map((k) => k.slice(0, k.indexOf(" ")))
      .join(", ");

  const handle: RestHandler = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const route = routes[`${req.method} ${path}`];
    if (route === undefined) {
      const allowed = paths.has(path);
      send(
        res,
        allowed ? 405 : 404,
        {
          error: allowed ? "METHOD_NOT_ALLOWED" : "NOT_FOUND",
          message: allowed ? `${req.method} is not allowed on ${path}` : `no route ${path}`,
        },
        allowed ? { allow: allowOf(path) } : {},
      );
      return;
    }
    route(req, res).catch((err: unknown) => {
      const mapped = toHttpError(err);
      if (isUnexpected(err)) log.error({ err, route: path }, "unexpected error in REST route");
      // An oversized body was not read to its end: close rather than reuse the connection.
      const close: Record<string, string> = mapped.status === 413 && req.httpVersionMajor === 1 ? { connection: "close" } : {};
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // Error answers are about this request only: never cached (auth answers above all).
      send(res, mapped.status, mapped.body, { ...mapped.headers, ...close, ...noStore });
    });
  };
  return Object.assign(handle, { paths });
}

/**
 * `?dry_run=true` (or `false`) of a URL; anything else is refused, so a typo
 * cannot turn a test call into a real one.
 * @throws ValidationError naming `dry_run`.
 */
function dryRunParameter(url: string | undefined): boolean {
  const query = url?.includes("?") ? new URLSearchParams(url.slice(url.indexOf("?") + 1)) : undefined;
  const value = query?.get("dry_run");
  if (value === undefined || value === null || value === "false") return false;
  if (value === "true") return true;
  throw new ValidationError([{ index: -1, field: "dry_run", reason: "must be true or false" }]);
}

function restTokenPair(pair: Parameters<typeof tokenPairMessage>[0]) {
  const m = tokenPairMessage(pair);
  return {
    user_id: m.userId,
    access_token: m.accessToken,
    token_type: m.tokenType,
    expires_in: m.expiresIn,
    refresh_token: m.refreshToken,
  };
}
