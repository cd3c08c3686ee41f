/**
 * The `prearchive` toolset: see what is waiting in XNAT's prearchive, archive / move / delete /
 * rebuild it, and import DICOM (a zip or a folder) through XNAT's import service. Projects go through
 * the allow-list; deleting, and archiving or importing with overwrite "delete", need confirmation.
 */
import * as z from 'zod';
import type { PrearchiveSession, XnatClient } from '../client/index.js';
import { READ_ONLY, defineTool, writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  listOutput,
  pageListing,
  pageOfArray,
  pagingInput,
  renderFields,
  renderList,
  sections,
} from '../mcp/format.js';
import {
  MAX_PATH_LENGTH,
  idParam,
  localPathParam,
  optionalProjectParam,
  projectParam,
  textParam,
} from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { projectTarget } from '../mcp/targets.js';
import { inspectImportSource } from '../mcp/transfer-plan.js';
import { defineWriteTool } from '../mcp/write.js';

const PrearchiveItemSchema = z.object({
  url: z.string().describe('`session` for managePrearchive'),
  project: z.string(),
  subject: z.string(),
  name: z.string().describe('Label it will be archived under'),
  status: z.string().describe('READY can be archived; ERROR may need a rebuild'),
  scanDate: z.string(),
  uploaded: z.string(),
  tag: z.string().describe('StudyInstanceUID'),
});

function shapePrearchive(s: PrearchiveSession): z.infer<typeof PrearchiveItemSchema> {
  return {
    url: s.url,
    project: s.project,
    subject: s.subject,
    name: s.name,
    status: s.status,
    scanDate: s.scanDate,
    uploaded: s.uploaded,
    tag: s.tag,
  };
}

const overwriteParam = z
  .enum(['none', 'append', 'delete'])
  .default('none')
  .describe('If already archived: none refuses, append adds, delete replaces (needs confirmation)');

export const listPrearchive = defineTool({
  name: 'listPrearchive',
  title: 'List XNAT prearchive sessions',
  description:
    "Lists sessions waiting in XNAT's prearchive (received, not archived), of one project or all you can edit. Pass a session's url to managePrearchive. Paged.",
  toolset: 'prearchive',
  inputSchema: {
    project: optionalProjectParam.describe('Project ID (default: all)'),
    ...pagingInput,
  },
  outputSchema: listOutput(PrearchiveItemSchema),
  annotations: READ_ONLY,
  writes: false,
  handler: ({ project, limit, cursor }, { client, signal }) =>
    pageListing(
      'listPrearchive',
      { project },
      { limit, cursor },
      async (spec) =>
        pageOfArray(await client.listPrearchive({ ...(project ? { project } : {}), signal }), spec),
      shapePrearchive,
    ),
  render: (out) =>
    renderList(
      'prearchive sessions',
      out,
      ['url', 'subject', 'name', 'status', 'scanDate', 'uploaded', 'tag'],
      (s) => [s.url, s.subject, s.name, s.status, s.scanDate, s.uploaded, s.tag],
    ),
  target: (args) => (args.project ? projectTarget(args.project) : undefined),
});

interface PrearchiveAction {
  action: 'archive' | 'move' | 'delete' | 'rebuild';
  toProject?: string | undefined;
  project?: string | undefined;
  subject?: string | undefined;
  label?: string | undefined;
  overwrite: 'none' | 'append' | 'delete';
  quarantine?: boolean | undefined;
}

const PREARCHIVE_DONE = {
  archive: 'Archived',
  move: 'Moved',
  delete: 'Deleted',
  rebuild: 'Rebuilt',
} as const;

function prearchivePlan(session: PrearchiveSession, what: string, args: PrearchiveAction): string {
  if (args.action === 'archive') {
    return `archive ${what} into project ${args.project ?? session.project}${args.subject ? ` subject ${args.subject}` : ''} as ${args.label ?? session.name} (overwrite ${args.overwrite}${args.quarantine ? ', quarantined' : ''})`;
  }
  return args.action === 'move' ? `move ${what} to project ${args.toProject}` : `${args.action} ${what}`;
}

async function actOnPrearchive(
  session: PrearchiveSession,
  args: PrearchiveAction,
  client: XnatClient,
  signal: AbortSignal,
): Promise<{ uris: string[]; experimentId?: string | undefined }> {
  switch (args.action) {
    case 'archive':
      return client.archivePrearchive({
        session: session.url,
        ...(args.project ? { project: args.project } : {}),
        ...(args.subject ? { subject: args.subject } : {}),
        ...(args.label ? { label: args.label } : {}),
        ...(args.overwrite !== 'none' ? { overwrite: args.overwrite } : {}),
        ...(args.quarantine !== undefined ? { quarantine: args.quarantine } : {}),
        signal,
      });
    case 'move':
      return {
        uris: [await client.movePrearchive({ session: session.url, toProject: args.toProject!, signal })],
      };
    case 'delete':
      await client.deletePrearchive({ session: session.url, signal });
      return { uris: [] };
    case 'rebuild':
      await client.rebuildPrearchive({ session: session.url, signal });
      return { uris: [] };
  }
}

export const managePrearchive = defineWriteTool({
  name: 'managePrearchive',
  title: 'Archive, move, delete or rebuild a prearchive session',
  description:
    'Archives, moves (to another project\'s prearchive), deletes or rebuilds (re-reads, e.g. after ERROR) a session from listPrearchive. Deleting, and overwrite "delete", need the user\'s confirmation (see `confirm`). dryRun: true reports the plan.',
  toolset: 'prearchive',
  inputSchema: {
    session: textParam('session', MAX_PATH_LENGTH).describe('Its url from listPrearchive'),
    action: z.enum(['archive', 'move', 'delete', 'rebuild']).describe('What to do'),
    toProject: optionalProjectParam.describe('move: destination project'),
    project: optionalProjectParam.describe("archive: into this project (default: the session's)"),
    subject: idParam('Subject label').optional().describe('archive: subject label'),
    label: idParam('Experiment label')
      .optional()
      .describe('archive: experiment label (default: session name)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('archive: quarantine it'),
  },
  outputSchema: {
    action: z.string(),
    session: z.string(),
    uris: z.array(z.string()).describe('Archived or moved session'),
    experimentId: z.string().optional(),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: false }),
  resolve: async (args, { client, signal }) => {
    const session = await client.getPrearchiveSession(args.session, { signal });
    const what = `prearchive session ${session.name} (subject ${session.subject || '?'}, ${session.status}) in project ${session.project}`;
    return { session, what };
  },
  projects: ({ session, what }, args) => [
    { project: session.project, action: `${args.action} ${what}` },
    // A toProject that does not fit the action is refused by plan, right after the session's own project.
    ...(args.action === 'move' && args.toProject !== undefined
      ? [{ project: args.toProject, action: `move ${what} into project ${args.toProject}` }]
      : []),
    ...(args.action === 'archive' && args.toProject === undefined
      ? [{ project: args.project ?? session.project, action: `archive ${what}` }]
      : []),
  ],
  plan: async ({ session, what }, args) => {
    if (args.action === 'move' && args.toProject === undefined)
      throw new ToolInputError('move needs toProject.');
    if (args.action !== 'move' && args.toProject !== undefined) {
      throw new ToolInputError('toProject is only for action "move".');
    }
    return { session, what };
  },
  guard: {
    preview: ({ session, what }, args) => ({
      action: args.action,
      session: session.url,
      uris: [],
      dryRun: true,
      summary: `Would ${prearchivePlan(session, what, args)}.`,
    }),
    confirmation: ({ session, what }, args) =>
      args.action === 'delete' || (args.action === 'archive' && args.overwrite === 'delete')
        ? {
            action: args.action === 'delete' ? 'delete' : 'archive, replacing the archived session of',
            target: what,
            expected: session.folderName,
          }
        : undefined,
  },
  act: ({ session }, args, { client, signal }) => actOnPrearchive(session, args, client, signal),
  audit: ({ session }, { uris }, args) => ({
    object: `prearchive ${session.url}`,
    detail: `action=${args.action}${uris[0] ? ` result=${uris[0]}` : ''}`,
  }),
  summarise: ({ session, what }, { uris, experimentId }, args) => ({
    action: args.action,
    session: session.url,
    uris,
    ...(experimentId !== undefined ? { experimentId } : {}),
    dryRun: false,
    summary: `${PREARCHIVE_DONE[args.action]} ${what}${uris[0] ? ` → ${uris[0]}` : ''}.`,
  }),
  render: (out) =>
    sections(
      out.dryRun ? `Dry run: ${out.summary} Nothing was changed.` : out.summary,
      renderFields([
        ['session', out.session],
        ['uris', out.uris.join(', ')],
        ['experiment', out.experimentId],
      ]),
    ),
});

export const importSession = defineWriteTool({
  name: 'importSession',
  title: 'Import DICOM into XNAT',
  description:
    "Imports DICOM (a zip or a folder) with XNAT's import service, which sorts files into sessions by their headers, into the archive or the prearchive (see listPrearchive). overwrite \"delete\" needs the user's confirmation (see `confirm`). Returns the created sessions' URIs. dryRun: true reports the plan.",
  toolset: 'prearchive',
  inputSchema: {
    path: localPathParam.describe('Local zip or folder of DICOM files'),
    project: projectParam.describe('Destination project ID'),
    subject: idParam('Subject label').optional().describe('Subject label (default: from DICOM)'),
    label: idParam('Experiment label').optional().describe('Experiment label (default: from DICOM)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('Quarantine the session'),
    destination: z.enum(['archive', 'prearchive']).default('archive').describe('Where the sessions go'),
  },
  outputSchema: {
    source: z.string(),
    files: z.number(),
    bytes: z.number(),
    uris: z.array(z.string()).describe('One per created session'),
    experimentId: z.string().optional(),
    dryRun: z.boolean(),
    summary: z.string(),
  },
  annotations: writeAnnotations({ destructive: true, idempotent: false }),
  projects: (_, args) => [{ project: args.project, action: `import into project ${args.project}` }],
  plan: async (_, args, { safety }) => ({
    source: await inspectImportSource(args.path, safety),
    into: `project ${args.project}${args.subject ? ` subject ${args.subject}` : ''}${args.label ? ` as ${args.label}` : ''} (${args.destination}, overwrite ${args.overwrite}${args.quarantine ? ', quarantined' : ''})`,
  }),
  guard: {
    preview: ({ source, into }) => ({
      source: source.path,
      files: source.files,
      bytes: source.bytes,
      uris: [],
      dryRun: true,
      summary: `Would import ${source.files} files (${source.bytes} bytes) into ${into}.`,
    }),
    confirmation: ({ into }, args) =>
      args.overwrite === 'delete'
        ? {
            action: 'import, replacing any existing session,',
            target: into,
            expected: args.label ?? args.project,
          }
        : undefined,
  },
  act: ({ source }, args, { client, signal, progress }) =>
    client.importSession({
      ...(source.directory ? { directory: source.path } : { zipPath: source.path }),
      project: args.project,
      ...(args.subject ? { subject: args.subject } : {}),
      ...(args.label ? { label: args.label } : {}),
      overwrite: args.overwrite,
      ...(args.quarantine !== undefined ? { quarantine: args.quarantine } : {}),
      destination: args.destination,
      signal,
      onProgress: progressReporter(progress, 'sent'),
    }),
  audit: ({ source }, { uris }, args) => ({
    object: `project ${args.project}`,
    detail: `files=${source.files} destination=${args.destination} overwrite=${args.overwrite} result=${uris.join(',')}`,
  }),
  summarise: ({ source, into }, { uris, experimentId }) => ({
    source: source.path,
    files: source.files,
    bytes: source.bytes,
    uris,
    ...(experimentId !== undefined ? { experimentId } : {}),
    dryRun: false,
    summary: `Imported ${source.files} files into ${into}: ${uris.join(', ')}.`,
  }),
  render: (out) =>
    sections(
      out.dryRun ? `Dry run: ${out.summary} Nothing was sent.` : out.summary,
      renderFields([
        ['source', out.source],
        ['files', out.files],
        ['bytes', out.bytes],
        ['uris', out.uris.join(', ')],
        ['experiment', out.experimentId],
      ]),
    ),
});
