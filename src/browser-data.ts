// Reading a dataset over HTTP (the browser entry's loader; fetch and DecompressionStream only, no
// Node): the four IDX files from a folder URL, each raw or gzip, parsed and checked by data.ts as
// the Node loader's files are (mnist-files.ts), so a bad file fails the same way, naming its URL.
import { datasetFromIdx, IDX_FILES, idxExpansionLimit, type Mnist } from './data.js';

/** The longest IDX header (magic and 255 dimensions): decompress this much before trusting a size. */
const LONGEST_HEADER = 4 + 4 * 255;

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Decompresses gzip bytes no further than the IDX header says the file is long: a small file that
 * would expand to gigabytes (corrupt, or a zip bomb) is refused after its header.
 */
async function gunzipIdx(bytes: Uint8Array<ArrayBuffer>, url: string): Promise<Uint8Array> {
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip')).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let limit: number | null | undefined; // undefined until the header is in
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch (e) {
        throw new Error(`${url}: not a valid gzip file (${message(e)})`, { cause: e });
      }
      if (next.value) {
        chunks.push(next.value);
        total += next.value.byteLength;
      }
      if (limit === undefined && (next.done || total >= LONGEST_HEADER)) {
        const head = concat(chunks, total);
        limit = idxExpansionLimit(head, url);
        if (limit === null) return head; // not an IDX header: the parser says what these bytes are
      }
      if (limit != null && total > limit) throw new Error(`${url}: decompresses to more than the ${limit} bytes its IDX header describes; the file is damaged`);
      if (next.done) return concat(chunks, total);
    }
  } finally {
    reader.cancel().catch(() => undefined); // stops inflating what an early return or error left unread
  }
}

async function get(url: string): Promise<Response> {
  try {
    return await fetch(url);
  } catch (e) {
    // Under COEP require-corp a cross-origin file needs CORS (or Cross-Origin-Resource-Policy) headers.
    throw new Error(`${url}: cannot fetch it (${message(e)}); serve the data from this page's origin or with CORS headers`, { cause: e });
  }
}

/** Fetches `name` from the folder, or `name.gz` when there is no `name`; gzip is recognised by its magic bytes. */
async function fetchIdx(folder: URL, name: string): Promise<{ bytes: Uint8Array; url: string }> {
  let url = new URL(name, folder).href;
  let res = await get(url);
  if (res.status === 404) {
    url = new URL(`${name}.gz`, folder).href;
    res = await get(url);
    if (res.status === 404) {
      throw new Error(`${folder.href}: no ${name} (or ${name}.gz) there (HTTP 404); the folder must serve the four IDX files ${Object.values(IDX_FILES).join(', ')}`);
    }
  }
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new Error(`${url}: the download broke off (${message(e)})`, { cause: e });
  }
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return { bytes: gzip ? await gunzipIdx(bytes, url) : bytes, url };
}

/**
 * Loads and checks the training and test sets from a folder URL serving the four IDX files
 * (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte,
 * t10k-labels-idx1-ubyte), each raw or gzip (`name` or `name.gz`). A relative URL is taken from
 * the page's. The images land once in shared memory, ready for createBrowserTrainer's `data`.
 */
export async function loadMnistFromUrl(baseUrl: string | URL): Promise<Mnist> {
  if (!(baseUrl instanceof URL) && (typeof baseUrl !== 'string' || baseUrl === '')) {
    throw new TypeError(`loadMnistFromUrl: baseUrl must be the URL (a string or URL) of a folder serving the four IDX files, got ${String(baseUrl)}`);
  }
  let folder: URL;
  try {
    folder = new URL(baseUrl, (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw new TypeError(`loadMnistFromUrl: ${String(baseUrl)} is not a URL; give an absolute one (no page to resolve a relative one from)`);
  }
  if (!folder.pathname.endsWith('/')) folder.pathname += '/'; // a folder: its files are under it, not beside it
  const split = async (images: string, labels: string) => {
    const [i, l] = await Promise.all([fetchIdx(folder, images), fetchIdx(folder, labels)]);
    return datasetFromIdx(i.bytes, i.url, l.bytes, l.url);
  };
  const [train, test] = await Promise.all([split(IDX_FILES.trainImages, IDX_FILES.trainLabels), split(IDX_FILES.testImages, IDX_FILES.testLabels)]);
  return { train, test };
}
