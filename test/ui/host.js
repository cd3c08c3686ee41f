/* global window, document */
// A minimal MCP Apps host (the bridge side of io.modelcontextprotocol/ui): embeds the app's HTML in a
// sandboxed iframe with a no-network CSP, answers ui/initialize, sends the tool's input and result,
// and relays the app's tools/call to the test's MCP client (window.hostCallTool, exposed by the test).
const frame = document.getElementById('app');
const config = await (await fetch('/config.json')).json();
const html = await (await fetch('/app.html')).text();
// What a host derives from a resource that declares no CSP domains: nothing from the network.
const CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:";
window.hostSeen = [];
window.hostModelContext = [];

const send = (message) => frame.contentWindow.postMessage(message, '*');
const reply = (id, result) => send({ jsonrpc: '2.0', id, result });

async function relay(id, name, args) {
  try {
    reply(id, await window.hostCallTool(name, args ?? {}));
  } catch (err) {
    send({ jsonrpc: '2.0', id, error: { code: -32603, message: String(err?.message ?? err) } });
  }
}

window.addEventListener('message', async (event) => {
  if (event.source !== frame.contentWindow) return;
  const message = event.data;
  if (message?.jsonrpc !== '2.0') return;
  window.hostSeen.push(message.method ?? `response ${message.id}`);
  switch (message.method) {
    case 'ui/initialize':
      reply(message.id, {
        protocolVersion: message.params.protocolVersion,
        hostInfo: { name: 'xnat-mcp-test-host', version: '0' },
        hostCapabilities: { serverTools: {}, logging: {}, updateModelContext: { text: {} } },
        hostContext: { theme: 'light', displayMode: 'inline', availableDisplayModes: ['inline'] },
      });
      break;
    case 'ui/notifications/initialized': {
      send({
        jsonrpc: '2.0',
        method: 'ui/notifications/tool-input',
        params: { arguments: config.arguments },
      });
      const result = await window.hostCallTool(config.tool, config.arguments);
      send({ jsonrpc: '2.0', method: 'ui/notifications/tool-result', params: result });
      break;
    }
    case 'ui/update-model-context':
      window.hostModelContext.push(message.params);
      reply(message.id, {});
      break;
    case 'tools/call':
      await relay(message.id, message.params.name, message.params.arguments);
      break;
    default:
      // Other requests (size, display mode, logging) get an empty answer; notifications none.
      if (message.method !== undefined && message.id !== undefined) reply(message.id, {});
  }
});

frame.srcdoc = html.replace('<head>', `<head><meta http-equiv="Content-Security-Policy" content="${CSP}">`);
