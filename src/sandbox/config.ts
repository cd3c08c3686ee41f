/**
 * XNAT's configuration service (ConfigResource): `/data/config[/{tool}[/{path...}]]` site-wide and
 * `/data/projects/{p}/config[/{tool}[/{path...}]]` per project. Contents are opaque strings kept
 * with every version; `contents=true` answers the current contents as they were stored (a bidsmap
 * is a JSON list), anything else a table of `tool, path, project, user, create_date, reason,
 * contents, unversioned, version, status`.
 */
import { canDeleteProject, canListProject, canReadProject } from './access.js';
import { SandboxHttpError } from './errors.js';
import { findProject } from './lookup.js';
import type { SandboxArchive, StoredConfig, StoredProject } from './model.js';
import { multipartBoundary, partText, readMultipart } from './multipart.js';
import { textReply, type AuthedContext, type Reply } from './reply.js';
import { tableReply } from './table.js';

const CONFIG_COLUMNS = [
  'tool',
  'path',
  'project',
  'user',
  'create_date',
  'reason',
  'contents',
  'unversioned',
  'version',
  'status',
];

export function configsOf(archive: SandboxArchive): Map<string, StoredConfig> {
  archive.configs ??= new Map();
  return archive.configs;
}

const keyOf = (project: string | undefined, tool: string, path: string): string =>
  `${project ?? ''}\u0000${tool}\u0000${path}`;

/** Stores a new version of a configuration (seeding and PUT); unchanged enabled contents add none. */
export function storeConfig(
  archive: SandboxArchive,
  entry: { project?: string; tool: string; path: string; contents: string; user: string; created: number },
  reason = '',
): 'created' | 'updated' | 'unchanged' {
  const configs = configsOf(archive);
  const key = keyOf(entry.project, entry.tool, entry.path);
  const existing = configs.get(key);
  const version = {
    contents: entry.contents,
    user: entry.user,
    created: entry.created,
    reason,
    status: 'enabled' as const,
  };
  if (!existing) {
    configs.set(key, { tool: entry.tool, path: entry.path, project: entry.project, versions: [version] });
    return 'created';
  }
  const current = existing.versions[existing.versions.length - 1];
  if (current?.status === 'enabled' && current.contents === entry.contents) return 'unchanged';
  existing.versions.push(version);
  return 'updated';
}

/** `java.sql.Timestamp#toString`, as the table's create_date shows it. */
function timestamp(ms: number): string {
  const iso = new Date(ms).toISOString();
  const millis = iso.slice(20, 23).replace(/0+$/, '') || '0';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${millis}`;
}

/** The project of a project-scoped URL, checked as ConfigResource does (404 unknown, 403 unreadable). */
function scopeProject(ctx: AuthedContext): StoredProject | undefined {
  const id = ctx.params.project;
  if (id === undefined) return undefined;
  const project = findProject(ctx.state.archive, id);
  if (!project || !canListProject(project, ctx.user)) {
    throw new SandboxHttpError(404, `The requested project ${id} does not exist.`);
  }
  if (!canReadProject(project, ctx.user)) {
    throw new SandboxHttpError(403, `User ${ctx.user.login} can not access project ${project.id}`);
  }
  return project;
}

const isTrue = (value: string | null): boolean => value !== null && /^(true|1|t|y|yes)$/i.test(value);

function row(config: StoredConfig, index: number, projectId: string | undefined, meta: boolean) {
  const v = config.versions[index];
  return {
    tool: config.tool,
    path: config.path,
    project: projectId ?? '',
    user: v?.user ?? '',
    create_date: v ? timestamp(v.created) : '',
    reason: v?.reason ?? '',
    contents: meta ? '' : (v?.contents ?? ''),
    unversioned: 'false',
    version: String(index + 1),
    status: v?.status ?? '',
  };
}

/** `GET [/projects/{p}]/config[/{tool}[/{path...}]]`. */
export function getConfig(ctx: AuthedContext): Reply {
  const project = scopeProject(ctx);
  const projectId = project?.id;
  const tool = ctx.params.tool;
  const path = ctx.rest.join('/');
  const inScope = [...configsOf(ctx.state.archive).values()].filter((c) => c.project === projectId);
  if (tool === undefined) {
    const tools = [...new Set(inScope.map((c) => c.tool))];
    if (tools.length > 0)
      return tableReply(ctx, { columns: ['tool'], rows: tools.map((t) => ({ tool: t })) });
    return notFound(ctx, projectId, '', '');
  }
  if (path === '') {
    const configs = inScope.filter((c) => c.tool === tool);
    if (configs.length === 0) return notFound(ctx, projectId, tool, '');
    const rows = configs.map((c) => row(c, c.versions.length - 1, projectId, false));
    return tableReply(ctx, { columns: CONFIG_COLUMNS, rows });
  }
  let config = inScope.find((c) => c.tool === tool && c.path === path);
  if (!config && projectId !== undefined && isTrue(ctx.query.get('defaultToSiteWide'))) {
    config = configsOf(ctx.state.archive).get(keyOf(undefined, tool, path));
  }
  if (!config) return notFound(ctx, projectId, tool, path);
  if (ctx.query.get('action')?.toLowerCase() === 'gethistory') {
    const rows = config.versions.map((_, i) => row(config, i, projectId, false));
    return tableReply(ctx, { columns: CONFIG_COLUMNS, rows });
  }
  const asked = Number.parseInt(ctx.query.get('version') ?? '', 10);
  const index = Number.isNaN(asked) ? config.versions.length - 1 : asked - 1;
  if (index < 0 || index >= config.versions.length) return notFound(ctx, projectId, tool, path);
  const contents = isTrue(ctx.query.get('contents'));
  const meta = isTrue(ctx.query.get('meta'));
  if (contents && !meta) {
    const v = config.versions[index];
    if (!v || v.status === 'disabled') {
      if (isTrue(ctx.query.get('accept-not-found'))) return textReply(204, '');
      throw new SandboxHttpError(
        404,
        `Config not found for user ${ctx.user.login} and project ${projectId ?? null} on tool [${tool}] path [${path}]`,
      );
    }
    return textReply(200, v.contents);
  }
  return tableReply(ctx, {
    columns: CONFIG_COLUMNS,
    rows: [row(config, index, projectId, meta && !contents)],
  });
}

function notFound(ctx: AuthedContext, projectId: string | undefined, tool: string, path: string): Reply {
  const message = `Couldn't find config for user ${ctx.user.login} and project ${projectId ?? null} on tool [${tool || null}] path [${path || null}]`;
  if (isTrue(ctx.query.get('accept-not-found'))) {
    return { ...tableReply(ctx, { columns: [], rows: [] }), status: 204 };
  }
  throw new SandboxHttpError(404, message);
}

/** Who may change a configuration: the project's owners (delete right) or a site admin. */
function checkWriter(ctx: AuthedContext): StoredProject | undefined {
  const id = ctx.params.project;
  const project = id === undefined ? undefined : findProject(ctx.state.archive, id);
  if (!(ctx.user.admin || (project && canDeleteProject(project, ctx.user)))) {
    throw new SandboxHttpError(403, 'User does not have privileges to modify config for this project');
  }
  if (id !== undefined && !project)
    throw new SandboxHttpError(404, `The requested project ${id} does not exist.`);
  return project;
}

/** The body's contents and status: a JSON map `{contents, status}`, a multipart file, or the raw body. */
async function putBody(ctx: AuthedContext): Promise<{ contents?: string; status?: string }> {
  const type = ctx.headers['content-type'] ?? '';
  if (/^application\/json/i.test(type)) {
    const text = (await ctx.body()).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new SandboxHttpError(500, 'Unrecognized JSON body');
    }
    const map = (parsed ?? {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { contents: str(map.contents), status: str(map.status) };
  }
  const status = ctx.query.get('status') ?? undefined;
  const boundary = multipartBoundary(type);
  if (boundary) {
    const files: string[] = [];
    await readMultipart(ctx.bodyStream(), boundary, async (_info, stream) => {
      files.push(await partText(stream));
    });
    if (files.length > 1) throw new SandboxHttpError(400, 'Config contents are limited to a single file');
    return { contents: files[0], status };
  }
  const body = (await ctx.body()).toString('utf8');
  return { contents: body.length > 0 ? body : undefined, status };
}

/** `PUT [/projects/{p}]/config/{tool}/{path...}`: a new version (201 first, 200 after), or a status change. */
export async function putConfig(ctx: AuthedContext): Promise<Reply> {
  const project = checkWriter(ctx);
  const tool = ctx.params.tool ?? '';
  const path = ctx.rest.join('/');
  const { contents, status } = await putBody(ctx);
  if (status === undefined && contents === undefined) {
    throw new SandboxHttpError(
      400,
      'You must specify either the status querystring parameter or a configuration object in the request body.',
    );
  }
  if (status !== undefined && !/^(enabled|true|disabled|false)$/i.test(status)) {
    throw new SandboxHttpError(
      400,
      `Only valid values for the status flag are enabled or true and disabled or false: ${status}`,
    );
  }
  const configs = configsOf(ctx.state.archive);
  const key = keyOf(project?.id, tool, path);
  const enabled = status === undefined || /^(enabled|true)$/i.test(status);
  if (contents === undefined) {
    const current = configs.get(key)?.versions.at(-1);
    if (current) current.status = enabled ? 'enabled' : 'disabled';
    return textReply(200, '');
  }
  if (contents.trim() === '') throw new SandboxHttpError(500, 'No contents provided');
  const reason = ctx.query.get('reason') ?? '';
  const entry = { project: project?.id, tool, path, contents, user: ctx.user.login, created: Date.now() };
  const outcome = storeConfig(ctx.state.archive, entry, reason);
  const current = configs.get(key)?.versions.at(-1);
  if (current && !enabled) current.status = 'disabled';
  return textReply(outcome === 'created' ? 201 : 200, '');
}

/** `DELETE [/projects/{p}]/config/{tool}/{path...}`: disables the configuration (history kept). */
export function deleteConfig(ctx: AuthedContext): Reply {
  if (ctx.params.project === undefined && !ctx.user.admin) {
    throw new SandboxHttpError(
      403,
      `User ${ctx.user.login} is not an administrator and can't disable the configuration setting ${ctx.rest.join('/')} for the tool ${ctx.params.tool ?? ''}`,
    );
  }
  const project = checkWriter(ctx);
  const current = configsOf(ctx.state.archive)
    .get(keyOf(project?.id, ctx.params.tool ?? '', ctx.rest.join('/')))
    ?.versions.at(-1);
  if (current) current.status = 'disabled';
  return textReply(200, '');
}
