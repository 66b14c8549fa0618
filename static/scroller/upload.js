// Bulk upload: file and folder pickers and page-wide drag-and-drop, chunked
// POSTs a few at a time with retries, and a results panel that stays
// responsive for tens of thousands of files.
//
// A drop flows through in batches: the folder is read lazily, each batch of
// files is hashed in Web Workers and looked up on the server, what it holds
// already is reported at once, and only the rest is queued for sending. The
// folder walk waits while many files are queued, so memory stays bounded
// however large the drop. File contents are never read on the main thread:
// File handles go to the hashing workers and into FormData.

import { Hasher, lookUp, restoreImages } from './upload-screen.js';
import { UploadJournal } from './upload-journal.js';
import { describeSource, dropped, picked, splitDrop } from './upload-sources.js';

const CHUNK_FILES = 16;
const CHUNK_BYTES = 32 * 1024 * 1024;
const PARALLEL = 3;
const MAX_TRIES = 4;
const RETRY_FIRST_MS = 1000;
// A server asking for a longer pause than this is not worth waiting for in a tab.
const RETRY_AFTER_CAP_MS = 30_000;
// Files are screened (hashed, looked up) in batches that start small, so the
// first file is on its way quickly, and grow, so a big drop costs few lookups.
const FIRST_SCREEN = 16;
const MAX_SCREEN = 500;
const SCREENS_IN_FLIGHT = 2;
// The folder walk pauses while this many files wait to be sent.
const MAX_QUEUED_FILES = 256;
// The server's limit per lookup and per restore.
const MAX_IDS_PER_REQUEST = 1000;
// Files checking, queued or sending from which an upload counts as a bulk one
// (the page then lets the gallery hold still until it is done).
const BULK_FILES = 100;
// The live summary is re-announced at most this often while busy.
const ANNOUNCE_EVERY_MS = 2000;
const ROW_PX = 30;
const OVERSCAN_ROWS = 6;

const IMAGE_NAME = /\.(jpe?g|png|gif|webp|avif|hei[cf]|bmp|tiff?|jxl)$/i;
const SERVER_STATUSES = new Set(['created', 'duplicate', 'rejected', 'deleted_before', 'restored']);
const PROBLEMS = new Set(['rejected', 'failed', 'deleted_before']);
const STORED = ['created', 'present', 'duplicate', 'restored'];
const STATUS_LABELS = {
  checking: 'Checking',
  queued: 'Waiting',
  uploading: 'Uploading',
  created: 'Stored',
  present: 'Already there',
  duplicate: 'Duplicate',
  deleted_before: 'Deleted before',
  restored: 'Restored',
  rejected: 'Refused',
  failed: 'Failed',
  // Counted, never listed: a folder's other files are not worth a row each.
  skipped: 'Skipped',
};
const DELETED_REASON = 'you deleted this image; “Restore” brings it back';
const PURGED_REASON = 'you deleted this for good; “Restore” uploads it again';

export class Uploader {
  #panel;
  #toggle;
  #body;
  #inputs;
  #visibility;
  #toasts;
  #queue;
  #view;
  #journal;
  #hasher;
  #urls;
  #csrfToken;
  #resume;
  #enabled = true;
  #walks = 0;
  #bulk = false;
  #onBulk;

  constructor(panel, { url, lookupUrl, restoreUrl, hashWorkerUrl, user, csrfToken, dropZone, toasts, onBulk }) {
    this.#panel = panel;
    this.#toasts = toasts;
    this.#onBulk = onBulk;
    this.#urls = { lookup: lookupUrl, restore: restoreUrl };
    this.#csrfToken = () => readCookie('csrftoken') || csrfToken;
    const part = (role) => panel.querySelector(`[data-role="${role}"]`);
    this.#toggle = part('toggle');
    this.#body = part('body');
    this.#inputs = [panel.querySelector('[data-testid="file-input"]'), panel.querySelector('[data-testid="folder-input"]')];
    this.#visibility = part('visibility');
    this.#resume = part('resume');
    this.#hasher = new Hasher(hashWorkerUrl);
    this.#journal = new UploadJournal(user);
    this.#queue = new UploadQueue({
      url,
      csrfToken: this.#csrfToken,
      onChange: () => this.#changed(),
      onIdle: () => this.#maybeFinished(),
    });
    this.#view = new UploadView(panel, this.#queue, () => this.#walks > 0, () => this.#restoreDeleted());
    this.#toggle.addEventListener('click', () => this.#setOpen(this.#body.hidden));
    for (const input of this.#inputs) input.addEventListener('change', () => this.#onPicked(input));
    part('resume-pick').addEventListener('click', () => this.#inputs[1].click());
    part('resume-dismiss').addEventListener('click', () => {
      this.#journal.forget();
      this.#resume.hidden = true;
    });
    wireDropZone(dropZone, {
      accepts: () => this.#enabled,
      onDrop: (dataTransfer) => this.#onDropped(dataTransfer),
    });
    addEventListener('beforeunload', (e) => (this.#queue.busy || this.#walks) && e.preventDefault());
    this.#offerResume();
    // This module loads after the page: files picked before it did fired their change event unheard.
    for (const input of this.#inputs) if (input.files.length) this.#onPicked(input);
  }

  /** For the page's own benchmark: how fast the browser hashed. */
  get hashing() {
    return { ...this.#hasher.stats };
  }

  setEnabled(enabled) {
    this.#enabled = enabled;
    this.#panel.hidden = !enabled;
    for (const input of this.#inputs) input.disabled = !enabled;
  }

  #setOpen(open) {
    this.#body.hidden = !open;
    this.#toggle.setAttribute('aria-expanded', String(open));
  }

  #offerResume() {
    const last = this.#journal.interrupted();
    if (!last) return;
    const from = last.label ? ` from “${last.label}”` : '';
    const when = new Date(last.startedAt).toLocaleString();
    this.#resume.querySelector('[data-role="resume-text"]').textContent =
      `Your last upload${from} (${when}) was interrupted: ${last.stored} of ${last.found} files stored. ` +
      'Drop or choose the same folder again to resume: what is stored already is not sent again.';
    this.#resume.hidden = false;
    this.#setOpen(true);
  }

  #onPicked(input) {
    const files = input.files;
    const folder = files.length ? files[0].webkitRelativePath.split('/')[0] : '';
    this.#intake(picked(files), folder || (files.length === 1 ? files[0].name : `${files.length} files`));
    // Let the same files be picked again later.
    input.value = '';
  }

  #onDropped(dataTransfer) {
    const { entries, files } = splitDrop(dataTransfer);
    this.#intake(dropped(entries, files), describeSource(entries, files));
  }

  async #intake(source, label) {
    const run = this.#queue.run;
    const visibility = this.#visibility.value;
    this.#walks += 1;
    this.#resume.hidden = true;
    this.#journal.begin(label, this.#queue.tally);
    this.#setOpen(true);
    this.#view.schedule();
    const screens = [];
    try {
      let batch = [];
      let batchSize = FIRST_SCREEN;
      for await (const item of source) {
        if (run !== this.#queue.run) break;
        if (item.file.name.startsWith('.')) continue;
        if (!isImage(item.file)) {
          this.#queue.skip();
          continue;
        }
        batch.push(item);
        if (batch.length < batchSize) continue;
        screens.push(this.#screen(batch, visibility, run));
        batch = [];
        batchSize = Math.min(MAX_SCREEN, batchSize * 2);
        if (screens.length >= SCREENS_IN_FLIGHT) await screens.shift();
        await this.#queue.room();
      }
      if (batch.length && run === this.#queue.run) screens.push(this.#screen(batch, visibility, run));
      await Promise.all(screens);
    } finally {
      this.#walks -= 1;
      this.#view.schedule();
      this.#maybeFinished();
    }
  }

  async #screen(items, visibility, run) {
    const records = this.#queue.admit(items);
    const hashes = await this.#hasher.hash(records.map((record) => record.file));
    const known = hashes.some(Boolean) ? await lookUp(this.#urls.lookup, hashes, this.#csrfToken()) : null;
    this.#queue.route(records, { hashes, known, visibility, run });
  }

  async #restoreDeleted() {
    const records = this.#queue.records.filter((record) => record.status === 'deleted_before');
    const restorable = records.filter((record) => record.id);
    for (let start = 0; start < restorable.length; start += MAX_IDS_PER_REQUEST) {
      const batch = restorable.slice(start, start + MAX_IDS_PER_REQUEST);
      try {
        const restored = await restoreImages(this.#urls.restore, batch.map((record) => record.id), this.#csrfToken());
        for (const record of batch) {
          if (restored.has(record.id)) this.#queue.settle(record, 'restored', '');
          else this.#queue.settle(record, 'failed', 'could not be restored: no longer yours, or gone');
        }
      } catch (failure) {
        this.#toasts.info(`Restoring failed: ${failure.message}`);
        break;
      }
    }
    // Purged images exist only as the files dropped here: they are sent again, asking to be kept this time.
    this.#queue.resend(records.filter((record) => !record.id && record.file), this.#visibility.value);
    this.#changed();
  }

  #changed() {
    this.#view.schedule();
    this.#journal.note(this.#queue.tally);
    const { checking, queued, uploading } = this.#queue.counts;
    if (checking + queued + uploading >= BULK_FILES) this.#setBulk(true);
  }

  #setBulk(bulk) {
    if (bulk === this.#bulk) return;
    this.#bulk = bulk;
    this.#onBulk?.(bulk);
  }

  #maybeFinished() {
    if (this.#walks || this.#queue.busy) return;
    this.#setBulk(false);
    if (!this.#queue.unreported) return;
    this.#queue.unreported = false;
    this.#journal.finish(this.#queue.tally);
    this.#toasts.info(`Upload finished: ${describeCounts(this.#queue.counts)}.`);
  }
}

// ---- queue (no DOM) -----------------------------------------------------------

class UploadQueue {
  records = [];
  counts = Object.fromEntries(Object.keys(STATUS_LABELS).map((status) => [status, 0]));
  // Set when files are added, cleared once the end of that upload was reported.
  unreported = false;
  // Bumped by cancel: screens and walks of an earlier run stop adding work.
  run = 0;
  #url;
  #csrfToken;
  #onChange;
  #onIdle;
  #waiting = [];
  #retrying = new Map();
  #inFlight = new Map();
  #roomWaiters = [];
  #bytesTotal = 0;
  #bytesDone = 0;

  constructor({ url, csrfToken, onChange, onIdle }) {
    this.#url = url;
    this.#csrfToken = csrfToken;
    this.#onChange = onChange;
    this.#onIdle = onIdle;
  }

  get busy() {
    return this.#waiting.length + this.#retrying.size + this.#inFlight.size + this.counts.checking > 0;
  }

  get progress() {
    let sent = this.#bytesDone;
    for (const { sent: bytes } of this.#inFlight.values()) sent += bytes;
    return this.#bytesTotal ? sent / this.#bytesTotal : 0;
  }

  /** Image files found, and how many of them the server holds now. */
  get tally() {
    return { found: this.records.length, stored: STORED.reduce((sum, status) => sum + this.counts[status], 0) };
  }

  /** Resolves once few enough files wait to be sent that the walk may fetch more. */
  room() {
    if (this.counts.queued < MAX_QUEUED_FILES) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push(resolve));
  }

  skip() {
    this.counts.skipped += 1;
    this.unreported = true;
    this.#onChange();
  }

  admit(items) {
    const records = items.map(({ file, path }) => {
      const record = { file, name: path, status: null, error: '', id: null, size: file.size };
      this.records.push(record);
      this.#bytesTotal += file.size;
      this.#setStatus(record, 'checking');
      return record;
    });
    this.unreported = true;
    this.#onChange();
    return records;
  }

  /** After the lookup: what the server holds is settled at once, the rest is queued for sending. */
  route(records, { hashes, known, visibility, run }) {
    const fresh = [];
    records.forEach((record, index) => {
      const held = known && hashes[index] ? known.images[hashes[index]] : undefined;
      if (run !== this.run) this.#finish(record, 'failed', 'cancelled');
      else if (held && !held.deleted) this.#finish(record, 'present', '', { id: held.id });
      else if (held) this.#finish(record, 'deleted_before', DELETED_REASON, { id: held.id });
      else if (known?.purged.has(hashes[index])) this.#finish(record, 'deleted_before', PURGED_REASON, { keepFile: true });
      else fresh.push(record);
    });
    for (const record of fresh) this.#setStatus(record, 'queued');
    this.#waiting.push(...makeChunks(fresh, visibility, false));
    this.#pump();
    this.#onChange();
  }

  /** Files sent again with the server told to keep them even though their bytes were deleted before. */
  resend(records, visibility) {
    for (const record of records) {
      this.#bytesDone -= record.size;
      this.#setStatus(record, 'queued');
    }
    this.#waiting.push(...makeChunks(records, visibility, true));
    this.unreported = true;
    this.#pump();
  }

  settle(record, status, error) {
    this.#finish(record, status, error, { id: record.id });
  }

  cancel() {
    this.run += 1;
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
    this.#releaseRoom();
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
    this.#releaseRoom();
    if (!this.busy) this.#onIdle();
  }

  #releaseRoom() {
    if (this.counts.queued >= MAX_QUEUED_FILES && this.#waiting.length) return;
    for (const resolve of this.#roomWaiters.splice(0)) resolve();
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
      if (!SERVER_STATUSES.has(result?.status)) {
        this.#finish(record, 'failed', result ? `unknown status “${result.status}”` : 'no result from the server');
      } else if (result.status === 'deleted_before') {
        // Deleted on the server between the lookup and the upload, or sent unhashed.
        const reason = result.id ? DELETED_REASON : PURGED_REASON;
        this.#finish(record, 'deleted_before', reason, { id: result.id, keepFile: !result.id });
      } else {
        this.#finish(record, result.status, result.error || '', { id: result.id ?? null });
      }
    });
  }

  #split(chunk) {
    const half = Math.ceil(chunk.records.length / 2);
    const parts = [chunk.records.slice(0, half), chunk.records.slice(half)];
    for (const records of parts.reverse()) {
      for (const record of records) this.#setStatus(record, 'queued');
      this.#waiting.unshift(newChunk(records, chunk.visibility, chunk.restoreDeleted));
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
  }

  #finish(record, status, error, { id = null, keepFile = false } = {}) {
    record.error = error;
    record.id = id;
    if (record.file) this.#bytesDone += record.size;
    // The handle is no longer needed, unless the file may be sent again; let a long list of records stay light.
    if (!keepFile) record.file = null;
    this.#setStatus(record, status);
  }

  #setStatus(record, status) {
    if (record.status) this.counts[record.status] -= 1;
    this.counts[status] += 1;
    record.status = status;
  }
}

function makeChunks(records, visibility, restoreDeleted) {
  const chunks = [];
  let current = [];
  let bytes = 0;
  for (const record of records) {
    if (current.length && (current.length === CHUNK_FILES || bytes + record.size > CHUNK_BYTES)) {
      chunks.push(newChunk(current, visibility, restoreDeleted));
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += record.size;
  }
  if (current.length) chunks.push(newChunk(current, visibility, restoreDeleted));
  return chunks;
}

function newChunk(records, visibility, restoreDeleted) {
  const bytes = records.reduce((sum, record) => sum + record.size, 0);
  return { records, visibility, restoreDeleted, bytes, tries: 0, cancelled: false };
}

function chunkForm(chunk) {
  const form = new FormData();
  form.append('visibility', chunk.visibility);
  if (chunk.restoreDeleted) form.append('restore_deleted', '1');
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
  if (counts.present) parts.push(`${counts.present} already there`);
  if (counts.duplicate) parts.push(`${counts.duplicate} duplicate${counts.duplicate === 1 ? '' : 's'}`);
  if (counts.deleted_before) parts.push(`${counts.deleted_before} deleted before (not added again)`);
  if (counts.restored) parts.push(`${counts.restored} restored`);
  if (counts.rejected) parts.push(`${counts.rejected} refused`);
  if (counts.failed) parts.push(`${counts.failed} failed`);
  if (counts.skipped) parts.push(`${counts.skipped} skipped (not images)`);
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
  // the browser navigate away to display them. A drag that began before this
  // module had loaded gets the overlay on its next dragover.
  addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    if (zone.hidden && accepts()) zone.hidden = false;
  });
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
  #restore;
  #list;
  #frame = 0;
  #announced = 0;
  #announceTimer = 0;

  constructor(panel, queue, isWalking, onRestore) {
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
    this.#restore = part('restore');
    this.#list = new ResultList(part('results'), part('results-list'));
    this.#details.addEventListener('toggle', () => this.schedule());
    this.#problemsOnly.addEventListener('change', () => this.schedule());
    this.#cancel.addEventListener('click', () => queue.cancel());
    this.#clear.addEventListener('click', () => queue.clearFinished());
    this.#restore.addEventListener('click', onRestore);
  }

  /** Coalesce any number of changes into one DOM update per frame. */
  schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(() => this.#render());
  }

  #render() {
    this.#frame = 0;
    const queue = this.#queue;
    const busy = queue.busy || this.#isWalking();
    const total = queue.records.length + queue.counts.skipped;
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
    const deleted = queue.counts.deleted_before;
    this.#restore.hidden = deleted === 0;
    this.#restore.textContent = `Restore ${deleted === 1 ? 'this one' : `these ${deleted}`}`;
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
  const done = records.length - counts.checking - counts.queued - counts.uploading;
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
