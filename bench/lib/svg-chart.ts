/** One point of a line chart. */
export interface ChartPoint {
  x: number;
  y: number;
}

/** Options of {@link lineChartSvg}. */
export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  points: readonly ChartPoint[];
  /** A horizontal reference line (e.g. a target), with its label. */
  reference?: { y: number; label: string };
}

const width = 720;
const height = 420;
const margin = { left: 80, right: 24, top: 48, bottom: 56 };

/**
 * A line chart as a standalone SVG document, with axes, ticks and an optional
 * reference line: enough to see a curve's shape in a browser or an image
 * viewer, with no charting dependency.
 */
export function lineChartSvg(options: LineChartOptions): string {
  const { points } = options;
  const xs = points.map((p) => p.x);
  const ys = [...points.map((p) => p.y), ...(options.reference ? [options.reference.y] : [])];
  const xMax = niceCeil(Math.max(1, ...xs));
  const yMax = niceCeil(Math.max(1, ...ys) * 1.1);
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const px = (x: number) => margin.left + (x / xMax) * plotW;
  const py = (y: number) => margin.top + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${width / 2}" y="28" text-anchor="middle" font-size="16">${escape(options.title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const yv = (yMax * i) / 5;
    const xv = (xMax * i) / 5;
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${py(yv)}" y2="${py(yv)}" stroke="#ddd"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${py(yv) + 4}" text-anchor="end" font-size="12">${format(yv)}</text>`);
    parts.push(`<text x="${px(xv)}" y="${height - margin.bottom + 18}" text-anchor="middle" font-size="12">${format(xv)}</text>`);
  }
  parts.push(`<line x1="${margin.left}" x2="${margin.left}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="black"/>`);
  parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${margin.top + plotH}" y2="${margin.top + plotH}" stroke="black"/>`);
  parts.push(`<text x="${margin.left + plotW / 2}" y="${height - 14}" text-anchor="middle" font-size="13">${escape(options.xLabel)}</text>`);
  parts.push(`<text x="18" y="${margin.top + plotH / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 18 ${margin.top + plotH / 2})">${escape(options.yLabel)}</text>`);
  if (options.reference) {
    const y = py(options.reference.y);
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${y}" y2="${y}" stroke="#c33" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${margin.left + 6}" y="${y + 16}" font-size="12" fill="#c33">${escape(options.reference.label)}</text>`);
  }
  if (points.length > 0) {
    parts.push(`<polyline fill="none" stroke="#1f5fbf" stroke-width="2" points="${points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ")}"/>`);
    for (const p of points) parts.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3" fill="#1f5fbf"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n${parts.join("\n")}\n</svg>\n`;
}

// 1, 2 or 5 times a power of ten, at or above `v`.
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function format(v: number): string {
  if (v >= 1000) return `${Math.round(v / 1000).toLocaleString("en-US")}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function escape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
