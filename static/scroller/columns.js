// Masonry columns that drift upward on their own.
//
// All geometry is computed from each image's thumbnail size and the column
// width, never read back from the DOM, so a frame only writes transforms:
// no layout reads, no thrash. Tiles that have fully left the top are removed
// (and their blob URLs revoked) and the column's offset is reduced by the same
// amount in the same frame, so the DOM stays bounded without a visible jump.

const MIN_COLUMN_PX = 220;
// Phones get two narrow columns rather than one huge one.
const NARROW_SCREEN_PX = 600;
const MIN_COLUMN_PX_NARROW = 150;
const MAX_COLUMNS = 8;
const SPEED_PX_PER_S = 42;
const REDUCED_SPEED_PX_PER_S = 14;
// How quickly the speed follows its target, per second: hovering or pausing
// glides to a stop instead of jolting.
const EASE_PER_S = 4;
// Wheel and key nudges are spread over a few frames rather than jumping.
const NUDGE_PER_S = 12;
// A mouse that moved over a tile this recently means "I'm looking at this".
const HOVER_HOLD_MS = 1800;
// Ask for more while less than this many screens are ready below the fold.
const LOOKAHEAD_SCREENS = 1;
// Live additions beyond this much buffer wait in a backlog instead of the DOM.
const BACKLOG_SCREENS = 3;
const BACKLOG_MAX = 200;
const DRAG_THRESHOLD_PX = 6;
const ARROW_NUDGE_PX = 120;
const LEAVE_MS = 220;
const STREAM_KEY = 'scroller:stream';

export class Columns {
  #stream;
  #onLow;
  #onActivate;
  #reducedMotion = matchMedia('(prefers-reduced-motion: reduce)');
  #cols = [];
  #byId = new Map();
  #byEl = new WeakMap();
  #backlog = [];
  #colWidth = 0;
  #gap = 0;
  #padTop = 0;
  #viewport = 0;
  #paused;
  #velocity = 0;
  #hoverUntil = 0;
  #focusInside = false;
  #drag = null;
  #dragDelta = 0;
  #nudge = 0;
  #frame = 0;
  #lastTime = 0;

  /**
   * @param {HTMLElement} stream the element the columns live in
   * @param {object} opts onLow(): buffer is short and the backlog empty;
   *   onActivate(meta): a deletable tile was clicked or pressed
   */
  constructor(stream, { onLow, onActivate }) {
    this.#stream = stream;
    this.#onLow = onLow;
    this.#onActivate = onActivate;
    this.#paused = this.#reducedMotion.matches;
    this.#measure();
    new ResizeObserver(() => this.#measure()).observe(stream);
    this.#reducedMotion.addEventListener('change', () => this.#schedule());
    this.#listen();
    this.#schedule();
  }

  get paused() {
    return this.#paused;
  }

  set paused(value) {
    this.#paused = value;
    this.#schedule();
  }

  get size() {
    return this.#cols.reduce((n, col) => n + col.tiles.length, 0);
  }

  has(id) {
    return this.#byId.has(id);
  }

  /**
   * Show an image. `load()` resolves with the decoded thumbnail bytes; it is
   * only called once the tile is placed, so backlogged items cost no decoding.
   * Live items are held back while plenty is already queued below the fold.
   */
  add(meta, load, { live = false } = {}) {
    if (live && this.#bufferBelow() > this.#viewport * BACKLOG_SCREENS) {
      this.#backlog.push({ meta, load });
      if (this.#backlog.length > BACKLOG_MAX) this.#backlog.shift();
    } else {
      this.#place(meta, load);
    }
    this.#schedule();
  }

  /** New metadata for an image already sent (its labels landed, its description changed): redraw its tiles. */
  update(meta) {
    for (const item of this.#backlog) if (item.meta.id === meta.id) item.meta = { ...item.meta, ...meta };
    for (const tile of this.#byId.get(meta.id) ?? []) {
      tile.meta = { ...tile.meta, ...meta };
      showDetails(tile);
    }
  }

  /** Fade out every tile showing image `id`. */
  remove(id) {
    this.#backlog = this.#backlog.filter((item) => item.meta.id !== id);
    for (const tile of this.#byId.get(id) ?? []) this.#removeTile(tile);
  }

  clear() {
    for (const col of this.#cols) {
      for (const tile of col.tiles) this.#discard(tile);
      col.tiles = [];
      col.height = 0;
      col.offset = 0;
      col.el.replaceChildren();
    }
    this.#backlog = [];
    this.#schedule();
  }

  // ---- geometry -----------------------------------------------------------

  #measure() {
    const style = getComputedStyle(this.#stream);
    const padX = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
    const width = this.#stream.clientWidth - padX;
    this.#gap = parseFloat(style.columnGap) || 0;
    this.#padTop = parseFloat(style.paddingTop) || 0;
    this.#viewport = this.#stream.clientHeight;
    const minColumn = width < NARROW_SCREEN_PX ? MIN_COLUMN_PX_NARROW : MIN_COLUMN_PX;
    const count = Math.min(MAX_COLUMNS, Math.max(1, Math.floor((width + this.#gap) / (minColumn + this.#gap))));
    const oldWidth = this.#colWidth;
    this.#colWidth = (width - this.#gap * (count - 1)) / count;
    if (count !== this.#cols.length) this.#reflow(count);
    else this.#rescale(oldWidth ? this.#colWidth / oldWidth : 1);
    this.#schedule();
  }

  #stepFor(meta) {
    const [w, h] = thumbSize(meta);
    return (this.#colWidth * h) / w + this.#gap;
  }

  // A new column count: redistribute the tiles, top to bottom as they appear
  // on screen, so the picture stays in reading order.
  #reflow(count) {
    const tiles = this.#tilesByScreenTop();
    for (const col of this.#cols) col.el.remove();
    this.#cols = Array.from({ length: count }, () => this.#newColumn());
    this.#stream.style.setProperty('--columns', count);
    for (const tile of tiles) this.#append(this.#shortest(), tile);
  }

  // Same columns, new width: heights scale with it, so does the scroll offset.
  #rescale(ratio) {
    for (const col of this.#cols) {
      col.height = 0;
      for (const tile of col.tiles) {
        tile.step = this.#stepFor(tile.meta);
        col.height += tile.step;
      }
      col.offset *= ratio;
    }
  }

  #tilesByScreenTop() {
    const placed = [];
    for (const col of this.#cols) {
      let top = -col.offset;
      for (const tile of col.tiles) {
        placed.push({ tile, top });
        top += tile.step;
      }
    }
    return placed.sort((a, b) => a.top - b.top).map(({ tile }) => tile);
  }

  #newColumn() {
    const el = document.createElement('div');
    el.className = 'column';
    this.#stream.append(el);
    return { el, tiles: [], height: 0, offset: 0, shown: null };
  }

  // The column whose content ends highest on screen.
  #shortest() {
    return this.#cols.reduce((best, col) =>
      col.height - col.offset < best.height - best.offset ? col : best,
    );
  }

  #bufferBelow() {
    const ends = this.#cols.map((col) => this.#padTop + col.height - col.offset);
    return Math.min(...ends) - this.#viewport;
  }

  // Scrolling past the last tile would only empty the screen; stop there and
  // let new images carry the column on.
  #maxOffset(col) {
    return Math.max(0, this.#padTop + col.height - this.#viewport);
  }

  // ---- tiles --------------------------------------------------------------

  #place(meta, load) {
    const tile = createTile(meta);
    this.#byEl.set(tile.face, tile);
    const sameId = this.#byId.get(meta.id);
    if (sameId) sameId.add(tile);
    else this.#byId.set(meta.id, new Set([tile]));
    this.#append(this.#shortest(), tile);
    this.#loadImage(tile, load);
  }

  #append(col, tile) {
    tile.col = col;
    tile.step = this.#stepFor(tile.meta);
    col.tiles.push(tile);
    col.height += tile.step;
    col.el.append(tile.el);
  }

  async #loadImage(tile, load) {
    try {
      const bytes = await load();
      if (tile.gone) return;
      tile.url = URL.createObjectURL(new Blob([bytes], { type: thumbType(tile.meta) }));
      tile.img.src = tile.url;
      await tile.img.decode();
      tile.face.classList.add('is-loaded');
    } catch (err) {
      if (tile.gone) return;
      tile.face.classList.add('is-broken');
      console.warn(`scroller: thumbnail ${tile.meta.id} failed:`, err.message);
    }
  }

  #removeTile(tile) {
    const col = tile.col;
    const index = col.tiles.indexOf(tile);
    col.tiles.splice(index, 1);
    col.height -= tile.step;
    if (tile.el.contains(document.activeElement)) {
      (col.tiles[index] ?? col.tiles[index - 1])?.face.focus({ preventScroll: true });
    }
    this.#forget(tile);
    // Collapse rather than vanish, so the tiles below slide up instead of jumping.
    const height = `${tile.step - this.#gap}px`;
    const leave = tile.el.animate(
      [
        { opacity: 1, height, marginBottom: `${this.#gap}px` },
        { opacity: 0, height: '0px', marginBottom: '0px' },
      ],
      { duration: this.#reducedMotion.matches ? 1 : LEAVE_MS, easing: 'ease-in', fill: 'forwards' },
    );
    const release = () => this.#release(tile);
    leave.finished.then(release, release);
    this.#schedule();
  }

  // Scrolled off the top: no animation, it is already out of sight.
  #discard(tile) {
    this.#forget(tile);
    this.#release(tile);
  }

  #forget(tile) {
    tile.gone = true;
    const sameId = this.#byId.get(tile.meta.id);
    sameId?.delete(tile);
    if (sameId?.size === 0) this.#byId.delete(tile.meta.id);
  }

  #release(tile) {
    tile.el.remove();
    if (tile.url) URL.revokeObjectURL(tile.url);
    tile.url = null;
  }

  #dropPassed(col) {
    while (col.tiles.length && col.tiles[0].step - this.#gap <= col.offset - this.#padTop) {
      const tile = col.tiles.shift();
      col.offset -= tile.step;
      col.height -= tile.step;
      this.#discard(tile);
    }
  }

  // ---- animation loop -----------------------------------------------------

  #schedule() {
    if (!this.#frame) this.#frame = requestAnimationFrame(this.#tick);
  }

  #tick = (now) => {
    this.#frame = 0;
    const dt = this.#lastTime ? Math.min(0.1, (now - this.#lastTime) / 1000) : 0;
    this.#lastTime = now;
    const target = this.#targetSpeed(now);
    this.#velocity += (target - this.#velocity) * Math.min(1, dt * EASE_PER_S);
    if (Math.abs(target - this.#velocity) < 0.5) this.#velocity = target;
    this.#advance(this.#velocity * dt + this.#takeNudge(dt));
    this.#fillIfLow();
    if (this.#paused && !this.#velocity && !this.#nudge) this.#lastTime = 0;
    else this.#schedule();
  };

  #targetSpeed(now) {
    if (this.#paused || this.#focusInside || this.#drag?.active || now < this.#hoverUntil) return 0;
    return this.#reducedMotion.matches ? REDUCED_SPEED_PX_PER_S : SPEED_PX_PER_S;
  }

  #takeNudge(dt) {
    const direct = this.#dragDelta;
    this.#dragDelta = 0;
    let eased = this.#nudge * Math.min(1, dt * NUDGE_PER_S);
    if (Math.abs(this.#nudge - eased) < 0.5) eased = this.#nudge;
    this.#nudge -= eased;
    return direct + eased;
  }

  #advance(dy) {
    for (const col of this.#cols) {
      col.offset = Math.min(this.#maxOffset(col), Math.max(0, col.offset + dy));
      this.#dropPassed(col);
      if (col.offset !== col.shown) {
        col.shown = col.offset;
        col.el.style.transform = `translate3d(0, ${-col.offset}px, 0)`;
      }
    }
  }

  #fillIfLow() {
    const low = () => this.#bufferBelow() < this.#viewport * LOOKAHEAD_SCREENS;
    while (low() && this.#backlog.length) {
      const { meta, load } = this.#backlog.shift();
      this.#place(meta, load);
    }
    if (low()) this.#onLow();
  }

  // ---- input --------------------------------------------------------------

  #listen() {
    const s = this.#stream;
    s.addEventListener('click', (e) => this.#onClick(e));
    s.addEventListener('keydown', (e) => this.#onKey(e));
    s.addEventListener('wheel', (e) => this.#onWheel(e), { passive: true });
    s.addEventListener('pointerdown', (e) => this.#onPointerDown(e));
    s.addEventListener('pointermove', (e) => this.#onPointerMove(e));
    s.addEventListener('pointerup', (e) => this.#onPointerEnd(e));
    s.addEventListener('pointercancel', (e) => this.#onPointerEnd(e));
    s.addEventListener('pointerleave', () => (this.#hoverUntil = 0));
    s.addEventListener('focusin', () => (this.#focusInside = true));
    s.addEventListener('focusout', (e) => (this.#focusInside = s.contains(e.relatedTarget)));
  }

  #onClick(event) {
    if (event.target.closest('.tile-info')) {
      this.#rememberStream();
      return;
    }
    const tile = this.#byEl.get(event.target.closest('.tile'));
    if (!tile?.meta.can_delete || tile.gone) return;
    event.preventDefault();
    this.#onActivate(tile.meta);
  }

  // The image page walks what was on screen with its arrow keys (static/page/image.js).
  #rememberStream() {
    const ids = [...new Set(this.#tilesByScreenTop().map((tile) => tile.meta.id))];
    try {
      sessionStorage.setItem(STREAM_KEY, JSON.stringify(ids));
    } catch {
      // Storage full or disabled: the page then simply has no previous/next.
    }
  }

  #onKey(event) {
    const page = this.#viewport * 0.85;
    const delta = { ArrowDown: ARROW_NUDGE_PX, ArrowUp: -ARROW_NUDGE_PX, PageDown: page, PageUp: -page }[event.key];
    if (!delta) return;
    event.preventDefault();
    this.#nudge += delta;
    this.#schedule();
  }

  #onWheel(event) {
    const unit = [1, 40, this.#viewport][event.deltaMode] ?? 1;
    this.#nudge += event.deltaY * unit;
    this.#schedule();
  }

  #onPointerDown(event) {
    if (event.button !== 0) return;
    this.#drag = { id: event.pointerId, startY: event.clientY, lastY: event.clientY, active: false };
  }

  #onPointerMove(event) {
    // A button released outside the stream never sent us its pointerup.
    if (this.#drag && event.buttons === 0) this.#onPointerEnd(event);
    const drag = this.#drag;
    if (drag?.id !== event.pointerId) {
      if (event.pointerType === 'mouse' && event.target.closest('.tile')) {
        this.#hoverUntil = performance.now() + HOVER_HOLD_MS;
      }
      return;
    }
    if (!drag.active) {
      if (Math.abs(event.clientY - drag.startY) < DRAG_THRESHOLD_PX) return;
      // Capturing makes the eventual click land on the stream, not the tile
      // under the finger, so a drag never deletes or opens anything.
      drag.active = true;
      this.#stream.setPointerCapture(event.pointerId);
      this.#stream.classList.add('is-dragging');
    }
    this.#dragDelta += drag.lastY - event.clientY;
    drag.lastY = event.clientY;
    this.#schedule();
  }

  #onPointerEnd(event) {
    if (this.#drag?.id !== event.pointerId) return;
    this.#drag = null;
    this.#stream.classList.remove('is-dragging');
  }
}

// ---- tile markup ------------------------------------------------------------

function createTile(meta) {
  const href = safeHref(meta.original_url);
  const kind = meta.can_delete ? 'button' : href ? 'a' : 'div';
  const el = document.createElement(kind);
  if (kind === 'button') {
    el.type = 'button';
    el.dataset.hint = 'Delete';
  } else if (kind === 'a') {
    Object.assign(el, { href, target: '_blank', rel: 'noopener' });
    el.dataset.hint = 'Open original';
  } else {
    el.setAttribute('role', 'img');
  }
  el.className = 'tile';
  el.draggable = false;
  el.dataset.testid = 'tile';
  el.dataset.imageId = String(meta.id);
  const [w, h] = thumbSize(meta);
  el.style.aspectRatio = `${w} / ${h}`;
  el.style.backgroundColor = placeholderColor(meta.colors);
  const img = new Image(w, h);
  img.alt = '';
  img.decoding = 'async';
  img.draggable = false;
  // What the classifier saw and the uploader wrote, shown on hover and keyboard focus.
  const details = document.createElement('span');
  details.className = 'tile__details';
  details.dataset.testid = 'tile-details';
  details.setAttribute('aria-hidden', 'true');
  el.append(img, details);
  // The info control sits beside the tile, not in it: a link inside a button (or a link) is
  // not allowed, and a click on it must never reach the tile's delete.
  const frame = document.createElement('div');
  frame.className = 'tile-frame';
  frame.append(el, infoLink(meta));
  const tile = { meta, el: frame, face: el, img, details, col: null, step: 0, url: null, gone: false };
  showDetails(tile);
  return tile;
}

function infoLink(meta) {
  const info = document.createElement('a');
  info.className = 'tile-info';
  info.href = safeHref(meta.page_url) ?? '#';
  info.dataset.testid = 'tile-info';
  info.setAttribute('aria-label', `About image ${meta.id}: its page`);
  info.title = 'About this image';
  info.textContent = 'i';
  return info;
}

const LABELS_SHOWN = 3;

function showDetails(tile) {
  const { meta, face: el, details } = tile;
  const labels = (meta.labels ?? []).slice(0, LABELS_SHOWN);
  const chips = labels.map((label) => {
    const chip = document.createElement('span');
    chip.className = 'tile__label';
    chip.textContent = `${label.name} ${Math.round(label.probability * 100)}%`;
    return chip;
  });
  const lines = [];
  if (meta.description) {
    const text = document.createElement('span');
    text.className = 'tile__description';
    text.textContent = meta.description;
    lines.push(text);
  }
  details.replaceChildren(...chips, ...lines);
  details.hidden = lines.length + chips.length === 0;
  el.title = describe(meta);
  el.setAttribute('aria-label', spoken(meta, el.localName));
}

function spoken(meta, kind) {
  const who = meta.owner ? ` by ${meta.owner}` : '';
  const seen = meta.labels?.length ? `: ${meta.labels.slice(0, LABELS_SHOWN).map((label) => label.name).join(', ')}` : '';
  if (kind === 'button') return `Delete image ${meta.id}${who}${seen}`;
  if (kind === 'a') return `Image ${meta.id}${who}${seen}, opens the original in a new tab`;
  return `Image ${meta.id}${who}${seen}`;
}

function thumbSize(meta) {
  const w = meta.thumb_width || meta.width;
  const h = meta.thumb_height || meta.height;
  return w > 0 && h > 0 ? [w, h] : [1, 1];
}

function thumbType(meta) {
  return /^image\/[\w.+-]+$/.test(meta.thumb_type ?? '') ? meta.thumb_type : 'image/jpeg';
}

// Only the hue is trusted here: it is all a placeholder needs while the
// thumbnail decodes, and it avoids guessing the scale of saturation/value.
function placeholderColor(colors = []) {
  const main = colors.filter((c) => c.hue !== null && c.hue !== undefined).sort((a, b) => b.share - a.share)[0];
  return main ? `hsl(${main.hue} 32% 26%)` : 'hsl(0 0% 20%)';
}

function safeHref(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

function describe(meta) {
  const size = meta.width && meta.height ? `${meta.width}×${meta.height}` : '';
  return [meta.description, meta.owner && `by ${meta.owner}`, size].filter(Boolean).join(' · ');
}
