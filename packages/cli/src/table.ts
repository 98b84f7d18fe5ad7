export interface TableOptions {
  /** Cut every line to this many characters (a terminal's width, so nothing wraps). */
  maxWidth?: number;
  /** Put before every line. */
  indent?: string;
}

// C0 and C1 controls, DEL and ESC: a host's error text must not move the cursor or recolour the terminal.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]+/g;

/** One line of text fit for a terminal: control characters and line breaks become one space. */
export function clean(text: string): string {
  return text.replace(CONTROL, ' ').trim();
}

/** Cuts a line to `width` characters, ending it with `…` when it was longer. */
export function truncate(line: string, width: number): string {
  if (width < 1 || line.length <= width) return line;
  return `${line.slice(0, width - 1)}…`;
}

/** Renders aligned columns, two spaces apart, the last one not padded. */
export function renderTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string[] {
  const cleaned = [headers, ...rows].map((row) => headers.map((_, i) => clean(row[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...cleaned.map((row) => row[i]!.length)));
  const last = headers.length - 1;
  return cleaned.map((row) => {
    const line =
      `${options.indent ?? ''}${row.map((cell, i) => (i === last ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd();
    return options.maxWidth ? truncate(line, options.maxWidth) : line;
  });
}

/** `key  value` lines with the keys aligned. */
export function renderPairs(pairs: readonly (readonly [string, string])[], indent = ''): string[] {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${indent}${key.padEnd(width)}  ${clean(value)}`.trimEnd());
}
