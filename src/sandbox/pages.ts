/**
 * Error bodies exactly as XNAT's three layers write them: Restlet 1.1's status page for `/data`
 * (clients pull the message out of `<h3>`), Tomcat's error report for container-level failures
 * (authentication entry point, unmapped URLs; clients read `<title>`), and plain text for `/xapi`.
 */
import { textReply, type Reply } from './reply.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  410: 'Gone',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
};

/** Restlet's default descriptions, used when a handler sets a status without a message. */
const RESTLET_DESCRIPTIONS: Record<number, string> = {
  404: 'The server has not found anything matching the request URI',
  405: 'The method specified in the request is not allowed for the resource identified by the request URI',
};

const TOMCAT_DESCRIPTIONS: Record<number, string> = {
  401: 'The request has not been applied because it lacks valid authentication credentials for the target resource.',
  403: 'The server understood the request but refuses to authorize it.',
  404: 'The origin server did not find a current representation for the target resource or is not willing to disclose that one exists.',
  405: 'The method received in the request-line is known by the origin server but not supported by the target resource.',
  500: 'The server encountered an unexpected condition that prevented it from fulfilling the request.',
};

function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

/** Restlet links each status to its RFC 2616 section (WebDAV's RFC for 422). */
function specLink(status: number): string {
  if (status === 422) return 'http://www.webdav.org/specs/rfc2518.html#STATUS_422';
  if (status >= 500) return `http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.5.${status - 499}`;
  return `http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.${status - 399}`;
}

export function restletErrorPage(status: number, message: string | undefined, contextPath: string): Reply {
  const description = message || RESTLET_DESCRIPTIONS[status] || reasonPhrase(status);
  const body =
    '<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n' +
    `<h3>${escapeHtml(description)}</h3>` +
    `<p>You can get technical details <a href="${specLink(status)}">here</a>.<br>\n` +
    `Please continue your visit at our <a href="${contextPath}/">home page</a>.\n</p>\n</body>\n</html>\n`;
  return textReply(status, body, 'text/html;charset=UTF-8');
}

export function tomcatErrorPage(status: number, message?: string): Reply {
  const title = `HTTP Status ${status} – ${reasonPhrase(status)}`;
  const messagePart = message ? `<p><b>Message</b> ${escapeHtml(message)}</p>` : '';
  const body =
    `<!doctype html><html lang="en"><head><title>${title}</title><style type="text/css">` +
    'body {font-family:Tahoma,Arial,sans-serif;} h1, h2, h3, b {color:white;background-color:#525D76;} ' +
    'h1 {font-size:22px;} h2 {font-size:16px;} h3 {font-size:14px;} p {font-size:12px;} a {color:black;} ' +
    '.line {height:1px;background-color:#525D76;border:none;}</style></head><body>' +
    `<h1>${title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>${messagePart}` +
    `<p><b>Description</b> ${TOMCAT_DESCRIPTIONS[status] ?? reasonPhrase(status)}</p>` +
    '<hr class="line" /><h3>Apache Tomcat/9.0.85</h3></body></html>';
  return textReply(status, body, 'text/html;charset=utf-8');
}

export function xapiErrorPage(status: number, message: string): Reply {
  return textReply(status, message);
}
