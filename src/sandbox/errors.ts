/**
 * The sandbox's one HTTP error: thrown by any handler (routes, search, writes) and rendered by the
 * server in the style XNAT uses for the URL space it happened in (Restlet page, Tomcat page, plain text).
 */
export class SandboxHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SandboxHttpError';
  }
}
