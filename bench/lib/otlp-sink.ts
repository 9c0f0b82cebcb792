import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in OTLP/HTTP collector for the bench: answers every export with 200
 * and counts exports and spans (JSON bodies), so a traced gateway pays the
 * real cost of exporting without a collector on the machine.
 */
export async function startOtlpSink(): Promise<{ url: string; exports: () => number; spans: () => number; stop: () => Promise<void> }> {
  let exports = 0;
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      exports++;
      spans += countSpans(Buffer.concat(chunks).toString("utf8"));
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    exports: () => exports,
    spans: () => spans,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function countSpans(body: string): number {
  try {
    const parsed = JSON.parse(body) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> };
    return (parsed.resourceSpans ?? []).reduce((n, r) => n + (r.scopeSpans ?? []).reduce((m, s) => m + (s.spans?.length ?? 0), 0), 0);
  } catch {
    return 0;
  }
}
