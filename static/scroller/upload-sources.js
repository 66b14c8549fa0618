// Where uploads come from: dropped folders, read lazily, and picked files.
//
// Nothing here lists a whole folder up front. A directory is read in the
// pieces the browser hands out (100 entries at a time in Chromium), and the
// consumer pulls the next piece only when it is ready for more files, so a
// drop of 10,000 files never holds 10,000 entries or File handles at once.

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
  yield* walkEntries(entries);
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
  // The File handles of one piece are asked for together: one at a time, the
  // browser's round trips would set the pace of the whole drop.
  const files = await Promise.all(visible.filter((entry) => entry.isFile).map(fileOf));
  for (const item of files) if (item) yield item;
  for (const directory of visible.filter((entry) => entry.isDirectory)) yield* walkDirectory(directory);
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
