/** Repeated measurement: every figure is the median of `runs` runs, with its range. */
export interface Figure {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  /** Name of the baseline row measured in the same run, and this figure divided by it. */
  baseline?: string;
  ratio?: number;
  note?: string;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Run `once` `runs` times; it returns a rate (or any figure); returns median and range. */
export async function repeat(
  name: string,
  unit: string,
  runs: number,
  once: (run: number) => Promise<number> | number,
): Promise<Figure> {
  const xs: number[] = [];
  for (let r = 0; r < runs; r++) xs.push(await once(r));
  return { name, unit, median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs };
}

export function withBaseline(f: Figure, base: Figure | undefined): Figure {
  if (!base || base.median === 0) return f;
  return { ...f, baseline: base.name, ratio: f.median / base.median };
}

/** Wall time of `fn` in ms. */
export async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export function rate(n: number, ms: number): number {
  return (n / ms) * 1000;
}

function fmt(x: number): string {
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** Sections written elsewhere may pass the baseline as a Figure: keep its name. */
export function normalize(f: Figure): Figure {
  const b = f.baseline as unknown;
  return b && typeof b === 'object' && 'name' in b
    ? { ...f, baseline: String((b as { name: unknown }).name) }
    : f;
}

export function table(figures: Figure[]): string {
  const rows = figures
    .map(normalize)
    .map((f) => [
      f.name,
      `${fmt(f.median)} ${f.unit}`,
      `${fmt(f.min)}–${fmt(f.max)}`,
      f.ratio === undefined ? '' : `${f.ratio.toFixed(2)}× ${f.baseline}`,
      f.note ?? '',
    ]);
  const head = ['benchmark', 'median', 'range', 'vs baseline (same run)', 'note'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}
