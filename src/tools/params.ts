/** Input parameters several tools share, described once so every tool explains IDs the same way. */
import * as z from 'zod';

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

export const projectParam = z.string().min(1).describe('Project ID, e.g. from listProjects');

export const optionalProjectParam = z
  .string()
  .min(1)
  .optional()
  .describe('Project ID; required when the subject/experiment is given by label rather than accession ID');

export const subjectParam = z
  .string()
  .min(1)
  .describe('Subject accession ID (e.g. XNAT_S00001), or its label in `project` (then pass project)');

export const experimentParam = z
  .string()
  .min(1)
  .describe('Experiment accession ID (e.g. XNAT_E00001), or its label in `project` (then pass project)');

export function isoDateParam(name: string) {
  return z
    .string()
    .regex(ISO_DATE, `${name} must be an ISO date YYYY-MM-DD, e.g. 2023-01-31`)
    .optional()
    .describe(`ISO date YYYY-MM-DD (inclusive)`);
}

/** Destructive tools: the second half of the fail-closed confirmation (see safety.ts). */
export const confirmParam = z
  .string()
  .optional()
  .describe(
    "Only when the server asks for it: the target's ID repeated, after the user agreed to this change. Never guess it; ask the user.",
  );

export const dryRunParam = z
  .boolean()
  .default(false)
  .describe('true: only report what would happen; change nothing (no confirmation needed)');
