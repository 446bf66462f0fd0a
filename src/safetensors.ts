// The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON ({name: {dtype, shape, data_offsets: [begin, end]}, __metadata__:
// {string: string}}), then the raw little-endian tensor data, offsets relative to its start.
// Only F32 here: that is all LeNet-5 has.

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface SafetensorsFile {
  readonly tensors: readonly NamedTensor[]; // in data order
  readonly metadata: Readonly<Record<string, string>>;
}

const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function assertLittleEndian(): void {
  if (!littleEndian) throw new Error('safetensors data is little-endian; this big-endian machine is not supported');
}

export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string>): Uint8Array {
  assertLittleEndian();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${n} values, got ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * n] };
    offset += 4 * n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8); // data starts 8-byte aligned
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** Parses and checks a safetensors file; every fault names `file` and what is wrong. */
export function decodeSafetensors(bytes: Uint8Array, file: string): SafetensorsFile {
  assertLittleEndian();
  const bad = (why: string) => new Error(`${file}: not a valid safetensors checkpoint: ${why}`);
  if (bytes.byteLength < 8) throw bad(`only ${bytes.byteLength} bytes`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n < 2 || 8 + n > bytes.byteLength) throw bad(`header length ${n} does not fit in the file's ${bytes.byteLength} bytes`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw bad('the header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('the header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.byteLength - dataStart;
  const metadata: Record<string, string> = {};
  const tensors: NamedTensor[] = [];
  const ranges: [number, number][] = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
        if (typeof v !== 'string') throw bad(`metadata ${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (e?.dtype !== 'F32') throw bad(`tensor ${name} has dtype ${String(e?.dtype)}, only F32 is supported`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw bad(`tensor ${name} has no valid shape`);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d))) throw bad(`tensor ${name} has no valid data_offsets`);
    const [begin, end] = off as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (begin < 0 || end > dataLength || end - begin !== 4 * count) {
      throw bad(`tensor ${name} [${shape.join(', ')}] claims bytes ${begin}..${end} of ${dataLength}`);
    }
    // Copy: the file's bytes need not be 4-byte aligned, and callers keep the data.
    const data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart + begin, dataStart + end));
    tensors.push({ name, shape: shape as number[], data });
    ranges.push([begin, end]);
  }
  const order = ranges.map((r, i) => [r[0], r[1], i] as const).sort((a, b) => a[0] - b[0]);
  // The data must be exactly the tensors, back to back: no overlap, no gap, nothing after.
  let covered = 0;
  for (const [begin, end, i] of order) {
    if (begin < covered) throw bad(`tensors ${tensors[i].name} and another overlap (bytes ${begin}..${end})`);
    if (begin > covered) throw bad(`bytes ${covered}..${begin} of the data belong to no tensor (a hole before ${tensors[i].name})`);
    covered = end;
  }
  if (covered !== dataLength) throw bad(`${dataLength - covered} bytes after the last tensor belong to no tensor`);
  return { tensors: order.map((o) => tensors[o[2]]), metadata };
}
