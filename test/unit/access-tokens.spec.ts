import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, importPKCS8 } from "jose";
import { createAccessTokens } from "../../src/auth/access-tokens.js";
import { loadSigningKeys } from "../../src/auth/signing-keys.js";
import { UnauthenticatedError } from "../../src/errors.js";

describe("access tokens: the verified-token cache", () => {
  it("serves a verified token from the cache only until it expires", async () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    // With a configured key no MySQL is touched, so the pool is never used.
    const keys = await loadSigningKeys({ pool: undefined as never, privateKeyPem: pem, keyId: "k1" });
    const tokens = createAccessTokens({ keys, issuer: "i", audience: "a", ttlSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setSubject("u1").setIssuer("i").setAudience("a").setIssuedAt(now).setExpirationTime(now + 1)
      .sign(await importPKCS8(pem, "EdDSA"));
    assert.equal(await tokens.verify(token), "u1");
    assert.equal(await tokens.verify(token), "u1", "second use (cached)");
    await new Promise((r) => setTimeout(r, (now + 1) * 1000 - Date.now() + 50));
    await assert.rejects(tokens.verify(token), UnauthenticatedError);
  });

  it("never caches a refusal or a token with one byte changed", async () => {
    const pem = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const keys = await loadSigningKeys({ pool: undefined as never, privateKeyPem: pem, keyId: "k1" });
    const tokens = createAccessTokens({ keys, issuer: "i", audience: "a", ttlSeconds: 60 });
    const { token } = await tokens.issue("u2");
    assert.equal(await tokens.verify(token), "u2");
    const [h, p, s] = token.split(".") as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, "base64url").toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, sub: "u3" })).toString("base64url")}.${s}`;
    await assert.rejects(tokens.verify(forged), UnauthenticatedError);
    await assert.rejects(tokens.verify(forged), UnauthenticatedError);
  });
});
