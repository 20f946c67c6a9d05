import { styleText } from 'node:util';

/**
 * Everything a command prints as its result goes to stdout through here: an aligned table or
 * key/value block for people, or exactly one JSON document with --json. Logs and errors go to
 * stderr, so `brokkr jobs q --json | jq` never sees anything but the document.
 */

type Style = Parameters<typeof styleText>[0];

export interface Column<Row> {
  header: string;
  value: (row: Row) => string;
  align?: 'left' | 'right';
  /** longer cells are cut with an ellipsis, so one long error message does not wrap every row */
  maxWidth?: number;
  style?: (row: Row) => Style | undefined;
}

/** Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !process.env.NO_COLOR;
}

export function paint(style: Style | undefined, text: string, color = useColor()): string {
  return style && color ? styleText(style, text) : text;
}

export function renderTable<Row>(columns: Column<Row>[], rows: Row[], color = useColor()): string {
  const cells = rows.map((row) => columns.map((c) => truncate(oneLine(c.value(row)), c.maxWidth)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const pad = (text: string, i: number) => (columns[i]!.align === 'right' ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  const last = columns.length - 1;
  const header = columns.map((c, i) => (i === last ? c.header : pad(c.header, i))).join('  ');
  const lines = [paint('bold', header, color)];
  rows.forEach((row, r) => {
    const line = columns.map((c, i) => {
      // padding the last column would only add trailing spaces
      const text = i === last && c.align !== 'right' ? cells[r]![i]! : pad(cells[r]![i]!, i);
      return paint(c.style?.(row), text, color);
    });
    lines.push(line.join('  ').trimEnd());
  });
  return lines.join('\n');
}

/** Label / value pairs, labels aligned; a value of several lines is indented under its label. */
export function renderFields(fields: [label: string, value: string][], color = useColor()): string {
  const width = Math.max(...fields.map(([label]) => label.length));
  return fields
    .map(([label, value]) => {
      const [first, ...rest] = value.split('\n');
      const indent = ' '.repeat(width + 2);
      return [`${paint('bold', label.padEnd(width), color)}  ${first}`, ...rest.map((l) => indent + l)].join('\n');
    })
    .join('\n');
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A JSON value on one line for a table cell or a field (strings as they are). */
export function compactJson(value: unknown): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A status in the colour people expect: failed red, completed green, and so on. */
export function statusStyle(status: string): Style | undefined {
  switch (status) {
    case 'completed':
      return 'green';
    case 'failed':
      return 'red';
    case 'active':
      return 'cyan';
    case 'retrying':
    case 'canceled':
      return 'yellow';
    default:
      return undefined;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function truncate(text: string, maxWidth: number | undefined): string {
  if (maxWidth === undefined || text.length <= maxWidth) return text;
  return `${text.slice(0, maxWidth - 1)}…`;
}
