// Bulk upload: file picker and page-wide drag-and-drop (folders included),
// chunked POSTs a few at a time with retries, and a results panel that stays
// responsive for thousands of files.
//
// Files are never read by this code: File handles go straight into FormData
// and the browser streams them from disk, so memory does not grow with the
// size of a drop.

const CHUNK_FILES = 16;
const CHUNK_BYTES = 32 * 1024 * 1024;
const PARALLEL = 3;
const MAX_TRIES = 4;
const RETRY_FIRST_MS = 1000;
// A server asking for a longer pause than this is not worth waiting for in a tab.
const RETRY_AFTER_CAP_MS = 30_000;
// Folder walks feed the queue in slices so uploads start before a big walk ends.
const WALK_SLICE = 64;
// The live summary is re-announced at most this often while busy.
const ANNOUNCE_EVERY_MS = 2000;
const ROW_PX = 30;
const OVERSCAN_ROWS = 6;

const IMAGE_NAME = /\.(jpe?g|png|gif|webp|avif|hei[cf]|bmp|tiff?|jxl)$/i;
const SERVER_STATUSES = new Set(['created', 'duplicate', 'rejected']);
const PROBLEMS = new Set(['rejected', 'failed', 'skipped']);
const STATUS_LABELS = {
  queued: 'Waiting',
  uploading: 'Uploading',
  created: 'Stored',
  duplicate: 'Duplicate',
  rejected: 'Refused',
  failed: 'Failed',
  skipped: 'Skipped',
};

export class Uploader {
  #panel;
  #toggle;
  #body;
  #input;
  #visibility;
  #toasts;
  #queue;
  #view;
  #enabled = true;
  #walks = 0;

  constructor(panel, { url, csrfToken, dropZone, toasts }) {
    this.#panel = panel;
    this.#toasts = toasts;
    this.#toggle = panel.querySelector('[data-role="toggle"]');
    this.#body = panel.querySelector('[data-role="body"]');
    this.#input = panel.querySelector('[data-testid="file-input"]');
    this.#visibility = panel.querySelector('[data-role="visibility"]');
    this.#queue = new UploadQueue({
      url,
      csrfToken: () => readCookie('csrftoken') || csrfToken,
      onChange: () => this.#view.schedule(),
      onIdle: () => this.#maybeFinished(),
    });
    this.#view = new UploadView(panel, this.#queue, () => this.#walks > 0);
    this.#toggle.addEventListener('click', () => this.#setOpen(this.#body.hidden));
    this.#input.addEventListener('change', () => this.#onPicked());
    wireDropZone(dropZone, {
      accepts: () => this.#enabled,
      onDrop: (dataTransfer) => this.#onDropped(dataTransfer),
    });
    addEventListener('beforeunload', (e) => this.#queue.busy && e.preventDefault());
  }

  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#panel.hidden = !enabled;
    this.#input.disabled = !enabled;
  }

  #setOpen(open) {
    this.#body.hidden = !open;
    this.#toggle.setAttribute('aria-expanded', String(open));
  }

  #onPicked() {
    this.#add([...this.#input.files].map((file) => ({ file, path: file.name })));
    // Let the same files be picked again later.
    this.#input.value = '';
  }

  async #onDropped(dataTransfer) {
    // Entries must be taken synchronously: the DataTransfer empties once the
    // drop handler returns.
    const { entries, files } = splitDrop(dataTransfer);
    this.#add(files);
    this.#walks += 1;
    this.#view.schedule();
    let slice = [];
    for await (const item of walkEntries(entries)) {
      slice.push(item);
      if (slice.length >= WALK_SLICE) {
        this.#add(slice);
        slice = [];
      }
    }
    this.#add(slice);
    this.#walks -= 1;
    this.#view.schedule();
    this.#maybeFinished();
  }

  #add(items) {
    const visible = items.filter(({ file }) => !file.name.startsWith('.'));
    if (!visible.length) return;
    this.#setOpen(true);
    this.#queue.add(visible, this.#visibility.value);
  }

  #maybeFinished() {
    if (this.#walks || this.#queue.busy || !this.#queue.unreported) return;
    this.#queue.unreported = false;
    this.#toasts.info(`Upload finished: ${describeCounts(this.#queue.counts)}.`);
  }
}

// ---- queue (no DOM) -----------------------------------------------------------

class UploadQueue {
  records = [];
  counts = Object.fromEntries(Object.keys(STATUS_LABELS).map((status) => [status, 0]));
  // Set when files are added, cleared once the end of that upload was reported.
  unreported = false;
  #url;
  #csrfToken;
  #onChange;
  #onIdle;
  #waiting = [];
  #retrying = new Map();
  #inFlight = new Map();
  #bytesTotal = 0;
  #bytesDone = 0;

  constructor({ url, csrfToken, onChange, onIdle }) {
    this.#url = url;
    this.#csrfToken = csrfToken;
    this.#onChange = onChange;
    this.#onIdle = onIdle;
  }

  get busy() {
    return this.#waiting.length + this.#retrying.size + this.#inFlight.size > 0;
  }

  get progress() {
    let sent = this.#bytesDone;
    for (const { sent: bytes } of this.#inFlight.values()) sent += bytes;
    return this.#bytesTotal ? sent / this.#bytesTotal : 0;
  }

  add(items, visibility) {
    const wanted = [];
    for (const { file, path } of items) {
      const record = { file, name: path, status: null, error: '' };
      this.records.push(record);
      if (isImage(file)) {
        wanted.push(record);
        this.#bytesTotal += file.size;
        this.#setStatus(record, 'queued');
      } else {
        this.#finish(record, 'skipped', 'not an image');
      }
    }
    this.#waiting.push(...makeChunks(wanted, visibility));
    this.unreported = true;
    this.#pump();
    this.#onChange();
  }

  cancel() {
    for (const chunk of this.#waiting) this.#failChunk(chunk, 'cancelled');
    this.#waiting = [];
    for (const [chunk, timer] of this.#retrying) {
      clearTimeout(timer);
      this.#failChunk(chunk, 'cancelled');
    }
    this.#retrying.clear();
    for (const { xhr, chunk } of this.#inFlight.values()) {
      chunk.cancelled = true;
      xhr.abort();
    }
    this.#onChange();
  }

  clearFinished() {
    if (this.busy) return;
    this.records = [];
    for (const status of Object.keys(this.counts)) this.counts[status] = 0;
    this.#bytesTotal = this.#bytesDone = 0;
    this.#onChange();
  }

  #pump() {
    while (this.#inFlight.size < PARALLEL && this.#waiting.length) this.#send(this.#waiting.shift());
    if (!this.busy) this.#onIdle();
  }

  async #send(chunk) {
    chunk.tries += 1;
    for (const record of chunk.records) this.#setStatus(record, 'uploading');
    const xhr = new XMLHttpRequest();
    const flight = { xhr, chunk, sent: 0 };
    this.#inFlight.set(chunk, flight);
    const reply = await post(xhr, this.#url, chunkForm(chunk), this.#csrfToken(), (fraction) => {
      flight.sent = fraction * chunk.bytes;
      this.#onChange();
    });
    this.#inFlight.delete(chunk);
    this.#settle(chunk, reply);
    this.#pump();
    this.#onChange();
  }

  #settle(chunk, { status, body, retryAfter }) {
    if (chunk.cancelled) return this.#failChunk(chunk, 'cancelled');
    if (status >= 200 && status < 300) return this.#applyResults(chunk, body?.results);
    // Too big for the server as a whole: halving may get each part through.
    if (status === 413 && chunk.records.length > 1) return this.#split(chunk);
    if (isTransient(status) && chunk.tries < MAX_TRIES) return this.#retryLater(chunk, retryAfter);
    const tries = chunk.tries > 1 ? ` (after ${chunk.tries} tries)` : '';
    this.#failChunk(chunk, failureReason(status, body) + tries);
  }

  #applyResults(chunk, results) {
    if (!Array.isArray(results)) return this.#failChunk(chunk, 'unexpected reply from the server — still logged in?');
    chunk.records.forEach((record, i) => {
      const result = results[i];
      keepImageLinks(record, result);
      if (SERVER_STATUSES.has(result?.status)) this.#finish(record, result.status, result.error || '');
      else this.#finish(record, 'failed', result ? `unknown status “${result.status}”` : 'no result from the server');
    });
    this.#bytesDone += chunk.bytes;
  }

  #split(chunk) {
    const half = Math.ceil(chunk.records.length / 2);
    const parts = [chunk.records.slice(0, half), chunk.records.slice(half)];
    for (const records of parts.reverse()) {
      for (const record of records) this.#setStatus(record, 'queued');
      this.#waiting.unshift(newChunk(records, chunk.visibility));
    }
  }

  #retryLater(chunk, retryAfter) {
    for (const record of chunk.records) this.#setStatus(record, 'queued');
    const backoff = RETRY_FIRST_MS * 2 ** (chunk.tries - 1);
    const delay = Math.min(RETRY_AFTER_CAP_MS, retryAfter ?? backoff / 2 + (Math.random() * backoff) / 2);
    const timer = setTimeout(() => {
      this.#retrying.delete(chunk);
      this.#waiting.unshift(chunk);
      this.#pump();
    }, delay);
    this.#retrying.set(chunk, timer);
  }

  #failChunk(chunk, reason) {
    for (const record of chunk.records) this.#finish(record, 'failed', reason);
    this.#bytesDone += chunk.bytes;
  }

  #finish(record, status, error) {
    record.error = error;
    // The handle is no longer needed; let a long list of records stay light.
    record.file = null;
    this.#setStatus(record, status);
  }

  #setStatus(record, status) {
    if (record.status) this.counts[record.status] -= 1;
    this.counts[status] += 1;
    record.status = status;
  }
}

function makeChunks(records, visibility) {
  const chunks = [];
  let current = [];
  let bytes = 0;
  for (const record of records) {
    const size = record.file.size;
    if (current.length && (current.length === CHUNK_FILES || bytes + size > CHUNK_BYTES)) {
      chunks.push(newChunk(current, visibility));
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length) chunks.push(newChunk(current, visibility));
  return chunks;
}

function newChunk(records, visibility) {
  const bytes = records.reduce((sum, record) => sum + record.file.size, 0);
  return { records, visibility, bytes, tries: 0, cancelled: false };
}

function chunkForm(chunk) {
  const form = new FormData();
  form.append('visibility', chunk.visibility);
  for (const record of chunk.records) form.append('file', record.file, record.file.name);
  return form;
}

// XMLHttpRequest rather than fetch: fetch cannot report upload progress.
function post(xhr, url, form, csrfToken, onProgress) {
  return new Promise((resolve) => {
    xhr.open('POST', url);
    xhr.responseType = 'json';
    xhr.setRequestHeader('X-CSRFToken', csrfToken);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => resolve({
      status: xhr.status,
      body: xhr.response,
      retryAfter: retryAfterMs(xhr.getResponseHeader('Retry-After')),
    });
    xhr.onerror = xhr.onabort = () => resolve({ status: 0, body: null });
    xhr.send(form);
  });
}

function retryAfterMs(header) {
  const seconds = Number(header);
  return header && Number.isFinite(seconds) ? seconds * 1000 : undefined;
}

// Network failures, server errors and throttling may pass on a later try; any
// other 4xx will not, so retrying it would only delay the verdict.
function isTransient(status) {
  return status === 0 || status >= 500 || [408, 425, 429].includes(status);
}

function failureReason(status, body) {
  const said = body?.error || body?.detail || body?.message;
  if (typeof said === 'string' && said) return said;
  if (status === 0) return 'network error';
  if (status === 401 || status === 403) return 'not allowed — are you still logged in?';
  if (status === 413) return 'file too large for the server';
  return `server answered ${status}`;
}

function isImage(file) {
  return file.type ? file.type.startsWith('image/') : IMAGE_NAME.test(file.name);
}

function readCookie(name) {
  const match = document.cookie.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return match ? decodeURIComponent(match[1]) : '';
}

function describeCounts(counts) {
  const parts = [`${counts.created} stored`];
  if (counts.duplicate) parts.push(`${counts.duplicate} duplicate${counts.duplicate === 1 ? '' : 's'}`);
  if (counts.rejected) parts.push(`${counts.rejected} refused`);
  if (counts.failed) parts.push(`${counts.failed} failed`);
  if (counts.skipped) parts.push(`${counts.skipped} skipped`);
  return parts.join(', ');
}

// ---- drag and drop --------------------------------------------------------------

function hasFiles(event) {
  return Boolean(event.dataTransfer?.types.includes('Files'));
}

// The overlay only appears for drags that carry files, covers the page while
// shown, and is the sole drop target, which keeps enter/leave bookkeeping trivial.
function wireDropZone(zone, { accepts, onDrop }) {
  const hide = () => (zone.hidden = true);
  addEventListener('dragenter', (e) => {
    if (hasFiles(e) && accepts()) zone.hidden = false;
  });
  // Files dropped outside the overlay (it was not shown yet) must not make
  // the browser navigate away to display them.
  addEventListener('dragover', (e) => hasFiles(e) && e.preventDefault());
  addEventListener('drop', (e) => hasFiles(e) && e.preventDefault());
  addEventListener('dragend', hide);
  zone.addEventListener('dragover', (e) => {
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  zone.addEventListener('dragleave', (e) => e.target === zone && hide());
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    hide();
    onDrop(e.dataTransfer);
  });
}

function splitDrop(dataTransfer) {
  const entries = [];
  const files = [];
  for (const item of dataTransfer.items) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    const file = entry ? null : item.getAsFile();
    if (entry) entries.push(entry);
    else if (file) files.push({ file, path: file.name });
  }
  return { entries, files };
}

async function* walkEntries(entries) {
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory) {
      yield* walkEntries(await readDirectory(entry));
    } else if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject)).catch(() => null);
      if (file) yield { file, path: entry.fullPath.replace(/^\//, '') };
    }
  }
}

// readEntries hands out a directory in pieces (100 at a time in Chromium)
// until it returns an empty list.
async function readDirectory(directory) {
  const reader = directory.createReader();
  const all = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)).catch(() => []);
    if (!batch.length) return all;
    all.push(...batch);
  }
}

// ---- results panel -------------------------------------------------------------

class UploadView {
  #queue;
  #isWalking;
  #progress;
  #badge;
  #summary;
  #details;
  #problemsOnly;
  #cancel;
  #clear;
  #list;
  #frame = 0;
  #announced = 0;
  #announceTimer = 0;

  constructor(panel, queue, isWalking) {
    this.#queue = queue;
    this.#isWalking = isWalking;
    const part = (role) => panel.querySelector(`[data-role="${role}"]`);
    this.#progress = part('progress');
    this.#badge = part('badge');
    this.#summary = part('summary');
    this.#details = part('details');
    this.#problemsOnly = part('problems-only');
    this.#cancel = part('cancel');
    this.#clear = part('clear');
    this.#list = new ResultList(part('results'), part('results-list'));
    this.#details.addEventListener('toggle', () => this.schedule());
    this.#problemsOnly.addEventListener('change', () => this.schedule());
    this.#cancel.addEventListener('click', () => queue.cancel());
    this.#clear.addEventListener('click', () => queue.clearFinished());
  }

  /** Coalesce any number of changes into one DOM update per frame. */
  schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => this.#render());
  }

  #render() {
    this.#frame = 0;
    const queue = this.#queue;
    const busy = queue.busy || this.#isWalking();
    const total = queue.records.length;
    // The list reads its scroll position, so it goes before any other write.
    if (this.#details.open || !total) {
      const records = this.#problemsOnly.checked ? queue.records.filter((r) => PROBLEMS.has(r.status)) : queue.records;
      this.#list.show(records);
    }
    this.#details.hidden = total === 0;
    this.#progress.hidden = !busy;
    this.#progress.value = queue.progress;
    // Progress stays in sight when the panel is folded away.
    this.#badge.textContent = queue.busy ? `${Math.floor(queue.progress * 100)}%` : '';
    this.#cancel.hidden = !queue.busy;
    this.#clear.hidden = busy || total === 0;
    this.#announce(total ? summaryText(queue, busy) : '', busy);
  }

  // The summary is a live region: while busy, re-announce at most every few
  // seconds so a screen reader is not flooded with every finished chunk.
  #announce(text, busy) {
    clearTimeout(this.#announceTimer);
    const wait = this.#announced + ANNOUNCE_EVERY_MS - performance.now();
    if (!busy || wait <= 0 || !this.#summary.textContent) {
      if (this.#summary.textContent !== text) this.#summary.textContent = text;
      this.#announced = performance.now();
    } else {
      this.#announceTimer = setTimeout(() => this.schedule(), wait);
    }
  }
}

function summaryText(queue, busy) {
  const { counts, records } = queue;
  const done = records.length - counts.queued - counts.uploading;
  return busy
    ? `Uploading: ${done} of ${records.length} done — ${describeCounts(counts)}`
    : `Done: ${describeCounts(counts)}.`;
}

// Only the rows in view exist in the DOM, recycled as the list scrolls, so a
// drop of 10,000 files costs the same as a drop of 20.
class ResultList {
  #viewport;
  #list;
  #rows = [];
  #records = [];

  constructor(viewport, list) {
    this.#viewport = viewport;
    this.#list = list;
    list.style.setProperty('--row', `${ROW_PX}px`);
    viewport.addEventListener('scroll', () => this.#render(), { passive: true });
  }

  show(records) {
    this.#records = records;
    this.#list.style.height = `${records.length * ROW_PX}px`;
    this.#render();
  }

  #render() {
    const top = this.#viewport.scrollTop;
    const height = this.#viewport.clientHeight;
    const first = Math.max(0, Math.floor(top / ROW_PX) - OVERSCAN_ROWS);
    const end = Math.min(this.#records.length, Math.ceil((top + height) / ROW_PX) + OVERSCAN_ROWS);
    const needed = Math.max(0, end - first);
    while (this.#rows.length < needed) this.#rows.push(this.#list.appendChild(newRow()));
    while (this.#rows.length > needed) this.#rows.pop().remove();
    this.#rows.forEach((row, i) => fillRow(row, this.#records[first + i], first + i, this.#records.length));
  }
}

function newRow() {
  const row = document.createElement('li');
  row.className = 'result';
  row.dataset.testid = 'upload-result';
  row.append(...['result-status', 'result-name', 'result-reason'].map((cls) => {
    const span = document.createElement('span');
    span.className = cls;
    return span;
  }));
  return row;
}

function fillRow(row, record, index, total) {
  const [status, name, reason] = row.children;
  row.dataset.status = record.status;
  row.style.transform = `translateY(${index * ROW_PX}px)`;
  row.setAttribute('aria-posinset', index + 1);
  row.setAttribute('aria-setsize', total);
  status.textContent = STATUS_LABELS[record.status];
  name.textContent = record.name;
  name.title = record.name;
  reason.textContent = record.error;
  reason.title = record.error;
  showImageLinks(name, reason, record);
}

// ---- links to the image pages ----------------------------------------------------

function keepImageLinks(record, result) {
  record.pageUrl = result?.page_url ?? null;
  record.nearDuplicate = result?.near_duplicate_of ? { id: result.near_duplicate_of, url: result.near_duplicate_url } : null;
}

function showImageLinks(name, reason, record) {
  if (record.pageUrl) name.replaceChildren(Object.assign(document.createElement('a'), { href: record.pageUrl, textContent: record.name }));
  if (record.nearDuplicate) {
    const { id, url } = record.nearDuplicate;
    reason.replaceChildren('looks like ', Object.assign(document.createElement('a'), { href: url, textContent: `image ${id}` }));
    reason.title = `Stored, but it looks like image ${id} you already have (resized or re-encoded?)`;
    reason.dataset.testid = 'near-duplicate';
  } else {
    delete reason.dataset.testid;
  }
}
