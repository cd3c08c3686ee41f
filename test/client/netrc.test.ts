import { describe, expect, it } from 'vitest';
import { netrcLookup, parseNetrc } from '../../src/client/netrc.js';

describe('netrc parsing', () => {
  it('reads machines, default, account, comments, quoted tokens and skips macdef bodies', () => {
    const netrc = parseNetrc(
      [
        '# my credentials',
        'machine xnat.example.org',
        '  login alice   # trailing comment',
        '  password "pa ss\\"word"',
        '  account lab',
        'macdef init',
        'cd /pub',
        'machine evil.example.org login mallory password fromMacro',
        '',
        'machine other.example.org login bob password b0b',
        'default login guest password guestpass',
      ].join('\n'),
    );
    expect(netrc.machines.get('xnat.example.org')).toEqual({
      login: 'alice',
      password: 'pa ss"word',
      account: 'lab',
    });
    expect(netrc.machines.has('evil.example.org')).toBe(false);
    expect(netrcLookup(netrc, 'other.example.org')).toEqual({ login: 'bob', password: 'b0b' });
    expect(netrcLookup(netrc, 'unknown.example.org')).toEqual({ login: 'guest', password: 'guestpass' });
  });

  it('keeps the first entry of a machine listed twice and prefers host:port', () => {
    const netrc = parseNetrc(
      'machine h login first password 1\nmachine h login second password 2\nmachine h:8443 login tls password 3',
    );
    expect(netrcLookup(netrc, 'h')?.login).toBe('first');
    expect(netrcLookup(netrc, 'h', '8443')?.login).toBe('tls');
    expect(netrcLookup(netrc, 'h', '9000')?.login).toBe('first');
    expect(netrcLookup(parseNetrc(''), 'h')).toBeUndefined();
  });
});
