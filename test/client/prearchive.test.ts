/** Prearchive session URLs as callers pass them: checked locally, never a crash on malformed text. */
import { describe, expect, it } from 'vitest';
import { XnatBadRequestError } from '../../src/client/errors.js';
import { prearchiveParts } from '../../src/client/prearchive.js';

describe('prearchiveParts', () => {
  it('splits a session URL with or without /data and decodes its parts', () => {
    expect(prearchiveParts('/data/prearchive/projects/P1/20240611_101128996/Sess%20A')).toEqual({
      project: 'P1',
      timestamp: '20240611_101128996',
      folderName: 'Sess A',
    });
    expect(prearchiveParts('/prearchive/projects/P1/20240611_101128996/S1/').folderName).toBe('S1');
  });

  it('refuses malformed percent-encoding and traversal with a clear error', () => {
    for (const bad of [
      '/prearchive/projects/P1/%E0%A4%A/S1',
      '/prearchive/projects/P1/20240611/%2E%2E',
      '/prearchive/projects/P1/S1',
    ]) {
      expect(() => prearchiveParts(bad)).toThrow(XnatBadRequestError);
    }
  });
});
