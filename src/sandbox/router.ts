/**
 * The route table: `{ method, pattern, handler }` entries matched against decoded path segments.
 * Pattern segments are literals, `{name}` (one segment) or a final `{name+}` (one or more).
 * Routes are tried in order, so literal routes go before parameterised ones they overlap with.
 */
import type { AuthedContext, Reply, RequestContext } from './reply.js';

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export type Route =
  | { method: Method; pattern: string; open?: false; handler: (ctx: AuthedContext) => Reply | Promise<Reply> }
  /** Open URLs: reachable without authentication (XNAT's configured open URLs and login services). */
  | { method: Method; pattern: string; open: true; handler: (ctx: RequestContext) => Reply | Promise<Reply> };

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
  rest: string[];
}

export type MatchResult =
  { kind: 'found'; match: RouteMatch } | { kind: 'method'; allowed: Method[] } | { kind: 'none' };

function matchPattern(
  pattern: string[],
  segments: string[],
): { params: Record<string, string>; rest: string[] } | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const part = pattern[i] ?? '';
    if (part.startsWith('{') && part.endsWith('+}')) {
      const rest = segments.slice(i);
      return rest.length > 0 ? { params, rest } : undefined;
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = segment;
    else if (part !== segment) return undefined;
  }
  return pattern.length === segments.length ? { params, rest: [] } : undefined;
}

export class Router {
  private readonly routes: Array<{ route: Route; parts: string[] }>;

  constructor(routes: Route[]) {
    this.routes = routes.map((route) => ({ route, parts: route.pattern.split('/').filter((p) => p !== '') }));
  }

  match(method: string, segments: string[]): MatchResult {
    const allowed: Method[] = [];
    for (const { route, parts } of this.routes) {
      const found = matchPattern(parts, segments);
      if (!found) continue;
      if (route.method === method) return { kind: 'found', match: { route, ...found } };
      if (!allowed.includes(route.method)) allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: 'method', allowed } : { kind: 'none' };
  }
}
