/**
 * The `curate` toolset: create, update, share, quarantine and delete archive objects. Every tool
 * resolves its target first (so the project allow-list applies to the owning project, and
 * confirmations and dry runs can name what will change), then calls the client core, then audits.
 */
import * as z from 'zod';
import type { ObjectDescription } from '../client/index.js';
import { UPDATABLE_FIELDS } from '../client/vocabulary.js';
import { scanTargetId, splitScanTarget, type CohortKind } from '../mcp/cohort.js';
import { writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  ExperimentDetailOutput,
  ExperimentItemSchema,
  ShareOutputSchema,
  SubjectDetailOutput,
  SubjectItemSchema,
  renderFields,
  renderRecord,
  renderTable,
  sections,
  shapeExperimentDetail,
  shapeSubjectDetail,
} from '../mcp/format.js';
import {
  MAX_ID_LENGTH,
  assessorParam,
  experimentParam,
  filePathParam,
  idParam,
  isoDateParam,
  optionalProjectParam,
  projectParam,
  scanParam,
  subjectParam,
} from '../mcp/params.js';
import { experimentTarget, objectTarget, subjectTarget } from '../mcp/targets.js';
import { defineWriteTool } from '../mcp/write.js';

const LABEL = /^[A-Za-z0-9_-]+$/;
const labelParam = (what: string) =>
  z
    .string()
    .regex(LABEL, `${what} may contain only letters, digits, '_' and '-'`)
    .max(MAX_ID_LENGTH, `${what} is too long: at most ${MAX_ID_LENGTH} characters`)
    .describe(`${what} (unique in its project)`);

const ifExistsParam = z
  .enum(['error', 'return'])
  .default('error')
  .describe("If the label exists: 'error' (conflict) or 'return' it unchanged");

const customFieldsParam = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'custom variable names: letters, digits, _'),
    z.string().max(2000),
  )
  .optional()
  .describe('Custom variables, e.g. {"cohort": "A"}');

export const createSubject = defineWriteTool({
  name: 'createSubject',
  title: 'Create an XNAT subject',
  description:
    'Creates a subject in a project. An existing label is never changed (see ifExists). Returns it as getSubject does.',
  toolset: 'curate',
  inputSchema: {
    project: projectParam,
    label: labelParam('Subject label'),
    group: z.string().optional().describe('e.g. control, patient'),
    gender: z.enum(['male', 'female', 'other', 'unknown']).optional().describe('Gender'),
    handedness: z.enum(['right', 'left', 'ambidextrous', 'unknown']).optional().describe('Handedness'),
    yob: z.number().int().min(1850).max(2200).optional().describe('Year of birth'),
    dob: isoDateParam('dob').describe('Date of birth'),
    age: z.number().min(0).max(150).optional().describe('Age in years at enrolment'),
    fields: customFieldsParam,
    ifExists: ifExistsParam,
  },
  outputSchema: z
    .looseObject({
      created: z.boolean().describe('false: it existed (unchanged)'),
      ...SubjectItemSchema.shape,
      demographics: SubjectDetailOutput.demographics,
      fields: SubjectDetailOutput.fields,
    })
    .describe('And the other fields of getSubject'),
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  projects: (_, args) => [{ project: args.project, action: 'create a subject' }],
  act: (_, args, { client, signal }) =>
    client.createSubject({
      project: args.project,
      label: args.label,
      group: args.group,
      demographics: {
        gender: args.gender,
        handedness: args.handedness,
        yob: args.yob,
        dob: args.dob,
        age: args.age,
      },
      fields: args.fields,
      ifExists: args.ifExists,
      signal,
    }),
  audit: (_, { created, subject }, args) =>
    created
      ? { object: `subject ${subject.id}`, detail: `project=${args.project} label=${args.label}` }
      : undefined,
  summarise: (_, { created, subject }) => ({ created, ...shapeSubjectDetail(subject) }),
  render: (s) =>
    sections(
      `${s.created ? 'Created' : 'Already existed (unchanged)'}: subject ${s.label} (${s.id}) in project ${s.project}`,
      renderRecord('demographics', s.demographics),
      renderRecord('fields', s.fields),
    ),
  target: (args) => ({
    what: `Project '${args.project}'`,
    nextStep: 'use listProjects to see the projects you can access',
  }),
});

export const createExperiment = defineWriteTool({
  name: 'createExperiment',
  title: 'Create an XNAT experiment',
  description:
    'Creates an experiment (imaging session or other assessment) of any xsiType for an existing subject (see createSubject). An existing label is never changed (see ifExists). Returns it as getExperiment does.',
  toolset: 'curate',
  inputSchema: {
    project: projectParam,
    subject: subjectParam,
    label: labelParam('Experiment label'),
    xsiType: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$/, 'xsiType looks like xnat:mrSessionData')
      .describe('XNAT data type, e.g. xnat:mrSessionData, xnat:petSessionData'),
    date: isoDateParam('date').describe('Session date'),
    time: z
      .string()
      .regex(/^\d{2}:\d{2}(:\d{2})?$/, 'time is HH:MM or HH:MM:SS')
      .optional()
      .describe('Session time'),
    visitId: z.string().optional().describe('Visit ID'),
    note: z.string().max(2000).optional().describe('Free text'),
    fields: customFieldsParam,
    ifExists: ifExistsParam,
  },
  outputSchema: z
    .looseObject({
      created: z.boolean().describe('false: it existed (unchanged)'),
      ...ExperimentItemSchema.shape,
      time: ExperimentDetailOutput.time,
      visitId: ExperimentDetailOutput.visitId,
      status: ExperimentDetailOutput.status,
      fields: ExperimentDetailOutput.fields,
    })
    .describe('And the other fields of getExperiment'),
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  projects: (_, args) => [{ project: args.project, action: 'create an experiment' }],
  act: (_, args, { client, signal }) => client.createExperiment({ ...args, signal }),
  audit: (_, { created, experiment }, args) =>
    created
      ? {
          object: `experiment ${experiment.id}`,
          detail: `project=${args.project} subject=${experiment.subjectId} label=${args.label} xsiType=${args.xsiType}`,
        }
      : undefined,
  summarise: (_, { created, experiment }) => ({ created, ...shapeExperimentDetail(experiment) }),
  render: (e) =>
    sections(
      `${e.created ? 'Created' : 'Already existed (unchanged)'}: experiment ${e.label} (${e.id}, ${e.xsiType}) of subject ${e.subjectLabel ? `${e.subjectLabel} (${e.subjectId})` : e.subjectId} in project ${e.project}`,
      renderFields([
        ['date', e.date],
        ['time', e.time],
        ['visitId', e.visitId],
        ['status', e.status],
      ]),
      renderRecord('fields', e.fields),
    ),
  target: (args) => subjectTarget(args.subject, args.project),
});

/** Cohorts are of subjects, experiments (IDs site-wide) or scans (`<experiment>/<scan>`): a list or a search names them. */
function cohortKind(kind: string, verb: string): CohortKind {
  if (kind === 'subject' || kind === 'experiment' || kind === 'scan') return kind;
  throw new ToolInputError(`A cohort is of subjects, experiments or scans; ${verb} ${kind}s one at a time.`);
}

/** One cohort target's call: its ID (a scan's: experiment and scan) in the parameters of its kind. */
function cohortItem<A extends { kind: string }>(id: string, args: A): A {
  return args.kind === 'scan' ? { ...args, ...splitScanTarget(id) } : { ...args, [args.kind]: id };
}

/** A described object's ID in a cohort: a scan's names its experiment too (scan IDs are unique only there). */
const cohortId = (t: ObjectDescription): string =>
  t.kind === 'scan' ? scanTargetId(t.experiment ?? '', t.id) : t.id;

/** A described object as its audit line names it. */
const auditObject = (t: ObjectDescription): string =>
  t.kind === 'scan' ? `scan ${t.id} of ${t.experiment ?? ''}` : `${t.kind} ${t.id}`;

const refInput = {
  project: optionalProjectParam,
  subject: subjectParam.optional(),
  experiment: experimentParam.optional(),
  scan: scanParam.optional().describe('Scan ID (from getExperiment)'),
};

export const updateFields = defineWriteTool({
  name: 'updateFields',
  title: 'Update fields of an XNAT object',
  description:
    "Changes standard fields, custom variables or the label (rename) of a project, subject, experiment or scan (with its experiment); reports each field's old and new value read back from XNAT. Only subjects and experiments can be renamed; a label in use is a conflict.",
  toolset: 'curate',
  inputSchema: {
    kind: z.enum(['project', 'subject', 'experiment', 'scan']).describe('What to update'),
    ...refInput,
    label: labelParam('New label').optional(),
    standard: z
      .record(z.string(), z.string().max(2000))
      .optional()
      .describe(
        `Standard fields by XNAT name, e.g. {"note": "rescanned"}. ${Object.entries(UPDATABLE_FIELDS)
          .map(([kind, names]) => `${kind}: ${names.join(', ')}`)
          .join('; ')}`,
      ),
    fields: customFieldsParam,
  },
  outputSchema: {
    kind: z.string(),
    id: z.string(),
    project: z.string().optional(),
    changes: z.array(z.object({ field: z.string(), old: z.string(), new: z.string() })),
  },
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  resolve: ({ kind, label: _label, standard: _standard, fields: _fields, ...ref }, { client, signal }) =>
    client.describeObject({ kind, ...ref }, { signal }),
  projects: (target) => [{ project: target.project, action: `update ${target.summary}` }],
  act: (_, { kind, label, standard, fields, ...ref }, { client, signal }) =>
    client.updateFields({ kind, ...ref }, { label, standard, fields }, { signal }),
  audit: (target, { changes }) => ({
    object: auditObject(target),
    detail: `fields=${changes.map((c) => c.field).join(',')}`,
  }),
  summarise: (target, { changes }, { kind }) => ({ kind, id: target.id, project: target.project, changes }),
  cohort: {
    kind: (args) => cohortKind(args.kind, 'update'),
    names: ['subject', 'experiment', 'scan'],
    item: (id, args) => {
      if (args.label !== undefined) throw new ToolInputError('A cohort cannot be renamed: leave out label.');
      return cohortItem(id, args);
    },
    verb: () => 'update fields of',
    identify: (target, args) => ({
      id: cohortId(target),
      label: target.label,
      project: target.project,
      summary: `set ${[...Object.keys(args.standard ?? {}), ...Object.keys(args.fields ?? {})].join(', ')}`,
    }),
    detail: (_, { changes }) =>
      changes.map((c) => `${c.field}: ${c.old} → ${c.new}`).join('; ') || 'unchanged',
  },
  render: (out) =>
    sections(
      `Updated ${out.kind} ${out.id}${out.project ? ` in project ${out.project}` : ''}:`,
      renderTable(
        ['field', 'old', 'new'],
        out.changes.map((c) => [c.field, c.old, c.new]),
      ),
    ),
  target: (args) => objectTarget(args.kind, args),
});

export const shareObject = defineWriteTool({
  name: 'shareObject',
  title: 'Share or unshare an XNAT subject or experiment',
  description:
    'Shares a subject or experiment into another project (optionally under another label, or as its new owner), or removes a share. Returns the owning project and every share, read back from XNAT. To remove it from its owning project use deleteObject.',
  toolset: 'curate',
  inputSchema: {
    action: z.enum(['share', 'unshare']).default('share').describe('Share or unshare'),
    kind: z.enum(['subject', 'experiment']).describe('What to share'),
    id: idParam('ID').describe('Accession ID, or label with `project`'),
    project: optionalProjectParam,
    targetProject: projectParam.describe('Project to share into (or unshare from)'),
    label: labelParam('Label in targetProject').optional(),
    primary: z.boolean().default(false).describe('true: make targetProject the owner'),
  },
  outputSchema: {
    kind: z.string(),
    id: z.string(),
    label: z.string().optional(),
    owningProject: z.string(),
    shares: z.array(ShareOutputSchema),
  },
  annotations: writeAnnotations({ destructive: false, idempotent: false }),
  resolve: (args, { client, signal }) => {
    const ref = args.kind === 'subject' ? { subject: args.id } : { experiment: args.id };
    return client.describeObject({ kind: args.kind, project: args.project, ...ref }, { signal });
  },
  projects: (target, args) => [
    { project: target.project, action: `${args.action} ${target.summary}` },
    {
      project: args.targetProject,
      action: `${args.action} ${args.kind} ${target.id} with project ${args.targetProject}`,
    },
  ],
  plan: async (target, args) => {
    if (args.action === 'unshare' && (args.label !== undefined || args.primary)) {
      throw new ToolInputError('label and primary apply only when sharing; leave them out to unshare.');
    }
    return target;
  },
  act: (target, args, { client, signal }) =>
    args.action === 'share'
      ? client.share({
          kind: args.kind,
          id: target.id,
          toProject: args.targetProject,
          label: args.label,
          primary: args.primary,
          signal,
        })
      : client.unshare({ kind: args.kind, id: target.id, fromProject: args.targetProject, signal }),
  audit: (target, _, args) => ({
    object: `${args.kind} ${target.id}`,
    detail: `${args.action} project=${args.targetProject}${args.label ? ` label=${args.label}` : ''}${args.primary ? ' primary=true' : ''}`,
  }),
  summarise: (target, result, args) => ({ kind: args.kind, id: target.id, label: target.label, ...result }),
  cohort: {
    kind: (args) => args.kind,
    names: ['id'],
    item: (id, args) => {
      if (args.label !== undefined) throw new ToolInputError('A cohort keeps its labels: leave out label.');
      return { ...args, id };
    },
    verb: (args) => `${args.action} (project ${args.targetProject})`,
    identify: (target, args) => ({
      id: target.id,
      label: target.label,
      project: target.project,
      summary: `${args.action} with ${args.targetProject}`,
    }),
    detail: (_, result) =>
      `owned by ${result.owningProject}; shared into ${result.shares.map((s) => s.project).join(', ') || 'none'}`,
  },
  render: (out) =>
    sections(
      `${out.kind} ${out.label ?? ''} (${out.id}): owned by ${out.owningProject}`,
      out.shares.length === 0
        ? 'Not shared into any project.'
        : `Shared into: ${out.shares.map((s) => `${s.project} (as ${s.label})`).join(', ')}`,
    ),
  target: (args) =>
    args.kind === 'subject' ? subjectTarget(args.id, args.project) : experimentTarget(args.id, args.project),
});

const quarantineKind = (args: { assessor?: string | undefined }) =>
  args.assessor === undefined ? 'experiment' : 'assessor';
const quarantineAction = (args: { quarantined: boolean }) =>
  args.quarantined ? 'quarantine' : 'activate (release from quarantine)';

export const setQuarantine = defineWriteTool({
  name: 'setQuarantine',
  title: 'Quarantine or activate an XNAT experiment',
  description:
    "Quarantines an experiment (or one of its assessors) or releases it, and reports the status read back from XNAT. Needs the user's confirmation (`confirm`); dryRun only reports the current status.",
  toolset: 'curate',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    assessor: assessorParam.optional().describe('Assessor ID or label, instead of the experiment'),
    quarantined: z.boolean().describe('true: quarantine; false: release'),
  },
  outputSchema: {
    id: z.string(),
    project: z.string().optional(),
    status: z.enum(['active', 'quarantine']),
    previousStatus: z.enum(['active', 'quarantine']),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  resolve: (args, { client, signal }) =>
    client.describeObject(
      {
        kind: quarantineKind(args),
        experiment: args.experiment,
        project: args.project,
        assessor: args.assessor,
      },
      { signal },
    ),
  projects: (target, args) => [
    { project: target.project, action: `${quarantineAction(args)} ${target.summary}` },
  ],
  plan: async (target, args, { client, signal }) => ({
    target,
    // An experiment's description carries its status; an assessor's has to be read.
    previousStatus:
      target.status ??
      (await client.getQuarantineStatus({
        experiment: args.experiment,
        ...(args.project ? { project: args.project } : {}),
        ...(args.assessor ? { assessor: args.assessor } : {}),
        signal,
      })),
  }),
  guard: {
    preview: ({ target, previousStatus }, args) => ({
      id: target.id,
      project: target.project,
      status: previousStatus,
      previousStatus,
      dryRun: true,
      summary: `Would ${quarantineAction(args)} ${target.summary}.`,
    }),
    confirmation: ({ target }, args) => ({
      action: quarantineAction(args),
      target: target.summary,
      expected: target.id,
    }),
  },
  act: (_, args, { client, signal }) =>
    client.setQuarantine({
      experiment: args.experiment,
      project: args.project,
      assessor: args.assessor,
      quarantined: args.quarantined,
      signal,
    }),
  audit: ({ target, previousStatus }, { status }, args) => ({
    object: `${quarantineKind(args)} ${target.id}`,
    detail: `status=${status} previous=${previousStatus}`,
  }),
  summarise: ({ target, previousStatus }, { status }) => ({
    id: target.id,
    project: target.project,
    status,
    previousStatus,
    dryRun: false,
    summary: `${target.summary}: now ${status}.`,
  }),
  cohort: {
    kind: () => 'experiment',
    names: ['experiment'],
    item: (id, args) => ({ ...args, experiment: id }),
    verb: quarantineAction,
    identify: ({ target, previousStatus }, args) => ({
      id: target.id,
      label: target.label,
      project: target.project,
      summary: `${previousStatus} → ${args.quarantined ? 'quarantine' : 'active'}`,
    }),
    detail: (_, { status }) => `now ${status}`,
  },
  render: (out) =>
    out.dryRun
      ? `Dry run: ${out.summary} (status now ${out.status})`
      : `${out.summary} (was ${out.previousStatus})`,
  target: (args) => experimentTarget(args.experiment, args.project),
});

function deleted(kind: string, target: ObjectDescription) {
  return { kind, id: target.id, label: target.label, project: target.project };
}

export const deleteObject = defineWriteTool({
  name: 'deleteObject',
  title: 'Delete an XNAT object',
  description:
    "Deletes a subject, experiment, scan, assessor, resource or file, with everything inside. Cannot be undone: needs the user's confirmation (`confirm`); try dryRun first. Scans and assessors need their experiment, resources their parent, files their resource. Via a project it is only shared into, nothing is deleted: unshare with shareObject.",
  toolset: 'curate',
  inputSchema: {
    kind: z
      .enum(['subject', 'experiment', 'scan', 'assessor', 'resource', 'file'])
      .describe('What to delete'),
    ...refInput,
    assessor: assessorParam.optional().describe('Assessor ID or label (also a resource parent)'),
    resource: idParam('Resource label').optional().describe('Resource label, e.g. DICOM'),
    file: filePathParam.optional(),
  },
  outputSchema: {
    kind: z.string(),
    id: z.string(),
    label: z.string().optional(),
    project: z.string().optional(),
    deleted: z.boolean(),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: false }),
  resolve: (ref, { client, signal }) => client.describeObject(ref, { signal }),
  projects: (target) => [{ project: target.project, action: `delete ${target.summary}` }],
  plan: async (target, { kind }) => {
    if (target.sharedVia !== undefined) {
      // Refused before asking the user: through a sharing project XNAT would only unshare.
      throw new ToolInputError(
        `${kind} ${target.id} belongs to project ${target.project} and is only shared into ${target.sharedVia}; to remove it from ${target.sharedVia} use shareObject with action "unshare", or name project ${target.project} to delete it. Nothing was changed.`,
      );
    }
    return target;
  },
  guard: {
    preview: (target, { kind }) => ({
      ...deleted(kind, target),
      deleted: false,
      dryRun: true,
      summary: `Would delete ${target.summary}.`,
    }),
    confirmation: (target) => ({ action: 'delete', target: target.summary, expected: target.id }),
  },
  act: (_, ref, { client, signal }) => client.deleteObject(ref, { signal }),
  audit: (target) => ({
    object: auditObject(target),
    detail: target.project ? `project=${target.project}` : undefined,
  }),
  summarise: (target, _, { kind }) => ({
    ...deleted(kind, target),
    deleted: true,
    dryRun: false,
    summary: `Deleted ${target.summary}.`,
  }),
  cohort: {
    kind: (args) => cohortKind(args.kind, 'delete'),
    names: ['subject', 'experiment', 'scan'],
    item: cohortItem,
    verb: () => 'delete',
    identify: (target) => ({
      id: cohortId(target),
      label: target.label,
      project: target.project,
      summary: 'delete',
    }),
    detail: () => 'deleted',
  },
  render: (out) => (out.dryRun ? `Dry run: ${out.summary} Nothing was deleted.` : out.summary),
  target: (args) => objectTarget(args.kind, args),
});
