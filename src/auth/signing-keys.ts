import { exportJWK, generateKeyPair, importJWK, importPKCS8, type CryptoKey, type JWK } from "jose";
import type { Pool, RowDataPacket } from "mysql2/promise";
import { uuidV7 } from "../stream/uuid-v7.js";

/** The one algorithm tokens are signed and accepted with. */
export const tokenAlgorithm = "EdDSA";

/** The key tokens are signed with now, and every public key that verifies them. */
export interface SigningKeys {
  kid: string;
  privateKey: CryptoKey;
  /** Public JWKs with `kid`, `alg` and `use`, as served at `/.well-known/jwks.json`. */
  publicJwks: JWK[];
}

/** Options of {@link loadSigningKeys}. */
export interface SigningKeysOptions {
  pool: Pool;
  /** A configured Ed25519 PKCS#8 PEM key; when unset keys live in MySQL. */
  privateKeyPem: string | undefined;
  /** `kid` of the configured key. */
  keyId: string;
}

function publicOf(jwk: JWK, kid: string): JWK {
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: tokenAlgorithm, use: "sig" } as JWK;
}

/**
 * Loads the signing key: the configured PEM when set, otherwise the newest key in
 * MySQL, generating and storing one on first start. Every stored key's public
 * half stays in the JWKS so tokens signed before a rotation keep verifying.
 */
export async function loadSigningKeys(options: SigningKeysOptions): Promise<SigningKeys> {
  const { pool } = options;
  if (options.privateKeyPem !== undefined) {
    const privateKey = await importPKCS8(options.privateKeyPem, tokenAlgorithm, { extractable: true });
    const jwk = await exportJWK(privateKey);
    return { kid: options.keyId, privateKey, publicJwks: [publicOf(jwk, options.keyId)] };
  }
  let rows = await readKeys(pool);
  if (rows.length === 0) {
    const { privateKey } = await generateKeyPair(tokenAlgorithm, { crv: "Ed25519", extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = uuidV7();
    // Two processes starting at once may both generate; both keys are kept and the
    // newest signs, which is harmless because every public key stays published.
    await pool.query("INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk) VALUES (?, ?, ?, ?)", [
      kid, tokenAlgorithm, JSON.stringify(jwk), JSON.stringify(publicOf(jwk, kid)),
    ]);
    rows = await readKeys(pool);
  }
  const newest = rows[0]!;
  const privateKey = (await importJWK(JSON.parse(newest.private_jwk) as JWK, tokenAlgorithm)) as CryptoKey;
  return {
    kid: newest.kid,
    privateKey,
    publicJwks: rows.map((r) => JSON.parse(r.public_jwk) as JWK),
  };
}

interface KeyRow extends RowDataPacket {
  kid: string;
  private_jwk: string;
  public_jwk: string;
}

async function readKeys(pool: Pool): Promise<KeyRow[]> {
  const [rows] = await pool.query<KeyRow[]>(
    "SELECT kid, private_jwk, public_jwk FROM signing_keys ORDER BY created_at DESC, kid DESC",
  );
  return rows;
}
