/** One scrape: series (name plus sorted labels) to value. */
export type Scrape = Map<string, { name: string; labels: Record<string, string>; value: number }>;

/** Fetches and parses a Prometheus text exposition; an unreachable endpoint gives an empty scrape. */
export async function scrape(url: string): Promise<Scrape> {
  const out: Scrape = new Map();
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    text = await res.text();
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.set(line.slice(0, line.lastIndexOf(" ")), { name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of every series of `name` (over all label sets). */
export function total(s: Scrape, name: string): number {
  let sum = 0;
  for (const v of s.values()) if (v.name === name) sum += v.value;
  return sum;
}

/** Cumulative bucket counts of histogram `name`, summed over label sets, by upper bound. */
export function buckets(s: Scrape, name: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const v of s.values()) {
    if (v.name !== `${name}_bucket`) continue;
    const le = v.labels.le === "+Inf" ? Infinity : Number(v.labels.le);
    out.set(le, (out.get(le) ?? 0) + v.value);
  }
  return out;
}

/** `after - before` of cumulative buckets (what happened between two scrapes). */
export function bucketDelta(after: Map<number, number>, before: Map<number, number>): Map<number, number> {
  const out = new Map<number, number>();
  for (const [le, n] of after) out.set(le, n - (before.get(le) ?? 0));
  return out;
}

/**
 * Quantile `q` of cumulative buckets, interpolated linearly inside the bucket
 * as Prometheus' histogram_quantile does; undefined without observations.
 */
export function bucketQuantile(cumulative: Map<number, number>, q: number): number | undefined {
  const sorted = [...cumulative].sort(([a], [b]) => a - b);
  const count = sorted.at(-1)?.[1] ?? 0;
  if (count <= 0) return undefined;
  const rank = q * count;
  let prevLe = 0;
  let prevN = 0;
  for (const [le, n] of sorted) {
    if (n >= rank) {
      if (le === Infinity) return prevLe;
      return prevLe + ((le - prevLe) * (rank - prevN)) / Math.max(n - prevN, 1e-9);
    }
    prevLe = le;
    prevN = n;
  }
  return prevLe;
}
