import type { Pool, RowDataPacket } from "mysql2/promise";
import { ConflictError, UnauthenticatedError } from "../errors.js";
import { uuidV7 } from "../stream/uuid-v7.js";
import type { AuthLimiter } from "./auth-limiter.js";
import { checkCredentials, maxPasswordLength, normalizeEmail } from "./credentials.js";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.js";
import { hashRefreshToken, type TokenPair, type TokenPairs } from "./token-pairs.js";

export type { TokenPair } from "./token-pairs.js";

/** Accounts: register, login and refresh-token rotation. */
export interface Accounts {
  /**
   * @param clientIp the caller's address, for the registration limit.
   * @throws ValidationError for a bad email or weak password, ConflictError for a taken email,
   *   RateLimitedError past the IP's registration limit.
   */
  register(email: unknown, password: unknown, clientIp?: string): Promise<TokenPair>;
  /**
   * @param clientIp the caller's address, for the failure limits.
   * @throws UnauthenticatedError, the same for an unknown email and a wrong password;
   *   RateLimitedError after too many failures for the IP or the email.
   */
  login(email: unknown, password: unknown, clientIp?: string): Promise<TokenPair>;
  /**
   * Spends a refresh token for a new pair. A token used twice revokes its whole
   * family: the second use means it leaked.
   * @throws UnauthenticatedError for an unknown, spent, revoked or expired token.
   */
  refresh(refreshToken: unknown): Promise<TokenPair>;
}

/** Options of {@link createAccounts}. */
export interface AccountsOptions {
  pool: Pool;
  pairs: TokenPairs;
  /** Login and registration limits; none when undefined. */
  limiter?: AuthLimiter;
}

interface UserRow extends RowDataPacket {
  user_id: string;
  password_hash: string;
}

interface RefreshRow extends RowDataPacket {
  user_id: string;
  family_id: string;
  used: number;
  revoked: number;
  expired: number;
}

/** Creates the accounts service on MySQL. */
export function createAccounts(options: AccountsOptions): Accounts {
  const { pool, pairs, limiter } = options;

  return {
    async register(rawEmail, rawPassword, clientIp = "unknown") {
      await limiter?.checkRegister(clientIp);
      const { email, password } = checkCredentials(rawEmail, rawPassword);
      const userId = uuidV7();
      const hash = await hashPassword(password);
      try {
        await pool.query("INSERT INTO users (user_id, email, password_hash) VALUES (?, ?, ?)", [userId, email, hash]);
      } catch (err) {
        if ((err as { errno?: number }).errno === 1062) throw new ConflictError("this email is already registered");
        throw err;
      }
      return pairs.issue(userId);
    },

    async login(rawEmail, rawPassword, clientIp = "unknown") {
      const email = typeof rawEmail === "string" ? normalizeEmail(rawEmail) : "";
      const password = typeof rawPassword === "string" ? rawPassword.slice(0, maxPasswordLength) : "";
      await limiter?.checkLogin(clientIp, email);
      const [rows] = await pool.query<UserRow[]>("SELECT user_id, password_hash FROM users WHERE email = ? AND password_hash IS NOT NULL", [email]);
      const user = rows[0];
      const ok = await verifyPassword(password, user?.password_hash ?? (await decoyHash));
      if (!user || !ok) {
        await limiter?.recordLoginFailure(clientIp, email);
        throw new UnauthenticatedError("wrong email or password");
      }
      await limiter?.recordLoginSuccess(email);
      return pairs.issue(user.user_id);
    },

    async refresh(rawToken) {
      if (typeof rawToken !== "string" || rawToken === "" || rawToken.length > 256) {
        throw new UnauthenticatedError("invalid refresh token");
      }
      const conn = await pool.getConnection();
      let result: TokenPair | "reused" | "invalid";
      try {
        await conn.beginTransaction();
        const [rows] = await conn.query<RefreshRow[]>(
          `SELECT user_id, family_id, used_at IS NOT NULL AS used, revoked_at IS NOT NULL AS revoked,
                  expires_at < NOW(3) AS expired
             FROM refresh_tokens WHERE token_hash = ? FOR UPDATE`,
          [hashRefreshToken(rawToken)],
        );
        const row = rows[0];
        if (!row || row.revoked || row.expired) {
          result = "invalid";
        } else if (row.used) {
          await conn.query("UPDATE refresh_tokens SET revoked_at = NOW(3) WHERE family_id = ? AND revoked_at IS NULL", [
            row.family_id,
          ]);
          result = "reused";
        } else {
          await conn.query("UPDATE refresh_tokens SET used_at = NOW(3) WHERE token_hash = ?", [hashRefreshToken(rawToken)]);
          result = await pairs.issue(row.user_id, { conn, familyId: row.family_id });
        }
        await conn.commit();
      } catch (err) {
        await conn.rollback().catch(() => {});
        throw err;
      } finally {
        conn.release();
      }
      if (typeof result === "string") throw new UnauthenticatedError("invalid refresh token");
      return result;
    },
  };
}
