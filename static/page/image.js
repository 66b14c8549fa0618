// The image page: edits through the HTTP API, live labels (watched on the websocket), the mosaic, "more like this", and keys.

import { StreamSocket } from '../scroller/socket.js';
import { ThumbDecoder } from '../scroller/thumbs.js';

// What the scroller showed, in order, so that arrow keys walk the same stream (written by columns.js).
const STREAM_KEY = 'scroller:stream';
const SIMILAR_LIMIT = 12;

const root = document.getElementById('image-page');
const config = root.dataset;
const part = (role) => root.querySelector(`[data-role="${role}"]`);
const status = part('status');

if (config.hue) document.documentElement.style.setProperty('--hue', config.hue);

function say(message, { error = false } = {}) {
  status.textContent = message;
  status.dataset.kind = error ? 'error' : 'info';
}

async function api(url, { method = 'GET', body } = {}) {
  const response = await fetch(url, {
    method,
    headers: { 'X-CSRFToken': config.csrfToken, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    credentials: 'same-origin',
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || `the server answered ${response.status}`);
  return data;
}

// ---- editing -------------------------------------------------------------------

const descriptionForm = part('description-form');
if (descriptionForm) {
  const input = descriptionForm.elements.description;
  const count = part('description-count');
  const showCount = () => {
    count.textContent = `${input.value.length} / ${input.maxLength}`;
  };
  input.addEventListener('input', showCount);
  showCount();
  descriptionForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const image = await api(config.apiUrl, { method: 'PATCH', body: { description: input.value } });
      part('description').textContent = image.description;
      part('no-description')?.remove();
      say('Description saved.');
    } catch (err) {
      say(`Not saved: ${err.message}`, { error: true });
    }
  });
}

const visibility = part('visibility');
visibility?.addEventListener('change', async () => {
  const wanted = visibility.checked ? 'public' : 'private';
  try {
    await api(config.apiUrl, { method: 'PATCH', body: { visibility: wanted } });
    part('visibility-text').textContent = visibility.checked ? 'Public' : 'Private';
    say(visibility.checked ? 'Now public: anyone can see it.' : 'Now private: only you (and staff) can see it.');
  } catch (err) {
    visibility.checked = !visibility.checked;
    say(`Not changed: ${err.message}`, { error: true });
  }
});

const deleteButton = part('delete');
const restoreButton = part('restore');
const deletedBanner = part('deleted-banner');

function showDeleted(deleted) {
  deletedBanner.hidden = !deleted;
  if (deleteButton) deleteButton.hidden = deleted;
}

deleteButton?.addEventListener('click', async () => {
  try {
    await api(config.apiUrl, { method: 'DELETE' });
    showDeleted(true);
    say('Deleted.');
    restoreButton?.focus();
  } catch (err) {
    say(`Not deleted: ${err.message}`, { error: true });
  }
});

restoreButton?.addEventListener('click', async () => {
  try {
    await api(config.restoreUrl, { method: 'POST' });
    showDeleted(false);
    say('Restored.');
  } catch (err) {
    say(`Not restored: ${err.message}`, { error: true });
  }
});

// ---- labels, until the classifier has run --------------------------------------

function showLabels(labels) {
  const list = part('labels');
  list.replaceChildren(
    ...labels.map(({ name, probability }) => {
      const percent = Math.round(probability * 1000) / 10;
      const item = document.createElement('li');
      item.className = 'label';
      const label = Object.assign(document.createElement('span'), { className: 'label-name', textContent: name });
      const bar = Object.assign(document.createElement('span'), { className: 'label-bar' });
      bar.setAttribute('role', 'meter');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', String(percent));
      bar.setAttribute('aria-label', name);
      const fill = document.createElement('span');
      fill.style.width = `${percent}%`;
      bar.append(fill);
      const value = Object.assign(document.createElement('span'), { className: 'label-value', textContent: `${percent}%` });
      item.append(label, bar, value);
      return item;
    }),
  );
  part('labels-pending').hidden = true;
}

// Until they land, the page watches its image on the websocket: the server answers a watch with the image as it
// is now (which covers labels that landed while the page loaded) and again whenever its labels change. The socket
// reconnects by itself (a server restart, a Redis outage), watching again, until the labels are shown.
function watchLabels() {
  const imageId = Number(config.imageId);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const socket = new StreamSocket(`${scheme}://${location.host}${config.wsPath}`, {
    state() {},
    hello() {},
    updated(images) {
      const image = images.find(({ id }) => id === imageId);
      if (image && Array.isArray(image.labels)) {
        showLabels(image.labels);
        socket.close();
      }
    },
    // Deleted or hidden meanwhile: nothing more will come.
    error(message) {
      if (message.code === 'not_found') socket.close();
    },
  });
  socket.watch(imageId);
  socket.connect();
}

if (config.labelsPending === 'true') watchLabels();

// ---- mosaic --------------------------------------------------------------------

const mosaicForm = part('mosaic-form');
let mosaicUrl = null;
mosaicForm?.addEventListener('submit', async (event) => {
  event.preventDefault();
  const query = new URLSearchParams(new FormData(mosaicForm));
  const mosaicStatus = part('mosaic-status');
  mosaicStatus.textContent = 'Making the mosaic…';
  mosaicStatus.dataset.kind = 'info';
  try {
    const response = await fetch(`${config.mosaicUrl}?${query}`, { credentials: 'same-origin' });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(data.error || `the server answered ${response.status}`);
    }
    const blob = await response.blob();
    if (mosaicUrl) URL.revokeObjectURL(mosaicUrl);
    mosaicUrl = URL.createObjectURL(blob);
    const img = part('mosaic-figure').querySelector('img');
    img.src = mosaicUrl;
    await img.decode();
    part('mosaic-figure').hidden = false;
    const used = response.headers.get('X-Mosaic-Tiles-Used');
    mosaicStatus.textContent = `${response.headers.get('X-Mosaic-Cells')} cells from ${used} image${used === '1' ? '' : 's'}.`;
  } catch (err) {
    mosaicStatus.textContent = `No mosaic: ${err.message}`;
    mosaicStatus.dataset.kind = 'error';
  }
});

// ---- more like this ------------------------------------------------------------

async function showSimilar() {
  const list = part('similar');
  let results;
  try {
    ({ results } = await api(`${config.similarUrl}?limit=${SIMILAR_LIMIT}`));
  } catch {
    return;
  }
  part('similar-empty').hidden = results.length > 0;
  if (!results.length) return;
  const decoder = new ThumbDecoder(config.workerUrl, config.xzUrl);
  list.replaceChildren(...results.map((image) => similarItem(image, decoder)));
}

function similarItem(image, decoder) {
  const item = document.createElement('li');
  item.className = 'similar-item';
  const link = Object.assign(document.createElement('a'), { href: image.page_url, title: image.filename });
  const img = Object.assign(document.createElement('img'), { alt: image.filename, width: image.thumb_width, height: image.thumb_height });
  link.append(img);
  if (image.near_duplicate) {
    link.append(Object.assign(document.createElement('span'), { className: 'similar-badge', textContent: 'Near-duplicate' }));
  }
  item.append(link);
  fetch(image.thumbnail_url, { credentials: 'same-origin' })
    .then((response) => (response.ok ? response.arrayBuffer() : Promise.reject(new Error(String(response.status)))))
    .then((buffer) => decoder.decode(buffer))
    .then((bytes) => {
      img.src = URL.createObjectURL(new Blob([bytes], { type: image.thumb_type }));
    })
    .catch(() => item.classList.add('is-broken'));
  return item;
}

showSimilar();

// ---- keys: Esc back to the scroller, arrows along the stream it came from ------

function streamNeighbours() {
  let ids;
  try {
    ids = JSON.parse(sessionStorage.getItem(STREAM_KEY) || '[]');
  } catch {
    return {};
  }
  const here = ids.indexOf(Number(config.imageId));
  if (here < 0) return {};
  return { previous: ids[here - 1], next: ids[here + 1] };
}

function pageUrl(id) {
  return config.pageUrlPattern.replace(/0\/$/, `${id}/`);
}

const neighbours = streamNeighbours();
for (const direction of ['previous', 'next']) {
  const link = part(direction);
  if (neighbours[direction] !== undefined) {
    link.href = pageUrl(neighbours[direction]);
    link.hidden = false;
  }
}

document.addEventListener('keydown', (event) => {
  if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target.closest('input, textarea, select, [contenteditable]')) return;
  if (event.key === 'Escape') {
    location.href = config.scrollerUrl;
  } else if (event.key === 'ArrowLeft' && neighbours.previous !== undefined) {
    location.href = pageUrl(neighbours.previous);
  } else if (event.key === 'ArrowRight' && neighbours.next !== undefined) {
    location.href = pageUrl(neighbours.next);
  }
});
