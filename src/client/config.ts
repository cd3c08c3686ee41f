/**
 * Where the client's settings come from, in order of precedence: command-line flags, the process
 * environment, an env file (dotenv syntax), then `~/.netrc` for credentials. Every resolved value
 * remembers its source (never the value itself) so `check` and error messages can say where to fix it.
 */
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
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
  return { vars: parseDotenv(text), describe: (name) => `env file ${path} (${name})` };
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

/** Resolves the client configuration; throws XnatConfigError with one actionable line. */
export function resolveConfig(input: ConfigInput = {}): XnatConfig {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const flags = input.flags ?? {};
  const envLayer: Layer = { vars: env, describe: (name) => `env ${name}` };
  const fileLayer = loadEnvFile(input, env, cwd);
  const layers = fileLayer ? [envLayer, fileLayer] : [envLayer];

  const flag = (value: string | undefined, name: string): Sourced | undefined =>
    value !== undefined && value.trim() !== ''
      ? { value: value.trim(), source: `flag --${name}` }
      : undefined;

  const rawUrl = flag(flags.url, 'url') ?? pick(layers, 'XNAT_URL', 'XNAT_HOST');
  if (!rawUrl)
    throw new XnatConfigError('XNAT URL is not set: set XNAT_URL (or pass --url, or add it to an env file)');
  const normalized = normalizeXnatUrl(rawUrl.value, rawUrl.source);

  let user = flag(flags.user, 'user') ?? pick(layers, 'XNAT_USER');
  let password = flag(flags.password, 'password') ?? pick(layers, 'XNAT_PASSWORD', 'XNAT_PASS');
  if (!user && normalized.user !== undefined)
    user = { value: normalized.user, source: `${rawUrl.source} (user@)` };
  if (!password && normalized.password !== undefined) {
    password = { value: normalized.password, source: `${rawUrl.source} (user:password@)` };
  }

  const host = new URL(normalized.url);
  const netrcPath = env.NETRC?.trim() || resolve(input.homeDir ?? homedir(), '.netrc');
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
      `XNAT credentials are not set: set XNAT_USER and XNAT_PASSWORD (or pass --user/--password, or add "machine ${host.hostname} login <user> password <password>" to ${netrcPath})`,
    );
  }
  if (!user) {
    throw new XnatConfigError(
      `XNAT user is not set: set XNAT_USER (or pass --user, or add a login to the "machine ${host.hostname}" entry of ${netrcPath})`,
    );
  }
  if (!password) {
    throw new XnatConfigError(
      `XNAT password is not set for user ${user.value}: set XNAT_PASSWORD (or pass --password, or add a password to the "machine ${host.hostname}" entry of ${netrcPath})`,
    );
  }

  const caFile = flag(flags.caFile, 'ca-file') ?? pick(layers, 'XNAT_CA_FILE');
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
