/**
 * The one error shaper of the MCP layer: every failure of a tool (or resource read) becomes one
 * actionable line for a model: what failed, and what to do next. Never a stack trace, never a
 * credential; unknown errors get a generic line and their detail goes to the server log.
 */
import {
  XnatAuthenticationError,
  XnatBadRequestError,
  XnatCancelledError,
  XnatConfigError,
  XnatConflictError,
  XnatError,
  XnatLocalFileError,
  XnatNetworkError,
  XnatNotFoundError,
  XnatPermissionError,
  XnatProtocolError,
  XnatTimeoutError,
} from '../client/errors.js';
import type { Logger } from './logger.js';
import { truncateText } from './text.js';

/** An error is one line for a model: whatever it quotes (a path, XNAT's message), it stays short. */
const MAX_ERROR_TEXT = 2000;

/** Bad tool input the schema cannot catch (a stale cursor, contradictory arguments). */
export class ToolInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolInputError';
  }
}

/** What a tool call was about, so "not found" can say what and where, and what to try next. */
export interface ErrorTarget {
  /** E.g. `Experiment 'MR1'`. */
  what: string;
  project?: string | undefined;
  /** E.g. `use searchExperiments to find the experiment ID, or pass project with a label`. */
  nextStep: string;
}

export interface ErrorContext {
  /** Tool or resource name, for the log. */
  operation: string;
  /** XNAT base URL (never has credentials). */
  url: string;
  target?: ErrorTarget | undefined;
  log: Logger;
}

/** Defence in depth: whatever slipped into a message, these never leave the server. */
export function redactSecrets(text: string): string {
  return text
    .replace(/(JSESSIONID=)[^;\s&"']+/gi, '$1[redacted]')
    .replace(/(authorization:\s*)(basic|bearer)\s+\S+/gi, '$1$2 [redacted]')
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+:[^/@\s]*@/gi, '$1[redacted]@');
}

function inProject(target: ErrorTarget | undefined): string {
  return target?.project ? ` in project ${target.project}` : '';
}

function xnatSays(err: XnatError): string {
  return err.xnatMessage ? ` XNAT said: ${err.xnatMessage}.` : '';
}

function describeXnatError(err: XnatError, ctx: ErrorContext): string {
  const { target, url } = ctx;
  // Raised by the client core before any request (no status): its message already says what to fix.
  if (
    err.status === undefined &&
    (err instanceof XnatBadRequestError ||
      err instanceof XnatConflictError ||
      err instanceof XnatNotFoundError)
  ) {
    return err.message;
  }
  if (err instanceof XnatNotFoundError) {
    if (target === undefined) return `Not found: ${err.describe()}.`;
    return `${target.what} not found${inProject(target)} (or not visible to the configured XNAT user); ${target.nextStep}.`;
  }
  if (err instanceof XnatPermissionError) {
    const what = target === undefined ? 'This operation' : `Access to ${target.what}${inProject(target)}`;
    return `${what} is not allowed: the configured XNAT user lacks the rights for it. Ask a project owner for access, or use another account.${xnatSays(err)}`;
  }
  if (err instanceof XnatAuthenticationError) {
    return `XNAT at ${url} rejected the configured credentials; check XNAT_USER and XNAT_PASSWORD (or the alias token pair).`;
  }
  if (err instanceof XnatTimeoutError) {
    return `XNAT at ${url} did not answer in time; retry later, or narrow the request (smaller limit, more filters).`;
  }
  if (err instanceof XnatNetworkError) {
    return `XNAT unreachable at ${url} (${err.message}); retry later.`;
  }
  if (err instanceof XnatCancelledError) return 'The request was cancelled.';
  if (err instanceof XnatBadRequestError) {
    return `XNAT refused the request as invalid; check the arguments.${xnatSays(err)}`;
  }
  if (err instanceof XnatConflictError) {
    const what = target === undefined ? 'The request' : `${target.what}${inProject(target)}`;
    return `${what} conflicts with what XNAT holds (it exists already, or is shared, archived or locked).${xnatSays(err)} Next: look at its current state (getSubject, getExperiment, listFiles or listPrearchive), then use another label, pass ifExists: "return" or overwrite (after the user agreed), or unshare it first.`;
  }
  if (err.status === 414 || err.status === 431) {
    return `XNAT refused the request as too long (${err.status}): an ID, label, path or filter is far longer than XNAT's names; shorten it.`;
  }
  if (err instanceof XnatConfigError || err instanceof XnatLocalFileError) return err.message;
  if (err instanceof XnatProtocolError) {
    return `XNAT at ${url} sent a response this server cannot read (${err.message}); check that XNAT_URL points at XNAT itself.`;
  }
  return `XNAT failed (${err.describe()}); retry later.${xnatSays(err)}`;
}

/** Turns any thrown value into the one line a tool result shows. */
export function describeToolError(err: unknown, ctx: ErrorContext): string {
  if (err instanceof ToolInputError) return truncateText(err.message, MAX_ERROR_TEXT);
  if (err instanceof XnatError) {
    ctx.log.debug(`${ctx.operation}: ${redactSecrets(err.describe())}`);
    return truncateText(redactSecrets(describeXnatError(err, ctx)), MAX_ERROR_TEXT);
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  ctx.log.error(`${ctx.operation} failed unexpectedly: ${redactSecrets(detail)}`);
  return `Internal error in ${ctx.operation}; the server log has the details.`;
}
