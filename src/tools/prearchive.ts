/**
 * The `prearchive` toolset: see what is waiting in XNAT's prearchive, archive / move / delete /
 * rebuild it, and import DICOM (a zip or a folder) through XNAT's import service. Projects go through
 * the allow-list; deleting, and archiving or importing with overwrite "delete", need confirmation.
 */
import { stat } from 'node:fs/promises';
import * as z from 'zod';
import { confirmParam, dryRunParam } from './params.js';
import { checkZip, listLocalFiles, type PrearchiveSession } from '../client/index.js';
import { READ_ONLY, defineTool, writeAnnotations } from './define.js';
import { ToolInputError } from './errors.js';
import { listOutput, pageListing, pageOfArray, pagingInput, renderFields, renderList } from './format.js';
import { projectTarget } from './browse.js';
import { progressReporter } from './transfer.js';

const PrearchiveItemSchema = z.object({
  url: z.string().describe('Pass as `session` to managePrearchive'),
  project: z.string(),
  subject: z.string(),
  name: z.string().describe('Session label it will be archived under'),
  status: z.string().describe('READY can be archived; ERROR/CONFLICT need a look (or a rebuild)'),
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
  .describe(
    'If the session exists in the archive: none (default) refuses, append adds new scans/files, delete replaces it (needs confirmation)',
  );

export const listPrearchive = defineTool({
  name: 'listPrearchive',
  title: 'List XNAT prearchive sessions',
  description:
    "Lists imaging sessions waiting in XNAT's prearchive (received, not yet archived), of one project or of every project you can edit: url, project, subject, session name, status, scan date. Pass a session's url to managePrearchive to archive, move, delete or rebuild it. Paged: pass nextCursor back as cursor.",
  toolset: 'prearchive',
  inputSchema: {
    project: z.string().min(1).optional().describe('Only this project (default: all you can edit)'),
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
    "Acts on one prearchive session (its url from listPrearchive): archive it into the archive (optionally into another project, subject or label, with overwrite and quarantine options), move it to another project's prearchive, delete it, or rebuild it (re-read its files, e.g. after an ERROR). Deleting, and archiving with overwrite \"delete\", need the user's confirmation (the server asks through the client, or tells you which `confirm` value to repeat: the session's folder name). dryRun: true reports what would happen.",
  toolset: 'prearchive',
  inputSchema: {
    session: z
      .string()
      .min(1)
      .describe(
        'The session url from listPrearchive, e.g. /prearchive/projects/P/20240611_101128996/SESSION',
      ),
    action: z.enum(['archive', 'move', 'delete', 'rebuild']).describe('What to do'),
    toProject: z.string().min(1).optional().describe('move: the destination project'),
    project: z
      .string()
      .min(1)
      .optional()
      .describe("archive: archive into this project (default: the session's)"),
    subject: z.string().min(1).optional().describe('archive: subject label to file it under'),
    label: z.string().min(1).optional().describe('archive: experiment label (default: the session name)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('archive: put the archived session into quarantine'),
    confirm: confirmParam,
    dryRun: dryRunParam,
  },
  outputSchema: {
    action: z.string(),
    session: z.string().describe('The session acted on'),
    uris: z.array(z.string()).describe("XNAT's answer: the archived session's or the moved session's URI"),
    experimentId: z.string().optional().describe('Archived experiment, when XNAT names it'),
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
    'Sends DICOM files to XNAT\'s import service: a zip file, or a local folder (zipped while it is sent). XNAT sorts them into sessions by their DICOM headers. destination "archive" (default) files them straight into the project (optionally under a subject and label); "prearchive" leaves them for review with listPrearchive/managePrearchive. The zip is checked first (no entry may leave its folder). overwrite "delete" replaces an existing session and needs the user\'s confirmation (the `confirm` value is the label, or the project when no label is given). Returns XNAT\'s URIs of what was created. dryRun: true reports what would be sent.',
  toolset: 'prearchive',
  inputSchema: {
    path: z
      .string()
      .min(1)
      .describe('Local zip file or folder of DICOM files (inside the allowed directories)'),
    project: z.string().min(1).describe('Destination project ID'),
    subject: z.string().min(1).optional().describe('Subject label (default: from the DICOM headers)'),
    label: z.string().min(1).optional().describe('Experiment label (default: from the DICOM headers)'),
    overwrite: overwriteParam,
    quarantine: z.boolean().optional().describe('Put the imported session into quarantine'),
    destination: z
      .enum(['archive', 'prearchive'])
      .default('archive')
      .describe('archive (default) or prearchive (to review before archiving)'),
    confirm: confirmParam,
    dryRun: dryRunParam,
  },
  outputSchema: {
    source: z.string().describe('Resolved local path'),
    files: z.number().describe('Files sent (entries of the zip, or files of the folder)'),
    bytes: z.number().describe('Bytes of the files'),
    uris: z.array(z.string()).describe("XNAT's answer: one URI per created session"),
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
      onProgress: progressReporter(ctx, 'sent'),
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
