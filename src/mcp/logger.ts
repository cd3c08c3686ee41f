/**
 * The server's diagnostics channel. It writes to stderr only, because on stdio stdout belongs to
 * JSON-RPC. Levels follow MCP's names (RFC 5424 subset) so the same level can gate MCP logging.
 */
import { XnatConfigError } from '../client/errors.js';

export const LOG_LEVELS = ['debug', 'info', 'warning', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** Parses `XNAT_MCP_LOG_LEVEL` (also accepts `warn`); undefined or empty → info. */
export function parseLogLevel(value: string | undefined): LogLevel {
  const normalized = (value ?? '').trim().toLowerCase();
  if (normalized === '') return 'info';
  if (normalized === 'warn') return 'warning';
  if (isLogLevel(normalized)) return normalized;
  throw new XnatConfigError(`XNAT_MCP_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got '${value}')`);
}

export function createStderrLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = writeStderr,
): Logger {
  const threshold = LOG_LEVELS.indexOf(level);
  const emit = (at: LogLevel, message: string): void => {
    if (LOG_LEVELS.indexOf(at) >= threshold) write(`[xnat-mcp] ${at}: ${message}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warning: (m) => emit('warning', m),
    error: (m) => emit('error', m),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warning() {}, error() {} };

function writeStderr(line: string): void {
  process.stderr.write(`${line}\n`);
}
