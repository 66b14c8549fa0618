// Decompresses xz-wrapped thumbnails off the main thread.
//
// A classic worker, not a module worker: the vendored xz-decompress build is a
// UMD bundle that only attaches itself to `self` when loaded by importScripts.
// The page passes the bundle's (possibly hashed) static URL as ?xz=, so the
// template stays the single source of static paths.
importScripts(new URL(self.location.href).searchParams.get('xz'));

const { XzReadableStream } = self['xz-decompress'];

// Every stream must be read to its end or error: the library holds a global
// lock per stream, and an abandoned one would stall all later decodes.
async function decompress(buffer, byteOffset) {
  const input = new Blob([new Uint8Array(buffer, byteOffset)]).stream();
  return new Response(new XzReadableStream(input)).arrayBuffer();
}

self.onmessage = async ({ data: { job, buffer, byteOffset } }) => {
  try {
    const bytes = await decompress(buffer, byteOffset);
    self.postMessage({ job, bytes }, [bytes]);
  } catch {
    // The browser reports a failed body stream as "Failed to fetch", which
    // would only mislead; say what actually went wrong.
    self.postMessage({ job, error: 'not a valid xz thumbnail' });
  }
};
