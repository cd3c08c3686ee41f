/** The error shaper on errors the sandbox cannot provoke on purpose (leaky messages, unknown throws). */
import { describe, expect, it } from 'vitest';
import { XnatConflictError, XnatNetworkError, XnatServerError } from '../../src/client/errors.js';
import { describeToolError } from '../../src/mcp/errors.js';
import { createStderrLogger } from '../../src/mcp/logger.js';

function shaperWithLog() {
  const lines: string[] = [];
  const log = createStderrLogger('debug', (line) => lines.push(line));
  return { lines, ctx: { operation: 'getThing', url: 'https://xnat.example.org', log } };
}

describe('describeToolError', () => {
  it('never lets a session cookie, an Authorization header or URL credentials through', () => {
    const { lines, ctx } = shaperWithLog();
    const err = new XnatServerError(
      'boom: JSESSIONID=ABCDEF0123 Authorization: Basic YWxpY2U6c2VjcmV0 at https://alice:s3cret@xnat.example.org/data',
      { method: 'GET', path: '/data/projects', status: 500 },
    );
    const text = describeToolError(err, ctx);
    for (const secret of ['ABCDEF0123', 'YWxpY2U6c2VjcmV0', 's3cret']) {
      expect(text).not.toContain(secret);
      expect(lines.join('\n')).not.toContain(secret);
    }
    expect(text).toContain('retry later');
  });

  it('says XNAT is unreachable at its URL on network failures', () => {
    const { ctx } = shaperWithLog();
    expect(describeToolError(new XnatNetworkError('connect ECONNREFUSED'), ctx)).toBe(
      'XNAT unreachable at https://xnat.example.org (connect ECONNREFUSED); retry later.',
    );
  });

  it('turns an unexpected error into a generic line and logs the detail', () => {
    const { lines, ctx } = shaperWithLog();
    const text = describeToolError(new TypeError('cannot read properties of undefined'), ctx);
    expect(text).toBe('Internal error in getThing; the server log has the details.');
    expect(text).not.toMatch(/at .*\.ts/);
    expect(lines.join('\n')).toContain('cannot read properties of undefined');
  });

  it('names the next step after a conflict XNAT reported', () => {
    const { ctx } = shaperWithLog();
    const err = new XnatConflictError('conflict', {
      method: 'POST',
      path: '/data/services/archive',
      status: 409,
      xnatMessage: 'Session already exists',
    });
    const text = describeToolError(err, {
      ...ctx,
      target: { what: "Experiment 'MR1'", project: 'P', nextStep: 'use searchExperiments' },
    });
    expect(text).toContain("Experiment 'MR1' in project P conflicts");
    expect(text).toContain('XNAT said: Session already exists.');
    expect(text).toMatch(/Next: .*(getExperiment|listPrearchive).*another label/);
  });

  it('says a request was too long instead of "retry later" on 414 and 431', () => {
    const { ctx } = shaperWithLog();
    for (const status of [414, 431]) {
      const text = describeToolError(
        new XnatServerError('too long', { method: 'GET', path: '/data/projects/x', status }),
        ctx,
      );
      expect(text).toMatch(/too long .*shorten it/);
      expect(text).not.toMatch(/retry later/);
    }
  });
});
