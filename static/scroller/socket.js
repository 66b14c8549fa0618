// The /ws/scroller/ connection: reconnects by itself, re-subscribes to the
// current stream (a hue, a search or a palette) or watches the watched image again, and pairs each
// announced image with its thumbnail.
//
// Every "batch" or "added" message with images is followed by exactly one
// binary frame: one record per image, in META order, each a 4-byte big-endian
// image id, a 4-byte big-endian length and that many bytes of xz-wrapped
// thumbnail. Messages and frames keep their order on the socket, so each frame
// belongs to the oldest message still waiting for one; a record whose id does
// not match its META is dropped rather than shown on the wrong image.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 10_000;
const RECORD_HEADER_BYTES = 8;

export class StreamSocket {
  #url;
  #on;
  #ws = null;
  #attempt = 0;
  #retryTimer = 0;
  // What the stream is: { hue } or { q } or { q, hue } or { colors }; null before the first subscribe.
  #subscription = null;
  // The one image followed alone (the image page), or null.
  #watched = null;
  #stopped = false;
  // Messages whose binary frame has not arrived yet, oldest first:
  // { images, source, wanted }; `wanted` is false for a superseded stream's.
  #awaiting = [];
  #moreInFlight = false;
  #resuming = false;

  /**
   * @param {string} url ws(s):// URL
   * @param {object} on callbacks: state('connecting'|'open'|'closed'), hello(msg), batch(msg),
   *   added(msg), item(meta, thumbnail, source), updated(metas), removed(ids), error(msg). A thumbnail is an
   *   ArrayBuffer of its own holding the xz bytes. An item's source is
   *   'batch', 'added', or 'resume' for the first batch after a reconnect, which
   *   restarts the stream and so repeats images the page may still show.
   */
  constructor(url, on) {
    this.#url = url;
    this.#on = on;
    addEventListener('online', () => this.#retryNow());
  }

  connect() {
    clearTimeout(this.#retryTimer);
    this.#on.state('connecting');
    const ws = new WebSocket(this.#url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.#opened();
    ws.onmessage = ({ data }) => (typeof data === 'string' ? this.#onText(data) : this.#onFrame(data));
    ws.onclose = () => this.#closed(ws);
    this.#ws = ws;
  }

  get isOpen() {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  /** Sends now if connected; returns false otherwise so callers can tell the user. */
  send(message) {
    if (!this.isOpen) return false;
    this.#ws.send(JSON.stringify(message));
    return true;
  }

  /** Switch the stream to `subscription` ({ hue }, { q } or both, or { colors: [{hue, weight}] }); remembered so every reconnect re-subscribes. */
  subscribe(subscription) {
    this.#subscription = subscription;
    this.#resuming = false;
    this.#forgetStream();
    this.#moreInFlight = this.send({ type: 'subscribe', ...subscription });
  }

  /** Follow image `imageId` alone: "updated" for it now and on each change; remembered so every reconnect watches again. */
  watch(imageId) {
    this.#watched = imageId;
    this.send({ type: 'watch', id: imageId });
  }

  /** Close for good: no reconnecting. */
  close() {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#ws?.close();
  }

  /** Ask for the next batch unless one is still on its way. */
  requestMore() {
    if (this.#moreInFlight || this.#subscription === null) return;
    this.#moreInFlight = this.send({ type: 'more' });
  }

  #opened() {
    this.#on.state('open');
    if (this.#watched !== null) this.send({ type: 'watch', id: this.#watched });
    if (this.#subscription === null) return;
    this.subscribe(this.#subscription);
    this.#resuming = true;
  }

  #closed(ws) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#awaiting = [];
    this.#forgetStream();
    this.#on.state('closed');
    if (!this.#stopped) this.#retryTimer = setTimeout(() => this.connect(), this.#nextDelay());
  }

  // Jitter keeps a fleet of tabs from hammering a restarting server in step.
  #nextDelay() {
    const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** this.#attempt);
    this.#attempt += 1;
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  #retryNow() {
    if (!this.#ws) this.connect();
  }

  // Frames of a superseded stream may still be in flight; they are still
  // paired with their messages, then dropped.
  #forgetStream() {
    for (const message of this.#awaiting) message.wanted = false;
    this.#moreInFlight = false;
  }

  #onText(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      console.warn('scroller: ignoring a malformed message', text.slice(0, 200));
      return;
    }
    switch (msg.type) {
      case 'hello':
        // Reset the backoff only once the server has really talked to us, so a
        // server that accepts and immediately drops us is not retried in a tight loop.
        this.#attempt = 0;
        this.#on.hello(msg);
        break;
      case 'batch':
        this.#onBatch(msg);
        break;
      case 'added':
        this.#expect(msg.images, 'added');
        this.#on.added(msg);
        break;
      case 'updated':
        this.#on.updated(msg.images ?? []);
        break;
      case 'removed':
        this.#on.removed(msg.ids ?? []);
        break;
      case 'error':
        this.#on.error(msg);
        break;
    }
  }

  #onBatch(msg) {
    // A batch for a stream we have since left answers an old request: its frame is dropped.
    const wanted = this.#isCurrent(msg);
    const images = msg.images ?? [];
    this.#expect(images, this.#resuming ? 'resume' : 'batch', wanted);
    if (!wanted) return;
    this.#resuming = false;
    this.#moreInFlight = images.length > 0;
    this.#on.batch(msg);
  }

  #isCurrent(msg) {
    const { q = null, hue = null, colors = null } = this.#subscription ?? {};
    const sameColors = JSON.stringify(msg.colors ?? null) === JSON.stringify(colors);
    return (msg.q ?? null) === q && (msg.hue ?? null) === hue && sameColors;
  }

  #expect(images = [], source, wanted = true) {
    if (images.length) this.#awaiting.push({ images, source, wanted });
  }

  #onFrame(frame) {
    const message = this.#awaiting.shift();
    if (!message?.wanted) return;
    if (message.source !== 'added') this.#moreInFlight = false;
    const view = new DataView(frame);
    let offset = 0;
    for (const meta of message.images) {
      if (offset + RECORD_HEADER_BYTES > frame.byteLength) break;
      const id = view.getUint32(offset, false);
      const length = view.getUint32(offset + 4, false);
      const start = offset + RECORD_HEADER_BYTES;
      offset = start + length;
      if (id !== meta.id || offset > frame.byteLength) {
        console.warn('scroller: a thumbnail record does not match its image', meta.id);
        continue;
      }
      this.#on.item(meta, frame.slice(start, offset), message.source);
    }
  }
}
