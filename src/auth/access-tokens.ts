import { SignJWT, createLocalJWKSet, jwtVerify, type JWTVerifyGetKey } from "jose";
import { UnauthenticatedError } from "../errors.js";
import { tokenAlgorithm, type SigningKeys } from "./signing-keys.js";

/** Options of {@link createAccessTokens}. */
export interface AccessTokensOptions {
  keys: SigningKeys;
  issuer: string;
  audience: string;
  ttlSeconds: number;
}

/** Issues and verifies access tokens (JWT, EdDSA, with `kid`). */
export interface AccessTokens {
  /** A signed token whose `sub` is `userId`. */
  issue(userId: string): Promise<{ token: string; expiresIn: number }>;
  /**
   * The `sub` of a valid token. Verification is local (no network, no MySQL).
   * @throws UnauthenticatedError for every kind of bad token, with one message.
   */
  verify(token: string): Promise<string>;
}

/**
 * Creates the token service. Only {@link tokenAlgorithm} is accepted (a token
 * re-signed with HS256 or `alg: none` is refused), and `exp`, `iss`, `aud` and
 * `sub` are required.
 */
export function createAccessTokens(options: AccessTokensOptions): AccessTokens {
  const { keys, issuer, audience, ttlSeconds } = options;
  const keySet: JWTVerifyGetKey = createLocalJWKSet({ keys: keys.publicJwks });
  // A player sends many batches with one token: its signature is checked once and
  // the result kept until the token expires. Only valid tokens are kept, keyed by
  // the whole token string, so a changed byte is a cache miss and verified again.
  const verified = new Map<string, { sub: string; expMs: number }>();
  const maxCached = 50_000;
  return {
    async issue(userId) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: tokenAlgorithm, kid: keys.kid, typ: "JWT" })
        .setSubject(userId)
        .setIssuer(issuer)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(keys.privateKey);
      return { token, expiresIn: ttlSeconds };
    },
    async verify(token) {
      const hit = verified.get(token);
      if (hit !== undefined) {
        if (hit.expMs > Date.now()) return hit.sub;
        verified.delete(token);
      }
      try {
        const { payload } = await jwtVerify(token, keySet, {
          algorithms: [tokenAlgorithm],
          issuer,
          audience,
          requiredClaims: ["exp", "sub", "iat"],
        });
        if (typeof payload.sub !== "string" || payload.sub === "") throw new Error("no sub");
        if (verified.size >= maxCached) verified.delete(verified.keys().next().value as string);
        verified.set(token, { sub: payload.sub, expMs: (payload.exp as number) * 1000 });
        return payload.sub;
      } catch {
        throw new UnauthenticatedError();
      }
    },
  };
}
