import type { RedisClient } from "./redis-client.js";

/**
 * One round trip that admits and appends a batch atomically:
 * 1. the player's token bucket (KEYS[2]) must hold a token (per-user rate limit);
 * 2. the shard stream (KEYS[1]) must be below its bound (back-pressure);
 * 3. then XADD, and only then the token is spent.
 * Both keys carry the shard's hash tag, so the script runs on one Redis Cluster
 * slot. Time comes from the Redis server, so every gateway shares one clock.
 *
 * ARGV: max backlog (0 = none), rate per second (0 = none), burst, then the
 * entry's field/value pairs. Returns {0, id}, {-1, retry ms} or {-2, length}.
 */
const lua = `
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tokens, nowms
if rate > 0 then
  local t = redis.call('TIME')
  nowms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local b = redis.call('HMGET', KEYS[2], 't', 'ts')
  tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or nowms
  tokens = math.min(burst, tokens + math.max(0, nowms - ts) * rate / 1000)
  if tokens < 1 then
    return {-1, math.ceil((1 - tokens) * 1000 / rate)}
  end
end
local max = tonumber(ARGV[1])
if max > 0 then
  local len = redis.call('XLEN', KEYS[1])
  if len >= max then return {-2, len} end
end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
if rate > 0 then
  redis.call('HSET', KEYS[2], 't', tostring(tokens - 1), 'ts', tostring(nowms))
  redis.call('PEXPIRE', KEYS[2], math.ceil(burst * 1000 / rate) + 1000)
end
return {0, id}
`;

/** Limits the script applies. */
export interface AdmissionLimits {
  /** Most entries a shard stream may hold; 0 = unbounded. */
  maxBacklog: number;
  /** Batches per second per player; 0 = no limit. */
  ratePerUser: number;
  /** Batches a player may send at once after being idle. */
  burstPerUser: number;
}

/** What the script answered. */
export type AdmissionResult =
  | { kind: "appended"; id: string }
  | { kind: "rate_limited"; retryAfterMs: number }
  | { kind: "backlog_full"; length: number };

type AppendCommand = (
  streamKey: string,
  bucketKey: string,
  ...args: Array<string | number | Buffer>
) => Promise<[number, string | number]>;

/** Registers the script on a client (ioredis sends EVALSHA, falling back to EVAL once). */
export function defineAppendScript(redis: RedisClient): void {
  if (!("psAdmitAppend" in redis)) redis.defineCommand("psAdmitAppend", { numberOfKeys: 2, lua });
}

/** Runs the script for one entry. */
export async function admitAndAppend(
  redis: RedisClient,
  keys: { stream: string; bucket: string },
  limits: AdmissionLimits,
  fields: Array<string | Buffer>,
): Promise<AdmissionResult> {
  const run = (redis as unknown as { psAdmitAppend: AppendCommand }).psAdmitAppend;
  const [code, value] = await run.call(
    redis, keys.stream, keys.bucket, limits.maxBacklog, limits.ratePerUser, limits.burstPerUser, ...fields,
  );
  if (code === 0) return { kind: "appended", id: String(value) };
  if (code === -1) return { kind: "rate_limited", retryAfterMs: Number(value) };
  return { kind: "backlog_full", length: Number(value) };
}
