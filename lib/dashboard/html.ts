/**
 * Markup built from untrusted text. Job data, results, errors, logs and even queue names come from
 * whoever enqueued or ran a job, so every value interpolated into a page is escaped unless it is
 * markup this module made itself: there is no way to pass a plain string through unescaped.
 */

/** Only this module holds it, so no other code can wrap a plain string as SafeHtml. */
const MINT = Symbol('SafeHtml');

/** Markup that is already safe to send: made by `html` (or `joinHtml`), never from a plain string. */
export class SafeHtml {
  constructor(
    mint: symbol,
    readonly value: string,
  ) {
    if (mint !== MINT) throw new TypeError('SafeHtml is made by the html template only');
  }

  toString(): string {
    return this.value;
  }
}

/** What a template accepts: markup, text (escaped), numbers, nothing (null, undefined, false), or lists of these. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Text safe in element content and in quoted attribute values. Quotes are escaped too, so a value
 * cannot end the attribute it sits in; templates always quote their attributes.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** The tagged template every page is written with: html`<td>${job.name}</td>` escapes `job.name`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new SafeHtml(MINT, out);
}

export function joinHtml(parts: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  return new SafeHtml(MINT, parts.map(render).join(render(separator)));
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.value;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === true) return '';
  return escapeHtml(String(value));
}

/**
 * A path segment for a link: queue names may hold `/`, `?` or `#`, and a name of `.` or `..` would
 * be folded away by the browser before the request is sent, so dots are encoded too.
 */
export function pathSegment(text: string): string {
  return encodeURIComponent(text).replace(/\./g, '%2E');
}
