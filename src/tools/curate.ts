/**
 * The `curate` toolset: create, update, share, quarantine and delete archive objects. Every tool
 * resolves its target first (so the project allow-list applies to the owning project, and
 * confirmations and dry runs can name what will change), then calls the client core, then audits.
 */
import * as z from 'zod';
import { UPDATABLE_FIELDS, type ObjectKind, type ObjectRef } from '../client/index.js';
import { experimentTarget, subjectTarget } from './browse.js';
import { defineTool, writeAnnotations } from './define.js';
import { ToolInputError, type ErrorTarget } from './errors.js';
import {
  ExperimentDetailOutput,
  SubjectDetailOutput,
  renderFields,
  renderRecord,
  renderTable,
  sections,
  shapeExperimentDetail,
  shapeSubjectDetail,
} from './format.js';
import {
  confirmParam,
  dryRunParam,
  experimentParam,
  isoDateParam,
  optionalProjectParam,
  projectParam,
  subjectParam,
} from './params.js';

const LABEL = /^[A-Za-z0-9_-]+$/;
const labelParam = (what: string) =>
  z
    .string()
    .regex(LABEL, `${what} may contain only letters, digits, '_' and '-'`)
    .describe(`${what}: letters, digits, '_' and '-' only; unique within the project`);

const ifExistsParam = z
  .enum(['error', 'return'])
  .default('error')
  .describe(
    "If the label is already taken in the project: 'error' (default) reports a conflict, 'return' returns the existing object unchanged. An existing object is never modified.",
  );

const customFieldsParam = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'custom variable names: letters, digits, _'),
    z.string(),
  )
  .optional()
  .describe('Custom variables (XNAT "fields") by name, e.g. {"cohort": "A"}');

export const createSubject = defineTool({
  name: 'createSubject',
  title: 'Create an XNAT subject',
  description:
    'Creates a subject with a label in a project, optionally with group, demographics and custom variables. If the label exists already nothing is changed: by default a conflict is reported; with ifExists "return" the existing subject is returned (created: false). Returns the subject as getSubject shows it.',
  toolset: 'curate',
  inputSchema: {
    project: projectParam,
    label: labelParam('Subject label'),
    group: z.string().optional().describe('Subject group, e.g. control or patient'),
    gender: z.enum(['male', 'female', 'other', 'unknown']).optional().describe('Gender'),
    handedness: z.enum(['right', 'left', 'ambidextrous', 'unknown']).optional().describe('Handedness'),
    yob: z.number().int().min(1850).max(2200).optional().describe('Year of birth'),
    dob: isoDateParam('dob').describe('Date of birth, YYYY-MM-DD'),
    age: z.number().min(0).max(150).optional().describe('Age in years (at enrolment)'),
    fields: customFieldsParam,
    ifExists: ifExistsParam,
  },
  outputSchema: {
    created: z.boolean().describe('false: the label existed and that subject is returned unchanged'),
    ...SubjectDetailOutput,
  },
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  writes: true,
  async handler(args, ctx) {
    ctx.safety.checkProject(args.project, 'create a subject');
    const { created, subject } = await ctx.client.createSubject({
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
      signal: ctx.signal,
    });
    if (created)
      ctx.safety.audit(
        'createSubject',
        `subject ${subject.id}`,
        `project=${args.project} label=${args.label}`,
      );
    return { created, ...shapeSubjectDetail(subject) };
  },
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

export const createExperiment = defineTool({
  name: 'createExperiment',
  title: 'Create an XNAT experiment',
  description:
    'Creates an experiment (imaging session or other subject assessor) of any XNAT data type (xsiType, e.g. xnat:mrSessionData, xnat:petSessionData, xnat:ctSessionData) for an existing subject (create it with createSubject first), with date, time, visit, note and custom variables. If the label exists in the project nothing is changed: a conflict is reported, or with ifExists "return" the existing experiment is returned (created: false).',
  toolset: 'curate',
  inputSchema: {
    project: projectParam,
    subject: subjectParam,
    label: labelParam('Experiment label'),
    xsiType: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_]*:[A-Za-z][A-Za-z0-9_]*$/, 'xsiType looks like xnat:mrSessionData')
      .describe('XNAT data type, e.g. xnat:mrSessionData, xnat:petSessionData, xnat:ctSessionData'),
    date: isoDateParam('date').describe('Session date, YYYY-MM-DD'),
    time: z
      .string()
      .regex(/^\d{2}:\d{2}(:\d{2})?$/, 'time is HH:MM or HH:MM:SS')
      .optional()
      .describe('Session time, HH:MM[:SS]'),
    visitId: z.string().optional().describe('Visit identifier'),
    note: z.string().max(2000).optional().describe('Free-text note'),
    fields: customFieldsParam,
    ifExists: ifExistsParam,
  },
  outputSchema: {
    created: z.boolean().describe('false: the label existed and that experiment is returned unchanged'),
    ...ExperimentDetailOutput,
  },
  annotations: writeAnnotations({ destructive: false, idempotent: true }),
  writes: true,
  async handler(args, ctx) {
    ctx.safety.checkProject(args.project, 'create an experiment');
    const { created, experiment } = await ctx.client.createExperiment({ ...args, signal: ctx.signal });
    if (created) {
      ctx.safety.audit(
        'createExperiment',
        `experiment ${experiment.id}`,
        `project=${args.project} subject=${experiment.subjectId} label=${args.label} xsiType=${args.xsiType}`,
      );
    }
    return { created, ...shapeExperimentDetail(experiment) };
  },
  render: (e) =>
    sections(
      `${e.created ? 'Created' : 'Already existed (unchanged)'}: experiment ${e.label} (${e.id}, ${e.xsiType}) of subject ${e.subjectLabel || e.subjectId} in project ${e.project}`,
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

const kindTargets: Record<ObjectKind, (ref: ObjectRef) => ErrorTarget> = {
  project: (r) => ({
    what: `Project '${r.project ?? ''}'`,
    nextStep: 'use listProjects to see the projects',
  }),
  subject: (r) => subjectTarget(r.subject ?? '', r.project),
  experiment: (r) => experimentTarget(r.experiment ?? '', r.project),
  scan: (r) => ({
    what: `Scan '${r.scan ?? ''}' of experiment '${r.experiment ?? ''}'`,
    project: r.project,
    nextStep: 'use getExperiment to see its scan IDs',
  }),
  assessor: (r) => ({
    what: `Assessor '${r.assessor ?? ''}' of experiment '${r.experiment ?? ''}'`,
    project: r.project,
    nextStep: 'use getExperiment to see its assessors',
  }),
  resource: (r) => ({
    what: `Resource '${r.resource ?? ''}'`,
    project: r.project,
    nextStep: 'use listFiles (or getExperiment) to see the resources',
  }),
  file: (r) => ({
    what: `File '${r.file ?? ''}' in resource '${r.resource ?? ''}'`,
    project: r.project,
    nextStep: 'use listFiles to see the file paths',
  }),
};

const refInput = {
  project: optionalProjectParam,
  subject: subjectParam.optional(),
  experiment: experimentParam.optional(),
  scan: z.string().min(1).optional().describe('Scan ID within the experiment (e.g. "3"), from getExperiment'),
};

export const updateFields = defineTool({
  name: 'updateFields',
  title: 'Update fields of an XNAT object',
  description: `Changes standard fields, custom variables and/or the label (rename) of a project, subject, experiment or scan, and reports each field's old and new value as read back from XNAT. Standard fields by kind: ${Object.entries(
    UPDATABLE_FIELDS,
  )
    .map(([k, v]) => `${k}: ${v.join(', ')}`)
    .join(
      '; ',
    )}. Name the object as for getSubject/getExperiment (ID, or label with project); scans need experiment and scan. Only subjects and experiments can be renamed; a rename to a label already used in the project is a conflict.`,
  toolset: 'curate',
  inputSchema: {
    kind: z.enum(['project', 'subject', 'experiment', 'scan']).describe('What to update'),
    ...refInput,
    label: labelParam('New label').optional(),
    standard: z
      .record(z.string(), z.string().max(2000))
      .optional()
      .describe(
        'Standard fields to set, by XNAT short name, e.g. {"date": "2024-03-01", "note": "rescanned"}',
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
  writes: true,
  async handler(args, ctx) {
    const { kind, label, standard, fields, ...ref } = args;
    const target = await ctx.client.describeObject({ kind, ...ref }, { signal: ctx.signal });
    ctx.safety.checkProject(target.project, `update ${target.summary}`);
    const { changes } = await ctx.client.updateFields(
      { kind, ...ref },
      { label, standard, fields },
      { signal: ctx.signal },
    );
    ctx.safety.audit(
      'updateFields',
      `${kind} ${target.id}`,
      `fields=${changes.map((c) => c.field).join(',')}`,
    );
    return { kind, id: target.id, project: target.project, changes };
  },
  render: (out) =>
    sections(
      `Updated ${out.kind} ${out.id}${out.project ? ` in project ${out.project}` : ''}:`,
      renderTable(
        ['field', 'old', 'new'],
        out.changes.map((c) => [c.field, c.old, c.new]),
      ),
    ),
  target: (args) => kindTargets[args.kind](args),
});

export const shareObject = defineTool({
  name: 'shareObject',
  title: 'Share or unshare an XNAT subject or experiment',
  description:
    "Shares a subject or experiment into another project (optionally under another label there, or making that project its owner with primary: true), or removes such a share (action 'unshare'). The object keeps one owning project; a share makes it visible in the other project. Returns the owning project and every share, read back from XNAT. To remove an object from its owning project, use deleteObject.",
  toolset: 'curate',
  inputSchema: {
    action: z.enum(['share', 'unshare']).default('share').describe("'share' (default) or 'unshare'"),
    kind: z.enum(['subject', 'experiment']).describe('What to share'),
    id: z
      .string()
      .min(1)
      .describe('Accession ID of the subject/experiment, or its label in `project` (then pass project)'),
    project: optionalProjectParam,
    targetProject: projectParam.describe('The project to share into (or unshare from)'),
    label: labelParam('Label in the target project').optional(),
    primary: z
      .boolean()
      .default(false)
      .describe('true: make the target project the owning project (share only)'),
  },
  outputSchema: {
    kind: z.string(),
    id: z.string(),
    label: z.string().optional(),
    owningProject: z.string(),
    shares: z.array(z.object({ project: z.string(), label: z.string() })),
  },
  annotations: writeAnnotations({ destructive: false, idempotent: false }),
  writes: true,
  async handler(args, ctx) {
    const ref = args.kind === 'subject' ? { subject: args.id } : { experiment: args.id };
    const target = await ctx.client.describeObject(
      { kind: args.kind, project: args.project, ...ref },
      { signal: ctx.signal },
    );
    ctx.safety.checkProject(target.project, `${args.action} ${target.summary}`);
    ctx.safety.checkProject(
      args.targetProject,
      `${args.action} ${args.kind} ${target.id} with project ${args.targetProject}`,
    );
    if (args.action === 'unshare' && (args.label !== undefined || args.primary)) {
      throw new ToolInputError('label and primary apply only when sharing; leave them out to unshare.');
    }
    const result =
      args.action === 'share'
        ? await ctx.client.share({
            kind: args.kind,
            id: target.id,
            toProject: args.targetProject,
            label: args.label,
            primary: args.primary,
            signal: ctx.signal,
          })
        : await ctx.client.unshare({
            kind: args.kind,
            id: target.id,
            fromProject: args.targetProject,
            signal: ctx.signal,
          });
    ctx.safety.audit(
      'shareObject',
      `${args.kind} ${target.id}`,
      `${args.action} project=${args.targetProject}${args.label ? ` label=${args.label}` : ''}${args.primary ? ' primary=true' : ''}`,
    );
    return { kind: args.kind, id: target.id, label: target.label, ...result };
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

export const setQuarantine = defineTool({
  name: 'setQuarantine',
  title: 'Quarantine or activate an XNAT experiment',
  description:
    "Puts an existing experiment (or one of its assessors) into quarantine (quarantined: true) or releases it (quarantined: false), and reports the status read back from XNAT. Needs the user's confirmation: the server asks through the client when it can; otherwise the call fails and tells you which `confirm` value to repeat once the user agreed. dryRun: true only reports the current status.",
  toolset: 'curate',
  inputSchema: {
    experiment: experimentParam,
    project: optionalProjectParam,
    assessor: z
      .string()
      .min(1)
      .optional()
      .describe('An assessor of the experiment (ID or label) instead of the experiment'),
    quarantined: z.boolean().describe('true: quarantine; false: activate (release)'),
    confirm: confirmParam,
    dryRun: dryRunParam,
  },
  outputSchema: {
    id: z.string().describe('Accession ID of the experiment or assessor'),
    project: z.string().optional(),
    status: z
      .enum(['active', 'quarantine'])
      .describe('Status read back from XNAT (current status on a dry run)'),
    previousStatus: z.enum(['active', 'quarantine']),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: true }),
  writes: true,
  async handler(args, ctx) {
    const kind = args.assessor === undefined ? 'experiment' : 'assessor';
    const target = await ctx.client.describeObject(
      { kind, experiment: args.experiment, project: args.project, assessor: args.assessor },
      { signal: ctx.signal },
    );
    const action = args.quarantined ? 'quarantine' : 'activate (release from quarantine)';
    ctx.safety.checkProject(target.project, `${action} ${target.summary}`);
    const previousStatus = await ctx.client.getQuarantineStatus({
      experiment: args.experiment,
      ...(args.project ? { project: args.project } : {}),
      ...(args.assessor ? { assessor: args.assessor } : {}),
      signal: ctx.signal,
    });
    if (args.dryRun) {
      return {
        id: target.id,
        project: target.project,
        status: previousStatus,
        previousStatus,
        dryRun: true,
        summary: `Would ${action} ${target.summary}.`,
      };
    }
    await ctx.safety.confirm({ action, target: target.summary, expected: target.id, confirm: args.confirm });
    const { status } = await ctx.client.setQuarantine({
      experiment: args.experiment,
      project: args.project,
      assessor: args.assessor,
      quarantined: args.quarantined,
      signal: ctx.signal,
    });
    ctx.safety.audit('setQuarantine', `${kind} ${target.id}`, `status=${status} previous=${previousStatus}`);
    return {
      id: target.id,
      project: target.project,
      status,
      previousStatus,
      dryRun: false,
      summary: `${target.summary}: now ${status}.`,
    };
  },
  render: (out) =>
    out.dryRun
      ? `Dry run: ${out.summary} (status now ${out.status})`
      : `${out.summary} (was ${out.previousStatus})`,
  target: (args) => experimentTarget(args.experiment, args.project),
});

export const deleteObject = defineTool({
  name: 'deleteObject',
  title: 'Delete an XNAT object',
  description:
    "Deletes a subject (with its experiments), an experiment (with its scans, assessors and files), a scan, an assessor, a resource or a single file, files included. Cannot be undone. Needs the user's confirmation: the server asks through the client when it can; otherwise the call fails and tells you which `confirm` value to repeat once the user agreed. Use dryRun: true first to see what would be deleted. Name the object as for the read tools: subjects/experiments by ID or by label with project; scans/assessors with their experiment; resources with their parent (project, subject, or experiment plus optional scan/assessor); files with resource and path. Through a project the object is only shared into, nothing is deleted: unshare it with shareObject instead.",
  toolset: 'curate',
  inputSchema: {
    kind: z
      .enum(['subject', 'experiment', 'scan', 'assessor', 'resource', 'file'])
      .describe('What to delete'),
    ...refInput,
    assessor: z
      .string()
      .min(1)
      .optional()
      .describe('Assessor ID or label (kind assessor, or the parent of a resource)'),
    resource: z.string().min(1).optional().describe('Resource label (kind resource or file), e.g. DICOM'),
    file: z.string().min(1).optional().describe('File path inside the resource (kind file), from listFiles'),
    confirm: confirmParam,
    dryRun: dryRunParam,
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
  writes: true,
  async handler(args, ctx) {
    const { confirm, dryRun, kind, ...ref } = args;
    const target = await ctx.client.describeObject({ kind, ...ref }, { signal: ctx.signal });
    ctx.safety.checkProject(target.project, `delete ${target.summary}`);
    if (target.sharedVia !== undefined) {
      // Refused before asking the user: through a sharing project XNAT would only unshare.
      throw new ToolInputError(
        `${kind} ${target.id} belongs to project ${target.project} and is only shared into ${target.sharedVia}; to remove it from ${target.sharedVia} use shareObject with action "unshare", or name project ${target.project} to delete it. Nothing was changed.`,
      );
    }
    const out = { kind, id: target.id, label: target.label, project: target.project };
    if (dryRun) return { ...out, deleted: false, dryRun: true, summary: `Would delete ${target.summary}.` };
    await ctx.safety.confirm({ action: 'delete', target: target.summary, expected: target.id, confirm });
    await ctx.client.deleteObject({ kind, ...ref }, { signal: ctx.signal });
    ctx.safety.audit(
      'deleteObject',
      `${kind} ${target.id}`,
      target.project ? `project=${target.project}` : undefined,
    );
    return { ...out, deleted: true, dryRun: false, summary: `Deleted ${target.summary}.` };
  },
  render: (out) => (out.dryRun ? `Dry run: ${out.summary} Nothing was deleted.` : out.summary),
  target: (args) => kindTargets[args.kind](args),
});
