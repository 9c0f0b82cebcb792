import { createHash, randomBytes } from "node:crypto";
import type { Pool, PoolConnection } from "mysql2/promise";
import { uuidV7 } from "../stream/uuid-v7.js";
import type { AccessTokens } from "./access-tokens.js";

/** What register, login, refresh and device sign-in return. */
export interface TokenPair {
  userId: string;
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
}

/** Issues token pairs: a signed access token and a stored, single-use refresh token. */
export interface TokenPairs {
  /**
   * A new pair for `userId`. The refresh token starts a new family unless
   * `familyId` continues one (rotation), and is written with `conn` when given,
   * so it commits with the caller's transaction.
   */
  issue(userId: string, options?: { conn?: Pool | PoolConnection; familyId?: string }): Promise<TokenPair>;
}

/** Options of {@link createTokenPairs}. */
export interface TokenPairsOptions {
  pool: Pool;
  tokens: AccessTokens;
  refreshTtlSeconds: number;
}

/** Refresh tokens are stored only as this hash: a leaked table signs no one in. */
export function hashRefreshToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates the pair issuer on MySQL's `refresh_tokens`. */
export function createTokenPairs(options: TokenPairsOptions): TokenPairs {
  const { pool, tokens, refreshTtlSeconds } = options;
  return {
    async issue(userId, { conn = pool, familyId = uuidV7() } = {}) {
      const refreshToken = randomBytes(32).toString("base64url");
      await conn.query(
        "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at) VALUES (?, ?, ?, NOW(3) + INTERVAL ? SECOND)",
        [hashRefreshToken(refreshToken), userId, familyId, refreshTtlSeconds],
      );
      const { token, expiresIn } = await tokens.issue(userId);
      return { userId, accessToken: token, expiresIn, refreshToken };
    },
  };
}
