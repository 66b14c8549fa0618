// Main-thread side of the thumbnail worker: hands it compressed frames and
// resolves with the decoded image bytes.

export class ThumbDecoder {
  #worker;
  #jobs = new Map();
  #nextJob = 1;
  #failure = null;

  constructor(workerUrl, xzUrl) {
    const url = new URL(workerUrl, location.href);
    url.searchParams.set('xz', new URL(xzUrl, location.href).href);
    this.#worker = new Worker(url);
    this.#worker.onmessage = ({ data }) => this.#settle(data);
    // Only fires if the worker itself cannot start (script or library failed
    // to load); every decode from then on would hang, so fail them instead.
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failure = new Error('thumbnail decoder failed to start');
      for (const { reject } of this.#jobs.values()) reject(this.#failure);
      this.#jobs.clear();
    };
  }

  /** Decode `buffer` from `byteOffset` on. The buffer is transferred, so the caller must not reuse it. */
  decode(buffer, byteOffset = 0) {
    if (this.#failure) return Promise.reject(this.#failure);
    const job = this.#nextJob++;
    return new Promise((resolve, reject) => {
      this.#jobs.set(job, { resolve, reject });
      this.#worker.postMessage({ job, buffer, byteOffset }, [buffer]);
    });
  }

  #settle({ job, bytes, error }) {
    const pending = this.#jobs.get(job);
    if (!pending) return;
    this.#jobs.delete(job);
    if (error) pending.reject(new Error(error));
    else pending.resolve(bytes);
  }
}
