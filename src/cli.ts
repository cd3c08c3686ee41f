#!/usr/bin/env node
// First import: from here on console.log & co. write to stderr, so stdio's stdout stays protocol-only.
import './transports/console-to-stderr.js';
import { homedir } from 'node:os';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
// Straight from their modules: the client barrel loads every module of the client core.
import { XnatClient } from './client/client.js';
import {
  resolveConfig,
  resolveServers,
  resolveSite,
  type XnatConfig,
  type XnatSite,
} from './client/config.js';
import { XnatConfigError, XnatError } from './client/errors.js';
import { parseToolsets, type ServerOptions } from './server.js';
import { describeToolError } from './mcp/errors.js';
import { DEFAULT_TOOLSETS, TOOLSETS, selectTools } from './tools/index.js';
import { splitList } from './mcp/safety.js';
import { serverDirectory, type ServerDirectory } from './mcp/servers.js';
// The sandbox and the HTTP transport load only for the commands that use them (a short cold start).
import type { HttpOptions, RunningHttpServer } from './transports/http.js';
import type { TeamXnatSettings } from './transports/team/index.js';
import { RunningCalls } from './mcp/calls.js';
import { createStderrLogger, parseLogLevel, type Logger } from './mcp/logger.js';
import { serveStdio } from './transports/stdio.js';
import { VERSION } from './version.js';

type HttpDefaults = Pick<
  typeof import('./transports/http.js'),
  'DEFAULT_HTTP_HOST' | 'DEFAULT_HTTP_PORT' | 'DEFAULT_MAX_SESSIONS' | 'DEFAULT_SESSION_IDLE_SECONDS'
>;

const usage = ({
  DEFAULT_HTTP_HOST,
  DEFAULT_HTTP_PORT,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_SESSION_IDLE_SECONDS,
}: HttpDefaults): string => `xnat-mcp ${VERSION}: MCP server for XNAT imaging archives

Usage:
  xnat-mcp [serve] [options]      serve MCP over stdio (default), or Streamable HTTP with --http
  xnat-mcp check [options]        verify configuration and connection; print XNAT version and user
  xnat-mcp demo [--stdio]         embedded XNAT sandbox (demo archive, user alice) + MCP server
  xnat-mcp sandbox [options]      run only the XNAT sandbox (see xnat-mcp sandbox --help)
  xnat-mcp nginx-config --instance <id>=<host:port>... [--listen <addr>] [--server-name <name>]
                      [--run-dir <dir>]
                                  print nginx's config for several --http processes (each started
                                  with its --instance-id): sessions routed to their process;
                                  --run-dir: a whole nginx.conf for an unprivileged nginx

Server options:
  --http                 serve Streamable HTTP at /mcp instead of stdio
  --host <addr>          HTTP bind address (default ${DEFAULT_HTTP_HOST}; others need XNAT_MCP_HTTP_TOKEN)
  --port <n>             HTTP port (default ${DEFAULT_HTTP_PORT}; 0 picks a free one)
  --max-sessions <n>     HTTP sessions open at once; more get 503 (default ${DEFAULT_MAX_SESSIONS};
                         env XNAT_MCP_MAX_SESSIONS)
  --session-idle <s>     close HTTP sessions idle this many seconds (default ${DEFAULT_SESSION_IDLE_SECONDS};
                         env XNAT_MCP_SESSION_IDLE_SECONDS)
  --team                 with --http: every MCP session signs in to XNAT as its own user, in the
                         browser (a link the server sends); needs only the XNAT URL, never
                         credentials (env XNAT_MCP_TEAM=true)
  --public-url <url>     this server's address as browsers reach it, for team sign-in links
                         (default http:// + the request's Host; env XNAT_MCP_PUBLIC_URL)
  --instance-id <id>     this process's name behind a load balancer: session IDs start with
                         '<id>.' so the balancer can route on them (env XNAT_MCP_INSTANCE_ID)
  --allowed-host <name>  another name clients may use in Host/Origin (a reverse proxy's public
                         name); repeatable (env XNAT_MCP_ALLOWED_HOSTS, comma-separated)
  --toolsets <a,b>       toolsets to enable: ${TOOLSETS.join(', ')}
                         (default ${DEFAULT_TOOLSETS.join(', ')}; env XNAT_MCP_TOOLSETS;
                         enableToolsets switches more on at run time)
  --read-only            remove every tool that changes XNAT; wins over every other option
                         (env XNAT_MCP_READ_ONLY=true)
  --projects <a,b>       projects the writing tools may touch (default all; env XNAT_MCP_PROJECTS)
  --root <dir>           a local directory uploads may read and downloads may write; repeatable
                         (env XNAT_MCP_ROOTS, '${delimiter}'-separated; default the working directory;
                         the MCP client's roots replace these when it lists some)

XNAT connection (flags > environment > env file > ~/.netrc); more servers, by name, with
XNAT_MCP_SERVERS=main=https://a,backup=https://b and XNAT_<NAME>_USER / XNAT_<NAME>_PASSWORD
(or ~/.netrc by host); the single server above, when set, is the first, named 'default':
  --url <url>            XNAT base URL (XNAT_URL)
  --user <login>         login or alias token (XNAT_USER)
  --password <secret>    password or token secret (XNAT_PASSWORD)
  --env-file <path>      env file to read (XNAT_ENV_FILE)
  --ca-file <path>       extra CA certificates, PEM (XNAT_CA_FILE)
  --insecure             skip TLS verification (XNAT_INSECURE)

Other environment: XNAT_MCP_HTTP_TOKEN (bearer token for --http), XNAT_MCP_LOG_LEVEL
(debug|info|warning|error, stderr). Exit codes: 0 ok, 1 connection/authentication failure,
2 configuration error.
`;

/** A usage or configuration problem: one line on stderr, exit code 2. */
class UsageError extends Error {}

function parseCli(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        http: { type: 'boolean' },
        stdio: { type: 'boolean' },
        host: { type: 'string' },
        port: { type: 'string' },
        'max-sessions': { type: 'string' },
        'session-idle': { type: 'string' },
        team: { type: 'boolean' },
        'public-url': { type: 'string' },
        'instance-id': { type: 'string' },
        'allowed-host': { type: 'string', multiple: true },
        instance: { type: 'string', multiple: true },
        listen: { type: 'string' },
        'server-name': { type: 'string' },
        'run-dir': { type: 'string' },
        toolsets: { type: 'string' },
        'read-only': { type: 'boolean' },
        projects: { type: 'string' },
        root: { type: 'string', multiple: true },
        url: { type: 'string' },
        user: { type: 'string' },
        password: { type: 'string' },
        'env-file': { type: 'string' },
        'ca-file': { type: 'string' },
        insecure: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (err) {
    throw new UsageError(`${err instanceof Error ? err.message : String(err)} (see xnat-mcp --help)`);
  }
}

type CliValues = ReturnType<typeof parseCli>['values'];

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

function serverOptionsFrom(values: CliValues, env: NodeJS.ProcessEnv): ServerOptions {
  const list = values.toolsets ?? env.XNAT_MCP_TOOLSETS;
  const toolsets =
    list === undefined
      ? undefined
      : parseToolsets(
          list
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        );
  const projects = splitList(values.projects ?? env.XNAT_MCP_PROJECTS, ',');
  const roots =
    values.root !== undefined && values.root.length > 0
      ? values.root
      : splitList(env.XNAT_MCP_ROOTS, delimiter);
  return {
    toolsets,
    readOnly: values['read-only'] === true || isTrue(env.XNAT_MCP_READ_ONLY),
    ...(projects ? { projects } : {}),
    ...(roots ? { roots } : {}),
  };
}

/** Options that leave a server without tools are legal (read-only wins) but surely not meant. */
async function warnIfNoTools(options: ServerOptions, log: Logger): Promise<void> {
  const toolsets = options.toolsets === undefined ? undefined : parseToolsets(options.toolsets);
  if ((await selectTools({ toolsets, readOnly: options.readOnly })).length > 0) return;
  log.warning(
    `No tools to serve: read-only mode removes every tool of the toolsets ${(toolsets ?? []).join(', ')}; add browse or search to --toolsets / XNAT_MCP_TOOLSETS`,
  );
}

function portFrom(values: CliValues): number | undefined {
  if (values.port === undefined) return undefined;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be an integer between 0 and 65535 (got '${values.port}')`);
  }
  return port;
}

function positiveInteger(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${name} must be a whole number of at least 1 (got '${value}')`);
  return n;
}

/** Session limits of the HTTP transport, from flags or environment. */
function sessionLimitsFrom(
  values: CliValues,
  env: NodeJS.ProcessEnv,
): Pick<HttpOptions, 'maxSessions' | 'sessionIdleMs'> {
  const setting = (flag: 'max-sessions' | 'session-idle', envName: string) => {
    const fromFlag = values[flag];
    return positiveInteger(fromFlag ?? env[envName], fromFlag === undefined ? envName : `--${flag}`);
  };
  const maxSessions = setting('max-sessions', 'XNAT_MCP_MAX_SESSIONS');
  const idleSeconds = setting('session-idle', 'XNAT_MCP_SESSION_IDLE_SECONDS');
  return {
    ...(maxSessions === undefined ? {} : { maxSessions }),
    ...(idleSeconds === undefined ? {} : { sessionIdleMs: idleSeconds * 1000 }),
  };
}

/** Team mode and load-balancer settings of the HTTP transport, from flags or environment. */
function teamFrom(
  values: CliValues,
  env: NodeJS.ProcessEnv,
  http: boolean,
  xnat: () => TeamXnatSettings,
): Pick<HttpOptions, 'team' | 'instanceId' | 'allowedHosts'> {
  const team = values.team === true || isTrue(env.XNAT_MCP_TEAM);
  const publicUrl = values['public-url'] ?? env.XNAT_MCP_PUBLIC_URL;
  const instanceId = values['instance-id'] ?? env.XNAT_MCP_INSTANCE_ID;
  const allowedHosts = values['allowed-host'] ?? splitList(env.XNAT_MCP_ALLOWED_HOSTS, ',');
  // Over stdio there is one user, the one who started the server: nothing to sign in.
  if (team && !http) throw new UsageError('--team needs Streamable HTTP (--http)');
  if (publicUrl !== undefined && !/^https?:\/\/[^/]+/i.test(publicUrl)) {
    throw new UsageError(
      `--public-url must be an http(s) URL such as https://mcp.example.org (got '${publicUrl}')`,
    );
  }
  return {
    ...(team ? { team: { xnat: xnat(), ...(publicUrl ? { publicUrl } : {}) } } : {}),
    ...(instanceId ? { instanceId } : {}),
    ...(allowedHosts && allowedHosts.length > 0 ? { allowedHosts } : {}),
  };
}

/**
 * What every team user's client shares: XNAT's URL, TLS settings and timeout, from the flags, the
 * environment or the env file like any configuration. Credentials are never used.
 */
function teamXnatFrom(values: CliValues, log: Logger): TeamXnatSettings {
  let site: XnatSite;
  try {
    site = resolveSite(configInput(values));
  } catch (err) {
    if (err instanceof XnatConfigError && /URL is not set/.test(err.message)) {
      throw new XnatConfigError(
        'XNAT URL is not set: set XNAT_URL (or pass --url, or add it to an env file); team mode needs no credentials',
      );
    }
    throw err;
  }
  if (site.credentialsIgnored) {
    log.warning('Team mode ignores XNAT_USER/XNAT_PASSWORD: every session signs in as its own user');
  }
  return {
    url: site.url,
    ...(site.caFile !== undefined ? { caFile: site.caFile } : {}),
    ...(site.insecure === true ? { insecure: true } : {}),
    timeoutMs: site.timeoutMs,
    log: (line) => log.debug(line),
  };
}

function configInput(values: CliValues): Parameters<typeof resolveConfig>[0] {
  return {
    flags: {
      url: values.url,
      user: values.user,
      password: values.password,
      envFile: values['env-file'],
      caFile: values['ca-file'],
      insecure: values.insecure,
    },
    env: process.env,
    cwd: process.cwd(),
    homeDir: homedir(),
  };
}

function configFromFlags(values: CliValues): XnatConfig {
  return resolveConfig(configInput(values));
}

/**
 * Every configured XNAT server (XNAT_MCP_SERVERS, else the single one as `default`): the first one's
 * client now, the others' on first use.
 */
function serversFromFlags(values: CliValues, log: Logger): { client: XnatClient; servers: ServerDirectory } {
  const [first, ...others] = resolveServers(configInput(values));
  const client = clientFor(first!.config, log);
  const servers = serverDirectory([
    { name: first!.name, url: first!.config.url, client },
    ...others.map((p) => ({ name: p.name, url: p.config.url, create: () => clientFor(p.config, log) })),
  ]);
  return { client, servers };
}

function describeSources(config: XnatConfig): string {
  return `url from ${config.source.url}, user from ${config.source.user}, password from ${config.source.password}`;
}

function clientFor(config: XnatConfig, log: Logger): XnatClient {
  log.debug(`XNAT ${config.url}: ${describeSources(config)}`);
  return XnatClient.fromConfig(config, { log: (line) => log.debug(line) });
}

/** Resolves on SIGINT/SIGTERM, so every long-running command shuts down the same way. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}

/** How long a stop waits for cancelled calls to clean up, and then for the logout. */
const STOP_GRACE_MS = 1000;

/** A signal that aborts on SIGINT/SIGTERM (logged), for serving until either arrives. */
function stopOnSignal(log: Logger): AbortSignal {
  const stop = new AbortController();
  void untilSignal().then((signal) => {
    log.info(`${signal}: cancelling running calls and stopping`);
    stop.abort();
  });
  return stop.signal;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * The end of serving: calls were cancelled when their servers closed; give them a moment to remove
 * their temporary files, then log out of XNAT. Both bounded, so a stalled XNAT cannot hold the exit.
 */
async function finish(calls: RunningCalls, client: XnatClient | undefined, log: Logger): Promise<void> {
  await calls.settled(STOP_GRACE_MS);
  if (calls.size > 0) log.warning(`${calls.size} call(s) did not finish cleaning up in time`);
  if (client === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, STOP_GRACE_MS)));
  await Promise.race([client.close().catch(() => undefined), late]);
  clearTimeout(timer);
}

function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

async function serve(values: CliValues, log: Logger): Promise<void> {
  const options = serverOptionsFrom(values, process.env);
  await warnIfNoTools(options, log);
  const port = portFrom(values);
  const limits = sessionLimitsFrom(values, process.env);
  const team = teamFrom(values, process.env, values.http === true, () => teamXnatFrom(values, log));
  // In team mode no session uses the operator's accounts: there are none to configure.
  const named = team.team === undefined ? serversFromFlags(values, log) : undefined;
  const client = named?.client;
  const servers = named?.servers;
  const calls = new RunningCalls();
  const stop = stopOnSignal(log);
  try {
    if (values.http) {
      const { startHttpServer } = await import('./transports/http.js');
      const http = await startHttpServer({ client, servers, log, calls }, options, {
        host: values.host,
        port,
        token: process.env.XNAT_MCP_HTTP_TOKEN,
        ...limits,
        ...team,
      });
      await untilAborted(stop);
      await http.close();
    } else if (client !== undefined) {
      await serveStdio({ client, servers, log, calls }, options, stop);
    }
  } finally {
    await finish(calls, client, log);
    // The other servers' logouts, bounded like the default's: a stalled XNAT cannot hold the exit.
    await Promise.race([
      servers?.close(),
      new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS).unref()),
    ]);
  }
}

async function check(values: CliValues, log: Logger): Promise<number> {
  const config = configFromFlags(values);
  const client = clientFor(config, log);
  try {
    const info = await client.serverInfo();
    out(`OK: XNAT ${info.version} at ${info.url}, logged in as ${info.user}\n  (${describeSources(config)})`);
    return 0;
  } catch (err) {
    if (err instanceof XnatConfigError) throw err;
    const problem = describeToolError(err, { operation: 'check', url: client.url, log });
    // Where the settings came from is what the user needs to fix them (never the values themselves).
    process.stderr.write(`xnat-mcp check: ${problem} (${describeSources(config)})\n`);
    return 1;
  } finally {
    await client.close().catch(() => undefined);
  }
}

const DEMO_USER = 'alice';
const DEMO_PASSWORD = 'alice123';

async function listenWithFallback(
  start: (port: number | undefined) => Promise<RunningHttpServer>,
  port: number | undefined,
): Promise<RunningHttpServer> {
  const { DEFAULT_HTTP_PORT } = await import('./transports/http.js');
  try {
    return await start(port ?? DEFAULT_HTTP_PORT);
  } catch (err) {
    // The default port may be taken by another demo; an explicit --port is honoured or fails.
    const inUse = err instanceof Error && 'code' in err && err.code === 'EADDRINUSE';
    if (port === undefined && inUse) return start(0);
    throw err;
  }
}

async function demo(values: CliValues, log: Logger): Promise<void> {
  const options = serverOptionsFrom(values, process.env);
  await warnIfNoTools(options, log);
  const port = portFrom(values);
  const limits = sessionLimitsFrom(values, process.env);
  const [{ startSandbox }, { createDemoArchive }] = await Promise.all([
    import('./sandbox/index.js'),
    import('./sandbox/seed.js'),
  ]);
  const sandbox = await startSandbox({ archive: createDemoArchive() });
  const team = teamFrom(values, process.env, values.stdio !== true, () => ({
    url: sandbox.url,
    log: (line) => log.debug(line),
  }));
  // A realistic non-admin user, so permissions (private projects, quarantine) show as they would.
  const client = new XnatClient({
    url: sandbox.url,
    user: DEMO_USER,
    password: DEMO_PASSWORD,
    log: (line) => log.debug(line),
  });
  const calls = new RunningCalls();
  const stop = stopOnSignal(log);
  try {
    if (values.stdio) {
      await serveStdio({ client, log, calls }, options, stop);
      return;
    }
    const { startHttpServer } = await import('./transports/http.js');
    const http = await listenWithFallback(
      (p) =>
        startHttpServer({ client, log, calls }, options, {
          host: values.host,
          port: p,
          token: process.env.XNAT_MCP_HTTP_TOKEN,
          ...limits,
          ...team,
        }),
      port,
    );
    // xnat-mcp is not on npm yet, so `npx -y xnat-mcp` would fetch whatever someone else publishes
    // under that name: print this very install (this Node, this file) and the npx form as future.
    const stdioConfig = {
      mcpServers: {
        'xnat-demo': { command: process.execPath, args: [fileURLToPath(import.meta.url), 'demo', '--stdio'] },
      },
    };
    out(
      [
        `MCP server (Streamable HTTP): ${http.url}`,
        `  host config: {"type": "http", "url": "${http.url}"}`,
        '',
        'Or run the demo over stdio from a host (Claude Desktop, Cursor, VS Code), from this install:',
        `  ${JSON.stringify(stdioConfig)}`,
        '  (once xnat-mcp is published on npm: "command": "npx", "args": ["-y", "xnat-mcp", "demo", "--stdio"])',
        '',
        team.team === undefined
          ? `XNAT sandbox: ${sandbox.url}  (the MCP server is logged in as ${DEMO_USER})`
          : `XNAT sandbox: ${sandbox.url}  (team mode: each MCP session signs in on a page the server links to)`,
        '  users: admin/admin (site admin), alice/alice123 (owner BRAIN_MR, member PET_AMYLOID),',
        '         bob/bob123 (member BRAIN_MR, owner PET_AMYLOID), carol/carol123 (owner of private PEDS_DTI),',
        '         dave/dave123 (no project roles)',
        '',
        'Press Ctrl-C to stop.',
      ].join('\n'),
    );
    await untilAborted(stop);
    await http.close();
  } finally {
    await finish(calls, client, log);
    await sandbox.close();
  }
}

async function nginxConfig(values: CliValues): Promise<string> {
  const { renderNginxConfig } = await import('./transports/nginx.js');
  const instances = (values.instance ?? []).map((spec) => {
    const eq = spec.indexOf('=');
    return { id: spec.slice(0, eq < 0 ? 0 : eq), address: spec.slice(eq + 1) };
  });
  return renderNginxConfig({
    instances,
    listen: values.listen ?? '80',
    ...(values['server-name'] ? { serverName: values['server-name'] } : {}),
    ...(values['run-dir'] ? { runDir: values['run-dir'] } : {}),
  });
}

async function main(argv: string[]): Promise<number> {
  // The sandbox has its own options; hand them over untouched.
  if (argv[0] === 'sandbox') {
    const { runSandboxCli } = await import('./sandbox/cli.js');
    return runSandboxCli(argv.slice(1));
  }
  const { values, positionals } = parseCli(argv);
  if (values.help) {
    out(usage(await import('./transports/http.js')));
    return 0;
  }
  if (values.version) {
    out(VERSION);
    return 0;
  }
  const log = createStderrLogger(parseLogLevel(process.env.XNAT_MCP_LOG_LEVEL));
  const [command = 'serve', ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`Unexpected argument '${extra[0]}' (see xnat-mcp --help)`);
  switch (command) {
    case 'serve':
      await serve(values, log);
      return 0;
    case 'check':
      return check(values, log);
    case 'demo':
      await demo(values, log);
      return 0;
    case 'nginx-config':
      out(await nginxConfig(values));
      return 0;
    default:
      throw new UsageError(
        `Unknown command '${command}'; commands: serve, check, demo, sandbox, nginx-config (see xnat-mcp --help)`,
      );
  }
}

/** Pipes are asynchronous on some platforms: let pending output drain before exiting. */
function exit(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exit, (err: unknown) => {
  if (err instanceof UsageError || err instanceof XnatConfigError) {
    process.stderr.write(`xnat-mcp: ${err.message}\n`);
    exit(2);
    return;
  }
  const message =
    err instanceof XnatError ? err.describe() : err instanceof Error ? err.message : String(err);
  process.stderr.write(`xnat-mcp: ${message}\n`);
  exit(1);
});
