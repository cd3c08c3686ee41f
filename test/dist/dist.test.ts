/**
 * Distribution: the MCP Registry entry (server.json, package.json mcpName), the MCP bundle built by
 * scripts/bundle.mjs (unpacked and started as a host would, from its manifest), and the npm
 * package (packed, installed into an empty folder, `xnat-mcp demo --stdio` driven by an SDK client).
 * Needs the built dist/ (`npm test` builds it); the pack test installs dependencies through npm's
 * cache, asking the npm registry only for what the cache lacks.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/index.js';
import { createDemoArchive } from '../../src/sandbox/seed.js';
import { ALICE, type ListOut } from '../server/helpers.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const SLOW = 240_000;

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

interface PackageJson {
  name: string;
  version: string;
  mcpName: string;
  files: string[];
  bin: Record<string, string>;
  scripts: Record<string, string>;
}
interface ServerJson {
  $schema: string;
  name: string;
  description: string;
  version: string;
  packages: {
    registryType: string;
    registryBaseUrl?: string;
    identifier: string;
    version: string;
    transport: { type: string };
    environmentVariables: { name: string; isRequired?: boolean; isSecret?: boolean }[];
  }[];
}
interface McpJson {
  mcpServers: Record<string, { command: string; args?: string[]; env?: Record<string, string> }>;
}
interface UserConfigOption {
  type: string;
  title: string;
  description: string;
  required?: boolean;
  sensitive?: boolean;
  default?: unknown;
}
interface Manifest {
  manifest_version: string;
  name: string;
  version: string;
  description: string;
  author: { name: string };
  server: {
    type: string;
    entry_point: string;
    mcp_config: { command: string; args: string[]; env: Record<string, string> };
  };
  user_config: Record<string, UserConfigOption>;
}

const pkg = readJson<PackageJson>(join(ROOT, 'package.json'));
const scratch: string[] = [];
let sandbox: Awaited<ReturnType<typeof startSandbox>>;

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `xnat-mcp-${label}-`));
  scratch.push(dir);
  return dir;
}

/** Environment for child npm/servers: no npm_* variables of the `npm test` running us. */
function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^npm_/i.test(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Connects an SDK client to a stdio server and checks that it answers with the demo archive as alice. */
async function driveStdio(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<string[]> {
  const mcp = new Client({ name: 'dist-test', version: '0' });
  await mcp.connect(new StdioClientTransport({ command, args, env, cwd, stderr: 'ignore' }));
  try {
    const names = (await mcp.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['getServerInfo', 'listProjects']));
    const info = await mcp.callTool({ name: 'getServerInfo', arguments: {} });
    expect(info.isError).toBeFalsy();
    expect(info.structuredContent).toMatchObject({ user: ALICE.user });
    const projects = await mcp.callTool({ name: 'listProjects', arguments: {} });
    const ids = (projects.structuredContent as unknown as ListOut<{ id: string }>).items.map((p) => p.id);
    expect(ids).toContain('BRAIN_MR');
    return names;
  } finally {
    await mcp.close();
  }
}

beforeAll(async () => {
  sandbox = await startSandbox({ archive: createDemoArchive() });
});

afterAll(async () => {
  await sandbox?.close();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('MCP Registry metadata', () => {
  const server = readJson<ServerJson>(join(ROOT, 'server.json'));

  it('server.json follows schema 2025-12-11 and names this package', () => {
    expect(server.$schema).toBe(
      'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
    );
    // Required fields and limits of the schema's ServerDetail.
    expect(server.name).toMatch(/^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/);
    expect(server.description.length).toBeGreaterThan(0);
    expect(server.description.length).toBeLessThanOrEqual(100);
    expect(server.version).toBe(pkg.version);
    // The registry verifies npm ownership through package.json's mcpName.
    expect(pkg.mcpName).toBe(server.name);
    const [npm, ...others] = server.packages;
    expect(others).toEqual([]);
    expect(npm).toMatchObject({
      registryType: 'npm',
      registryBaseUrl: 'https://registry.npmjs.org',
      identifier: pkg.name,
      version: pkg.version,
      transport: { type: 'stdio' },
    });
  });

  it('declares the credentials the server reads, the password as a secret', () => {
    const vars = new Map(server.packages[0]?.environmentVariables.map((v) => [v.name, v]));
    for (const name of ['XNAT_URL', 'XNAT_USER', 'XNAT_PASSWORD']) {
      expect(vars.get(name)?.isRequired, name).toBe(true);
    }
    expect(vars.get('XNAT_PASSWORD')?.isSecret).toBe(true);
    expect(vars.get('XNAT_URL')?.isSecret).toBeFalsy();
    // Only variables the server documents.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const name of vars.keys()) expect(readme, name).toContain(`\`${name}\``);
  });

  it('mcp.json never auto-installs from the registry (the name is not published yet)', () => {
    const { mcpServers } = readJson<McpJson>(join(ROOT, 'mcp.json'));
    expect(Object.keys(mcpServers).sort()).toEqual(['xnat', 'xnat-demo']);
    for (const server of Object.values(mcpServers)) expect(server.command).toBe('xnat-mcp');
  });

  it('the npm package ships the built code and docs, nothing of the tests', () => {
    expect(pkg.files.sort()).toEqual(['README.md', 'dist', 'mcp.json']);
    expect(pkg.bin['xnat-mcp']).toBe('dist/cli.js');
  });
});

describe('MCP bundle', () => {
  const manifest = readJson<Manifest>(join(ROOT, 'manifest.json'));

  it('manifest.json has the MCPB 0.3 required fields and asks for URL, user and a sensitive password', () => {
    expect(manifest).toMatchObject({ manifest_version: '0.3', name: pkg.name, version: pkg.version });
    expect(manifest.description.length).toBeGreaterThan(0);
    expect(manifest.author.name.length).toBeGreaterThan(0);
    expect(manifest.server).toMatchObject({ type: 'node', entry_point: pkg.bin['xnat-mcp'] });
    expect(manifest.server.mcp_config.args).toEqual([`\${__dirname}/${manifest.server.entry_point}`]);
    expect(manifest.server.mcp_config.env).toEqual({
      XNAT_URL: '${user_config.xnat_url}',
      XNAT_USER: '${user_config.xnat_user}',
      XNAT_PASSWORD: '${user_config.xnat_password}',
      XNAT_MCP_READ_ONLY: '${user_config.read_only}',
    });
    for (const [key, option] of Object.entries(manifest.user_config)) {
      expect(option.title.length * option.description.length, key).toBeGreaterThan(0);
      if (key !== 'read_only') expect(option, key).toMatchObject({ type: 'string', required: true });
    }
    expect(manifest.user_config.read_only).toMatchObject({ type: 'boolean', default: false });
    expect(manifest.user_config.xnat_password?.sensitive).toBe(true);
    expect(manifest.user_config.xnat_url?.sensitive).toBeFalsy();
    expect(manifest.user_config.xnat_user?.sensitive).toBeFalsy();
  });

  it(
    'is a zip that, unpacked, runs its declared command with the user config substituted',
    async () => {
      const out = tempDir('bundle');
      const { stdout } = await run(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), '--out', out]);
      const file = join(out, `xnat-mcp-${pkg.version}.mcpb`);
      expect(stdout).toContain(file);
      // Unpacked by an independent reader, into a folder with no node_modules above it.
      const dir = join(out, 'unpacked');
      await run('unzip', ['-q', file, '-d', dir]);
      expect(readdirSync(dir).sort()).toEqual([
        'README.md',
        'dist',
        'manifest.json',
        'node_modules',
        'package.json',
      ]);
      const modules = readdirSync(join(dir, 'node_modules'));
      expect(modules).toEqual(
        expect.arrayContaining(['@modelcontextprotocol', 'undici', 'zod', 'fast-xml-parser']),
      );
      for (const dev of ['vitest', 'typescript', 'eslint', 'prettier']) expect(modules).not.toContain(dev);
      expect(existsSync(join(dir, 'dist', 'cli.js.map'))).toBe(false);

      const unpacked = readJson<Manifest>(join(dir, 'manifest.json'));
      const values: Record<string, string> = {
        __dirname: dir,
        'user_config.xnat_url': sandbox.url,
        'user_config.xnat_user': ALICE.user,
        'user_config.xnat_password': ALICE.password,
        // As a host passes a ticked boolean; the tool list shows it arrived.
        'user_config.read_only': 'true',
      };
      const substitute = (s: string) =>
        s.replace(/\$\{([^}]+)\}/g, (whole, key: string) => values[key] ?? whole);
      const { command, args, env } = unpacked.server.mcp_config;
      const resolvedEnv = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, substitute(v)]));
      expect(JSON.stringify([args.map(substitute), resolvedEnv])).not.toContain('${');
      const home = tempDir('bundle-home');
      const tools = await driveStdio(
        command,
        args.map(substitute),
        { PATH: process.env.PATH ?? '', HOME: home, ...resolvedEnv },
        home,
      );
      expect(tools).not.toContain('deleteObject');
    },
    SLOW,
  );
});

describe('npm package', () => {
  it(
    'packs, installs into an empty folder and serves `xnat-mcp demo --stdio` from the shipped mcp.json',
    async () => {
      const out = tempDir('pack');
      // --ignore-scripts: dist is already built, and rebuilding it would pull it from under
      // the other test files running beside this one.
      const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], {
        cwd: ROOT,
        env: childEnv(),
      });
      const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
      if (!info) throw new Error('npm pack reported nothing');
      const paths = info.files.map((f) => f.path);
      expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'mcp.json', 'dist/cli.js']));
      expect(
        paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'mcp.json'].includes(p)),
      ).toEqual([]);
      expect(paths.filter((p) => /\.ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);

      const project = tempDir('install');
      await run(
        'npm',
        [
          'install',
          '--prefer-offline',
          '--no-audit',
          '--no-fund',
          '--ignore-scripts',
          join(out, info.filename),
        ],
        { cwd: project, env: childEnv() },
      );
      const bin = join(project, 'node_modules', '.bin');
      expect(existsSync(join(bin, 'xnat-mcp'))).toBe(true);
      // The shipped mcp.json's demo entry, verbatim, with the installed bin on PATH as after
      // `npm install -g` of the tarball.
      const shipped = readJson<McpJson>(join(project, 'node_modules', 'xnat-mcp', 'mcp.json'));
      const demo = shipped.mcpServers['xnat-demo'];
      expect(demo).toEqual({ command: 'xnat-mcp', args: ['demo', '--stdio'] });
      const home = tempDir('install-home');
      const tools = await driveStdio(
        demo?.command ?? '',
        demo?.args ?? [],
        { PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, HOME: home },
        home,
      );
      expect(tools).toContain('deleteObject');
    },
    SLOW,
  );
});
