/**
 * The one error hierarchy of the client core. Every failure talking to XNAT becomes one of these,
 * carrying the HTTP method, the request path (never a query string with secrets, never credentials),
 * the status and XNAT's own message extracted from its HTML/text error page.
 */

export interface XnatErrorDetails {
  method?: string | undefined;
  /** Server-relative path of the request, without query string or credentials. */
  path?: string | undefined;
  status?: number | undefined;
  /** XNAT's own message (from a Restlet `<h3>`, a Tomcat `<title>`, or a plain-text body). */
  xnatMessage?: string | undefined;
  cause?: unknown;
}

export type XnatErrorKind =
  | 'authentication'
  | 'permission'
  | 'not_found'
  | 'conflict'
  | 'bad_request'
  | 'server'
  | 'network'
  | 'timeout'
  | 'cancelled'
  | 'config'
  | 'protocol'
  | 'local';

export class XnatError extends Error {
  readonly kind: XnatErrorKind = 'server';
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly status: number | undefined;
  readonly xnatMessage: string | undefined;

  constructor(message: string, details: XnatErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.method = details.method;
    this.path = details.path;
    this.status = details.status;
    this.xnatMessage = details.xnatMessage;
  }

  /** A one-line description safe to show to a user or a model. */
  describe(): string {
    const where =
      this.method && this.path
        ? ` (${this.method} ${this.path}${this.status ? ` → ${this.status}` : ''})`
        : '';
    return `${this.message}${where}`;
  }
}

/** 401: wrong or missing credentials, or an expired session that could not be renewed. */
export class XnatAuthenticationError extends XnatError {
  override readonly kind = 'authentication' as const;
}
/** 403: authenticated, but not allowed to do this. */
export class XnatPermissionError extends XnatError {
  override readonly kind = 'permission' as const;
}
/** 404: missing, or not readable by this user (XNAT answers 404 for both). */
export class XnatNotFoundError extends XnatError {
  override readonly kind = 'not_found' as const;
}
/** 409: label in use, already shared, resource exists, ... */
export class XnatConflictError extends XnatError {
  override readonly kind = 'conflict' as const;
}
/** 400, 417, 422: XNAT refused the request as malformed or invalid. */
export class XnatBadRequestError extends XnatError {
  override readonly kind = 'bad_request' as const;
}
/** 5xx and any unexpected status. */
export class XnatServerError extends XnatError {
  override readonly kind = 'server' as const;
}
/** Connection refused/reset, DNS, TLS failures. */
export class XnatNetworkError extends XnatError {
  override readonly kind = 'network' as const;
}
/** The request took longer than the configured timeout. */
export class XnatTimeoutError extends XnatError {
  override readonly kind = 'timeout' as const;
}
/** The caller aborted the request through its AbortSignal. */
export class XnatCancelledError extends XnatError {
  override readonly kind = 'cancelled' as const;
}
/** Missing or invalid configuration (URL, credentials, TLS files). */
export class XnatConfigError extends XnatError {
  override readonly kind = 'config' as const;
}
/** XNAT answered 2xx but with something we cannot use (an HTML login page, malformed JSON, ...). */
export class XnatProtocolError extends XnatError {
  override readonly kind = 'protocol' as const;
}

/** A local file a transfer reads or writes is missing, unreadable, unsafe or failed to verify (not XNAT's fault). */
export class XnatLocalFileError extends XnatError {
  override readonly kind = 'local' as const;
}

/** Maps an HTTP status to the error class that represents it. */
export function errorClassForStatus(
  status: number,
): new (message: string, details?: XnatErrorDetails) => XnatError {
  if (status === 401) return XnatAuthenticationError;
  if (status === 403) return XnatPermissionError;
  if (status === 404 || status === 410) return XnatNotFoundError;
  if (status === 409) return XnatConflictError;
  if (status === 400 || status === 413 || status === 415 || status === 417 || status === 422)
    return XnatBadRequestError;
  return XnatServerError;
}

export function isXnatError(err: unknown): err is XnatError {
  return err instanceof XnatError;
}

/** The `code` of a Node.js file-system error (`ENOENT`, `EACCES`, ...). */
export function fsErrorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** A failed local file operation as one actionable XnatLocalFileError (XnatErrors pass through). */
export function localFileError(action: string, path: string, err: unknown): XnatError {
  if (err instanceof XnatError) return err;
  const code = fsErrorCode(err);
  const reason =
    code === 'ENOENT'
      ? 'it does not exist'
      : code === 'EACCES' || code === 'EPERM'
        ? 'permission denied'
        : code === 'ENOSPC'
          ? 'the disk is full'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (code ?? (err instanceof Error ? err.message : String(err)));
  return new XnatLocalFileError(`Cannot ${action} ${path}: ${reason}`, { cause: err });
}
