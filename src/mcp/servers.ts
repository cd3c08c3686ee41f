/**
 * The XNAT servers a server can talk to, by name (XNAT_MCP_SERVERS; the single configured server is
 * `default`). A client is created on first use and kept; names and URLs are shown, credentials never.
 */
import type { XnatClient } from '../client/index.js';
import { ToolInputError } from './errors.js';

export interface ServerEntry {
  name: string;
  url: string;
}

export interface ServerDirectory {
  /** Names and URLs, the default first. */
  list(): ServerEntry[];
  /** The client of a named server (the default when no name is given); an unknown name is a ToolInputError listing the names. */
  client(name?: string): XnatClient;
  /** Closes every client this directory created (not the ones it was given). */
  close(): Promise<void>;
}

/** One named server: its URL, and how to make its client (or the client itself). */
export interface ServerSource extends ServerEntry {
  create?: () => XnatClient;
  client?: XnatClient;
}

export function serverDirectory(sources: readonly ServerSource[]): ServerDirectory {
  if (sources.length === 0) throw new Error('serverDirectory needs at least one server');
  const made = new Map<string, XnatClient>();
  const find = (name: string | undefined): ServerSource => {
    if (name === undefined) return sources[0]!;
    const source = sources.find((s) => s.name.toLowerCase() === name.toLowerCase());
    if (source === undefined) {
      throw new ToolInputError(
        `Unknown XNAT server "${name}"; the configured servers are ${sources.map((s) => s.name).join(', ')} (XNAT_MCP_SERVERS; see getServerInfo)`,
      );
    }
    return source;
  };
  return {
    list: () => sources.map(({ name, url }) => ({ name, url })),
    client(name) {
      const source = find(name);
      if (source.client !== undefined) return source.client;
      let client = made.get(source.name);
      if (client === undefined) {
        client = source.create!();
        made.set(source.name, client);
      }
      return client;
    },
    async close() {
      await Promise.all([...made.values()].map((c) => c.close().catch(() => undefined)));
      made.clear();
    },
  };
}

/** The directory of a server configured with one client only. */
export function singleServer(client: XnatClient): ServerDirectory {
  return serverDirectory([{ name: 'default', url: client.url, client }]);
}
