/** One measured figure of one system: every run's value, and whether other load disturbed a run. */
export interface Sample {
  values: number[];
  disturbed: number;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fmt(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** "median (min-max)", with a mark when a run was disturbed by other load. */
export function cell(sample: Sample | undefined, digits = 0): string {
  if (!sample || sample.values.length === 0) return '-';
  const m = fmt(median(sample.values), digits);
  const spread = sample.values.length > 1 ? ` (${fmt(Math.min(...sample.values), digits)}-${fmt(Math.max(...sample.values), digits)})` : '';
  return `${m}${spread}${sample.disturbed ? ' *' : ''}`;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** A line chart of throughput by concurrency, one line per system, as a standalone SVG. */
export function throughputSvg(levels: number[], series: { name: string; values: number[] }[]): string {
  const w = 640;
  const h = 360;
  const pad = { l: 70, r: 160, t: 30, b: 50 };
  const max = Math.max(1, ...series.flatMap((s) => s.values.filter(Number.isFinite))) * 1.1;
  const x = (i: number) => pad.l + (levels.length === 1 ? 0 : (i * (w - pad.l - pad.r)) / (levels.length - 1));
  const y = (v: number) => h - pad.b - (v / max) * (h - pad.t - pad.b);
  const colours = ['#d9480f', '#1c7ed6', '#5c940d', '#862e9c', '#495057'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="12">`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${pad.l}" y="18" font-size="14">No-op jobs per second by concurrency (higher is better)</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    parts.push(`<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#dee2e6"/>`);
    parts.push(`<text x="${pad.l - 8}" y="${y(v) + 4}" text-anchor="end">${fmt(v)}</text>`);
  }
  levels.forEach((c, i) => {
    parts.push(`<text x="${x(i)}" y="${h - pad.b + 18}" text-anchor="middle">C=${c}</text>`);
  });
  series.forEach((s, k) => {
    const colour = colours[k % colours.length];
    const points = s.values.map((v, i) => `${x(i)},${y(v)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2.5" points="${points}"/>`);
    for (const [i, v] of s.values.entries()) parts.push(`<circle cx="${x(i)}" cy="${y(v)}" r="3.5" fill="${colour}"/>`);
    parts.push(`<rect x="${w - pad.r + 16}" y="${pad.t + k * 22}" width="14" height="4" fill="${colour}"/>`);
    parts.push(`<text x="${w - pad.r + 36}" y="${pad.t + k * 22 + 6}">${s.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}
