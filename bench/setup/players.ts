import type { LoadPlayer } from "../load/job.js";

/**
 * Registers `count` players over REST, `concurrency` at a time. Each register
 * costs the server one scrypt hash (~50 ms of a thread-pool thread), so going
 * concurrently keeps set-up to seconds.
 */
export async function registerPlayers(baseUrl: string, count: number, tag: string, concurrency = 8): Promise<LoadPlayer[]> {
  const players: LoadPlayer[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const email = `bench-${tag}-${i}@example.com`;
      const res = await withRetries(`register ${email}`, () =>
        fetch(`${baseUrl}/auth/register`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ email, password: "bench password 123" }),
        }),
      );
      const text = await res.text();
      // 409: an earlier attempt got through before its connection failed; log in instead.
      const final = res.status === 409
        ? await fetch(`${baseUrl}/auth/login`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ email, password: "bench password 123" }),
          }).then(async (r) => ({ status: r.status === 200 ? 201 : r.status, text: await r.text() }))
        : { status: res.status, text };
      if (final.status !== 201) throw new Error(`register answered ${final.status}: ${final.text}`);
      const body = JSON.parse(final.text) as { user_id: string; access_token: string };
      players[i] = { userId: body.user_id, accessToken: body.access_token };
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return players;
}

/**
 * Runs `fn` up to 3 times while it fails before any answer (a reset or refused
 * connection, e.g. while other processes load the machine), and names the
 * underlying cause when it gives up: undici's own message is only "fetch failed".
 */
export async function withRetries<T>(what: string, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      if (attempt >= 3) throw new Error(`${what}: ${reason}`);
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}
