/**
 * Job data and results are stored as JSON. JSON.stringify silently changes what it cannot carry
 * (drops functions and undefined members, turns NaN into null, throws on BigInt and cycles), so
 * a value is checked first and refused with a path to the first offending part.
 * A Date is accepted and becomes its ISO string, as JSON.stringify makes it.
 */
export function findUnfaithfulJson(value: unknown, label: string): string | null {
  return walk(value, label, new Set<object>(), true);
}

function walk(value: unknown, path: string, ancestors: Set<object>, topLevel: boolean): string | null {
  const at = path;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : `${at} is ${value}, which JSON cannot carry`;
    case 'undefined':
      return topLevel ? `${at} is undefined` : `${at} is undefined, which JSON drops`;
    case 'bigint':
      return `${at} is a BigInt, which JSON cannot carry`;
    case 'function':
      return `${at} is a function, which JSON cannot carry`;
    case 'symbol':
      return `${at} is a symbol, which JSON cannot carry`;
    default:
      break;
  }
  if (value === null || value instanceof Date) return null;
  const obj = value as object;
  if (ancestors.has(obj)) return `${at} is a circular reference`;
  if (typeof (obj as { toJSON?: unknown }).toJSON === 'function') {
    return `${at} has a toJSON method, so its stored form would differ from it`;
  }
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        const problem = walk(obj[i], `${path}[${i}]`, ancestors, false);
        if (problem) return problem;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${at} is a ${kind}, not a plain object, array or Date`;
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) return `${at} has symbol keys, which JSON drops`;
    for (const key of Object.keys(obj)) {
      const problem = walk((obj as Record<string, unknown>)[key], `${path}.${key}`, ancestors, false);
      if (problem) return problem;
    }
    return null;
  } finally {
    ancestors.delete(obj);
  }
}
