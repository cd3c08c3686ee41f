import { READ_ONLY, defineTool } from '../mcp/define.js';
import { ServerInfoOutput, renderFields, shapeServerInfo } from '../mcp/format.js';

export const getServerInfo = defineTool({
  name: 'getServerInfo',
  title: 'XNAT server info',
  description:
    'The XNAT URL, version and logged-in user (whose permissions apply). Use it to check the connection.',
  toolset: 'core',
  inputSchema: {},
  outputSchema: ServerInfoOutput,
  annotations: READ_ONLY,
  writes: false,
  async handler(_args, { client, signal }) {
    return shapeServerInfo(await client.serverInfo({ signal }));
  },
  render: (info) =>
    renderFields([
      ['XNAT', info.url],
      ['version', info.buildNumber ? `${info.version} (build ${info.buildNumber})` : info.version],
      ['user', info.user],
    ]),
});
