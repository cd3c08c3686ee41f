/** Input parameters several tools share, described once so every tool explains IDs the same way. */
import * as z from 'zod';

// The short pattern is what tools/list shows; isCalendarDate rejects months and days that don't exist.
const ISO_DATE = /^\d{4}-\d\d-\d\d$/;

function isCalendarDate(text: string): boolean {
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

export const projectParam = z.string().min(1).describe('Project ID (from listProjects)');

export const optionalProjectParam = z.string().min(1).optional().describe('Project ID; needed with a label');

export const subjectParam = z.string().min(1).describe('Accession ID (XNAT_S…) or label with `project`');

export const experimentParam = z.string().min(1).describe('Accession ID (XNAT_E…) or label with `project`');

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
export const confirmParam = z.string().optional().describe('Only once the user agreed: the value asked for');

export const dryRunParam = z.boolean().default(false).describe('true: only report what would happen');
