import { createHash } from "node:crypto";
import type { RedisClient } from "../stream/redis-client.js";
import type { AuthLimits } from "../config.js";
import { RateLimitedError } from "../errors.js";
import type { Logger } from "../logger.js";

/** Counts login failures and registrations in Redis, shared by every gateway. */
export interface AuthLimiter {
  /** @throws RateLimitedError when the IP or the email is over its failure limit. */
  checkLogin(ip: string, email: string): Promise<void>;
  recordLoginFailure(ip: string, email: string): Promise<void>;
  /** Clears the email's failures after a correct password. */
  recordLoginSuccess(email: string): Promise<void>;
  /** Counts one registration attempt. @throws RateLimitedError past the IP's limit. */
  checkRegister(ip: string): Promise<void>;
}

/** Options of {@link createAuthLimiter}. */
export interface AuthLimiterOptions {
  redis: RedisClient;
  prefix: string;
  limits: AuthLimits;
  log: Logger;
}

// Emails are hashed so no address sits in Redis key names.
const hashOf = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);

/**
 * Fixed-window counters (INCR + EXPIRE) in Redis: they survive a gateway restart
 * and apply across gateways. The check runs before the password is looked at and
 * counts unknown emails too, so the answer never tells whether an account exists.
 * While Redis is down the limiter lets requests through (logins need only MySQL)
 * and logs a warning.
 */
export function createAuthLimiter(options: AuthLimiterOptions): AuthLimiter {
  const { redis, prefix, limits, log } = options;
  const window = limits.windowSeconds;
  const ipKey = (ip: string) => `${prefix}:auth:fail-ip:${ip}`;
  const emailKey = (email: string) => `${prefix}:auth:fail-email:${hashOf(email)}`;
  const registerKey = (ip: string) => `${prefix}:auth:register-ip:${ip}`;
  const refuse = async (key: string) => {
    const ttl = await redis.ttl(key);
    throw new RateLimitedError("too many attempts, try again later", ttl > 0 ? ttl : window);
  };
  // INCR and the window's EXPIRE in one MULTI on one key (one slot).
  const count = async (key: string): Promise<number> => {
    const results = await redis.multi().incr(key).expire(key, window, "NX").exec();
    return Number(results?.[0]?.[1] ?? 0);
  };
  const failOpen = (err: unknown) => {
    if (err instanceof RateLimitedError) throw err;
    log.warn({ err: (err as Error).message }, "auth limiter unavailable, allowing the request");
  };

  return {
    async checkLogin(ip, email) {
      try {
        // Two GETs, not MGET: on a cluster the keys live in different slots.
        const [byIp, byEmail] = await Promise.all([redis.get(ipKey(ip)), redis.get(emailKey(email))]);
        if (Number(byIp ?? 0) >= limits.loginFailuresPerIp) await refuse(ipKey(ip));
        if (Number(byEmail ?? 0) >= limits.loginFailuresPerEmail) await refuse(emailKey(email));
      } catch (err) {
        failOpen(err);
      }
    },
    async recordLoginFailure(ip, email) {
      try {
        await Promise.all([count(ipKey(ip)), count(emailKey(email))]);
      } catch (err) {
        failOpen(err);
      }
    },
    async recordLoginSuccess(email) {
      try {
        await redis.del(emailKey(email));
      } catch (err) {
        failOpen(err);
      }
    },
    async checkRegister(ip) {
      try {
        if ((await count(registerKey(ip))) > limits.registrationsPerIp) await refuse(registerKey(ip));
      } catch (err) {
        failOpen(err);
      }
    },
  };
}
