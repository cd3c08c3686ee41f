/**
 * Output shapes of people and access: server details (getServerInfo, kept small: it is in the
 * default toolset), project members, site users and the current user. Beside format.ts, whose
 * bounds and list helpers they use.
 */
import * as z from 'zod';
import type { ProjectMember, ServerInfo, SiteUser, UserDetails } from '../client/index.js';
import { renderFields } from './format.js';

/** Plugins named in getServerInfo; the rest are counted. */
export const MAX_PLUGINS_NAMED = 20;

/** `3d 4h 5m 6s`: uptime as a person reads it. */
export function formatDuration(totalSeconds: number): string {
  const d = Math.floor(totalSeconds / 86_400);
  const h = Math.floor((totalSeconds % 86_400) / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return [d > 0 ? `${d}d` : '', d + h > 0 ? `${h}h` : '', d + h + m > 0 ? `${m}m` : '', `${s}s`]
    .filter((part) => part !== '')
    .join(' ');
}

const yesNo = (value: boolean | undefined): string | undefined =>
  value === undefined ? undefined : value ? 'yes' : 'no';

export const ServerInfoOutput = {
  url: z.string(),
  version: z.string(),
  buildNumber: z.string().optional(),
  buildDate: z.string().optional(),
  commit: z.string().optional(),
  user: z.string(),
  siteAdmin: z.boolean().optional().describe('Whether the user is a site administrator'),
  uptime: z.string().optional().describe('How long XNAT has been running, e.g. 3d 4h 5m 6s'),
  plugins: z.array(z.string()).optional().describe('Installed plugins as `id version`'),
  pluginCount: z.number().int().optional(),
  sessionIdleTimeoutSeconds: z.number().int().optional(),
  sessionExpiresAt: z.string().optional().describe('When the XNAT session ends if unused (ISO 8601)'),
  servers: z.array(z.object({ name: z.string(), url: z.string() })).optional(),
};
type ServerInfoShaped = z.infer<z.ZodObject<typeof ServerInfoOutput>>;

export function shapeServerInfo(info: ServerInfo): ServerInfoShaped {
  const plugins = info.plugins?.map((p) => (p.version ? `${p.id} ${p.version}` : p.id));
  return {
    url: info.url,
    version: info.version,
    buildNumber: info.buildNumber,
    buildDate: info.buildDate,
    commit: info.commit,
    user: info.user,
    siteAdmin: info.siteAdmin,
    uptime: info.uptimeSeconds === undefined ? undefined : formatDuration(info.uptimeSeconds),
    plugins: plugins?.slice(0, MAX_PLUGINS_NAMED),
    pluginCount: plugins?.length,
    sessionIdleTimeoutSeconds: info.session?.idleTimeoutSeconds,
    sessionExpiresAt: info.session?.expiresAt,
  };
}

export function renderServerInfo(info: ServerInfoShaped): string {
  const named = info.plugins ?? [];
  const more = (info.pluginCount ?? 0) - named.length;
  return renderFields([
    ['XNAT', info.url],
    ['version', info.version],
    ['build', info.buildNumber],
    ['built', info.buildDate],
    ['commit', info.commit],
    ['user', info.user],
    ['site admin', yesNo(info.siteAdmin)],
    ['uptime', info.uptime],
    [
      'plugins',
      info.pluginCount === undefined
        ? undefined
        : `${info.pluginCount}${named.length > 0 ? `: ${named.join(', ')}${more > 0 ? ` (+${more} more)` : ''}` : ''}`,
    ],
    [
      'session',
      info.sessionExpiresAt === undefined
        ? undefined
        : `ends ${info.sessionExpiresAt} if idle (idle timeout ${info.sessionIdleTimeoutSeconds ?? '?'} s; renewed by use)`,
    ],
    ['servers', info.servers?.map((s) => `${s.name} ${s.url}`).join(', ')],
  ]);
}

export const MemberItemSchema = z.object({
  login: z.string(),
  name: z.string(),
  email: z.string(),
  role: z
    .enum(['owner', 'member', 'collaborator', 'custom'])
    .describe("custom: a group of the project's own"),
  group: z.string().describe('Group display name (Owners, Members, Collaborators or a custom group)'),
  groupId: z.string(),
});
export type MemberItem = z.infer<typeof MemberItemSchema>;

const fullName = (u: { firstname: string; lastname: string }): string =>
  [u.firstname, u.lastname].filter((n) => n !== '').join(' ');

export function shapeMember(m: ProjectMember): MemberItem {
  return {
    login: m.login,
    name: fullName(m),
    email: m.email,
    role: m.role,
    group: m.groupName,
    groupId: m.group,
  };
}

export const MEMBER_COLUMNS = ['login', 'name', 'email', 'role', 'group', 'groupId'] as const;
export const memberRow = (m: MemberItem): string[] => [m.login, m.name, m.email, m.role, m.group, m.groupId];

export const SiteUserItemSchema = z.object({
  login: z.string(),
  name: z.string(),
  email: z.string(),
  id: z.number().int().describe('xdat_user_id'),
});
export type SiteUserItem = z.infer<typeof SiteUserItemSchema>;

export function shapeSiteUser(u: SiteUser): SiteUserItem {
  return { login: u.login, name: fullName(u), email: u.email, id: u.id };
}

export const ActiveUserItemSchema = z.object({
  login: z.string(),
  sessions: z.number().int().describe('Live XNAT sessions'),
});

export const MeSchema = z.object({
  login: z.string(),
  name: z.string().optional(),
  email: z.string().optional(),
  id: z.number().int().optional(),
  siteAdmin: z.boolean(),
  roles: z.array(z.string()).describe('Site roles; project roles: listProjectMembers'),
  lastLogin: z.string().optional(),
});
export type Me = z.infer<typeof MeSchema>;

export function shapeMe(u: UserDetails): Me {
  const name = fullName({ firstname: u.firstname ?? '', lastname: u.lastname ?? '' });
  return {
    login: u.login,
    ...(name !== '' ? { name } : {}),
    ...(u.email ? { email: u.email } : {}),
    ...(u.id !== undefined ? { id: u.id } : {}),
    siteAdmin: u.siteAdmin,
    roles: u.roles,
    ...(u.lastLogin ? { lastLogin: u.lastLogin } : {}),
  };
}

export function renderMe(me: Me): string {
  return renderFields([
    ['login', me.login],
    ['name', me.name],
    ['email', me.email],
    ['xdat_user_id', me.id],
    ['site admin', yesNo(me.siteAdmin)],
    ['site roles', me.roles.length > 0 ? me.roles.join(', ') : 'none'],
    ['last login', me.lastLogin],
  ]);
}
