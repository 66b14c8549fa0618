// SHA-256 of dropped files, off the main thread, so that the page can ask the
// server which ones it already holds before sending any bytes.
//
// A few files at a time per worker: each is read whole into memory to be
// digested, and a batch may hold large photos.
const AT_ONCE = 3;

self.onmessage = async ({ data: { job, files } }) => {
  const hashes = new Array(files.length).fill(null);
  let next = 0;
  const lane = async () => {
    while (next < files.length) {
      const index = next++;
      hashes[index] = await digest(files[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(AT_ONCE, files.length) }, lane));
  self.postMessage({ job, hashes });
};

// A file that cannot be read (moved, permissions) gets no hash: it is sent as
// it is, and the upload reports what went wrong with it.
async function digest(file) {
  try {
    const digest = await crypto.subtle.digest('SHA-256', await file.arrayBuffer());
    return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
  } catch {
    return null;
  }
}
