/**
 * XNAT alias tokens (`/data/services/tokens/...`, AliasTokenRestlet): a login-scoped credential a
 * server can hold instead of a password, and revoke when it is done with it.
 */
import * as z from 'zod';
import { XnatProtocolError } from './errors.js';
import { xnatPath, type RequestContext } from './http.js';
import { getBody } from './reads.js';

/** An alias token: `alias` and `secret` are used as Basic credentials, like a login and password. */
export interface AliasToken {
  alias: string;
  secret: string;
  /** Epoch milliseconds after which XNAT no longer accepts it (XNAT's aliasTokenTimeout, 2 days by default). */
  expiresAt?: number;
}

const TokenJson = z.object({
  alias: z.string().min(1),
  secret: z.string().min(1),
  estimatedExpirationTime: z.number().optional(),
});

/** Issues a new alias token for the client's own login. */
export async function issueAliasToken(ctx: RequestContext, signal?: AbortSignal): Promise<AliasToken> {
  const path = xnatPath('data', 'services', 'tokens', 'issue');
  const body = await getBody(ctx, { path, expect: 'json', signal });
  let parsed: z.infer<typeof TokenJson>;
  try {
    parsed = TokenJson.parse(JSON.parse(body));
  } catch {
    throw new XnatProtocolError('XNAT answered the alias token request without an alias and secret', {
      method: 'GET',
      path,
    });
  }
  return {
    alias: parsed.alias,
    secret: parsed.secret,
    ...(parsed.estimatedExpirationTime !== undefined ? { expiresAt: parsed.estimatedExpirationTime } : {}),
  };
}

/** Disables an alias token of the client's own login; XNAT accepts it no more. */
export async function invalidateAliasToken(
  ctx: RequestContext,
  alias: string,
  signal?: AbortSignal,
): Promise<void> {
  await getBody(ctx, {
    path: xnatPath('data', 'services', 'tokens', 'invalidate', alias),
    expect: 'json',
    signal,
  });
}
