// The /ws/scroller/ connection: reconnects by itself, re-subscribes to the
// current hue, and pairs each announced image with its binary frame.
//
// Wire format of a binary frame: 4-byte big-endian image id, then the
// xz-wrapped thumbnail. Frames follow their "batch"/"added" message in META
// order, but pairing is done by id so a stray or late frame can never land on
// the wrong image.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_CAP_MS = 10_000;
export const FRAME_HEADER_BYTES = 4;

export class StreamSocket {
  #url;
  #on;
  #ws = null;
  #attempt = 0;
  #retryTimer = 0;
  #hue = null;
  // image id -> FIFO of { meta, source } still waiting for their frame; a FIFO
  // because a cycling stream may announce the same id twice.
  #awaiting = new Map();
  #batchFramesLeft = 0;
  #moreInFlight = false;
  #resuming = false;

  /**
   * @param {string} url ws(s):// URL
   * @param {object} on callbacks: state('connecting'|'open'|'closed'), hello(msg), batch(msg),
   *   item(meta, frame, source), removed(ids), error(msg). An item's source is
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

  /** Switch the stream to `hue`; remembered so every reconnect re-subscribes. */
  subscribe(hue) {
    this.#hue = hue;
    this.#resuming = false;
    this.#forgetStream();
    this.#moreInFlight = this.send({ type: 'subscribe', hue });
  }

  /** Ask for the next batch unless one is still on its way. */
  requestMore() {
    if (this.#moreInFlight || this.#hue === null) return;
    this.#moreInFlight = this.send({ type: 'more' });
  }

  #opened() {
    this.#on.state('open');
    if (this.#hue === null) return;
    this.subscribe(this.#hue);
    this.#resuming = true;
  }

  #closed(ws) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#forgetStream();
    this.#on.state('closed');
    this.#retryTimer = setTimeout(() => this.connect(), this.#nextDelay());
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

  // Frames of a superseded stream may still be in flight; with nothing
  // waiting for them they are dropped on arrival.
  #forgetStream() {
    this.#awaiting.clear();
    this.#batchFramesLeft = 0;
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
    // A batch for a hue we have since left answers an old request: ignore it.
    if (Number(msg.hue) !== this.#hue) return;
    const images = msg.images ?? [];
    this.#expect(images, this.#resuming ? 'resume' : 'batch');
    this.#resuming = false;
    this.#batchFramesLeft = images.length;
    this.#moreInFlight = images.length > 0;
    this.#on.batch(msg);
  }

  #expect(images = [], source) {
    for (const meta of images) {
      const queue = this.#awaiting.get(meta.id);
      if (queue) queue.push({ meta, source });
      else this.#awaiting.set(meta.id, [{ meta, source }]);
    }
  }

  #onFrame(frame) {
    if (frame.byteLength < FRAME_HEADER_BYTES) return;
    const id = new DataView(frame).getUint32(0, false);
    const queue = this.#awaiting.get(id);
    if (!queue) return;
    const { meta, source } = queue.shift();
    if (!queue.length) this.#awaiting.delete(id);
    if (source !== 'added' && --this.#batchFramesLeft === 0) this.#moreInFlight = false;
    this.#on.item(meta, frame, source);
  }
}
