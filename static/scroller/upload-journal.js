// What the last upload in this browser did, kept in localStorage so that a
// page that comes back after a refresh or a crash can say it was interrupted
// and offer to resume (by dropping the same folder again: the server says
// what it holds already, and only the rest is sent).

const SAVE_EVERY_MS = 500;

export class UploadJournal {
  #key;
  #entry = null;
  #base = { found: 0, stored: 0 };
  #timer = 0;

  constructor(user) {
    this.#key = `scroller.upload:${user}`;
    addEventListener('pagehide', () => this.#save());
  }

  /** The last upload, if it never finished: {label, startedAt, found, stored}. */
  interrupted() {
    try {
      const entry = JSON.parse(localStorage.getItem(this.#key));
      return entry && !entry.finished ? entry : null;
    } catch {
      return null;
    }
  }

  forget() {
    this.#entry = null;
    localStorage.removeItem(this.#key);
  }

  /** An upload starts, unless one is already under way (a second drop joins it). */
  begin(label, tally) {
    if (this.#entry && !this.#entry.finished) return;
    this.#base = tally;
    this.#entry = { label, startedAt: Date.now(), found: 0, stored: 0, finished: false };
    this.#save();
  }

  note(tally) {
    if (!this.#entry) return;
    this.#entry.found = tally.found - this.#base.found;
    this.#entry.stored = tally.stored - this.#base.stored;
    if (!this.#timer) this.#timer = setTimeout(() => this.#save(), SAVE_EVERY_MS);
  }

  finish(tally) {
    if (!this.#entry) return;
    this.note(tally);
    this.#entry.finished = true;
    this.#save();
  }

  #save() {
    clearTimeout(this.#timer);
    this.#timer = 0;
    if (!this.#entry) return;
    try {
      localStorage.setItem(this.#key, JSON.stringify(this.#entry));
    } catch {
      // Storage full or disabled: the upload goes on, only the resume notice is lost.
    }
  }
}
