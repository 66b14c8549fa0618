// Where uploads come from: dropped folders, read lazily, and picked files.
//
// Nothing here lists a whole folder up front. A directory is read in the
// pieces the browser hands out (100 entries at a time in Chromium), a bounded
// way ahead of the consumer, so a drop of 10,000 files never holds 10,000
// entries or File handles at once.

// Enough File handles asked for at once that the browser's round trips
// overlap, few enough that their replies, run together, make a short task:
// each reply waits on a synchronous call to the browser, several ms when the
// browser is busy with the uploads (32 in flight made tasks of 100-150 ms).
const FILES_IN_FLIGHT = 8;
// How long the walk asks for more handles before letting other work run.
const SLICE_MS = 10;
// Files found ahead of the consumer: the walk goes on while the consumer waits
// for room in the upload queue, so the queue does not run dry while it walks.
const READ_AHEAD = 256;

/** The dropped items, split while the DataTransfer is still readable (it empties once the drop handler returns). */
export function splitDrop(dataTransfer) {
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

/** The name of what was dropped, for "your last upload from … was interrupted". */
export function describeSource(entries, files) {
  const names = [...entries.map((entry) => entry.name), ...files.map(({ file }) => file.name)];
  return names.length > 1 ? `${names[0]} and ${names.length - 1} more` : (names[0] ?? '');
}

export async function* dropped(entries, files) {
  yield* files;
  yield* readAhead(walkEntries(entries), READ_AHEAD);
}

/**
 * Picked files (or a picked folder's files), one at a time. The browser hands
 * them over all at once, in a list that empties when the input is reset, so
 * they are copied, and each is let go of once it has been taken.
 */
export async function* picked(fileList) {
  const files = [...fileList];
  for (let index = 0; index < files.length; index++) {
    const file = files[index];
    files[index] = null;
    yield { file, path: file.webkitRelativePath || file.name };
  }
}

async function* walkEntries(entries) {
  const visible = entries.filter((entry) => !entry.name.startsWith('.'));
  yield* filesOf(visible.filter((entry) => entry.isFile));
  for (const directory of visible.filter((entry) => entry.isDirectory)) yield* walkDirectory(directory);
}

/**
 * Up to `limit` items of `source` taken ahead of the consumer, in order. The
 * source is let go of as soon as the consumer is.
 */
async function* readAhead(source, limit) {
  const ready = [];
  let finished = false;
  let stopped = false;
  let wakeConsumer = () => {};
  let wakeProducer = () => {};
  const produce = async () => {
    try {
      for await (const item of source) {
        ready.push(item);
        wakeConsumer();
        while (ready.length >= limit && !stopped) await new Promise((resolve) => (wakeProducer = resolve));
        if (stopped) break;
      }
    } finally {
      finished = true;
      wakeConsumer();
    }
  };
  const producing = produce();
  try {
    for (;;) {
      if (ready.length) {
        const item = ready.shift();
        wakeProducer();
        yield item;
      } else if (finished) {
        return await producing;
      } else {
        await new Promise((resolve) => (wakeConsumer = resolve));
      }
    }
  } finally {
    stopped = true;
    wakeProducer();
  }
}

/**
 * The File handles of a piece's file entries, in order, with a constant few
 * asked for at any time: each one taken lets the next be asked for. One at a
 * time, the browser's round trips would set the pace of the whole drop.
 *
 * Chromium runs the replies to entry.file() that reach the page together in
 * one task (each makes a synchronous call to the browser for its File, and
 * replies arriving meanwhile queue up behind it), and a handle asked for from
 * that task adds its reply to the same task. Asking for a whole piece at once,
 * or always right from the replies, made tasks of 0.5 to 1 s on a 10,000-file
 * drop; asking from a new task every few milliseconds bounds each task at
 * about the replies in flight.
 */
async function* filesOf(entries) {
  const asked = [];
  let next = 0;
  const askNext = () => next < entries.length && asked.push(fileOf(entries[next++]));
  while (asked.length < FILES_IN_FLIGHT && askNext());
  let since = performance.now();
  while (asked.length) {
    const item = await asked.shift();
    if (performance.now() - since > SLICE_MS) {
      await nextTask();
      since = performance.now();
    }
    askNext();
    if (item) yield item;
  }
}

function nextTask() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  // Not setTimeout: chained timeouts are held back 4 ms each, which would pace the walk.
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      resolve();
    };
    port2.postMessage(null);
  });
}

async function* walkDirectory(directory) {
  const reader = directory.createReader();
  for (;;) {
    const piece = await new Promise((resolve, reject) => reader.readEntries(resolve, reject)).catch(() => []);
    if (!piece.length) return;
    yield* walkEntries(piece);
  }
}

async function fileOf(entry) {
  const file = await new Promise((resolve, reject) => entry.file(resolve, reject)).catch(() => null);
  return file && { file, path: entry.fullPath.replace(/^\//, '') };
}
