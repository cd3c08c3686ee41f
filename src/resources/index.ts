/**
 * MCP resources (`xnat://` templates returning the same shaped objects as the get* tools), the
 * completion of project IDs, and the prompts. Like the tools, they keep no per-session state: the
 * only cache is the short-lived project ID list, kept per XnatClient.
 */
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { ResourceTemplate, type McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError, type ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import type { XnatClient } from '../client/client.js';
import { XnatNotFoundError } from '../client/errors.js';
import { describeToolError, type ErrorTarget } from '../mcp/errors.js';
import { shapeExperimentDetail, shapeProjectDetail, shapeSubjectDetail } from '../mcp/format.js';
import type { Logger } from '../mcp/logger.js';
import { experimentTarget, projectTarget, subjectTarget } from '../mcp/targets.js';
import { EXPERIMENT_TEMPLATE, PROJECT_TEMPLATE, SUBJECT_TEMPLATE, projectUri } from '../mcp/uris.js';
import { registerScanViewer } from './viewer.js';

export interface ResourceDeps {
  client: XnatClient;
  log: Logger;
}

/** Completions are typed keystroke by keystroke: one listing per client serves them for a while. */
const PROJECT_CACHE_MS = 30_000;
const MAX_COMPLETIONS = 100;
/** resources/list has no paging through a template's `list`: a site with thousands of projects is cut here. */
export const MAX_LISTED_PROJECTS = 100;
const projectIdCache = new WeakMap<XnatClient, { at: number; ids: Promise<string[]> }>();

function projectIds(client: XnatClient): Promise<string[]> {
  const cached = projectIdCache.get(client);
  if (cached !== undefined && Date.now() - cached.at < PROJECT_CACHE_MS) return cached.ids;
  const ids = client.listProjects().then((projects) => projects.map((p) => p.id).sort());
  // A failed listing must not be served from the cache.
  ids.catch(() => projectIdCache.delete(client));
  projectIdCache.set(client, { at: Date.now(), ids });
  return ids;
}

/** Prefix match (case-insensitive) over the visible project IDs; completion never fails loudly. */
export async function completeProject(client: XnatClient, prefix: string): Promise<string[]> {
  try {
    const lower = prefix.toLowerCase();
    return (await projectIds(client))
      .filter((id) => id.toLowerCase().startsWith(lower))
      .slice(0, MAX_COMPLETIONS);
  } catch {
    return [];
  }
}

/** Template variables arrive percent-encoded (the SDK's matcher does not decode). */
function variable(value: string | string[] | undefined, name: string): string {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === '')
    throw new McpError(ErrorCode.InvalidParams, `Missing ${name} in resource URI`);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new McpError(ErrorCode.InvalidParams, `Malformed ${name} in resource URI`);
  }
}

/** XNAT's "not found" answers as MCP's resource-not-found; other failures as internal errors. */
const RESOURCE_NOT_FOUND = -32002;

async function readJson(
  uri: URL,
  deps: ResourceDeps,
  target: ErrorTarget,
  load: () => Promise<unknown>,
): Promise<ReadResourceResult> {
  try {
    const body = await load();
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(body) }] };
  } catch (err) {
    const message = describeToolError(err, {
      operation: `read ${uri.href}`,
      url: deps.client.url,
      target,
      log: deps.log,
    });
    throw new McpError(
      err instanceof XnatNotFoundError ? RESOURCE_NOT_FOUND : ErrorCode.InternalError,
      message,
      { uri: uri.href },
    );
  }
}

export function registerResources(server: McpServer, deps: ResourceDeps): void {
  registerScanViewer(server);
  const { client } = deps;
  const complete = { project: (value: string) => completeProject(client, value) };

  server.registerResource(
    'project',
    new ResourceTemplate(PROJECT_TEMPLATE, {
      list: async (extra) => {
        try {
          const projects = await client.listProjects({ signal: extra.signal });
          const first = projects
            .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
            .slice(0, MAX_LISTED_PROJECTS);
          return {
            resources: first.map((p) => ({
              uri: projectUri(p.id),
              name: p.id,
              title: p.name,
              mimeType: 'application/json',
            })),
          };
        } catch (err) {
          const message = describeToolError(err, {
            operation: 'resources/list',
            url: client.url,
            log: deps.log,
          });
          throw new McpError(ErrorCode.InternalError, message);
        }
      },
      complete,
    }),
    {
      title: 'XNAT project',
      description: `A project: description, PI, keywords, counts of subjects and experiments. resources/list shows the first ${MAX_LISTED_PROJECTS} projects by ID; page through all with the listProjects tool.`,
      mimeType: 'application/json',
    },
    (uri, vars, extra) => {
      const project = variable(vars.project, 'project');
      return readJson(uri, deps, projectTarget(project), async () =>
        shapeProjectDetail(await client.getProject(project, { signal: extra.signal })),
      );
    },
  );

  server.registerResource(
    'subject',
    new ResourceTemplate(SUBJECT_TEMPLATE, { list: undefined, complete }),
    {
      title: 'XNAT subject',
      description:
        'A subject (accession ID or label) in a project: demographics, fields, shares, experiments',
      mimeType: 'application/json',
    },
    (uri, vars, extra) => {
      const project = variable(vars.project, 'project');
      const subject = variable(vars.subject, 'subject');
      return readJson(uri, deps, subjectTarget(subject, project), async () =>
        shapeSubjectDetail(await client.getSubject(subject, { project, signal: extra.signal })),
      );
    },
  );

  server.registerResource(
    'experiment',
    new ResourceTemplate(EXPERIMENT_TEMPLATE, { list: undefined, complete }),
    {
      title: 'XNAT experiment',
      description: 'An experiment (accession ID or label) in a project: scans, resources, assessors, status',
      mimeType: 'application/json',
    },
    (uri, vars, extra) => {
      const project = variable(vars.project, 'project');
      const experiment = variable(vars.experiment, 'experiment');
      return readJson(uri, deps, experimentTarget(experiment, project), async () =>
        shapeExperimentDetail(await client.getExperiment(experiment, { project, signal: extra.signal })),
      );
    },
  );
}

export function registerPrompts(server: McpServer, deps: ResourceDeps): void {
  server.registerPrompt(
    'summarizeProject',
    {
      title: 'Summarize an XNAT project',
      description:
        'Ask for an overview of one project: what it studies, its subjects, sessions and data types',
      argsSchema: {
        project: completable(z.string().describe('Project ID'), (value) =>
          completeProject(deps.client, value),
        ),
      },
    },
    ({ project }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text:
              `Summarize the XNAT project ${project}. Use getProject for its description and counts, ` +
              `searchSubjects and searchExperiments with project=${project} (small limits) for a sample of its ` +
              'subjects and sessions, and getExperiment on one typical session for its scans. Report what the ' +
              'project studies, how much data it holds by type and date range, and anything unusual ' +
              '(quarantined sessions, shared subjects).',
          },
        },
      ],
    }),
  );
}
