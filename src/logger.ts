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
