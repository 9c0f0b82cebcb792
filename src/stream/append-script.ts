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

/** Durability asked of an append: how many replicas must have it before the 202. */
export interface ReplicaAck {
  /** Replicas that must acknowledge (WAIT); 0 = the master's acknowledgement is enough. */
  replicas: number;
  timeoutMs: number;
}

/**
 * Runs the script for one entry. With `ack.replicas` > 0 a WAIT follows in the
 * same pipeline, which ioredis sends on the same connection (on a cluster: to
 * the master of the shard's slot), so it covers this append. `replicated` says
 * whether enough replicas confirmed.
 */
export async function admitAndAppend(
  redis: RedisClient,
  keys: { stream: string; bucket: string },
  limits: AdmissionLimits,
  fields: Array<string | Buffer>,
  ack: ReplicaAck = { replicas: 0, timeoutMs: 0 },
): Promise<AdmissionResult & { replicated: boolean }> {
  const args = [keys.stream, keys.bucket, limits.maxBacklog, limits.ratePerUser, limits.burstPerUser, ...fields];
  let reply: [number, string | number];
  let replicated = true;
  if (ack.replicas === 0) {
    const run = (redis as unknown as { psAdmitAppend: AppendCommand }).psAdmitAppend;
    reply = await run.call(redis, ...(args as [string, string, ...Array<string | number | Buffer>]));
  } else {
    const once = async () => {
      const pipeline = redis.pipeline() as unknown as {
        psAdmitAppend: (...a: unknown[]) => unknown;
        wait: (n: number, ms: number) => unknown;
        exec: () => Promise<Array<[Error | null, unknown]> | null>;
      };
      pipeline.psAdmitAppend(...args);
      pipeline.wait(ack.replicas, ack.timeoutMs);
      return (await pipeline.exec()) ?? [];
    };
    let results = await once();
    // A pipeline whose commands got different answers (the script MOVED, the WAIT
    // answered) is not redirected by ioredis: learn the new slot map after a
    // failover and try once more.
    if (results[0]?.[0] && /^(MOVED|ASK) /.test(results[0][0].message) && "refreshSlotsCache" in redis) {
      await new Promise<void>((resolve) => redis.refreshSlotsCache(() => resolve()));
      results = await once();
    }
    const [scriptErr, scriptReply] = results[0] ?? [new Error("no reply")];
    if (scriptErr) throw scriptErr;
    reply = scriptReply as [number, string | number];
    const [waitErr, acked] = results[1] ?? [new Error("no reply")];
    replicated = !waitErr && Number(acked) >= ack.replicas;
  }
  const [code, value] = reply;
  if (code === 0) return { kind: "appended", id: String(value), replicated };
  if (code === -1) return { kind: "rate_limited", retryAfterMs: Number(value), replicated };
  return { kind: "backlog_full", length: Number(value), replicated };
}
