/** TLS settings against a loopback HTTPS server whose certificate is signed by a test-only CA. */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XnatClient } from '../../src/client/client.js';
import { XnatConfigError, XnatNetworkError } from '../../src/client/errors.js';

const tls = (name: string): string => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));
let server: Server;
let url: string;
const clients: XnatClient[] = [];

function connect(
  extra: { caFile?: string; insecure?: boolean; log?: (line: string) => void } = {},
): XnatClient {
  const client = new XnatClient({ url, user: 'alice', password: 'secret', retries: 0, ...extra });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  server = createServer(
    { key: readFileSync(tls('server.key')), cert: readFileSync(tls('server.pem')) },
    (req, res) => {
      if (req.method === 'POST' && req.url === '/data/JSESSION') {
        res.writeHead(200, { 'set-cookie': 'JSESSIONID=TLS1; Path=/; Secure; HttpOnly' }).end('TLS1');
      } else if (req.method === 'DELETE') {
        res.writeHead(200).end();
      } else {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(
            JSON.stringify({ ResultSet: { Result: [{ ID: 'SECURE', name: 'Secure' }], totalRecords: '1' } }),
          );
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await new Promise((resolve) => server.close(resolve));
});

describe('TLS', () => {
  it('trusts XNAT through the CA file', async () => {
    expect((await connect({ caFile: tls('ca.pem') }).listProjects()).map((p) => p.id)).toEqual(['SECURE']);
  });

  it('explains an untrusted certificate and points at XNAT_CA_FILE', async () => {
    const err = await connect()
      .listProjects()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XnatNetworkError);
    expect((err as Error).message).toContain('XNAT_CA_FILE');
  });

  it('skips verification when insecure, warning once', async () => {
    const lines: string[] = [];
    const client = connect({ insecure: true, log: (line) => lines.push(line) });
    expect(await client.listProjects()).toHaveLength(1);
    expect(lines.filter((line) => /verification is disabled/.test(line))).toHaveLength(1);
  });

  it('rejects an unreadable CA file as a configuration error', () => {
    expect(() => connect({ caFile: tls('missing.pem') })).toThrow(XnatConfigError);
  });
});
