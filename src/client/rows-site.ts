/**
 * rows.ts's part for people and the site: who is logged in, build information, uptime, plugins,
 * user profiles and roles (XAPI JSON), and the rows of `/data/users` and `/data/projects/{p}/users`.
 */
import * as z from 'zod';
import {
  MEMBER_ROLES,
  type ActiveUser,
  type MemberRole,
  type Plugin,
  type ProjectMember,
  type SiteUser,
} from './models.js';
import { parseJson, protocolError, validate, type Edge, type Row } from './rows.js';

export function parseAuthUser(body: string, edge: Edge): string {
  const user = /User '([^']+)' is logged in/.exec(body)?.[1];
  if (user === undefined) throw protocolError(edge, 'an unexpected answer to "who am I"');
  return user;
}

const text = z.union([z.string(), z.number()]).transform(String);

const BuildInfoSchema = z.looseObject({
  version: text,
  buildNumber: text.optional(),
  buildDate: text.optional(),
  sha: text.optional(),
});

export interface BuildInfo {
  version: string;
  buildNumber?: string;
  buildDate?: string;
  commit?: string;
}

/** `/xapi/siteConfig/buildInfo` (XnatAppInfo's map of strings). */
export function parseBuildInfo(body: string, edge: Edge): BuildInfo {
  const info = validate(BuildInfoSchema, parseJson(body, edge), edge, 'build information');
  return {
    version: info.version,
    ...(info.buildNumber ? { buildNumber: info.buildNumber } : {}),
    ...(info.buildDate ? { buildDate: info.buildDate } : {}),
    ...(info.sha ? { commit: info.sha } : {}),
  };
}

const count = z.union([z.string(), z.number()]).transform(Number).pipe(z.number().nonnegative());
const UptimeSchema = z.looseObject({ days: count, hours: count, minutes: count, seconds: count });

/** `/xapi/siteConfig/uptime`: a map of days, hours, minutes and seconds (strings) → whole seconds. */
export function parseUptime(body: string, edge: Edge): number {
  const u = validate(UptimeSchema, parseJson(body, edge), edge, 'uptime');
  return Math.floor(((u.days * 24 + u.hours) * 60 + u.minutes) * 60 + u.seconds);
}

const PluginsSchema = z.record(
  z.string(),
  z.looseObject({ id: z.string().optional(), name: z.string().optional(), version: text.optional() }),
);

/** `/xapi/plugins`: XnatPluginBeans by plugin ID, in ID order. */
export function parsePlugins(body: string, edge: Edge): Plugin[] {
  const plugins = validate(PluginsSchema, parseJson(body, edge), edge, 'the plugin list');
  return Object.entries(plugins)
    .map(([key, p]) => ({
      id: p.id ?? key,
      name: p.name ?? p.id ?? key,
      ...(p.version ? { version: p.version } : {}),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const ProfileSchema = z.looseObject({
  username: z.string(),
  id: z.number().int().optional(),
  firstName: z.string().nullish(),
  lastName: z.string().nullish(),
  email: z.string().nullish(),
  lastSuccessfulLogin: z.union([z.number(), z.string()]).nullish(),
});

export interface Profile {
  login: string;
  id?: number;
  firstname?: string;
  lastname?: string;
  email?: string;
  lastLogin?: string;
}

/** `/xapi/users/profile`: XNAT's `User` bean (dates as epoch milliseconds). */
export function parseProfile(body: string, edge: Edge): Profile {
  const p = validate(ProfileSchema, parseJson(body, edge), edge, 'a user profile');
  const login = typeof p.lastSuccessfulLogin === 'number' ? new Date(p.lastSuccessfulLogin) : undefined;
  return {
    login: p.username,
    ...(p.id !== undefined ? { id: p.id } : {}),
    ...(p.firstName ? { firstname: p.firstName } : {}),
    ...(p.lastName ? { lastname: p.lastName } : {}),
    ...(p.email ? { email: p.email } : {}),
    ...(login && !Number.isNaN(login.getTime()) ? { lastLogin: login.toISOString() } : {}),
  };
}

/** `/xapi/users/{u}/roles`: the user's site role names. */
export function parseRoles(body: string, edge: Edge): string[] {
  return validate(z.array(z.string()), parseJson(body, edge), edge, "a user's roles");
}

const ActiveUsersSchema = z.record(
  z.string(),
  z.looseObject({ count: z.number().int().optional(), sessions: z.array(z.unknown()).optional() }),
);

/** `/xapi/users/active`: session counts by login (the session IDs it also lists are dropped here). */
export function parseActiveUsers(body: string, edge: Edge): ActiveUser[] {
  const active = validate(ActiveUsersSchema, parseJson(body, edge), edge, 'the active users');
  return Object.entries(active)
    .map(([login, a]) => ({ login, sessions: a.count ?? a.sessions?.length ?? 0 }))
    .sort((a, b) => (a.login < b.login ? -1 : a.login > b.login ? 1 : 0));
}

/** A `/data/users` row (UserListResource). */
export function toSiteUser(row: Row): SiteUser {
  return {
    id: Number(row.xdat_user_id ?? '') || 0,
    login: row.login ?? '',
    firstname: row.firstname ?? '',
    lastname: row.lastname ?? '',
    email: row.email ?? '',
  };
}

const DEFAULT_GROUP_NAMES: Record<MemberRole, string> = {
  owner: 'Owners',
  member: 'Members',
  collaborator: 'Collaborators',
};

/**
 * A `/data/projects/{p}/users` row (ProjectUserListResource): the default groups are
 * `{project}_owner|member|collaborator` shown as Owners, Members, Collaborators; any other group
 * tagged with the project is custom.
 */
export function toProjectMember(row: Row): ProjectMember {
  const group = row.GROUP_ID ?? '';
  const groupName = row.displayname ?? '';
  const role =
    MEMBER_ROLES.find((r) => group.endsWith(`_${r}`) && groupName === DEFAULT_GROUP_NAMES[r]) ?? 'custom';
  return {
    login: row.login ?? '',
    firstname: row.firstname ?? '',
    lastname: row.lastname ?? '',
    email: row.email ?? '',
    role,
    group,
    groupName,
  };
}
