// Wires the page together: hue control, palette, search box, the live stream, delete/undo, status.

import { Columns } from './columns.js';
import { PaletteEditor, formatColors, parseColors } from './palette.js';
import { StreamSocket } from './socket.js';
import { ThumbDecoder } from './thumbs.js';
import { Toasts } from './toast.js';

const HUE_DEBOUNCE_MS = 250;
const UNDO_MS = 6000;
const DEFAULT_HUE = 200;

const root = document.getElementById('scroller');
const config = root.dataset;
const ui = {
  stream: root.querySelector('[data-role="stream"]'),
  empty: root.querySelector('[data-role="empty"]'),
  slider: root.querySelector('[data-testid="hue-slider"]'),
  hueValue: root.querySelector('[data-role="hue-value"]'),
  notice: root.querySelector('[data-testid="widened-notice"]'),
  status: root.querySelector('[data-testid="ws-status"]'),
  play: root.querySelector('[data-testid="play-toggle"]'),
  upload: root.querySelector('[data-testid="upload-panel"]'),
  searchForm: root.querySelector('[data-testid="search-form"]'),
  searchInput: root.querySelector('[data-testid="search-input"]'),
  searchClear: root.querySelector('[data-testid="search-clear"]'),
  hueControl: root.querySelector('[data-role="hue-control"]'),
  paletteToggle: root.querySelector('[data-testid="palette-toggle"]'),
  palettePanel: root.querySelector('[data-testid="palette-panel"]'),
};
const EMPTY_LIBRARY_TEXT = ui.empty.textContent;

const toasts = new Toasts(root.querySelector('[data-role="toasts"]'));
const decoder = new ThumbDecoder(config.workerUrl, config.xzUrl);
// An empty batch means nothing matches at all: stop asking until something
// arrives live, or the loop would ask every frame.
let exhausted = false;
// The search being streamed, or null for the hue stream.
let query = null;
// The palette being streamed ([{hue, weight}]), or null.
let palette = null;
let uploads = null;
// Whether the columns were paused for a bulk upload (and start again after it).
let heldForUpload = false;
// What the server said about uploading, kept in case it says so before the
// upload module has loaded.
let canUpload = null;
// Undo toasts by image id, so a refused delete can take its toast back.
const undoToasts = new Map();

const columns = new Columns(ui.stream, {
  onLow: () => exhausted || socket.requestMore(),
  onActivate: deleteImage,
});

const socket = new StreamSocket(wsUrl(config.wsPath), {
  state: showConnection,
  hello: onHello,
  batch: onBatch,
  added: showMargin,
  item: onItem,
  updated: (metas) => metas.forEach((meta) => columns.update(meta)),
  removed: (ids) => ids.forEach((id) => columns.remove(id)),
  error: onServerError,
});

function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
}

// ---- stream events ----------------------------------------------------------

function onHello(msg) {
  // The session may have expired since the page was rendered.
  canUpload = Boolean(msg.user && msg.can_upload);
  uploads?.setEnabled(canUpload);
}

function onServerError(msg) {
  undoToasts.get(msg.id)?.dismiss();
  toasts.error(msg.message || `Server error: ${msg.code}`);
}

// Batches and live additions both say which margin the stream matches with: a widened
// one narrows again as soon as a close image arrives, and the notice follows it.
function showMargin(msg) {
  const widened = Boolean(msg.widened);
  ui.notice.hidden = !widened;
  if (widened) ui.notice.textContent = `Nothing at this hue yet — showing ±${msg.margin}°`;
}

function onBatch(msg) {
  const count = msg.images?.length ?? 0;
  showMargin(msg);
  exhausted = count === 0;
  if (palette !== null) ui.empty.textContent = 'Nothing has these colours yet.';
  else ui.empty.textContent = query === null ? EMPTY_LIBRARY_TEXT : `Nothing found for “${query}”.`;
  ui.empty.hidden = !(exhausted && columns.size === 0);
}

function onItem(meta, thumbnail, source) {
  // After a reconnect, carry on from what is on screen rather than repeat it.
  if (source === 'resume' && columns.has(meta.id)) return;
  if (source === 'added') exhausted = false;
  ui.empty.hidden = true;
  columns.add(meta, () => decoder.decode(thumbnail), { live: source === 'added' });
}

const CONNECTION_LABELS = { open: 'Live', connecting: 'Connecting…', closed: 'Offline · retrying' };

function showConnection(state) {
  ui.status.dataset.state = state;
  ui.status.querySelector('[data-role="ws-label"]').textContent = CONNECTION_LABELS[state];
}

// ---- delete / undo ----------------------------------------------------------

function deleteImage(meta) {
  if (!socket.send({ type: 'delete', id: meta.id })) {
    toasts.error('Not connected — the image was not deleted.');
    return;
  }
  columns.remove(meta.id);
  const toast = toasts.action('Image deleted.', {
    label: 'Undo',
    testid: 'undo',
    duration: UNDO_MS,
    onAction: () => socket.send({ type: 'restore', id: meta.id }) || toasts.error('Not connected — could not undo.'),
    onDismiss: () => undoToasts.get(meta.id) === toast && undoToasts.delete(meta.id),
  });
  undoToasts.set(meta.id, toast);
}

// ---- hue --------------------------------------------------------------------

const HUE_NAMES = [
  [15, 'red'], [45, 'orange'], [70, 'yellow'], [160, 'green'], [200, 'cyan'],
  [255, 'blue'], [290, 'purple'], [335, 'pink'], [360, 'red'],
];

function hueName(hue) {
  return HUE_NAMES.find(([below]) => hue < below)[1];
}

function hueFromUrl() {
  const fromUrl = Number.parseInt(new URLSearchParams(location.search).get('hue'), 10);
  return Number.isInteger(fromUrl) && fromUrl >= 0 && fromUrl <= 359 ? fromUrl : null;
}

// Tinting is instant while dragging; only the stream switch is debounced.
function tint(hue) {
  document.documentElement.style.setProperty('--hue', hue);
  ui.slider.setAttribute('aria-valuetext', `${hue}°, ${hueName(hue)}`);
  ui.hueValue.textContent = `${hue}°`;
}

// A search streams without a hue until the slider moves during it; the URL
// says what is streamed, so a search can be bookmarked and shared. The first
// subscription comes from the URL, which it leaves as it is.
function subscribe(subscription, { fromUrl = false } = {}) {
  exhausted = false;
  ui.notice.hidden = true;
  ui.empty.hidden = true;
  columns.clear();
  query = subscription.q ?? null;
  palette = subscription.colors ?? null;
  // A palette edit still waiting out its debounce must not take the stream back from a search.
  if (palette === null) clearTimeout(paletteTimer);
  ui.searchClear.hidden = query === null;
  showPaletteMode(palette !== null);
  socket.subscribe(subscription);
  if (fromUrl) return;
  const url = new URL(location.href);
  const shown = { ...subscription, colors: palette && formatColors(palette) };
  for (const name of ['q', 'hue', 'colors']) {
    if (shown[name] === undefined || shown[name] === null) url.searchParams.delete(name);
    else url.searchParams.set(name, shown[name]);
  }
  history.replaceState(history.state, '', url);
}

function initHue() {
  const fromUrl = hueFromUrl();
  const hue = fromUrl ?? DEFAULT_HUE;
  ui.slider.value = hue;
  tint(hue);
  const searched = new URLSearchParams(location.search).get('q')?.trim();
  const asked = parseColors(new URLSearchParams(location.search).get('colors'));
  if (asked) {
    paletteEditor.set(asked);
    tint(asked[0].hue);
    subscribe({ colors: asked }, { fromUrl: true });
  } else if (searched) {
    ui.searchInput.value = searched;
    subscribe(fromUrl === null ? { q: searched } : { q: searched, hue }, { fromUrl: true });
  } else {
    subscribe({ hue }, { fromUrl: true });
  }
  let timer = 0;
  let current = hue;
  ui.slider.addEventListener('input', () => {
    const next = ui.slider.valueAsNumber;
    tint(next);
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (next === current) return;
      current = next;
      subscribe(query === null ? { hue: next } : { q: query, hue: next });
    }, HUE_DEBOUNCE_MS);
  });
}

// ---- palette ----------------------------------------------------------------

const paletteEditor = new PaletteEditor(ui.palettePanel, { hueName, onChange: paletteChanged });
let paletteTimer = 0;

// Sliders fire on every step of a drag: the stream follows once the hand rests.
function paletteChanged(colors) {
  tint(colors[0].hue);
  clearTimeout(paletteTimer);
  paletteTimer = setTimeout(() => subscribe({ colors }), HUE_DEBOUNCE_MS);
}

function showPaletteMode(on) {
  ui.palettePanel.hidden = !on;
  ui.hueControl.hidden = on;
  ui.paletteToggle.setAttribute('aria-pressed', String(on));
}

function leavePalette() {
  const hue = ui.slider.valueAsNumber;
  tint(hue);
  subscribe({ hue });
  ui.paletteToggle.focus();
}

function initPalette() {
  ui.paletteToggle.addEventListener('click', () => {
    if (palette !== null) {
      leavePalette();
      return;
    }
    const colors = [{ hue: ui.slider.valueAsNumber, weight: 50 }];
    paletteEditor.set(colors);
    ui.searchInput.value = '';
    subscribe({ colors });
    paletteEditor.focus();
  });
  ui.palettePanel.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    leavePalette();
  });
}

// ---- search -----------------------------------------------------------------

function initSearch() {
  const backToHue = () => {
    ui.searchInput.value = '';
    if (query !== null) subscribe({ hue: ui.slider.valueAsNumber });
  };
  ui.searchForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = ui.searchInput.value.trim();
    if (!text) backToHue();
    else if (text !== query) subscribe({ q: text });
  });
  ui.searchInput.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    backToHue();
  });
  ui.searchClear.addEventListener('click', () => {
    backToHue();
    ui.searchInput.focus();
  });
}

// ---- playback ---------------------------------------------------------------

// The label names the action, so the button carries no aria-pressed: a
// toggle whose name also flips would read back to front.
function syncPlayButton() {
  ui.play.dataset.paused = String(columns.paused);
  ui.play.querySelector('[data-role="play-label"]').textContent = columns.paused ? 'Play' : 'Pause';
}

function initPlayback() {
  syncPlayButton();
  ui.play.addEventListener('click', () => {
    columns.paused = !columns.paused;
    heldForUpload = false;
    syncPlayButton();
  });
}

// A bulk upload and the drifting columns compete for the main thread: each
// drift frame repaints the page, and the folder walk's replies and the upload
// panel wait behind those frames (tasks of 200-400 ms on a busy 2-core machine,
// under 120 ms with the columns still). So the columns hold still while one
// runs, new uploads still arriving in them, unless the viewer presses Play.
function holdForUpload(bulk) {
  if (bulk && !columns.paused) {
    columns.paused = true;
    heldForUpload = true;
    toasts.info('The columns hold still while this upload runs; Play sets them moving.');
  } else if (!bulk && heldForUpload) {
    columns.paused = false;
    heldForUpload = false;
  }
  syncPlayButton();
}

// ---- uploads ----------------------------------------------------------------

async function initUploads() {
  if (!ui.upload) {
    guardAnonymousDrops();
    return;
  }
  // Anonymous visitors never download the upload code.
  const { Uploader } = await import('./upload.js');
  uploads = new Uploader(ui.upload, {
    url: config.uploadUrl,
    lookupUrl: config.lookupUrl,
    restoreUrl: config.restoreUrl,
    hashWorkerUrl: config.hashWorkerUrl,
    user: ui.upload.dataset.user,
    csrfToken: config.csrfToken,
    dropZone: root.querySelector('[data-testid="drop-zone"]'),
    toasts,
    onBulk: holdForUpload,
  });
  if (canUpload !== null) uploads.setEnabled(canUpload);
}

// Without this, a file dropped by a logged-out visitor would make the browser
// navigate away to display it.
function guardAnonymousDrops() {
  const hasFiles = (e) => e.dataTransfer?.types.includes('Files');
  addEventListener('dragover', (e) => hasFiles(e) && e.preventDefault());
  addEventListener('drop', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    toasts.info('Log in to upload images.');
  });
}

initHue();
initPalette();
initSearch();
initPlayback();
initUploads();
socket.connect();

// For debugging from the console only.
window.scroller = { columns, socket, decoder, get uploads() { return uploads; } };
