/**
 * The `transfer` toolset: upload local files into an XNAT resource and download XNAT files to a
 * local folder. Local paths go through the safety roots, the owning project through the allow-list;
 * an upload that would replace files needs confirmation. Both stream, in parallel, with progress.
 */
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import * as z from 'zod';
import {
  checkZip,
  listLocalFiles,
  type ObjectDescription,
  type ObjectKind,
  type ResourceParent,
  type XnatFile,
} from '../client/index.js';
import { defineTool, writeAnnotations, type ToolAnnotations, type ToolContext } from '../mcp/define.js';
import { ToolInputError } from '../mcp/errors.js';
import {
  capArray,
  mib,
  renderFields,
  renderTable,
  sections,
  sumSizes,
  truncatedSchema,
  withTruncated,
} from '../mcp/format.js';
import { confirmParam, dryRunParam } from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { resourceParentTarget } from '../mcp/targets.js';

const RESOURCE_LABEL = /^[A-Za-z0-9_.-]+$/;
const MAX_LOCAL_FILES = 10_000;

const resourceParam = z
  .string()
  .regex(RESOURCE_LABEL, "resource labels use letters, digits, '_', '-' and '.'")
  .describe('Resource label, e.g. DICOM, NIFTI (see getExperiment)');

const parentInput = {
  project: z.string().min(1).optional().describe('Project ID (the parent, or to resolve labels)'),
  subject: z.string().min(1).optional().describe('Accession ID or label with `project`'),
  experiment: z.string().min(1).optional().describe('Accession ID or label with `project`'),
  scan: z.string().min(1).optional().describe('Scan ID of the experiment'),
  assessor: z.string().min(1).optional().describe('Assessor ID of the experiment'),
};

function parentKind(p: ResourceParent): ObjectKind {
  if (p.assessor !== undefined) return 'assessor';
  if (p.scan !== undefined) return 'scan';
  if (p.experiment !== undefined) return 'experiment';
  if (p.subject !== undefined) return 'subject';
  return 'project';
}

function parentOf(args: ResourceParent): ResourceParent {
  const { project, subject, experiment, scan, assessor } = args;
  if (project === undefined && subject === undefined && experiment === undefined) {
    throw new ToolInputError(
      'Name where the resource hangs: project, subject or experiment (plus scan or assessor).',
    );
  }
  if ((scan !== undefined || assessor !== undefined) && experiment === undefined) {
    throw new ToolInputError('A scan or assessor needs its experiment.');
  }
  if (scan !== undefined && assessor !== undefined) {
    throw new ToolInputError('Give either a scan or an assessor, not both.');
  }
  return { project, subject, experiment, scan, assessor };
}

/** E.g. `experiment MR1 (XNAT_E00001) in project P`: the object a transfer is about, named for people. */
function ownerName(owner: ObjectDescription, experiment: string | undefined): string {
  const name =
    owner.label && owner.label !== owner.id
      ? `${owner.kind} ${owner.label} (${owner.id})`
      : `${owner.kind} ${owner.id}`;
  const of = owner.kind === 'scan' || owner.kind === 'assessor' ? ` of experiment ${experiment ?? ''}` : '';
  return `${name}${of}${owner.project ? ` in project ${owner.project}` : ''}`;
}

/** A label from XNAT used as a local folder name must stay one folder: no separators, no `.`/`..`. */
function isPlainSegment(name: string | undefined): name is string {
  return name !== undefined && name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

// ---------------------------------------------------------------------------------------------
// uploadResource

const UploadedSchema = z.object({
  remotePath: z.string(),
  size: z.number(),
  digest: z.string().describe('MD5; empty when none'),
  verified: z.boolean().describe('Size and MD5 read back match'),
});

const PlannedSchema = z.object({ remotePath: z.string(), size: z.number() });

export const uploadResource = defineTool({
  name: 'uploadResource',
  title: 'Upload files into an XNAT resource',
  description:
    "Uploads local files and folders (recursively) from the allowed directories, or one zip for XNAT to extract, into a resource of a project, subject, experiment, scan or assessor. Existing remote files are conflicts unless overwrite: true (needs the user's confirmation, see `confirm`). Sizes and MD5s are checked afterwards. dryRun: true shows the plan.",
  toolset: 'transfer',
  inputSchema: {
    ...parentInput,
    resource: resourceParam,
    localPaths: z
      .array(z.string().min(1))
      .min(1)
      .max(1000)
      .describe('Local files/folders (relative to the first allowed directory)'),
    remoteFolder: z
      .string()
      .min(1)
      .optional()
      .describe('Folder in the resource, e.g. "sub-01/anat" (default: root)'),
    extract: z.boolean().default(false).describe('true: localPaths is one zip for XNAT to extract'),
    overwrite: z.boolean().default(false).describe('true: replace existing files (needs confirmation)'),
    format: z.string().min(1).optional().describe('Recorded file format, e.g. NIFTI'),
    content: z.string().min(1).optional().describe('Recorded content label, e.g. T1_RAW'),
    confirm: confirmParam,
    dryRun: dryRunParam,
  },
  outputSchema: {
    target: z.string(),
    uploaded: z.array(UploadedSchema),
    uploadedCount: z.number(),
    bytes: z.number(),
    conflicts: z.array(z.string()).describe('Existing remote paths, left unchanged'),
    conflictCount: z.number(),
    planned: z.array(PlannedSchema).optional().describe('Dry run only'),
    skippedLocal: z.array(z.string()).describe('Symbolic links and special files'),
    dryRun: z.boolean(),
    summary: z.string(),
    truncated: truncatedSchema,
  },
  annotations: writeAnnotations({ destructive: true, idempotent: false }),
  writes: true,
  async handler(args, ctx) {
    const parent = parentOf(args);
    const owner = await ctx.client.describeObject(
      { kind: parentKind(parent), ...parent },
      { signal: ctx.signal },
    );
    const target = `resource ${args.resource} of ${ownerName(owner, parent.experiment)}`;
    ctx.safety.checkProject(owner.project, `upload to ${target}`);
    const folder = args.remoteFolder?.replace(/^\/+|\/+$/g, '');
    const files: Array<{ localPath: string; remotePath: string; size: number }> = [];
    const skippedLocal: string[] = [];
    for (const path of args.localPaths) {
      const real = await ctx.safety.resolveLocalPath(path, 'read');
      const info = await stat(real);
      if (info.isDirectory()) {
        const listed = await listLocalFiles(real);
        skippedLocal.push(...listed.skipped);
        for (const f of listed.files) {
          files.push({
            localPath: f.localPath,
            remotePath: folder ? `${folder}/${f.relativePath}` : f.relativePath,
            size: f.size,
          });
        }
      } else if (info.isFile()) {
        // The name the caller gave, not a symbolic link's target: like cp and scp.
        const name = basename(resolve(path));
        files.push({ localPath: real, remotePath: folder ? `${folder}/${name}` : name, size: info.size });
      } else {
        skippedLocal.push(real);
      }
      if (files.length > MAX_LOCAL_FILES) {
        throw new ToolInputError(
          `More than ${MAX_LOCAL_FILES} files to upload; upload folders in smaller parts.`,
        );
      }
    }
    if (files.length === 0)
      throw new ToolInputError('There is nothing to upload: the paths hold no regular files.');
    if (args.extract && (files.length !== 1 || !files[0]!.localPath.toLowerCase().endsWith('.zip'))) {
      throw new ToolInputError('extract: true takes exactly one .zip file.');
    }
    const existing = new Set(
      ((await ctx.client.listResourceFiles(parent, args.resource, { signal: ctx.signal })) ?? []).map(
        (f) => f.path,
      ),
    );
    const planned = args.extract
      ? (await checkZip(files[0]!.localPath))
          .filter((e) => !e.directory)
          .map((e) => ({ remotePath: folder ? `${folder}/${e.name}` : e.name, size: e.size }))
      : files.map((f) => ({ remotePath: f.remotePath, size: f.size }));
    const clashes = planned.filter((p) => existing.has(p.remotePath)).map((p) => p.remotePath);
    const truncated: Record<string, number> = {};

    if (args.dryRun) {
      const fresh = args.overwrite ? planned : planned.filter((p) => !existing.has(p.remotePath));
      const what = args.overwrite
        ? `would upload ${planned.length} files (${mib(sumSizes(planned))}), replacing ${clashes.length}`
        : `would upload ${fresh.length} files (${mib(sumSizes(fresh))}); ${clashes.length} already exist and would be left unchanged`;
      return withTruncated(
        {
          target,
          uploaded: [],
          uploadedCount: 0,
          bytes: 0,
          conflicts: args.overwrite ? [] : capArray(clashes, 'conflicts', truncated),
          conflictCount: args.overwrite ? 0 : clashes.length,
          planned: capArray(fresh, 'planned', truncated),
          skippedLocal: capArray(skippedLocal, 'skippedLocal', truncated),
          dryRun: true,
          summary: `Dry run: ${what} into ${target}.`,
        },
        truncated,
      );
    }
    if (args.overwrite && clashes.length > 0) {
      await ctx.safety.confirm({
        action: `replace ${clashes.length} existing file${clashes.length === 1 ? '' : 's'} (${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ', ...' : ''}) in`,
        target,
        expected: owner.id,
        confirm: args.confirm,
      });
    }
    const result = await ctx.client.upload({
      parent,
      resource: args.resource,
      files: files.map((f) => ({ localPath: f.localPath, remotePath: f.remotePath })),
      extractZip: args.extract,
      overwrite: args.overwrite,
      ...(args.format !== undefined ? { format: args.format } : {}),
      ...(args.content !== undefined ? { content: args.content } : {}),
      signal: ctx.signal,
      onProgress: progressReporter(ctx.progress, 'uploaded'),
    });
    const bytes = sumSizes(result.uploaded);
    if (result.uploaded.length > 0) {
      ctx.safety.audit(
        'uploadResource',
        `${parentKind(parent)} ${owner.id} resource ${args.resource}`,
        `files=${result.uploaded.length} bytes=${bytes} overwrite=${args.overwrite}${owner.project ? ` project=${owner.project}` : ''}`,
      );
    }
    const unverified = result.uploaded.filter((u) => !u.verified).length;
    return withTruncated(
      {
        target,
        uploaded: capArray(result.uploaded, 'uploaded', truncated),
        uploadedCount: result.uploaded.length,
        bytes,
        conflicts: capArray(result.conflicts, 'conflicts', truncated),
        conflictCount: result.conflicts.length,
        skippedLocal: capArray(skippedLocal, 'skippedLocal', truncated),
        dryRun: false,
        summary: [
          `Uploaded ${result.uploaded.length} files (${mib(bytes)}) into ${target}`,
          unverified > 0
            ? `${unverified} checked by size only (XNAT gave no MD5)`
            : 'sizes and MD5s verified',
          result.conflicts.length > 0
            ? `${result.conflicts.length} already existed and were left unchanged (pass overwrite: true to replace them)`
            : '',
        ]
          .filter((s) => s !== '')
          .join('; ')
          .concat('.'),
      },
      truncated,
    );
  },
  render: (out) =>
    sections(
      out.summary,
      out.uploaded.length > 0
        ? renderTable(
            ['remotePath', 'size', 'md5', 'verified'],
            out.uploaded.map((u) => [u.remotePath, u.size, u.digest, u.verified ? 'yes' : 'size only']),
          )
        : '',
      out.planned && out.planned.length > 0
        ? renderTable(
            ['would upload', 'size'],
            out.planned.map((p) => [p.remotePath, p.size]),
          )
        : '',
      out.conflicts.length > 0 ? `Conflicts (left unchanged): ${out.conflicts.join(', ')}` : '',
      out.skippedLocal.length > 0 ? `Skipped locally: ${out.skippedLocal.join(', ')}` : '',
    ),
  target: resourceParentTarget,
});

// ---------------------------------------------------------------------------------------------
// downloadFiles

const DownloadedSchema = z.object({
  localPath: z.string(),
  size: z.number(),
  md5: z.string(),
  checksum: z
    .enum(['match', 'mismatch', 'unavailable'])
    .describe('unavailable: XNAT has no MD5 (size checked)'),
});

/**
 * Downloads never change XNAT, but they do write local files: not read-only, and read-only mode
 * (which promises the server changes nothing) removes them too. Existing files are kept unless
 * `overwrite` is passed, and then they are replaced: destructive, as uploadResource is.
 */
const DOWNLOAD_ANNOTATIONS: ToolAnnotations = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: true,
  openWorldHint: true,
};

async function selectFiles(
  args: {
    project?: string | undefined;
    subject?: string | undefined;
    experiment?: string | undefined;
    scans?: string[] | undefined;
    scanTypes?: string[] | undefined;
    assessor?: string | undefined;
    resource?: string | undefined;
    file?: string | undefined;
  },
  ctx: ToolContext,
): Promise<XnatFile[]> {
  const { client, signal } = ctx;
  const byResource = (files: XnatFile[]): XnatFile[] =>
    args.resource === undefined ? files : files.filter((f) => f.resource === args.resource);
  const byFile = (files: XnatFile[]): XnatFile[] =>
    args.file === undefined ? files : files.filter((f) => f.path === args.file);
  if (args.file !== undefined && args.resource === undefined) {
    throw new ToolInputError('A single file needs its resource too (see listFiles for both).');
  }
  if (args.experiment === undefined) {
    if (args.scans || args.scanTypes || args.assessor) {
      throw new ToolInputError('Scans and assessors need their experiment.');
    }
    if (args.resource === undefined) {
      throw new ToolInputError('Name an experiment, or a resource of the project or subject, to download.');
    }
    const files = await client.listResourceFiles(
      { project: args.project, subject: args.subject },
      args.resource,
      { signal },
    );
    if (files === undefined) throw new ToolInputError(`There is no resource ${args.resource} there.`);
    return byFile(files);
  }
  const target = { experiment: args.experiment, ...(args.project ? { project: args.project } : {}) };
  if (args.assessor !== undefined) {
    if (args.scans || args.scanTypes) throw new ToolInputError('Give scans or an assessor, not both.');
    return byFile(byResource(await client.listFiles({ ...target, assessor: args.assessor }, { signal })));
  }
  const all = byFile(byResource(await client.listFiles(target, { signal })));
  if (args.scans === undefined && args.scanTypes === undefined) return all;
  const wanted = new Set(args.scans ?? []);
  if (args.scanTypes !== undefined) {
    const types = new Set(args.scanTypes.map((t) => t.toLowerCase()));
    for (const scan of await client.listScans(args.experiment, { ...target, signal })) {
      if (types.has(scan.type.toLowerCase())) wanted.add(scan.id);
    }
  }
  return all.filter((f) => f.scan !== undefined && wanted.has(f.scan));
}

export const downloadFiles = defineTool({
  name: 'downloadFiles',
  title: 'Download XNAT files to a local folder',
  description:
    "Downloads an experiment, some scans (by ID or type), an assessor's files, a resource (of an experiment, project or subject) or one file into a local folder in the allowed directories. Files are kept only when size and MD5 match. Existing local files are skipped (so a repeated call resumes) unless overwrite: true.",
  toolset: 'transfer',
  inputSchema: {
    project: parentInput.project,
    subject: parentInput.subject,
    experiment: parentInput.experiment,
    assessor: parentInput.assessor,
    scans: z.array(z.string().min(1)).min(1).optional().describe('Scan IDs of the experiment'),
    scanTypes: z.array(z.string().min(1)).min(1).optional().describe('Scan types (any case), e.g. ["T1w"]'),
    resource: resourceParam.optional(),
    file: z.string().min(1).optional().describe('File path in the resource (from listFiles)'),
    destination: z.string().min(1).describe('Local folder (created if missing)'),
    layout: z
      .enum(['xnat', 'flat'])
      .default('xnat')
      .describe('xnat: <experiment label>/scans/<id>/resources/<label>/files/...; flat: file names only'),
    overwrite: z.boolean().default(false).describe('true: replace local files that differ'),
  },
  outputSchema: {
    source: z.string(),
    destination: z.string(),
    files: z.array(DownloadedSchema),
    fileCount: z.number(),
    bytes: z.number(),
    skipped: z.array(z.object({ localPath: z.string(), reason: z.string() })),
    skippedCount: z.number(),
    summary: z.string(),
    truncated: truncatedSchema,
  },
  annotations: DOWNLOAD_ANNOTATIONS,
  writes: true,
  async handler(args, ctx) {
    const kind: ObjectKind =
      args.experiment !== undefined ? 'experiment' : args.subject !== undefined ? 'subject' : 'project';
    if (kind === 'project' && args.project === undefined) {
      throw new ToolInputError('Name an experiment, or a project or subject resource, to download.');
    }
    const owner = await ctx.client.describeObject(
      { kind, project: args.project, subject: args.subject, experiment: args.experiment },
      { signal: ctx.signal },
    );
    const source = ownerName(owner, args.experiment);
    ctx.safety.checkProject(owner.project, `download from ${source}`);
    const destination = await ctx.safety.resolveLocalPath(args.destination, 'write');
    const files = await selectFiles(args, ctx);
    if (files.length === 0) throw new ToolInputError(`No files match in ${source}; check with listFiles.`);
    // In XNAT's layout an experiment's files sit under its label, as in XNAT's own zips; a label
    // that is not one plain folder name (XNAT's data is not ours to trust) falls back to the ID.
    const folderName = [owner.label, owner.id].find(isPlainSegment);
    const destDir =
      args.layout === 'xnat' && kind === 'experiment' && folderName !== undefined
        ? join(destination, folderName)
        : destination;
    const result = await ctx.client.download({
      files,
      destDir,
      layout: args.layout,
      overwrite: args.overwrite,
      signal: ctx.signal,
      onProgress: progressReporter(ctx.progress, 'downloaded'),
    });
    const truncated: Record<string, number> = {};
    const bytes = sumSizes(result.files);
    if (result.files.length > 0) {
      ctx.safety.audit(
        'downloadFiles',
        `${kind} ${owner.id}`,
        `files=${result.files.length} bytes=${bytes} to=${destDir}${owner.project ? ` project=${owner.project}` : ''}`,
      );
    }
    return withTruncated(
      {
        source,
        destination: destDir,
        files: capArray(
          result.files.map((f) => ({
            localPath: f.localPath,
            size: f.size,
            md5: f.digest,
            checksum: f.checksum,
          })),
          'files',
          truncated,
        ),
        fileCount: result.files.length,
        bytes,
        skipped: capArray(result.skipped, 'skipped', truncated),
        skippedCount: result.skipped.length,
        summary: `Downloaded ${result.files.length} of ${files.length} files (${mib(bytes)}) from ${source} into ${destDir}${result.skipped.length > 0 ? `; ${result.skipped.length} skipped (already there)` : ''}.`,
      },
      truncated,
    );
  },
  render: (out) =>
    sections(
      out.summary,
      out.files.length > 0
        ? renderTable(
            ['localPath', 'size', 'checksum'],
            out.files.map((f) => [f.localPath, f.size, f.checksum]),
          )
        : '',
      out.skipped.length > 0
        ? renderTable(
            ['skipped', 'reason'],
            out.skipped.map((s) => [s.localPath, s.reason]),
          )
        : '',
      renderFields([['left out', out.truncated ? JSON.stringify(out.truncated) : undefined]]),
    ),
  target: resourceParentTarget,
});
