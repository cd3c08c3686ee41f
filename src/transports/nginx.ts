/**
 * nginx in front of several server processes (`xnat-mcp nginx-config`). Sessions live in the memory
 * of the process that opened them, so every request of a session must reach that process: each
 * process starts the session IDs it issues with its instance ID (`--instance-id`), and nginx maps the
 * `Mcp-Session-Id` prefix (and a team sign-in link's prefix) to that process. Initializations go to
 * any live process. A request for a session whose process is gone gets what the protocol prescribes
 * for an unknown session, 404, so the client initializes a new one.
 */
import { XnatConfigError } from '../client/errors.js';

export interface NginxInstance {
  /** The process's `--instance-id`. */
  id: string;
  /** Where it listens, `127.0.0.1:3331`. */
  address: string;
}

export interface NginxConfigOptions {
  instances: NginxInstance[];
  /** nginx's own address, e.g. `443 ssl` or `127.0.0.1:8080`. */
  listen: string;
  serverName?: string;
  /**
   * A standalone nginx.conf for an unprivileged nginx: pid, logs and temporary files in this folder,
   * in the foreground. Without it, only the `http`-level blocks (for /etc/nginx/conf.d/).
   */
  runDir?: string;
}

const SESSION_GONE =
  '{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found: the server process that held it is gone; initialize a new session"},"id":null}';

function checked(instances: NginxInstance[]): NginxInstance[] {
  if (instances.length === 0)
    throw new XnatConfigError('nginx-config needs at least one --instance id=host:port');
  for (const { id, address } of instances) {
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id) || !/^[A-Za-z0-9.[\]:-]+:\d+$/.test(address)) {
      throw new XnatConfigError(
        `--instance must be id=host:port with a 1-32 character [A-Za-z0-9_-] id (got '${id}=${address}')`,
      );
    }
  }
  return instances;
}

function upstreams(instances: NginxInstance[]): string[] {
  return [
    '# Any process, for initializations and health checks.',
    'upstream xnat_mcp {',
    ...instances.map((i) => `    server ${i.address} max_fails=1 fail_timeout=5s;`),
    '    keepalive 32;',
    '}',
    ...instances.flatMap((i) => [
      `upstream xnat_mcp_${i.id} {`,
      `    server ${i.address};`,
      '    keepalive 8;',
      '}',
    ]),
    '# A session belongs to the process whose instance ID starts its Mcp-Session-Id.',
    'map $http_mcp_session_id $xnat_mcp_session_upstream {',
    '    default xnat_mcp;',
    ...instances.map((i) => `    "~^${i.id}\\." xnat_mcp_${i.id};`),
    '}',
    '# A team sign-in link belongs to the process holding its session.',
    'map $uri $xnat_mcp_connect_upstream {',
    '    default xnat_mcp;',
    ...instances.map((i) => `    "~^/connect/${i.id}\\." xnat_mcp_${i.id};`),
    '}',
  ];
}

function server(options: NginxConfigOptions): string[] {
  const proxied = [
    '        proxy_http_version 1.1;',
    '        proxy_set_header Connection "";',
    '        proxy_set_header Host $http_host;',
  ];
  return [
    'server {',
    `    listen ${options.listen};`,
    ...(options.serverName === undefined ? [] : [`    server_name ${options.serverName};`]),
    '    location = /mcp {',
    '        proxy_pass http://$xnat_mcp_session_upstream;',
    ...proxied,
    '        # Streamable HTTP answers with server-sent events: pass them on as they come.',
    '        proxy_buffering off;',
    '        proxy_cache off;',
    '        proxy_read_timeout 1h;',
    '        client_max_body_size 4m;',
    "        # Only initializations reach the shared pool (a session's requests go to its own process), so",
    '        # retrying one elsewhere is safe, also over a kept-alive connection to a process just gone.',
    '        proxy_next_upstream error timeout non_idempotent;',
    '        # The process is unreachable: its sessions are gone (nginx made this 502, not the process).',
    '        error_page 502 504 = @xnat_mcp_session_gone;',
    '    }',
    '    location @xnat_mcp_session_gone {',
    '        if ($http_mcp_session_id = "") {',
    '            return 502;',
    '        }',
    '        default_type application/json;',
    `        return 404 '${SESSION_GONE}';`,
    '    }',
    '    location /connect/ {',
    '        proxy_pass http://$xnat_mcp_connect_upstream;',
    ...proxied,
    '    }',
    '    location = /healthz {',
    '        proxy_pass http://xnat_mcp;',
    ...proxied,
    '    }',
    '}',
  ];
}

export function renderNginxConfig(options: NginxConfigOptions): string {
  const body = [...upstreams(checked(options.instances)), ...server(options)];
  if (options.runDir === undefined) return `${body.join('\n')}\n`;
  const dir = options.runDir.replace(/\/+$/, '');
  const lines = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events {',
    '    worker_connections 4096;',
    '}',
    'http {',
    `    access_log ${dir}/access.log;`,
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
      (t) => `    ${t}_temp_path ${dir}/${t}_temp;`,
    ),
    ...body.map((line) => `    ${line}`),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}
