/**
 * Where the client's settings come from, in order of precedence: command-line flags, the process
 * environment, an env file (dotenv syntax), then `~/.netrc` for credentials. Every resolved value
 * remembers its source (never the value itself) so `check` and error messages can say where to fix it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { XnatConfigError } from './errors.js';
import { netrcLookup, parseNetrc } from './netrc.js';

export interface XnatConfig {
  /** Base URL, possibly with a context path (`https://host/xnat`); no trailing slash, no credentials. */
  url: string;
  /** Login name, or an alias token's alias. */
  user: string;
  /** Password, or an alias token's secret. */
  password: string;
  caFile?: string;
  insecure?: boolean;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Where each value came from, e.g. `flag --url`, `env XNAT_URL`, `env file /p/.env`, `netrc /root/.netrc`. */
  source: Record<'url' | 'user' | 'password', string>;
}

export interface ConfigInput {
  flags?: {
    url?: string;
    user?: string;
    password?: string;
    envFile?: string;
    caFile?: string;
    insecure?: boolean;
    timeoutMs?: number;
  };
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  homeDir?: string;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** A value with the place it was found. */
interface Sourced {
  value: string;
  source: string;
}

/** One layer of `NAME=value` settings (the environment or an env file). */
interface Layer {
  vars: Record<string, string | undefined>;
  describe: (name: string) => string;
}

function pick(layers: Layer[], ...names: string[]): Sourced | undefined {
  for (const layer of layers) {
    for (const name of names) {
      const value = layer.vars[name];
      if (value !== undefined && value.trim() !== '')
        return { value: value.trim(), source: layer.describe(name) };
    }
  }
  return undefined;
}

function loadEnvFile(input: ConfigInput, env: NodeJS.ProcessEnv, cwd: string): Layer | undefined {
  const explicit = input.flags?.envFile
    ? { path: input.flags.envFile, how: '--env-file' }
    : env.XNAT_ENV_FILE
      ? { path: env.XNAT_ENV_FILE, how: 'XNAT_ENV_FILE' }
      : undefined;
  const path = explicit
    ? isAbsolute(explicit.path)
      ? explicit.path
      : resolve(cwd, explicit.path)
    : resolve(cwd, '.env');
  if (!existsSync(path)) {
    if (explicit)
      throw new XnatConfigError(
        `Env file ${path} (from ${explicit.how}) does not exist: fix ${explicit.how}`,
      );
    return undefined;
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new XnatConfigError(`Cannot read env file ${path}: check its permissions`, { cause: err });
  }
  // dotenv.parse only parses: unlike config() it neither touches process.env nor prints to stdout.
  // dotenv (and the node:crypto it requires) loads only when there is an env file to read.
  const { parse } = createRequire(import.meta.url)('dotenv') as typeof import('dotenv');
  return { vars: parse(text), describe: (name) => `env file ${path} (${name})` };
}

export interface NormalizedUrl {
  url: string;
  user?: string;
  password?: string;
}

/**
 * Validates an XNAT base URL: http(s) only, a bare host becomes `https://host`, credentials embedded
 * as `user:pass@` are moved out, the query/fragment and trailing slashes are dropped.
 */
export function normalizeXnatUrl(raw: string, where: string): NormalizedUrl {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    // The raw value may contain a password: never echo it.
    throw new XnatConfigError(
      `The XNAT URL from ${where} is not a valid URL: use the form https://xnat.example.org[/context]`,
    );
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new XnatConfigError(
      `The XNAT URL from ${where} must start with https:// or http:// (got ${parsed.protocol}//)`,
    );
  }
  if (!parsed.hostname) throw new XnatConfigError(`The XNAT URL from ${where} has no host name`);
  let user: string | undefined;
  let password: string | undefined;
  try {
    user = parsed.username ? decodeURIComponent(parsed.username) : undefined;
    password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
  } catch {
    throw new XnatConfigError(
      `The user or password in the XNAT URL from ${where} is not validly %-encoded: set XNAT_USER and XNAT_PASSWORD instead`,
    );
  }
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  const url = parsed.toString().replace(/\/+$/, '');
  return { url, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) };
}

function parseBoolean(value: Sourced): boolean {
  const v = value.value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new XnatConfigError(`${value.source} must be true or false (got "${value.value}")`);
}

function parseTimeout(value: Sourced): number {
  const n = Number(value.value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new XnatConfigError(
      `${value.source} must be a positive number of milliseconds (got "${value.value}")`,
    );
  }
  return n;
}

/** How the error messages name the settings of one server's credentials. */
interface CredentialNames {
  user: string;
  password: string;
  /** The command-line flags also set them (only the default server's). */
  flags: boolean;
}

const DEFAULT_NAMES: CredentialNames = { user: 'XNAT_USER', password: 'XNAT_PASSWORD', flags: true };

/**
 * Completes a user and password from the URL's `user:pass@` and then `~/.netrc` by host; throws the
 * one-line error naming what to set.
 */
function resolveCredentials(
  given: { user: Sourced | undefined; password: Sourced | undefined },
  where: {
    rawUrl: Sourced;
    normalized: NormalizedUrl;
    env: NodeJS.ProcessEnv;
    homeDir: string | undefined;
    names: CredentialNames;
  },
): { user: Sourced; password: Sourced } {
  let { user, password } = given;
  const { rawUrl, normalized, env, names } = where;
  if (!user && normalized.user !== undefined)
    user = { value: normalized.user, source: `${rawUrl.source} (user@)` };
  if (!password && normalized.password !== undefined) {
    password = { value: normalized.password, source: `${rawUrl.source} (user:password@)` };
  }

  const host = new URL(normalized.url);
  const netrcPath = env.NETRC?.trim() || resolve(where.homeDir ?? homedir(), '.netrc');
  if ((!user || !password) && existsSync(netrcPath)) {
    let text: string;
    try {
      text = readFileSync(netrcPath, 'utf8');
    } catch (err) {
      throw new XnatConfigError(`Cannot read ${netrcPath}: check its permissions`, { cause: err });
    }
    const entry = netrcLookup(parseNetrc(text), host.hostname, host.port);
    // A netrc entry is one credential pair: take both from it, or only what is missing, but never
    // another login's password for the user set elsewhere.
    if (entry?.login !== undefined && !user) user = { value: entry.login, source: `netrc ${netrcPath}` };
    const belongsToUser = entry?.login === undefined || entry.login === user?.value;
    if (entry?.password !== undefined && !password && belongsToUser)
      password = { value: entry.password, source: `netrc ${netrcPath}` };
  }

  if (!user && !password) {
    throw new XnatConfigError(
      `XNAT credentials are not set: set ${names.user} and ${names.password} (or ${names.flags ? 'pass --user/--password, or ' : ''}add "machine ${host.hostname} login <user> password <password>" to ${netrcPath})`,
    );
  }
  if (!user) {
    throw new XnatConfigError(
      `XNAT user is not set: set ${names.user} (or ${names.flags ? 'pass --user, or ' : ''}add a login to the "machine ${host.hostname}" entry of ${netrcPath})`,
    );
  }
  if (!password) {
    throw new XnatConfigError(
      `XNAT password is not set for user ${user.value}: set ${names.password} (or ${names.flags ? 'pass --password, or ' : ''}add a password to the "machine ${host.hostname}" entry of ${netrcPath})`,
    );
  }
  return { user, password };
}

/** TLS and timeout settings: the same for every server. */
function resolveSharedSettings(
  input: ConfigInput,
  layers: Layer[],
  cwd: string,
): { caFile: string | undefined; insecure: boolean; timeoutMs: number } {
  const flags = input.flags ?? {};
  const caFile =
    (flags.caFile !== undefined && flags.caFile.trim() !== ''
      ? { value: flags.caFile.trim(), source: 'flag --ca-file' }
      : undefined) ?? pick(layers, 'XNAT_CA_FILE');
  let caPath: string | undefined;
  if (caFile) {
    caPath = isAbsolute(caFile.value) ? caFile.value : resolve(cwd, caFile.value);
    try {
      accessSync(caPath, constants.R_OK);
    } catch {
      throw new XnatConfigError(
        `CA file ${caPath} (from ${caFile.source}) cannot be read: fix XNAT_CA_FILE or --ca-file`,
      );
    }
  }

  const insecureSource = pick(layers, 'XNAT_INSECURE');
  const insecure = flags.insecure ?? (insecureSource ? parseBoolean(insecureSource) : false);

  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (flags.timeoutMs !== undefined) {
    timeoutMs = parseTimeout({ value: String(flags.timeoutMs), source: 'flag --timeout-ms' });
  } else {
    const timeoutSource = pick(layers, 'XNAT_TIMEOUT_MS');
    if (timeoutSource) timeoutMs = parseTimeout(timeoutSource);
  }

  return { caFile: caPath, insecure, timeoutMs };
}

const flag = (value: string | undefined, name: string): Sourced | undefined =>
  value !== undefined && value.trim() !== '' ? { value: value.trim(), source: `flag --${name}` } : undefined;

/** The settings layers (environment, then the env file) and the XNAT URL they or the flags give. */
function siteLayers(input: ConfigInput): { layers: Layer[]; rawUrl: Sourced; normalized: NormalizedUrl } {
  const env = input.env ?? process.env;
  const envLayer: Layer = { vars: env, describe: (name) => `env ${name}` };
  const fileLayer = loadEnvFile(input, env, input.cwd ?? process.cwd());
  const layers = fileLayer ? [envLayer, fileLayer] : [envLayer];
  const rawUrl = flag(input.flags?.url, 'url') ?? pick(layers, 'XNAT_URL', 'XNAT_HOST');
  if (!rawUrl)
    throw new XnatConfigError('XNAT URL is not set: set XNAT_URL (or pass --url, or add it to an env file)');
  return { layers, rawUrl, normalized: normalizeXnatUrl(rawUrl.value, rawUrl.source) };
}

/** One XNAT's address and connection settings without credentials: for servers where each user signs in. */
export type XnatSite = Omit<XnatConfig, 'user' | 'password' | 'source'> & {
  source: { url: string };
  /** Credentials were configured and are ignored (said to the operator). */
  credentialsIgnored: boolean;
};

/** Resolves XNAT's URL and TLS settings the way `resolveConfig` does (flags, environment, env file); reads no credentials. */
export function resolveSite(input: ConfigInput = {}): XnatSite {
  const { layers, rawUrl, normalized } = siteLayers(input);
  const { caFile, insecure, timeoutMs } = resolveSharedSettings(input, layers, input.cwd ?? process.cwd());
  const credentialsIgnored =
    flag(input.flags?.user, 'user') !== undefined ||
    flag(input.flags?.password, 'password') !== undefined ||
    pick(layers, 'XNAT_USER', 'XNAT_PASSWORD', 'XNAT_PASS') !== undefined ||
    normalized.user !== undefined;
  return {
    url: normalized.url,
    ...(caFile !== undefined ? { caFile } : {}),
    ...(insecure ? { insecure: true } : {}),
    timeoutMs,
    source: { url: rawUrl.source },
    credentialsIgnored,
  };
}

/** Resolves the client configuration; throws XnatConfigError with one actionable line. */
export function resolveConfig(input: ConfigInput = {}): XnatConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const flags = input.flags ?? {};
  const { layers, rawUrl, normalized } = siteLayers(input);

  const { user, password } = resolveCredentials(
    {
      user: flag(flags.user, 'user') ?? pick(layers, 'XNAT_USER'),
      password: flag(flags.password, 'password') ?? pick(layers, 'XNAT_PASSWORD', 'XNAT_PASS'),
    },
    { rawUrl, normalized, env, homeDir: input.homeDir, names: DEFAULT_NAMES },
  );

  const { caFile: caPath, insecure, timeoutMs } = resolveSharedSettings(input, layers, cwd);

  return {
    url: normalized.url,
    user: user.value,
    password: password.value,
    ...(caPath !== undefined ? { caFile: caPath } : {}),
    ...(insecure ? { insecure: true } : {}),
    timeoutMs,
    source: { url: rawUrl.source, user: user.source, password: password.source },
  };
}

/** One named XNAT server of the configuration. */
export interface ServerProfile {
  name: string;
  config: XnatConfig;
}

/** The name of the server configured the single-server way (flags, XNAT_URL). */
export const DEFAULT_SERVER = 'default';

const PROFILE_NAME = /^[a-z][a-z0-9_-]{0,31}$/i;

/** `XNAT_<NAME>_`: the prefix of a named server's own settings (`main` → `XNAT_MAIN_USER`). */
function profilePrefix(name: string): string {
  return `XNAT_${name.toUpperCase().replace(/-/g, '_')}_`;
}

/**
 * Every XNAT server of the configuration, the first being the default: the single server of the flags
 * or XNAT_URL as `default` (when set), then the named servers of `XNAT_MCP_SERVERS`
 * (`main=https://a,backup=https://b`), each with its credentials from `XNAT_<NAME>_USER` and
 * `XNAT_<NAME>_PASSWORD` (environment, then env file), the URL's `user:pass@`, or `~/.netrc` by host.
 * Timeouts, CA file and TLS settings are shared.
 */
export function resolveServers(input: ConfigInput = {}): ServerProfile[] {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const envLayer: Layer = { vars: env, describe: (name) => `env ${name}` };
  const fileLayer = loadEnvFile(input, env, cwd);
  const layers = fileLayer ? [envLayer, fileLayer] : [envLayer];
  const list = pick(layers, 'XNAT_MCP_SERVERS');
  if (list === undefined) return [{ name: DEFAULT_SERVER, config: resolveConfig(input) }];

  const hasSingle =
    (input.flags?.url ?? '').trim() !== '' || pick(layers, 'XNAT_URL', 'XNAT_HOST') !== undefined;
  const profiles: ServerProfile[] = hasSingle ? [{ name: DEFAULT_SERVER, config: resolveConfig(input) }] : [];
  const shared = profiles[0]?.config;
  const entries = list.value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (entries.length === 0)
    throw new XnatConfigError(`${list.source} names no server: use name=url,name=url`);
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq > 0 ? entry.slice(0, eq).trim() : '';
    if (!PROFILE_NAME.test(name)) {
      throw new XnatConfigError(
        `${list.source}: each server is name=url with a name of letters, digits, - or _ (got "${eq > 0 ? name : 'no name'}")`,
      );
    }
    if (profiles.some((p) => p.name.toLowerCase() === name.toLowerCase())) {
      throw new XnatConfigError(`${list.source} names the server "${name}" twice`);
    }
    const rawUrl = { value: entry.slice(eq + 1).trim(), source: `${list.source} (${name})` };
    const normalized = normalizeXnatUrl(rawUrl.value, rawUrl.source);
    const prefix = profilePrefix(name);
    const { user, password } = resolveCredentials(
      { user: pick(layers, `${prefix}USER`), password: pick(layers, `${prefix}PASSWORD`, `${prefix}PASS`) },
      {
        rawUrl,
        normalized,
        env,
        homeDir: input.homeDir,
        names: { user: `${prefix}USER`, password: `${prefix}PASSWORD`, flags: false },
      },
    );
    const settings = shared ?? resolveSharedSettings(input, layers, cwd);
    profiles.push({
      name,
      config: {
        url: normalized.url,
        user: user.value,
        password: password.value,
        ...(settings.caFile !== undefined ? { caFile: settings.caFile } : {}),
        ...(settings.insecure ? { insecure: true } : {}),
        timeoutMs: settings.timeoutMs,
        source: { url: rawUrl.source, user: user.source, password: password.source },
      },
    });
  }
  return profiles;
}
