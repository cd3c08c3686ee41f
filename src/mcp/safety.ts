/**
 * The safety framework every writing tool goes through: the project allow-list, local paths kept
 * inside the allowed roots, confirmation of destructive actions (elicitation, else a `confirm`
 * argument; fails closed), and one audit line per write. Built per tool call from the server's
 * options and the calling client's capabilities; it keeps no state between calls.
 */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { RequestId } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from './logger.js';
import { redactSecrets, ToolInputError } from './errors.js';

export interface Safety {
  /** Throws ToolInputError when XNAT_MCP_PROJECTS is set and `project` is not in it (or undefined when the object's project is unknown: resolve it first). */
  checkProject(project: string | undefined, action: string): void;
  /** Resolves a local path against the allowed roots (the client's roots when it lists some, else --root/XNAT_MCP_ROOTS, else cwd unless the client offers roots). Relative paths resolve against the first root. Existing paths are realpath'd (symlinks followed) and must stay inside a root; for new files the nearest existing ancestor is realpath'd. Throws ToolInputError naming the allowed roots. */
  resolveLocalPath(path: string, mode: 'read' | 'write'): Promise<string>;
  /** Destructive-action gate. With elicitation support: asks the user (message names action and target); declined/cancelled → throws ToolInputError. Without it: `confirm` must equal `expected` exactly, else throws ToolInputError telling the model to repeat the call with confirm: "<expected>" after the user agreed. Fails closed. */
  confirm(request: {
    action: string;
    target: string;
    expected: string;
    confirm?: string | undefined;
  }): Promise<void>;
  /** One audit line per write: `write user=<login> action=<tool> object=<ref> [detail]` to stderr and MCP logging. */
  audit(action: string, object: string, detail?: string): void;
}

/** Server-wide safety settings (from flags and environment). */
export interface SafetyOptions {
  /** Project allow-list (XNAT_MCP_PROJECTS / --projects); undefined: every project. */
  projects?: readonly string[] | undefined;
  /** Local directories tools may read and write (--root / XNAT_MCP_ROOTS); default the working directory. */
  roots?: readonly string[] | undefined;
}

export interface SafetyScope {
  options: SafetyOptions;
  /** The low-level SDK server of this connection: client capabilities, elicitation, roots, logging. */
  server: Server;
  sessionId?: string | undefined;
  /** The tool call being served: server-to-client requests ride its stream and end with it. */
  request: { id: RequestId; signal: AbortSignal };
  log: Logger;
  /** XNAT login the server acts as; looked up lazily, only when a write is audited. */
  user: () => string;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function isMissing(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR');
}

/** Realpath of `path`, or for a path that does not exist yet, of its nearest existing ancestor plus the rest. */
async function realpathOrAncestor(path: string): Promise<{ real: string; exists: boolean }> {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      const real = await realpath(current);
      return {
        real: missing.length === 0 ? real : resolve(real, ...missing.reverse()),
        exists: missing.length === 0,
      };
    } catch (err) {
      if (!isMissing(err)) throw err;
      const parent = resolve(current, '..');
      if (parent === current) throw err;
      missing.push(current.slice(parent.length).replace(/^[\\/]+/, ''));
      current = parent;
    }
  }
}

const FS_REASONS: Record<string, string> = {
  ELOOP: 'it runs into a symbolic link loop',
  ENAMETOOLONG: 'the path or one of its names is too long',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EINVAL: 'it is not a valid path',
};

/** File-system refusals while resolving a path are the caller's input, said plainly (no errno dump). */
async function asInputError<T>(pending: Promise<T>, path: string): Promise<T> {
  try {
    return await pending;
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : '';
    const reason = FS_REASONS[code];
    if (reason === undefined) throw err;
    throw new ToolInputError(`Local path ${path} cannot be used: ${reason}. Pass another path.`);
  }
}

/** Splits a delimited setting (XNAT_MCP_PROJECTS, XNAT_MCP_ROOTS); empty → undefined (the default applies). */
export function splitList(value: string | undefined, delimiter: string): string[] | undefined {
  if (value === undefined) return undefined;
  const roots = value
    .split(delimiter)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return roots.length > 0 ? roots : undefined;
}

export function createSafety(scope: SafetyScope): Safety {
  const { options, server, log } = scope;
  // Over Streamable HTTP a request without relatedRequestId goes to the optional standalone GET
  // stream; a client that never opened one would leave elicitation and roots/list hanging.
  const related = { relatedRequestId: scope.request.id, signal: scope.request.signal };

  async function allowedRoots(): Promise<{ roots: string[]; from: string }> {
    if (server.getClientCapabilities()?.roots) {
      const listed = await server.listRoots(undefined, related).catch((err: unknown) => {
        throw new ToolInputError(
          `The MCP client offers roots but did not list them (${err instanceof Error ? err.message : String(err)}), so no local path can be used; retry.`,
        );
      });
      const roots = listed.roots.filter((r) => r.uri.startsWith('file://')).map((r) => fileURLToPath(r.uri));
      if (roots.length > 0) return { roots, from: "the MCP client's roots" };
      // Hosts offer the capability with an empty list when the user chose nothing: the operator's
      // roots then apply; with none configured either, nothing is allowed (fail closed, no cwd).
      return operatorRoots() ?? { roots: [], from: "the MCP client's roots and --root / XNAT_MCP_ROOTS" };
    }
    return (
      operatorRoots() ?? {
        roots: [process.cwd()],
        from: 'the working directory (set --root or XNAT_MCP_ROOTS)',
      }
    );
  }

  function operatorRoots(): { roots: string[]; from: string } | undefined {
    if (options.roots === undefined || options.roots.length === 0) return undefined;
    return { roots: options.roots.map((r) => resolve(r)), from: '--root / XNAT_MCP_ROOTS' };
  }

  return {
    checkProject(project, action) {
      const allowed = options.projects;
      if (allowed === undefined) return;
      if (project === undefined) {
        throw new ToolInputError(
          `Cannot ${action}: the project could not be determined, and this server only touches projects ${allowed.join(', ')} (XNAT_MCP_PROJECTS). Pass the project explicitly.`,
        );
      }
      if (!allowed.includes(project)) {
        throw new ToolInputError(
          `Cannot ${action}: project ${project} is not in this server's allowed projects (${allowed.join(', ')}; XNAT_MCP_PROJECTS).`,
        );
      }
    },

    async resolveLocalPath(path, mode) {
      if (path.trim() === '' || path.includes('\0')) {
        throw new ToolInputError('A local path must be a non-empty path without NUL characters.');
      }
      const { roots, from } = await allowedRoots();
      const named = roots.length > 0 ? roots.join(', ') : '(none)';
      if (roots.length === 0) {
        throw new ToolInputError(
          `No local directory is allowed (${from} lists none), so ${path} cannot be used.`,
        );
      }
      const realRoots = await Promise.all(
        roots.map(async (r) => (await asInputError(realpathOrAncestor(r), r)).real),
      );
      const absolute = resolve(roots[0] ?? process.cwd(), path);
      const { real, exists } = await asInputError(realpathOrAncestor(absolute), path);
      if (!realRoots.some((root) => isInside(root, real))) {
        throw new ToolInputError(
          `Local path ${path} is outside the allowed directories (${named}, from ${from}); use a path inside one of them.`,
        );
      }
      if (mode === 'read' && !exists) {
        throw new ToolInputError(`Local path ${path} does not exist (resolved inside ${named}).`);
      }
      return real;
    },

    async confirm({ action, target, expected, confirm }) {
      // Form mode only: a client offering just URL-mode elicitation confirms with the argument.
      if (server.getClientCapabilities()?.elicitation?.form) {
        let accepted = false;
        try {
          const answer = await server.elicitInput(
            {
              message: `${action} ${target}? This changes the XNAT archive.`,
              requestedSchema: {
                type: 'object',
                properties: { confirm: { type: 'boolean', title: `Yes, ${action} ${target}` } },
                required: ['confirm'],
              },
            },
            related,
          );
          accepted = answer.action === 'accept' && answer.content?.confirm === true;
        } catch (err) {
          log.warning(`confirmation request failed: ${err instanceof Error ? err.message : String(err)}`);
        }
        if (!accepted) {
          throw new ToolInputError(
            `Not done: the user did not confirm to ${action} ${target}. Nothing was changed.`,
          );
        }
        return;
      }
      if (confirm === expected) return;
      const wrong = confirm === undefined ? '' : ` (confirm "${confirm}" does not match)`;
      throw new ToolInputError(
        `To ${action} ${target}, ask the user first; if they agree, repeat the call with confirm: "${expected}"${wrong}. Use dryRun: true to preview. Nothing was changed.`,
      );
    },

    audit(action, object, detail) {
      const line = redactSecrets(
        `write user=${scope.user()} action=${action} object=${object}${detail ? ` ${detail}` : ''}`,
      );
      log.info(line);
      server
        .sendLoggingMessage({ level: 'info', logger: 'audit', data: line }, scope.sessionId)
        .catch(() => undefined);
    },
  };
}
