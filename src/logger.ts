import { pino, type Logger } from "pino";
import type { LogLevel } from "./config.js";

export type { Logger };

/**
 * The process logger: JSON lines on stdout. Header and body fields that can carry
 * secrets are redacted by path, as a second line of defence: code never logs them
 * on purpose.
 */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    serializers: { err: serializeError },
    base: { service: "playsmart" },
    redact: {
      paths: [
        "password", "*.password", "token", "*.token", "access_token", "*.access_token",
        "refresh_token", "*.refresh_token", "authorization", "*.authorization",
        "headers.authorization", "req.headers.authorization", "customdata", "*.customdata",
      ],
      censor: "[redacted]",
    },
  };
  return destination ? pino(options, destination as never) : pino(options);
}

/**
 * Errors as logged: type, message, code and stack, and nothing else. A mysql2
 * error carries the statement with its values inlined (`sql`), which can hold a
 * password hash or an email: never logged.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const e = err as Error & { code?: unknown; errno?: unknown; cause?: unknown };
  const out: Record<string, unknown> = { type: e.name, message: e.message, stack: e.stack };
  if (e.code !== undefined) out.code = e.code;
  if (e.errno !== undefined) out.errno = e.errno;
  if (e.cause !== undefined) out.cause = serializeError(e.cause);
  return out;
}
