/**
 * The `prearchive` toolset: see what is waiting in XNAT's prearchive, archive / move / delete /
 * rebuild it, and import DICOM (a zip or a folder) through XNAT's import service. Projects go through
 * the allow-list; deleting, and archiving or importing with overwrite "delete", need confirmation.
 */
import { stat } from 'node:fs/promises';
import * as z from 'zod';
import { checkZip, listLocalFiles, type PrearchiveSession } from '../client/index.js';
import { READ_ONLY, defineTool, writeAnnotations } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  listOutput,
  pageListing,
  pageOfArray,
  pagingInput,
  renderFields,
  renderList,
} from '../mcp/format.js';
import { confirmParam, dryRunParam } from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { projectTarget } from '../mcp/targets.js';

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
    project: z.string().min(1).optional().describe('Project ID (default: all)'),
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
    renderList('prearchive sessions', out, ['url', 'subject', 'name', 'status', 'scanDate'], (s) => [
      s.url,
      s.subject,
      s.name,
      s.status,
      s.scanDate,
    ]),
  target: (args) => (args.project ? projectTarget(args.project) : undefined),
});

export const managePrearchive = defineTool({
  name: 'managePrearchive',
  title: 'Archive, move, delete or rebuild a prearchive session',
  description:
    'Archives, moves (to another project\'s prearchive), deletes or rebuilds (re-reads, e.g. after ERROR) a session from listPrearchive. Deleting, and overwrite "delete", need the user\'s confirmation (see `confirm`). dryRun: true reports the plan.',
  toolset: 'prearchive',
  inputSchema: {
    session: z.string().min(1).describe('Its url from listPrearchive'),
    action: z.enum(['archive', 'move', 'delete', 'rebuild']).describe('What to do'),
    toProject: z.string().min(1).optional().describe('move: destination project'),
    project: z.string().min(1).optional().describe("archive: into this project (default: the session's)"),
    subject: z.string().min(1).optional().describe('archive: subject label'),
    label: z.string().min(1).optional().describe('archive: experiment label (default: session name)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('archive: quarantine it'),
    confirm: confirmParam,
    dryRun: dryRunParam,
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
  writes: true,
  async handler(args, ctx) {
    const { client, signal, safety } = ctx;
    const session = await client.getPrearchiveSession(args.session, { signal });
    const what = `prearchive session ${session.name} (subject ${session.subject || '?'}, ${session.status}) in project ${session.project}`;
    safety.checkProject(session.project, `${args.action} ${what}`);
    if (args.action === 'move') {
      if (args.toProject === undefined) throw new ToolInputError('move needs toProject.');
      safety.checkProject(args.toProject, `move ${what} into project ${args.toProject}`);
    } else if (args.toProject !== undefined) {
      throw new ToolInputError('toProject is only for action "move".');
    }
    const destination = args.project ?? session.project;
    if (args.action === 'archive') safety.checkProject(destination, `archive ${what}`);
    const plan =
      args.action === 'archive'
        ? `archive ${what} into project ${destination}${args.subject ? ` subject ${args.subject}` : ''} as ${args.label ?? session.name} (overwrite ${args.overwrite}${args.quarantine ? ', quarantined' : ''})`
        : args.action === 'move'
          ? `move ${what} to project ${args.toProject}`
          : `${args.action} ${what}`;
    const base = { action: args.action, session: session.url };
    if (args.dryRun) return { ...base, uris: [], dryRun: true, summary: `Would ${plan}.` };
    if (args.action === 'delete' || (args.action === 'archive' && args.overwrite === 'delete')) {
      await safety.confirm({
        action: args.action === 'delete' ? 'delete' : 'archive, replacing the archived session of',
        target: what,
        expected: session.folderName,
        confirm: args.confirm,
      });
    }
    let uris: string[] = [];
    let experimentId: string | undefined;
    switch (args.action) {
      case 'archive': {
        const result = await client.archivePrearchive({
          session: session.url,
          ...(args.project ? { project: args.project } : {}),
          ...(args.subject ? { subject: args.subject } : {}),
          ...(args.label ? { label: args.label } : {}),
          ...(args.overwrite !== 'none' ? { overwrite: args.overwrite } : {}),
          ...(args.quarantine !== undefined ? { quarantine: args.quarantine } : {}),
          signal,
        });
        uris = result.uris;
        experimentId = result.experimentId;
        break;
      }
      case 'move':
        uris = [await client.movePrearchive({ session: session.url, toProject: args.toProject!, signal })];
        break;
      case 'delete':
        await client.deletePrearchive({ session: session.url, signal });
        break;
      case 'rebuild':
        await client.rebuildPrearchive({ session: session.url, signal });
        break;
    }
    safety.audit(
      'managePrearchive',
      `prearchive ${session.url}`,
      `action=${args.action}${uris[0] ? ` result=${uris[0]}` : ''}`,
    );
    const done = { archive: 'Archived', move: 'Moved', delete: 'Deleted', rebuild: 'Rebuilt' }[args.action];
    return {
      ...base,
      uris,
      ...(experimentId !== undefined ? { experimentId } : {}),
      dryRun: false,
      summary: `${done} ${what}${uris[0] ? ` → ${uris[0]}` : ''}.`,
    };
  },
  render: (out) =>
    out.dryRun
      ? `Dry run: ${out.summary} Nothing was changed.`
      : `${out.summary}${out.experimentId ? `\nexperiment: ${out.experimentId}` : ''}`,
});

export const importSession = defineTool({
  name: 'importSession',
  title: 'Import DICOM into XNAT',
  description:
    "Imports DICOM (a zip or a folder) with XNAT's import service, which sorts files into sessions by their headers, into the archive or the prearchive (see listPrearchive). overwrite \"delete\" needs the user's confirmation (see `confirm`). Returns the created sessions' URIs. dryRun: true reports the plan.",
  toolset: 'prearchive',
  inputSchema: {
    path: z.string().min(1).describe('Local zip or folder of DICOM files'),
    project: z.string().min(1).describe('Destination project ID'),
    subject: z.string().min(1).optional().describe('Subject label (default: from DICOM)'),
    label: z.string().min(1).optional().describe('Experiment label (default: from DICOM)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('Quarantine the session'),
    destination: z.enum(['archive', 'prearchive']).default('archive').describe('Where the sessions go'),
    confirm: confirmParam,
    dryRun: dryRunParam,
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
  writes: true,
  async handler(args, ctx) {
    const { client, signal, safety } = ctx;
    safety.checkProject(args.project, `import into project ${args.project}`);
    const source = await safety.resolveLocalPath(args.path, 'read');
    const info = await stat(source);
    let files: number;
    let bytes: number;
    if (info.isDirectory()) {
      const listed = await listLocalFiles(source);
      files = listed.files.length;
      bytes = listed.files.reduce((sum, f) => sum + f.size, 0);
      if (files === 0) throw new ToolInputError(`${args.path} holds no files to import.`);
    } else if (info.isFile()) {
      const entries = (await checkZip(source)).filter((e) => !e.directory);
      files = entries.length;
      bytes = entries.reduce((sum, e) => sum + e.size, 0);
    } else {
      throw new ToolInputError(`${args.path} is neither a zip file nor a folder.`);
    }
    const into = `project ${args.project}${args.subject ? ` subject ${args.subject}` : ''}${args.label ? ` as ${args.label}` : ''} (${args.destination}, overwrite ${args.overwrite}${args.quarantine ? ', quarantined' : ''})`;
    const base = { source, files, bytes };
    if (args.dryRun) {
      return {
        ...base,
        uris: [],
        dryRun: true,
        summary: `Would import ${files} files (${bytes} bytes) into ${into}.`,
      };
    }
    if (args.overwrite === 'delete') {
      await safety.confirm({
        action: 'import, replacing any existing session,',
        target: into,
        expected: args.label ?? args.project,
        confirm: args.confirm,
      });
    }
    const result = await client.importSession({
      ...(info.isDirectory() ? { directory: source } : { zipPath: source }),
      project: args.project,
      ...(args.subject ? { subject: args.subject } : {}),
      ...(args.label ? { label: args.label } : {}),
      overwrite: args.overwrite,
      ...(args.quarantine !== undefined ? { quarantine: args.quarantine } : {}),
      destination: args.destination,
      signal,
      onProgress: progressReporter(ctx.progress, 'sent'),
    });
    safety.audit(
      'importSession',
      `project ${args.project}`,
      `files=${files} destination=${args.destination} overwrite=${args.overwrite} result=${result.uris.join(',')}`,
    );
    return {
      ...base,
      uris: result.uris,
      ...(result.experimentId !== undefined ? { experimentId: result.experimentId } : {}),
      dryRun: false,
      summary: `Imported ${files} files into ${into}: ${result.uris.join(', ')}.`,
    };
  },
  render: (out) =>
    out.dryRun
      ? `Dry run: ${out.summary} Nothing was sent.`
      : renderFields([
          ['summary', out.summary],
          ['experiment', out.experimentId],
        ]),
  target: (args) => projectTarget(args.project),
});
