import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import type { JWK } from "jose";
import type { Accounts } from "../auth/accounts.js";
import type { Authenticator } from "../auth/authenticator.js";
import { requirePlayer } from "../auth/principal.js";
import { NotFoundError, ValidationError } from "../errors.js";
import type { IngestBatches } from "../ingest/ingest-batches.js";
import type { Logger } from "../logger.js";
import { tokenPairMessage } from "./auth-service.js";
import { isUnexpected, toHttpError } from "./error-map.js";
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

/** Options of {@link createRestRoutes}. */
export interface RestRoutesOptions {
  ingest: IngestBatches;
  accounts: Accounts;
  authenticator: Authenticator;
  wallet: WalletReader | undefined;
  jwks: () => JWK[];
  /** Whether the role's dependencies answer, for `GET /readyz`. */
  ready: () => Promise<boolean>;
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

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new ValidationError([{ index: -1, field: "body", reason: "is not valid JSON" }]);
  }
}

function field(body: unknown, name: string): unknown {
  return typeof body === "object" && body !== null ? (body as Record<string, unknown>)[name] : undefined;
}

/**
 * The plain REST aliases of the contract. Each route decodes, calls the same
 * domain code as the RPC, and maps errors with `error-map.ts`.
 */
export function createRestRoutes(options: RestRoutesOptions): RestRoutes {
  const { ingest, accounts, authenticator, wallet, bodyLimitBytes, log } = options;
  const noStore = { "cache-control": "no-store" };
  const player = async (req: Req): Promise<string> => {
    const userId = requirePlayer(await authenticator.authenticate(req.headers.authorization));
    const info = requestInfoOf(req);
    if (info) info.userId = userId;
    return userId;
  };

  const routes: Record<string, (req: Req, res: Res) => Promise<void>> = {
    "POST /ingest/events": async (req, res) => {
      const userId = await player(req);
      const raw = await readBody(req, bodyLimitBytes);
      const accepted = await ingest.accept(userId, { body: parseJson(raw), format: "json", encoded: () => raw });
      send(res, 202, { batch_id: accepted.batchId, accepted: accepted.accepted });
    },
    "POST /auth/register": async (req, res) => {
      const body = parseJson(await readBody(req, bodyLimitBytes));
      send(res, 201, restTokenPair(await accounts.register(field(body, "email"), field(body, "password"))), noStore);
    },
    "POST /auth/login": async (req, res) => {
      const body = parseJson(await readBody(req, bodyLimitBytes));
      send(res, 200, restTokenPair(await accounts.login(field(body, "email"), field(body, "password"))), noStore);
    },
    "POST /auth/refresh": async (req, res) => {
      const body = parseJson(await readBody(req, bodyLimitBytes));
      const token = field(body, "refresh_token") ?? field(body, "refreshToken");
      send(res, 200, restTokenPair(await accounts.refresh(token)), noStore);
    },
    "GET /wallet": async (req, res) => {
      const userId = await player(req);
      if (wallet === undefined) throw new NotFoundError("wallets are not served by this process");
      const balance = await wallet.getBalance(userId);
      send(res, 200, { user_id: userId, balance: balance.toString() }, noStore);
    },
    "GET /.well-known/jwks.json": async (_req, res) => {
      send(res, 200, { keys: options.jwks() }, { "cache-control": "public, max-age=300" });
    },
    "GET /healthz": async (_req, res) => {
      send(res, 200, { status: "ok" });
    },
    "GET /readyz": async (_req, res) => {
      const ok = await options.ready();
      send(res, ok ? 200 : 503, { status: ok ? "ready" : "not ready" });
    },
  };
  const paths = new Set(Object.keys(routes).map((k) => k.slice(k.indexOf(" ") + 1)));

  const handle: RestHandler = (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    const route = routes[`${req.method} ${path}`];
    if (route === undefined) {
      const allowed = paths.has(path);
      send(res, allowed ? 405 : 404, {
        error: allowed ? "METHOD_NOT_ALLOWED" : "NOT_FOUND",
        message: allowed ? `${req.method} is not allowed on ${path}` : `no route ${path}`,
      });
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
      send(res, mapped.status, mapped.body, { ...mapped.headers, ...close });
    });
  };
  return Object.assign(handle, { paths });
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
