/**
 * Clients the security tests call the live service with: grpc-js stubs loaded
 * from proto/ (a client the project did not write), REST helpers, and signed
 * tokens of every shape.
 */
import { createHmac, createPrivateKey, generateKeyPairSync, sign as cryptoSign } from "node:crypto";
import { Writable } from "node:stream";
import { exportJWK, importPKCS8, SignJWT } from "jose";
import { createDynamicClient, type DynamicClient } from "../helpers/grpc-client.js";
import { testKeyId, testSigningKeyPem } from "../helpers/start-app.js";

/** The four services of proto/ as grpc-js stubs on `baseUrl`. */
export interface Stubs {
  auth: DynamicClient;
  ingest: DynamicClient;
  wallet: DynamicClient;
  games: DynamicClient;
  close(): void;
}

export function grpcStubs(baseUrl: string): Stubs {
  const auth = createDynamicClient(baseUrl, "playsmart/auth/v1/auth.proto", "playsmart.auth.v1.AuthService");
  const ingest = createDynamicClient(baseUrl, "playsmart/ingest/v1/ingest.proto", "playsmart.ingest.v1.IngestService");
  const wallet = createDynamicClient(baseUrl, "playsmart/wallet/v1/wallet.proto", "playsmart.wallet.v1.WalletService");
  const games = createDynamicClient(baseUrl, "playsmart/games/v1/games.proto", "playsmart.games.v1.GameService");
  return {
    auth,
    ingest,
    wallet,
    games,
    close() {
      for (const c of [auth, ingest, wallet, games]) c.close();
    },
  };
}

/** A JSON value as a google.protobuf.Value in proto-loader's object form. */
export function toValue(v: unknown): Record<string, unknown> {
  // proto-loader takes the well-known types from protobufjs's bundled
  // definitions, whose field names are lowerCamel even with keepCase.
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

/** A JSON object as a google.protobuf.Struct in proto-loader's object form. */
export function toStruct(o: Record<string, unknown>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) Object.defineProperty(fields, k, { value: toValue(v), enumerable: true, writable: true, configurable: true });
  return { fields };
}

/** POSTs JSON over REST. */
export function postJson(baseUrl: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const now = () => Math.floor(Date.now() / 1000);

/** Claims of a token the server itself would issue for `sub`. */
export function validClaims(sub: string): Record<string, unknown> {
  return { sub, iss: "playsmart", aud: "playsmart-games", iat: now(), exp: now() + 600 };
}

/** Signs `claims` with the server's own test key (EdDSA, its kid) unless the header says otherwise. */
export async function signWithServerKey(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importPKCS8(testSigningKeyPem, "EdDSA");
  return new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid: testKeyId, typ: "JWT", ...header }).sign(key);
}

/** Signs any header and payload with the server's key by hand (jose refuses to sign some of them). */
export function rawSignWithServerKey(header: Record<string, unknown>, claims: Record<string, unknown>): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = cryptoSign(null, Buffer.from(input), createPrivateKey(testSigningKeyPem)).toString("base64url");
  return `${input}.${sig}`;
}

/**
 * Tokens that must be refused everywhere, by name, for a player `sub`. `jwks` is
 * the server's published key set (for the HS256-with-the-public-key attacks).
 */
export async function forgedTokens(sub: string, jwks: Array<Record<string, unknown>>): Promise<Array<[string, string]>> {
  const other = generateKeyPairSync("ed25519");
  const otherPem = other.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const otherKey = await importPKCS8(otherPem, "EdDSA");
  const otherJwk = await exportJWK(await importPKCS8(otherPem, "EdDSA", { extractable: true }));
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const ecKey = await importPKCS8(ec.privateKey.export({ type: "pkcs8", format: "pem" }).toString(), "ES256");
  const c = validClaims(sub);
  const hs = (secret: string | Buffer, header: Record<string, unknown> = { alg: "HS256", kid: testKeyId, typ: "JWT" }) => {
    const h = b64(header);
    const p = b64(c);
    return `${h}.${p}.${createHmac("sha256", secret).update(`${h}.${p}`).digest("base64url")}`;
  };
  const publicJwk = jwks[0] ?? {};
  const publicPem = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "pem" }).toString();
  const { sub: _sub, ...noSub } = c;
  const { exp: _exp, ...noExp } = c;
  const valid = await signWithServerKey(c);
  const [vh, vp, vs] = valid.split(".") as [string, string, string];
  return [
    ["with an unknown kid", await signWithServerKey(c, { kid: "unknown-kid" })],
    ["with an empty kid", await signWithServerKey(c, { kid: "" })],
    ["expired", await signWithServerKey({ ...c, iat: now() - 1200, exp: now() - 600 })],
    ["not valid yet (nbf in an hour)", await signWithServerKey({ ...c, nbf: now() + 3600 })],
    ["without exp", await signWithServerKey(noExp)],
    ["without sub", await signWithServerKey(noSub)],
    ["with an empty sub", await signWithServerKey({ ...c, sub: "" })],
    ["of another issuer", await signWithServerKey({ ...c, iss: "evil" })],
    ["without an issuer", await signWithServerKey({ ...c, iss: undefined })],
    ["for another audience", await signWithServerKey({ ...c, aud: "other-service" })],
    ["for several audiences, not ours", await signWithServerKey({ ...c, aud: ["a", "b"] })],
    ["signed by another Ed25519 key under the server's kid", await new SignJWT(c).setProtectedHeader({ alg: "EdDSA", kid: testKeyId }).sign(otherKey)],
    ["signed by another key that it embeds (jwk header)", await new SignJWT(c).setProtectedHeader({ alg: "EdDSA", kid: testKeyId, jwk: { kty: "OKP", crv: "Ed25519", x: otherJwk.x! } }).sign(otherKey)],
    ["ES256 with a key of its own", await new SignJWT(c).setProtectedHeader({ alg: "ES256", kid: testKeyId }).sign(ecKey)],
    ["HS256 keyed with the public JWK as JSON", hs(JSON.stringify(publicJwk))],
    ["HS256 keyed with the public key's x", hs(String(publicJwk.x ?? ""))],
    ["HS256 keyed with the raw public key bytes", hs(Buffer.from(String(publicJwk.x ?? ""), "base64url"))],
    ["HS256 keyed with a PEM public key", hs(publicPem)],
    ["alg none", `${b64({ alg: "none", typ: "JWT" })}.${b64(c)}.`],
    ["alg None", `${b64({ alg: "None", kid: testKeyId })}.${b64(c)}.`],
    ["alg none with the original signature", `${b64({ alg: "none", kid: testKeyId })}.${vp}.${vs}`],
    ["with a crit header it cannot understand", rawSignWithServerKey({ alg: "EdDSA", kid: testKeyId, crit: ["x-must"], "x-must": 1 }, c)],
    ["with sub a number", rawSignWithServerKey({ alg: "EdDSA", kid: testKeyId }, { ...c, sub: 12345 })],
    ["with exp a string", rawSignWithServerKey({ alg: "EdDSA", kid: testKeyId }, { ...c, exp: String(now() + 600) })],
    ["with a tampered payload", `${vh}.${b64({ ...c, sub: `${sub}x` })}.${vs}`],
    ["with a truncated signature", `${vh}.${vp}.${vs.slice(0, -4)}`],
    ["with the signature of another token", `${vh}.${b64({ ...c, exp: now() + 99999 })}.${vs}`],
    ["as a JWE-shaped five-part token", `${vh}.${vp}.${vs}.x.y`],
    ["malformed", "not.a.jwt"],
    ["garbage", "x"],
  ];
}

/** A Writable that collects log lines, and what it collected. */
export function logSink(): { sink: Writable; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { sink, lines };
}
