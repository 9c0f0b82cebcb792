/**
 * Opaque page tokens: the cursor (the last row's key) in base64url, so clients
 * treat it as a token rather than building one. Decoding returns undefined for
 * anything this server could not have issued.
 */

/** Wraps a cursor value in a token. */
export function encodePageToken(cursor: string): string {
  return Buffer.from(cursor, "utf8").toString("base64url");
}

/** The cursor inside `token`, or undefined when it is not a token of ours. */
export function decodePageToken(token: string, isCursor: (cursor: string) => boolean): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(token)) return undefined;
  const cursor = Buffer.from(token, "base64url").toString("utf8");
  // Re-encoding must give the same token, which refuses padding tricks and
  // invalid UTF-8.
  if (encodePageToken(cursor) !== token) return undefined;
  return isCursor(cursor) ? cursor : undefined;
}
