// Bench: the figures of a results table as text (dashes for what is missing), and the padded Markdown table itself.

export const num = (value: number | undefined, digits: number): string =>
  value === undefined || Number.isNaN(value) ? '–' : value.toFixed(digits);
export const ratio = (value: number | undefined): string => (value === undefined || Number.isNaN(value) ? '–' : `${value.toFixed(2)}×`);
export const signed = (value: number | undefined): string =>
  value === undefined || Number.isNaN(value) ? '–' : `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
export const mib = (bytes: number | undefined): string => num(bytes === undefined ? undefined : bytes / 1024 / 1024, 1);

/** Cells padded into a Markdown table: the first column left-aligned, the figures right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
