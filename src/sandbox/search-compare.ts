/**
 * Criteria comparisons (`=`, `LIKE`, `BETWEEN`, `IN`, `IS NULL`, ...) over the values a field has in
 * a row, typed by the field as XNAT's SQL would compare them (dates and numbers not as text).
 */
import { SandboxHttpError } from './errors.js';
import type { FieldType } from './search-display.js';

export type Predicate = (values: string[]) => boolean;

/** `MM/DD/YYYY` (what xnatpy sends) or ISO, normalised to ISO so dates compare as strings. */
function normalizeDate(value: string): string {
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(.*)$/.exec(value.trim());
  if (us?.[1] && us[2] && us[3])
    return `${us[3]}-${us[1].padStart(2, '0')}-${us[2].padStart(2, '0')}${us[4] ?? ''}`;
  return value.trim();
}

function comparer(type: FieldType, operand: string): (value: string) => number | undefined {
  if (type === 'date') {
    const target = normalizeDate(operand);
    // A date-only operand compares against the date part of timestamps.
    return (value) => {
      const v = target.length <= 10 ? value.slice(0, 10) : value;
      return v < target ? -1 : v > target ? 1 : 0;
    };
  }
  const numeric = Number(operand);
  if ((type === 'integer' || type === 'float') && operand.trim() !== '' && Number.isFinite(numeric)) {
    return (value) => {
      const n = Number(value);
      return value.trim() === '' || !Number.isFinite(n) ? undefined : n - numeric;
    };
  }
  return (value) => (value < operand ? -1 : value > operand ? 1 : 0);
}

function likePattern(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '%' || c === '*' ? '.*' : c === '_' ? '.' : c.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  // Inferred: XNAT's display search matches LIKE case-insensitively; the sandbox does the same.
  return new RegExp(`^${body}$`, 'is');
}

/**
 * A comparison as XNAT's SQL makes it. For display fields (`display`), DisplayCriteria#handleValues
 * also turns `=` with a blank value into IS NULL, a `*` value into IS NOT NULL, and `!=` into
 * `(x != v OR x IS NULL)`.
 */
export function predicate(comparison: string, rawValue: string, type: FieldType, display = false): Predicate {
  let op = comparison.trim().toUpperCase().replace(/\s+/g, ' ');
  let value = rawValue;
  if (op === 'IS' || op === 'IS NOT') {
    const v = value.trim().toUpperCase();
    op = op === 'IS' ? (v === 'NOT NULL' ? 'IS NOT NULL' : 'IS NULL') : 'IS NOT NULL';
    value = '';
  }
  if (display && !op.includes('LIKE') && !op.startsWith('IS')) {
    if (op === '=' && value.trim() === '') op = 'IS NULL';
    else if (op !== '!=' && op !== 'IN' && op !== 'BETWEEN' && value.trim() === '*') op = 'IS NOT NULL';
    else if (op === '!=') {
      const compare = comparer(type, value);
      return (values) => values.length === 0 || values.every((v) => compare(v) !== 0);
    }
  }
  const any =
    (test: (v: string) => boolean): Predicate =>
    (values) =>
      values.some(test);
  const ordered = (test: (c: number) => boolean): Predicate => {
    const compare = comparer(type, value);
    return any((v) => {
      const c = compare(v);
      return c !== undefined && test(c);
    });
  };
  switch (op) {
    case '=':
      return ordered((c) => c === 0);
    case '!=':
    case '<>':
      return (values) => values.length > 0 && values.every((v) => comparer(type, value)(v) !== 0);
    case '<':
      return ordered((c) => c < 0);
    case '<=':
      return ordered((c) => c <= 0);
    case '>':
      return ordered((c) => c > 0);
    case '>=':
      return ordered((c) => c >= 0);
    case 'LIKE': {
      const re = likePattern(type === 'date' ? normalizeDate(value) : value);
      return any((v) => re.test(v));
    }
    case 'NOT LIKE': {
      const re = likePattern(value);
      return (values) => !values.some((v) => re.test(v));
    }
    case 'IS NULL':
      return (values) => values.length === 0;
    case 'IS NOT NULL':
      return (values) => values.length > 0;
    case 'BETWEEN': {
      // Split at the first " AND "; each bound loses surrounding quotes (DisplayCriteria#handleValues).
      const and = value.toUpperCase().indexOf(' AND ');
      const bounds =
        and < 0
          ? []
          : [value.slice(0, and), value.slice(and + 5)].map((b) => b.trim().replace(/^['"]+|['"]+$/g, ''));
      if (bounds.length !== 2 || !bounds[0] || !bounds[1]) {
        throw new SandboxHttpError(
          400,
          `BETWEEN needs a value of the form "<low> AND <high>", got "${value}".`,
        );
      }
      const low = comparer(type, bounds[0]);
      const high = comparer(type, bounds[1]);
      return any((v) => {
        const l = low(v);
        const h = high(v);
        return l !== undefined && h !== undefined && l >= 0 && h <= 0;
      });
    }
    case 'IN': {
      const options = value
        .replace(/^\s*\(|\)\s*$/g, '')
        .split(',')
        .map((o) => o.trim().replace(/^'(.*)'$/s, '$1'))
        .filter((o) => o !== '')
        .map((o) => comparer(type, o));
      return any((v) => options.some((compare) => compare(v) === 0));
    }
    default:
      throw new SandboxHttpError(
        400,
        `Unsupported comparison_type "${comparison.trim()}" (use =, !=, <, <=, >, >=, LIKE, IS NULL, IS NOT NULL, BETWEEN or IN).`,
      );
  }
}
