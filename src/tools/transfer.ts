/**
 * The `transfer` toolset: upload local files into an XNAT resource and download XNAT files to a
 * local folder. Local paths go through the safety roots, the owning project through the allow-list;
 * an upload that would replace files needs confirmation. Both stream, in parallel, with progress.
 */
import * as z from 'zod';
import { writeAnnotations, type ToolAnnotations } from '../mcp/define.js';
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
import {
  MAX_ID_LENGTH,
  MAX_PATH_LENGTH,
  assessorParam,
  experimentParam,
  filePathParam,
  localPathParam,
  optionalProjectParam,
  scanParam,
  subjectParam,
  textParam,
} from '../mcp/params.js';
import { progressReporter } from '../mcp/progress.js';
import { resourceParentTarget } from '../mcp/targets.js';
import {
  downloadKind,
  ownerName,
  planDownload,
  planUpload,
  resourceParent,
  resourceParentKind,
} from '../mcp/transfer-plan.js';
import { defineWriteTool } from '../mcp/write.js';

const RESOURCE_LABEL = /^[A-Za-z0-9_.-]+$/;

const resourceParam = z
  .string()
  .regex(RESOURCE_LABEL, "resource labels use letters, digits, '_', '-' and '.'")
  .max(MAX_ID_LENGTH, `resource labels have at most ${MAX_ID_LENGTH} characters`)
  .describe('Resource label, e.g. DICOM, NIFTI (see getExperiment)');

const parentInput = {
  project: optionalProjectParam.describe('Project ID (the parent, or to resolve labels)'),
  subject: subjectParam.optional().describe('Accession ID or label with `project`'),
  experiment: experimentParam.optional().describe('Accession ID or label with `project`'),
  scan: scanParam.optional().describe('Scan ID of the experiment'),
  assessor: assessorParam.optional().describe('Assessor ID of the experiment'),
};

// ---------------------------------------------------------------------------------------------
// uploadResource

const UploadedSchema = z.object({
  remotePath: z.string(),
  size: z.number(),
  digest: z.string().describe('MD5; empty when none'),
  verified: z.boolean().describe('Size and MD5 read back match'),
});

const PlannedSchema = z.object({ remotePath: z.string(), size: z.number() });

export const uploadResource = defineWriteTool({
  name: 'uploadResource',
  title: 'Upload files into an XNAT resource',
  description:
    'Uploads local files and folders (recursively) from the allowed directories, or one zip for XNAT to extract, into a resource of a project, subject, experiment, scan or assessor. Existing remote files are conflicts unless overwrite: true (needs confirmation). Sizes and MD5s are checked afterwards; dryRun shows the plan.',
  toolset: 'transfer',
  inputSchema: {
    ...parentInput,
    resource: resourceParam,
    localPaths: z
      .array(localPathParam)
      .min(1)
      .max(1000)
      .describe('Local files/folders (relative to the first allowed directory)'),
    remoteFolder: textParam('remoteFolder', MAX_PATH_LENGTH)
      .optional()
      .describe('Folder in the resource, e.g. "sub-01/anat" (default: root)'),
    extract: z.boolean().default(false).describe('true: localPaths is one zip for XNAT to extract'),
    overwrite: z.boolean().default(false).describe('true: replace existing files (needs confirmation)'),
    format: textParam('format').optional().describe('Recorded file format, e.g. NIFTI'),
    content: textParam('content').optional().describe('Recorded content label, e.g. T1_RAW'),
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
  resolve: async (args, { client, signal }) => {
    const parent = resourceParent(args);
    const owner = await client.describeObject({ kind: resourceParentKind(parent), ...parent }, { signal });
    return { parent, owner, target: `resource ${args.resource} of ${ownerName(owner, parent.experiment)}` };
  },
  projects: ({ owner, target }) => [{ project: owner.project, action: `upload to ${target}` }],
  plan: async (resolved, args, ctx) => ({
    ...resolved,
    ...(await planUpload({ ...args, ...resolved }, ctx)),
  }),
  guard: {
    preview: ({ target, planned, clashes, writes, skippedLocal }, { overwrite }) => {
      const truncated: Record<string, number> = {};
      const what = overwrite
        ? `would upload ${planned.length} files (${mib(sumSizes(planned))}), replacing ${clashes.length}`
        : `would upload ${writes.length} files (${mib(sumSizes(writes))}); ${clashes.length} already exist and would be left unchanged`;
      return withTruncated(
        {
          target,
          uploaded: [],
          uploadedCount: 0,
          bytes: 0,
          conflicts: overwrite ? [] : capArray(clashes, 'conflicts', truncated),
          conflictCount: overwrite ? 0 : clashes.length,
          planned: capArray(writes, 'planned', truncated),
          skippedLocal: capArray(skippedLocal, 'skippedLocal', truncated),
          dryRun: true,
          summary: `Dry run: ${what} into ${target}.`,
        },
        truncated,
      );
    },
    confirmation: ({ target, owner, clashes }, { overwrite }) =>
      overwrite && clashes.length > 0
        ? {
            action: `replace ${clashes.length} existing file${clashes.length === 1 ? '' : 's'} (${clashes.slice(0, 3).join(', ')}${clashes.length > 3 ? ', ...' : ''}) in`,
            target,
            expected: owner.id,
          }
        : undefined,
  },
  act: ({ parent, files }, args, { client, signal, progress }) =>
    client.upload({
      parent,
      resource: args.resource,
      files: files.map((f) => ({ localPath: f.localPath, remotePath: f.remotePath })),
      extractZip: args.extract,
      overwrite: args.overwrite,
      ...(args.format !== undefined ? { format: args.format } : {}),
      ...(args.content !== undefined ? { content: args.content } : {}),
      signal,
      onProgress: progressReporter(progress, 'uploaded'),
    }),
  audit: ({ parent, owner }, { uploaded }, args) =>
    uploaded.length > 0
      ? {
          object: `${resourceParentKind(parent)} ${owner.id} resource ${args.resource}`,
          detail: `files=${uploaded.length} bytes=${sumSizes(uploaded)} overwrite=${args.overwrite}${owner.project ? ` project=${owner.project}` : ''}`,
        }
      : undefined,
  summarise: ({ target, skippedLocal }, { uploaded, conflicts }) => {
    const truncated: Record<string, number> = {};
    const bytes = sumSizes(uploaded);
    const unverified = uploaded.filter((u) => !u.verified).length;
    return withTruncated(
      {
        target,
        uploaded: capArray(uploaded, 'uploaded', truncated),
        uploadedCount: uploaded.length,
        bytes,
        conflicts: capArray(conflicts, 'conflicts', truncated),
        conflictCount: conflicts.length,
        skippedLocal: capArray(skippedLocal, 'skippedLocal', truncated),
        dryRun: false,
        summary: [
          `Uploaded ${uploaded.length} files (${mib(bytes)}) into ${target}`,
          unverified > 0
            ? `${unverified} checked by size only (XNAT gave no MD5)`
            : 'sizes and MD5s verified',
          conflicts.length > 0
            ? `${conflicts.length} already existed and were left unchanged (pass overwrite: true to replace them)`
            : '',
        ]
          .filter((part) => part !== '')
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

export const downloadFiles = defineWriteTool({
  name: 'downloadFiles',
  title: 'Download XNAT files to a local folder',
  description:
    "Downloads an experiment, some scans (by ID or type), an assessor's files, a resource (of an experiment, project or subject) or one file into a local folder in the allowed directories. Files are kept only when size and MD5 match; existing ones are skipped (a repeat resumes) unless overwrite.",
  toolset: 'transfer',
  inputSchema: {
    project: parentInput.project,
    subject: parentInput.subject,
    experiment: parentInput.experiment,
    assessor: parentInput.assessor,
    scans: z.array(scanParam).min(1).max(1000).optional().describe('Scan IDs of the experiment'),
    scanTypes: z
      .array(textParam('Scan type'))
      .min(1)
      .max(100)
      .optional()
      .describe('Scan types as the site names them (any case, * wildcard), e.g. ["T1w*"]'),
    resource: resourceParam.optional(),
    file: filePathParam.optional(),
    destination: localPathParam.describe('Local folder (created if missing)'),
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
  resolve: async (args, { client, signal }) => {
    const kind = downloadKind(args);
    const owner = await client.describeObject(
      { kind, project: args.project, subject: args.subject, experiment: args.experiment },
      { signal },
    );
    return { kind, owner, source: ownerName(owner, args.experiment) };
  },
  projects: ({ owner, source }) => [{ project: owner.project, action: `download from ${source}` }],
  plan: async (resolved, args, ctx) => ({
    ...resolved,
    ...(await planDownload(args, resolved.owner, resolved.source, ctx)),
  }),
  act: ({ files, destDir }, args, { client, signal, progress }) =>
    client.download({
      files,
      destDir,
      layout: args.layout,
      overwrite: args.overwrite,
      signal,
      onProgress: progressReporter(progress, 'downloaded'),
    }),
  audit: ({ kind, owner, destDir }, result) =>
    result.files.length > 0
      ? {
          object: `${kind} ${owner.id}`,
          detail: `files=${result.files.length} bytes=${sumSizes(result.files)} to=${destDir}${owner.project ? ` project=${owner.project}` : ''}`,
        }
      : undefined,
  summarise: ({ source, files, destDir }, result) => {
    const truncated: Record<string, number> = {};
    const bytes = sumSizes(result.files);
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
      `bytes: ${out.bytes}`,
      out.files.length > 0
        ? renderTable(
            ['localPath', 'size', 'md5', 'checksum'],
            out.files.map((f) => [f.localPath, f.size, f.md5, f.checksum]),
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
