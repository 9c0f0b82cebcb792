import { createHash } from "node:crypto";
import type { Pool, ResultSetHeader, RowDataPacket } from "mysql2/promise";
import { ConflictError, UnauthenticatedError, ValidationError } from "../errors.js";
import { uuidV7 } from "../stream/uuid-v7.js";
import type { AuthLimiter } from "./auth-limiter.js";
import { checkCredentials } from "./credentials.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import type { TokenPair, TokenPairs } from "./token-pairs.js";

/** A device sign-in's answer: the player's pair, and whether this call created the player. */
export interface DeviceSignIn extends TokenPair {
  created: boolean;
}

/** Guest players, known by a device until they link an email. */
export interface GuestAccounts {
  /**
   * Without a caller, signs in the device's player, creating it on the device's
   * first call. With a caller (a player's access token), attaches the device to
   * that player.
   * @param clientIp the caller's address, for the new-player limit.
   * @throws ValidationError for a bad device id, ConflictError when the device
   *   is another player's, RateLimitedError past the IP's new-player limit.
   */
  authenticateDevice(deviceId: unknown, callerUserId: string | undefined, clientIp?: string): Promise<DeviceSignIn>;
  /**
   * Attaches an email and password to the player: its id, wallet and events stay
   * the same, and it can log in by email from then on. Repeating a link that
   * was made (same email and password) answers the same.
   * @throws ValidationError for a bad email or weak password, ConflictError when
   *   another player owns the email or this one has an email already,
   *   RateLimitedError past the IP's limit.
   */
  linkEmail(userId: string, email: unknown, password: unknown, clientIp?: string): Promise<{ userId: string; email: string }>;
}

/** Options of {@link createGuestAccounts}. */
export interface GuestAccountsOptions {
  pool: Pool;
  pairs: TokenPairs;
  /** The registration limit, applied to every player created or email linked; none when undefined. */
  limiter?: AuthLimiter;
}

/** Shortest accepted device id: shorter ones are too easy to guess. */
export const minDeviceIdLength = 10;
/** Longest accepted device id. */
export const maxDeviceIdLength = 128;
const printableAscii = /^[\x20-\x7e]*$/;

/**
 * The device id a request names, checked: 10 to 128 printable ASCII characters.
 * @throws ValidationError naming `device_id`.
 */
export function checkDeviceId(deviceId: unknown): string {
  const refuse = (reason: string) => new ValidationError([{ index: -1, field: "device_id", reason }]);
  if (typeof deviceId !== "string" || deviceId === "") {
    throw refuse(`is required and must be a string of ${minDeviceIdLength} to ${maxDeviceIdLength} printable ASCII characters`);
  }
  if (deviceId.length < minDeviceIdLength || deviceId.length > maxDeviceIdLength) {
    throw refuse(`must be ${minDeviceIdLength} to ${maxDeviceIdLength} characters, got ${deviceId.length}`);
  }
  if (!printableAscii.test(deviceId)) throw refuse("must hold printable ASCII characters only (0x20 to 0x7E)");
  return deviceId;
}

/**
 * What `devices` stores of a device id: its SHA-256, so a leaked table signs no
 * one in. Unsalted on purpose: support staff can find a player by a device id
 * (`WHERE device_hash = UNHEX(SHA2(?, 256))`); games should use random ids (a
 * UUID kept on the device), which no table of hashes can be searched for.
 */
export function deviceHash(deviceId: string): Buffer {
  return createHash("sha256").update(deviceId, "latin1").digest();
}

interface OwnerRow extends RowDataPacket {
  user_id: string;
}

interface UserRow extends RowDataPacket {
  email: string | null;
  password_hash: string | null;
}

const duplicateKey = (err: unknown) => (err as { errno?: number }).errno === 1062;

/** Creates guest accounts on MySQL (`users` and `devices`). */
export function createGuestAccounts(options: GuestAccountsOptions): GuestAccounts {
  const { pool, pairs, limiter } = options;

  const ownerOf = async (hash: Buffer): Promise<string | undefined> => {
    const [rows] = await pool.query<OwnerRow[]>("SELECT user_id FROM devices WHERE device_hash = ?", [hash]);
    return rows[0]?.user_id;
  };

  const attach = async (hash: Buffer, userId: string, clientIp: string): Promise<DeviceSignIn> => {
    const [users] = await pool.query<RowDataPacket[]>("SELECT 1 FROM users WHERE user_id = ?", [userId]);
    if (users.length === 0) throw new UnauthenticatedError();
    const owner = await ownerOf(hash);
    if (owner === undefined) {
      await limiter?.checkRegister(clientIp);
      try {
        await pool.query("INSERT INTO devices (device_hash, user_id) VALUES (?, ?)", [hash, userId]);
      } catch (err) {
        if (!duplicateKey(err)) throw err;
        // Attached by a concurrent call: to this player, or to another.
        if ((await ownerOf(hash)) !== userId) throw new ConflictError("this device is linked to another player");
      }
    } else if (owner !== userId) {
      throw new ConflictError("this device is linked to another player");
    }
    return { ...(await pairs.issue(userId)), created: false };
  };

  // A new player and its device in one transaction: a guest never exists without its device.
  const create = async (hash: Buffer, clientIp: string): Promise<DeviceSignIn> => {
    await limiter?.checkRegister(clientIp);
    const userId = uuidV7();
    const conn = await pool.getConnection();
    try {
      await conn.beginTransaction();
      await conn.query("INSERT INTO users (user_id) VALUES (?)", [userId]);
      await conn.query("INSERT INTO devices (device_hash, user_id) VALUES (?, ?)", [hash, userId]);
      const pair = await pairs.issue(userId, { conn });
      await conn.commit();
      return { ...pair, created: true };
    } catch (err) {
      await conn.rollback().catch(() => {});
      if (!duplicateKey(err)) throw err;
    } finally {
      conn.release();
    }
    // Two first calls of one device at once: the other one created the player.
    const owner = await ownerOf(hash);
    if (owner === undefined) throw new Error("device row vanished after a duplicate key");
    return { ...(await pairs.issue(owner)), created: false };
  };

  return {
    async authenticateDevice(rawDeviceId, callerUserId, clientIp = "unknown") {
      const hash = deviceHash(checkDeviceId(rawDeviceId));
      if (callerUserId !== undefined) return attach(hash, callerUserId, clientIp);
      const owner = await ownerOf(hash);
      if (owner !== undefined) return { ...(await pairs.issue(owner)), created: false };
      return create(hash, clientIp);
    },

    async linkEmail(userId, rawEmail, rawPassword, clientIp = "unknown") {
      await limiter?.checkRegister(clientIp);
      const { email, password } = checkCredentials(rawEmail, rawPassword);
      // A player with an email already: a retried link (its answer was lost, or
      // it raced the first) answers as the first did; anything else is a conflict.
      const linkedBefore = async (user: UserRow | undefined) => {
        if (user === undefined) throw new UnauthenticatedError();
        if (user.email === null) return false;
        if (user.email === email && user.password_hash !== null && (await verifyPassword(password, user.password_hash))) return true;
        throw new ConflictError("this player already has an email");
      };
      const readUser = async () =>
        (await pool.query<UserRow[]>("SELECT email, password_hash FROM users WHERE user_id = ?", [userId]))[0][0];
      if (await linkedBefore(await readUser())) return { userId, email };
      const hash = await hashPassword(password);
      let result: ResultSetHeader;
      try {
        [result] = await pool.query<ResultSetHeader>(
          "UPDATE users SET email = ?, password_hash = ? WHERE user_id = ? AND email IS NULL",
          [email, hash, userId],
        );
      } catch (err) {
        if (duplicateKey(err)) throw new ConflictError("this email is already registered");
        throw err;
      }
      if (result.affectedRows === 0 && !(await linkedBefore(await readUser()))) throw new ConflictError("this player already has an email");
      return { userId, email };
    },
  };
}
