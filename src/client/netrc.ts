/**
 * A `.netrc` reader (the format curl, ftp, Python's netrc and xnatutils share): `machine`,
 * `default`, `login`, `password`, `account` and `macdef` tokens, `#` comments, quoted tokens.
 */

export interface NetrcEntry {
  login?: string;
  password?: string;
  account?: string;
}

export interface Netrc {
  machines: Map<string, NetrcEntry>;
  default?: NetrcEntry;
}

/** Splits netrc text into tokens; `macdef` bodies are skipped (they run until a blank line). */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    let token = '';
    if (ch === '"') {
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        token += text[i];
        i++;
      }
      i++; // closing quote
    } else {
      while (i < n && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < n) i++;
        token += text[i];
        i++;
      }
    }
    tokens.push(token);
    if (token === 'macdef' && ch !== '"') {
      // Macro name, then the body up to the first empty line.
      while (i < n && text[i] !== '\n') i++;
      const end = text.indexOf('\n\n', i);
      i = end === -1 ? n : end + 2;
      tokens.push(''); // placeholder for the skipped macro so the parser stays aligned
    }
  }
  return tokens;
}

export function parseNetrc(text: string): Netrc {
  const netrc: Netrc = { machines: new Map() };
  const tokens = tokenize(text);
  let current: NetrcEntry | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const value = tokens[i + 1];
    switch (token) {
      case 'machine': {
        current = {};
        if (value !== undefined && !netrc.machines.has(value)) netrc.machines.set(value, current);
        i++;
        break;
      }
      case 'default':
        current = {};
        netrc.default ??= current;
        break;
      case 'login':
      case 'password':
      case 'account':
        if (current && value !== undefined) current[token] = value;
        i++;
        break;
      case 'macdef':
        current = undefined;
        i++;
        break;
      default:
        // Unknown tokens (and a macdef placeholder) are ignored, as ftp does.
        break;
    }
  }
  return netrc;
}

/** The entry for a host (exact `host:port` first, then the host name), else the `default` entry. */
export function netrcLookup(netrc: Netrc, hostname: string, port?: string): NetrcEntry | undefined {
  if (port) {
    const withPort = netrc.machines.get(`${hostname}:${port}`);
    if (withPort) return withPort;
  }
  return netrc.machines.get(hostname) ?? netrc.default;
}
