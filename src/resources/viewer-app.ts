/**
 * The scan viewer's own page: markup, style and the browser script. The script runs in the host's
 * sandboxed iframe after ext-apps' App bundle (viewer.ts inlines both), so it is plain JavaScript
 * in a string: this project's TypeScript targets Node, and the browser test (test/ui) checks it.
 *
 * Everything the viewer shows comes through the host: getScanImage's result first, then its own
 * tools/call requests (getScanImage for other slices, windows and montages; recordQc for a rating).
 */

export const VIEWER_STYLE = `
:root { color-scheme: light dark; --fg: CanvasText; --bg: Canvas; --muted: GrayText; --accent: #2f6fde; }
* { box-sizing: border-box; }
body { margin: 0; padding: 8px; font: 13px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 8px; align-items: baseline; flex-wrap: wrap; }
header h1 { font-size: 14px; margin: 0; }
#meta { color: var(--muted); }
#stage { position: relative; margin: 6px 0; background: #000; display: flex; justify-content: center; }
#image { max-width: 100%; max-height: 70vh; image-rendering: pixelated; }
.row { display: flex; gap: 6px; align-items: center; flex-wrap: wrap; margin: 4px 0; }
.row input[type=range] { flex: 1; min-width: 120px; }
.row input[type=number] { width: 5.5em; }
button { font: inherit; padding: 2px 8px; }
button[aria-pressed=true] { outline: 2px solid var(--accent); }
#qc button[data-quality=usable] { border-color: #2a8a2a; }
#qc button[data-quality=questionable] { border-color: #c08a00; }
#qc button[data-quality=unusable] { border-color: #c0392b; }
#note { flex: 1; min-width: 160px; }
#status[data-kind=error] { color: #c0392b; }
#status[data-kind=done] { color: #2a8a2a; }
`;

export const VIEWER_BODY = `
<header><h1 id="title">Scan viewer</h1><span id="meta"></span></header>
<div id="stage"><canvas id="image" width="1" height="1" aria-label="Scan image"></canvas></div>
<div class="row">
  <button id="prev" title="Previous slice (arrow down)">&#9664;</button>
  <input id="slice" type="range" min="0" max="0" value="0" aria-label="Slice">
  <button id="next" title="Next slice (arrow up)">&#9654;</button>
  <span id="sliceLabel"></span>
</div>
<div class="row">
  <button id="modeSlice" data-mode="slice">Slice</button>
  <button id="modeMontage" data-mode="montage">Montage</button>
  <button id="modeOrthogonal" data-mode="orthogonal">Orthogonal</button>
  <label>Window <select id="preset"></select></label>
  <label>C <input id="center" type="number" step="any"></label>
  <label>W <input id="width" type="number" step="any" min="1"></label>
  <button id="applyWindow">Apply</button>
</div>
<div class="row" id="qc">
  <span>Quality:</span>
  <button data-quality="usable">Usable</button>
  <button data-quality="questionable">Questionable</button>
  <button data-quality="unusable">Unusable</button>
  <input id="note" type="text" maxlength="2000" placeholder="Note (optional)" aria-label="QC note">
</div>
<div id="status" role="status">Waiting for the image…</div>
`;

/** `__PRESETS__` and `__VERSION__` are replaced by viewer.ts; `McpApps` is the App bundle's exports. */
export const VIEWER_SCRIPT = String.raw`
const { App, applyDocumentTheme } = McpApps;
const PRESETS = __PRESETS__;
const $ = (id) => document.getElementById(id);
const state = { args: undefined, out: undefined, slice: 0, window: 'dicom', seq: 0, timer: undefined };
const app = new App({ name: 'xnat-mcp scan viewer', version: __VERSION__ }, {});

function setStatus(text, kind) {
  $('status').textContent = text;
  $('status').dataset.kind = kind || 'info';
}
const textOf = (result) => (result.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');

async function show(result) {
  if (result.isError) return setStatus(textOf(result) || 'The image could not be rendered', 'error');
  const image = (result.content || []).find((c) => c.type === 'image');
  const out = result.structuredContent;
  if (!image || !out) return setStatus('The result holds no image', 'error');
  // Decoded from the bytes in hand: no URL is loaded, whatever the host's img-src allows.
  const bytes = Uint8Array.from(atob(image.data), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: image.mimeType }));
  const canvas = $('image');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d').drawImage(bitmap, 0, 0);
  bitmap.close();
  state.out = out;
  if (out.mode === 'slice') state.slice = out.slices[0];
  canvas.dataset.mode = out.mode;
  canvas.dataset.slice = String(state.slice);
  const slider = $('slice');
  slider.max = String(Math.max(0, out.sliceCount - 1));
  slider.value = String(state.slice);
  $('sliceLabel').textContent = out.mode === 'slice'
    ? 'slice ' + (state.slice + 1) + ' / ' + out.sliceCount
    : out.slices.length + ' of ' + out.sliceCount + ' slices';
  for (const b of document.querySelectorAll('[data-mode]')) b.setAttribute('aria-pressed', String(b.dataset.mode === out.mode));
  if (out.window) {
    $('center').value = String(out.window.center);
    $('width').value = String(out.window.width);
  }
  const volume = out.volumeCount > 1 ? ', volume ' + (out.volume + 1) + '/' + out.volumeCount : '';
  $('meta').textContent = out.source + ', ' + out.transferSyntax + volume;
  setStatus(out.mode + ' ' + out.width + 'x' + out.height + (out.window ? ', window ' + out.window.center + '/' + out.window.width : ''), 'info');
}

/** Asks the server for another view; only the latest answer is shown. */
async function render(changes) {
  if (!state.args) return;
  const seq = ++state.seq;
  const { experiment, project, scan, volume, count } = state.args;
  const args = { experiment, scan, window: state.window, mode: 'slice', ...changes };
  if (project !== undefined) args.project = project;
  if (volume !== undefined) args.volume = volume;
  if (args.mode === 'montage' && count !== undefined && args.count === undefined) args.count = count;
  if (args.mode !== 'slice') delete args.slice;
  setStatus('Rendering…', 'info');
  try {
    const result = await app.callServerTool({ name: 'getScanImage', arguments: args });
    if (seq === state.seq) await show(result);
  } catch (err) {
    if (seq === state.seq) setStatus('The host refused the request: ' + (err && err.message), 'error');
  }
}

function goTo(slice) {
  const max = state.out ? state.out.sliceCount - 1 : 0;
  const next = Math.min(max, Math.max(0, slice));
  state.slice = next;
  $('slice').value = String(next);
  clearTimeout(state.timer);
  // Dragging the slider asks for one image once it rests, not one per pixel moved.
  state.timer = setTimeout(() => render({ mode: 'slice', slice: next }), 120);
}

async function rate(quality) {
  if (!state.args) return;
  const { experiment, project, scan } = state.args;
  const args = { action: 'rateScan', experiment, scan, quality };
  if (project !== undefined) args.project = project;
  const note = $('note').value.trim();
  if (note) args.note = note;
  const buttons = document.querySelectorAll('[data-quality]');
  for (const b of buttons) b.disabled = true;
  setStatus('Recording ' + quality + '…', 'info');
  try {
    const result = await app.callServerTool({ name: 'recordQc', arguments: args });
    if (result.isError) {
      const text = textOf(result);
      const hint = /not found|unknown tool/i.test(text) ? ' (switch the qc toolset on: enableToolsets with qc)' : '';
      setStatus(text + hint, 'error');
    } else {
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.quality === quality));
      const summary = (result.structuredContent && result.structuredContent.summary) || textOf(result);
      setStatus(summary, 'done');
      // The model did not see the click: hosts that take context updates tell it on its next turn.
      const capabilities = app.getHostCapabilities();
      if (capabilities && capabilities.updateModelContext) {
        const said = 'In the scan viewer the user rated scan ' + scan + ' of ' + experiment + ' ' + quality + (note ? ' (note: ' + note + ')' : '') + '. ' + summary;
        app.updateModelContext({ content: [{ type: 'text', text: said }] }).catch(() => undefined);
      }
    }
  } catch (err) {
    setStatus('The host refused the request: ' + (err && err.message), 'error');
  } finally {
    for (const b of buttons) b.disabled = false;
  }
}

for (const name of ['dicom', ...Object.keys(PRESETS), 'custom']) $('preset').add(new Option(name, name));
$('preset').addEventListener('change', () => {
  const name = $('preset').value;
  if (name === 'custom') return;
  state.window = name;
  render(state.out && state.out.mode !== 'slice' ? { mode: state.out.mode } : { slice: state.slice });
});
$('applyWindow').addEventListener('click', () => {
  const center = Number($('center').value);
  const width = Number($('width').value);
  if (!Number.isFinite(center) || !(width > 0)) return setStatus('Window: a centre and a positive width', 'error');
  state.window = { center, width };
  $('preset').value = 'custom';
  render(state.out && state.out.mode !== 'slice' ? { mode: state.out.mode } : { slice: state.slice });
});
$('slice').addEventListener('input', () => goTo(Number($('slice').value)));
$('prev').addEventListener('click', () => goTo(state.slice - 1));
$('next').addEventListener('click', () => goTo(state.slice + 1));
$('image').addEventListener('wheel', (e) => { e.preventDefault(); goTo(state.slice + Math.sign(e.deltaY)); }, { passive: false });
document.addEventListener('keydown', (e) => {
  if (e.target instanceof HTMLInputElement && e.target.type !== 'range') return;
  if (e.key === 'ArrowUp' || e.key === 'PageUp') goTo(state.slice + 1);
  else if (e.key === 'ArrowDown' || e.key === 'PageDown') goTo(state.slice - 1);
  else return;
  e.preventDefault();
});
for (const b of document.querySelectorAll('[data-mode]')) {
  b.addEventListener('click', () => render(b.dataset.mode === 'slice' ? { slice: state.slice } : { mode: b.dataset.mode }));
}
for (const b of document.querySelectorAll('[data-quality]')) b.addEventListener('click', () => rate(b.dataset.quality));

app.ontoolinput = (params) => {
  state.args = params.arguments || {};
  const { experiment, scan, window: asked } = state.args;
  $('title').textContent = 'Scan ' + scan + ' of ' + experiment;
  if (asked !== undefined) state.window = asked;
  $('preset').value = typeof asked === 'string' ? asked : asked ? 'custom' : 'dicom';
};
app.ontoolresult = (result) => show(result).catch((err) => setStatus(String(err), 'error'));
app.onhostcontextchanged = (context) => { if (context.theme) applyDocumentTheme(context.theme); };
app.connect().then(
  () => { const context = app.getHostContext(); if (context && context.theme) applyDocumentTheme(context.theme); },
  (err) => setStatus('Could not connect to the host: ' + err.message, 'error'),
);
`;
