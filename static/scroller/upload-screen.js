// Before anything is sent: hash each file in Web Workers and ask the server
// which of those hashes it already holds, so that only new bytes travel and a
// folder dropped again after a refresh, a crash or a lost network resumes.

const WORKERS = 2;

export class Hasher {
  #workerUrl = null;
  #workers = [];
  /** job → {worker, files, resolve}: what each worker still owes. */
  #jobs = new Map();
  #nextJob = 0;
  #active = 0;
  #busySince = 0;
  /** What was hashed, and for how long any hashing was under way: the page's hashing throughput. */
  stats = { files: 0, bytes: 0, busyMs: 0 };

  constructor(workerUrl) {
    // WebCrypto exists only in secure contexts (HTTPS, or localhost); elsewhere
    // every file is sent and the server sorts out what it already holds.
    if (!globalThis.isSecureContext || !globalThis.crypto?.subtle || !workerUrl) return;
    this.#workerUrl = workerUrl;
    // Started with the page, so that the first drop does not wait for their scripts.
    this.#startWorkers();
  }

  /** Hex SHA-256 per file, in order; null where a file could not be read or hashing is unavailable. */
  async hash(files) {
    this.#startWorkers();
    if (!this.#workers.length || !files.length) return files.map(() => null);
    this.#begin();
    try {
      const workers = [...this.#workers];
      const share = Math.ceil(files.length / workers.length);
      const parts = await Promise.all(
        workers.map((worker, index) => this.#ask(worker, files.slice(index * share, (index + 1) * share))),
      );
      this.stats.files += files.length;
      this.stats.bytes += files.reduce((sum, file) => sum + file.size, 0);
      return parts.flat();
    } finally {
      this.#end();
    }
  }

  #startWorkers() {
    if (!this.#workerUrl) return;
    while (this.#workers.length < WORKERS) {
      const worker = new Worker(this.#workerUrl);
      worker.onmessage = ({ data: { job, hashes } }) => {
        this.#jobs.get(job)?.resolve(hashes);
        this.#jobs.delete(job);
      };
      // A worker whose script did not load (the server was restarting, say) or that failed
      // never answers: its files go on unhashed, and the next batch starts a new worker.
      worker.onerror = (event) => {
        event.preventDefault();
        this.#drop(worker);
      };
      this.#workers.push(worker);
    }
  }

  #drop(worker) {
    worker.terminate();
    this.#workers = this.#workers.filter((started) => started !== worker);
    for (const [job, owed] of this.#jobs) {
      if (owed.worker !== worker) continue;
      this.#jobs.delete(job);
      owed.resolve(owed.files.map(() => null));
    }
  }

  #ask(worker, files) {
    if (!files.length) return Promise.resolve([]);
    const job = this.#nextJob++;
    return new Promise((resolve) => {
      this.#jobs.set(job, { worker, files, resolve });
      worker.postMessage({ job, files });
    });
  }

  #begin() {
    if (this.#active++ === 0) this.#busySince = performance.now();
  }

  #end() {
    if (--this.#active === 0) this.stats.busyMs += performance.now() - this.#busySince;
  }
}

/**
 * Which hashes the server holds: {images: {sha256: {id, deleted}}, purged: Set}.
 * Null when it cannot say (offline, logged out): then every file is sent, and
 * the upload itself answers for each.
 */
export async function lookUp(url, hashes, csrfToken) {
  const wanted = [...new Set(hashes.filter(Boolean))];
  if (!wanted.length) return { images: {}, purged: new Set() };
  try {
    const body = await postJson(url, { sha256: wanted }, csrfToken);
    return { images: body.images ?? {}, purged: new Set(body.purged ?? []) };
  } catch {
    return null;
  }
}

/** Restore deleted images by id; resolves to the set of ids now alive. */
export async function restoreImages(url, ids, csrfToken) {
  const body = await postJson(url, { ids }, csrfToken);
  return new Set(body.restored);
}

async function postJson(url, payload, csrfToken) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': csrfToken },
    body: JSON.stringify(payload),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error || `server answered ${response.status}`);
  return body;
}
