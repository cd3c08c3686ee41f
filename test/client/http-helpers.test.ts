import { describe, expect, it } from 'vitest';
import { XnatBadRequestError, XnatNotFoundError, XnatServerError } from '../../src/client/errors.js';
import { errorForResponse, extractXnatMessage, queryString, xnatPath } from '../../src/client/http.js';

describe('xnatPath', () => {
  it('encodes every segment so IDs and labels cannot change the URL structure', () => {
    expect(xnatPath('data', 'projects', 'P1', 'subjects', 'a/b?c#d')).toBe(
      '/data/projects/P1/subjects/a%2Fb%3Fc%23d',
    );
    expect(xnatPath('data', 'experiments', 'Größe 1', '..x')).toBe(
      '/data/experiments/Gr%C3%B6%C3%9Fe%201/..x',
    );
    expect(xnatPath('data', 'experiments', '%2e%2e')).toBe('/data/experiments/%252e%252e');
    const resolved = new URL(`https://h/xnat${xnatPath('data', 'projects', '../../admin')}`);
    expect(resolved.pathname).toBe('/xnat/data/projects/..%2F..%2Fadmin');
  });

  it('rejects empty, "." and ".." segments', () => {
    for (const bad of ['', '.', '..']) {
      expect(() => xnatPath('data', 'projects', bad)).toThrow(XnatBadRequestError);
    }
  });

  it('rejects unpaired surrogates and overlong segments with a clear input error', () => {
    for (const bad of ['\ud800', 'a\udc00b', 'x\ud83d']) {
      expect(() => xnatPath('data', 'projects', bad)).toThrow(/unpaired UTF-16 surrogate/);
    }
    expect(() => xnatPath('data', 'projects', 'P'.repeat(20_000))).toThrow(
      /20000 characters is too long .*at most 1024/,
    );
    expect(xnatPath('data', 'projects', 'emoji\ud83d\ude00')).toBe('/data/projects/emoji%F0%9F%98%80');
  });

  it('builds query strings, skipping undefined values', () => {
    expect(queryString({ format: 'json', label: 'MR*', limit: 10, skip: undefined, all: true })).toBe(
      '?format=json&label=MR*&limit=10&all=true',
    );
    expect(queryString({ date: '01/02/2020-03/04/2020', a: 'x&y=z' })).toBe(
      '?date=01%2F02%2F2020-03%2F04%2F2020&a=x%26y%3Dz',
    );
    expect(queryString({})).toBe('');
  });
});

describe('XNAT error pages', () => {
  it('reads the Restlet status page <h3>', () => {
    const body =
      '<html>\n<head>\n   <title>Status page</title>\n</head>\n<body>\n<h3>Already assigned to project:pr000r00</h3><p>You can get technical details <a href="http://www.w3.org/Protocols/rfc2616/rfc2616-sec10.html#sec10.4.10">here</a>.<br>\nPlease continue your visit at our <a href="/">home page</a>.\n</p>\n</body>\n</html>';
    expect(extractXnatMessage(body)).toBe('Already assigned to project:pr000r00');
  });

  it('reads Tomcat error reports (message paragraph, else title)', () => {
    const tomcat =
      '<!doctype html><html lang="en"><head><title>HTTP Status 404 – Not Found</title></head><body><h1>HTTP Status 404 – Not Found</h1><hr class="line" /><p><b>Type</b> Status Report</p><p><b>Message</b> Unable to find the specified experiment &amp; more</p><p><b>Description</b> The origin server did not find a current representation.</p></body></html>';
    expect(extractXnatMessage(tomcat)).toBe('Unable to find the specified experiment & more');
    const titleOnly =
      '<!doctype html><html><head><title>HTTP Status 401 – Unauthorized</title></head><body></body></html>';
    expect(extractXnatMessage(titleOnly)).toBe('Unauthorized');
  });

  it('keeps short plain-text bodies and ignores empty ones', () => {
    expect(
      extractXnatMessage(
        'Non-admin users can only request operations on alias tokens for their own account\n',
      ),
    ).toBe('Non-admin users can only request operations on alias tokens for their own account');
    expect(extractXnatMessage('   ')).toBeUndefined();
    expect(extractXnatMessage('x'.repeat(500))).toHaveLength(300);
  });

  it('maps statuses to the error hierarchy with method, path and XNAT message', () => {
    const err = errorForResponse('GET', '/data/experiments/X', {
      status: 404,
      contentType: 'text/html',
      body: '<html><body><h3>Unable to find the specified experiment.</h3></body></html>',
      setCookies: [],
      loginPage: false,
    });
    expect(err).toBeInstanceOf(XnatNotFoundError);
    expect(err).toMatchObject({ method: 'GET', path: '/data/experiments/X', status: 404 });
    expect(err.xnatMessage).toBe('Unable to find the specified experiment.');
    expect(err.describe()).toBe(
      'XNAT answered 404 Not Found: Unable to find the specified experiment. (GET /data/experiments/X → 404)',
    );
    const server = errorForResponse('POST', '/data/search', {
      status: 500,
      contentType: '',
      body: '',
      setCookies: [],
      loginPage: false,
    });
    expect(server).toBeInstanceOf(XnatServerError);
    expect(server.message).toBe('XNAT answered 500 Internal Server Error');
  });
});
