/**
 * Summarises V8 CPU profiles (`node --cpu-prof`): where the process spent its
 * CPU, by area (our src/ files, each npm package, Node internals, GC) and by
 * function, self and inclusive. `npm run bench -- --cpu-prof` calls it on the
 * service profiles; it also runs alone:
 *
 *   node --import tsx bench/tools/profile-summary.ts <file.cpuprofile | dir>
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Shares of CPU time, in % of the non-idle samples. */
export interface ProfileSummary {
  file: string;
  cpuMs: number;
  areas: Array<[area: string, pct: number]>;
  selfTop: Array<[fn: string, pct: number]>;
  /** Functions of src/ and gen/ with their callees included. */
  inclusiveTop: Array<[fn: string, pct: number]>;
}

function areaOf(url: string, fn: string): string {
  if (url === "") return fn.startsWith("(") ? fn : "(native)";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + 14).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith("node:")) return url.split("/").slice(0, 2).join("/");
  for (const dir of ["/src/", "/gen/", "/bench/", "/bin/"]) {
    const at = url.lastIndexOf(dir);
    if (at >= 0) return url.slice(at + 1);
  }
  return url;
}

function label(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  // Node internals by full module; tsx-compiled sources report line 0 everywhere, so no line for those.
  const where = url.startsWith("node:") ? url : areaOf(url, functionName);
  return `${functionName || "(anonymous)"} ${where}${url && lineNumber > 0 ? `:${lineNumber + 1}` : ""}`;
}

const top = (m: Map<string, number>, total: number, n: number): Array<[string, number]> =>
  [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => [k, Math.round((v / total) * 1000) / 10]);

/** Summarises one profile. */
export function summarizeProfile(file: string): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const areas = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    if (node.callFrame.functionName === "(idle)") continue;
    const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
    total += dt;
    const name = label(node);
    self.set(name, (self.get(name) ?? 0) + dt);
    const area = areaOf(node.callFrame.url, node.callFrame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const url = n.callFrame.url;
      if (!url.includes("/src/") && !url.includes("/gen/")) continue;
      const fn = label(n);
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + dt);
    }
  }
  return {
    file: `${basename(dirname(file))}/${basename(file)}`,
    cpuMs: Math.round(total / 1000),
    areas: top(areas, total, 14),
    selfTop: top(self, total, 18),
    inclusiveTop: top(inclusive, total, 18),
  };
}

/**
 * The main-thread profiles under `dir` (one subdirectory per process): Node's
 * default names end `.<pid>.<tid>.<seq>.cpuprofile`, and tid 0 is the main
 * thread; the others are tsx's loader thread.
 */
function mainThreadProfiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...mainThreadProfiles(path));
    else if (/\.\d+\.0\.\d+\.cpuprofile$/.test(entry)) out.push(path);
  }
  return out;
}

/** Summaries of every main-thread profile under `dir`, as text and JSON. */
export function summarizeProfiles(dir: string): { text: string; json: ProfileSummary[] } {
  const files = statSync(dir).isDirectory() ? mainThreadProfiles(dir) : [dir];
  const json = files.map(summarizeProfile);
  const lines: string[] = [];
  for (const s of json) {
    lines.push(`profile ${s.file}: ${s.cpuMs} ms of CPU (idle excluded)`);
    lines.push("  by area (self):");
    for (const [k, v] of s.areas) lines.push(`    ${v.toFixed(1).padStart(5)}%  ${k}`);
    lines.push("  hottest functions (self):");
    for (const [k, v] of s.selfTop) lines.push(`    ${v.toFixed(1).padStart(5)}%  ${k}`);
    lines.push("  src/ and gen/ functions (inclusive of callees):");
    for (const [k, v] of s.inclusiveTop) lines.push(`    ${v.toFixed(1).padStart(5)}%  ${k}`);
  }
  return { text: lines.join("\n"), json };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write("usage: node --import tsx bench/tools/profile-summary.ts <file.cpuprofile | dir>\n");
    process.exit(2);
  }
  process.stdout.write(summarizeProfiles(target).text + "\n");
}
