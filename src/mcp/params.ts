/** Input parameters several tools share, described once so every tool explains IDs the same way. */
import * as z from 'zod';

// The short pattern is what tools/list shows; isCalendarDate rejects months and days that don't exist.
const ISO_DATE = /^\d{4}-\d\d-\d\d$/;

function isCalendarDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

/**
 * Bounds checked before anything is sent: XNAT's IDs and labels are short (its own checks allow
 * letters, digits, `_` and `-`), so longer text is a mistake, and XNAT would answer it with a bare
 * 414/431 or a 404 that says nothing about length.
 */
export const MAX_ID_LENGTH = 255;
/** File paths inside a resource, remote folders. */
export const MAX_PATH_LENGTH = 1024;
/** Local paths (PATH_MAX on Linux). */
export const MAX_LOCAL_PATH_LENGTH = 4096;

// A lone UTF-16 surrogate cannot be sent (no UTF-8 for it); control characters are never in XNAT's names.
const UNSENDABLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Bounded, sendable text; `what` names it in the messages. Emptiness is refused by a refinement, not
 * `.min(1)`: the check is the same, but it stays out of tools/list, where 60-odd `minLength: 1` would
 * cost the default listing ~900 characters and tell a model nothing it does not know.
 */
export function textParam(what: string, max: number = MAX_ID_LENGTH) {
  return z
    .string()
    .max(max, `${what} is too long: at most ${max} characters`)
    .refine((text) => text.length > 0, { message: `${what} must not be empty`, abort: true })
    .refine((text) => !UNSENDABLE.test(text), {
      message: `${what} contains a control character or an unpaired UTF-16 surrogate; pass plain text`,
    });
}

/**
 * An XNAT ID or label: text, or a whole number for the numeric-looking ones (scan `2`, project
 * `1001`), which hosts such as MCP Inspector send as JSON numbers. The listed schema says both.
 */
export function idParam(what: string, max: number = MAX_ID_LENGTH) {
  return z.union([textParam(what, max), z.number().int().transform(String).pipe(textParam(what, max))], {
    error: `${what} must be text (or a whole number), at most ${max} characters`,
  });
}

export const projectParam = idParam('Project ID').describe('Project ID (from listProjects)');

export const optionalProjectParam = idParam('Project ID')
  .optional()
  .describe('Project ID; needed with a label');

export const subjectParam = idParam('Subject').describe('Accession ID (XNAT_S…) or label with `project`');

export const experimentParam = idParam('Experiment').describe(
  'Accession ID (XNAT_E…) or label with `project`',
);

export const scanParam = idParam('Scan ID');

export const assessorParam = idParam('Assessor');

/** A file's path inside its resource, as listFiles gives it. */
export const filePathParam = textParam('File path', MAX_PATH_LENGTH).describe(
  'File path in the resource (from listFiles)',
);

// eslint-disable-next-line no-control-regex
const UNSENDABLE_PATH = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A local file or folder, checked against the allowed roots later (safety.ts); any name the OS allows. */
export const localPathParam = z
  .string()
  .min(1, 'Local path must not be empty')
  .max(MAX_LOCAL_PATH_LENGTH, `Local path is too long: at most ${MAX_LOCAL_PATH_LENGTH} characters`)
  .refine((text) => !UNSENDABLE_PATH.test(text), {
    message: 'Local path contains a NUL character or an unpaired UTF-16 surrogate',
  });

export function isoDateParam(name: string) {
  const message = `${name} must be an ISO date YYYY-MM-DD, e.g. 2023-01-31`;
  return z
    .string()
    .regex(ISO_DATE, { message, abort: true })
    .refine(isCalendarDate, message)
    .optional()
    .describe('YYYY-MM-DD, inclusive');
}

/** Destructive tools: the second half of the fail-closed confirmation (see safety.ts). */
export const confirmParam = z
  .string()
  .max(MAX_ID_LENGTH)
  .optional()
  .describe('Only once the user agreed: the value asked for');

export const dryRunParam = z.boolean().default(false).describe('true: only report what would happen');

/** Which configured XNAT server a call talks to (XNAT_MCP_SERVERS), by name. */
export const serverParam = textParam('Server name', 64)
  .optional()
  .describe('XNAT server name (default the first)');
