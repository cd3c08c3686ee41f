/** The tool catalogue, in the order tools/list shows them (stable order helps hosts' prompt caches). */
import { listProjectMembers, listUsers, manageProjectMember } from './access.js';
import { exportBids } from './bids.js';
import { getExperiment, getProject, getSubject, listFiles, listProjects } from './browse.js';
import { copyData } from './copy.js';
import { enableToolsets, getServerInfo } from './core.js';
import { getDicomHeader } from './dicom.js';
import { recordQc } from './qc.js';
import {
  createExperiment,
  createSubject,
  deleteObject,
  setQuarantine,
  shareObject,
  updateFields,
} from './curate.js';
import { DEFAULT_TOOLSETS, TOOLSETS, type AnyToolDefinition, type Toolset } from '../mcp/define.js';
import { getScanImage, getScanSnapshot } from './imaging.js';
import { importSession, listPrearchive, managePrearchive } from './prearchive.js';
import { findPipelines, getJobStatus, killJob, launchPipeline } from './processing.js';
import { describeSearchable, exportSearch, searchArchive } from './query.js';
import { searchExperiments, searchSubjects } from './search.js';
import { downloadFiles, uploadResource } from './transfer.js';

export { DEFAULT_TOOLSETS, TOOLSETS, type Toolset } from '../mcp/define.js';

export const ALL_TOOLS: readonly AnyToolDefinition[] = [
  getServerInfo,
  enableToolsets,
  listProjects,
  getProject,
  searchSubjects,
  getSubject,
  searchExperiments,
  getExperiment,
  listFiles,
  describeSearchable,
  searchArchive,
  exportSearch,
  createSubject,
  createExperiment,
  updateFields,
  shareObject,
  setQuarantine,
  deleteObject,
  uploadResource,
  downloadFiles,
  getDicomHeader,
  getScanImage,
  getScanSnapshot,
  recordQc,
  listPrearchive,
  managePrearchive,
  importSession,
  listProjectMembers,
  manageProjectMember,
  listUsers,
  exportBids,
  findPipelines,
  launchPipeline,
  getJobStatus,
  killJob,
  copyData,
];

export function isToolset(name: string): name is Toolset {
  return (TOOLSETS as readonly string[]).includes(name);
}

/** The tools a server exposes: those of the chosen toolsets (default DEFAULT_TOOLSETS), minus writing tools in read-only mode. */
export function selectTools(
  options: { toolsets?: readonly Toolset[] | undefined; readOnly?: boolean | undefined },
  tools: readonly AnyToolDefinition[] = ALL_TOOLS,
): AnyToolDefinition[] {
  const toolsets = new Set(options.toolsets ?? DEFAULT_TOOLSETS);
  return tools.filter((t) => toolsets.has(t.toolset) && !(options.readOnly && t.writes));
}
