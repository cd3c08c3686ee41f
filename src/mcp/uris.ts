/**
 * The `xnat://` URIs of the MCP resources, built in one place so tools' resource links and the
 * resource templates always agree. Segments are percent-encoded: labels may hold spaces and
 * non-ASCII characters.
 */
import type { ResourceLink } from '@modelcontextprotocol/sdk/types.js';

export const PROJECT_TEMPLATE = 'xnat://projects/{project}';
export const SUBJECT_TEMPLATE = 'xnat://projects/{project}/subjects/{subject}';
export const EXPERIMENT_TEMPLATE = 'xnat://projects/{project}/experiments/{experiment}';

/** The scan viewer (an MCP App), linked from getScanImage's definition and served as a resource. */
export const SCAN_VIEWER_URI = 'ui://xnat-mcp/scan-viewer.html';

const seg = encodeURIComponent;

export function projectUri(project: string): string {
  return `xnat://projects/${seg(project)}`;
}

export function subjectUri(project: string, subject: string): string {
  return `${projectUri(project)}/subjects/${seg(subject)}`;
}

export function experimentUri(project: string, experiment: string): string {
  return `${projectUri(project)}/experiments/${seg(experiment)}`;
}

export function resourceLink(uri: string, name: string, description?: string): ResourceLink {
  return description === undefined
    ? { type: 'resource_link', uri, name, mimeType: 'application/json' }
    : { type: 'resource_link', uri, name, description, mimeType: 'application/json' };
}
