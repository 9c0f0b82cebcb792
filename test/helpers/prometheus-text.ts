/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), so a
 * test can both check that `/metrics` parses and read exact sample values.
 */

/** One sample: metric name, labels, value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

// Values are Go floats (strconv.ParseFloat): NaN and Inf in any letter case.
const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|[Nn][Aa][Nn]|[+-]?[Ii][Nn][Ff])( -?\d+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;

/** Parses the whole text; throws on the first line that is not valid. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  const typed = new Set<string>();
  for (const [i, line] of text.split("\n").entries()) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [, , name, type] = line.split(" ");
      if (!name || !["counter", "gauge", "histogram", "summary", "untyped"].includes(type ?? "")) {
        throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
      }
      typed.add(name);
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = sampleLine.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      labelPair.lastIndex = 0;
      let consumed = 0;
      let lm: RegExpExecArray | null;
      while ((lm = labelPair.exec(m[3])) !== null) {
        labels[lm[1]!] = lm[2]!.replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
        consumed = labelPair.lastIndex;
        if (lm[3] === "") break;
      }
      if (consumed !== m[3].length) throw new Error(`line ${i + 1}: bad labels: ${line}`);
    }
    const raw = m[4]!.toLowerCase();
    const value = raw === "nan" ? NaN : raw.endsWith("inf") ? (raw.startsWith("-") ? -Infinity : Infinity) : Number(raw);
    samples.push({ name: m[1]!, labels, value });
  }
  if (typed.size === 0) throw new Error("no TYPE lines");
  return samples;
}

/** The value of the sample with this name and exactly these labels (0 when absent). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels);
  const hit = samples.find(
    (s) => s.name === name && want.length === Object.keys(s.labels).length && want.every(([k, v]) => s.labels[k] === v),
  );
  return hit?.value ?? 0;
}
