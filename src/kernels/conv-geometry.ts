// The sizes of a 2-D convolution as the WebAssembly kernels take them (conv.as.ts): NHWC,
// any kernel size, strides and zero padding, no dilation. tfjs's own computeConv2DInfo resolves
// 'same', 'valid' and explicit padding, so every kernel agrees with the stock ones on shapes.
import * as tf from '@tensorflow/tfjs-core';
import { roundUp4 } from './util.js';
import type { Arena } from './wasm.js';

export type Conv2DAttrs = {
  strides: number | [number, number];
  pad: unknown;
  dataFormat: string;
  dilations?: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
};

export interface Geometry {
  n: number; h: number; w: number; c: number; // input [n, h, w, c]
  kh: number; kw: number; o: number; // filter [kh, kw, c, o]
  sh: number; sw: number; pt: number; pl: number; // strides, top and left zero padding
  oh: number; ow: number; // output [n, oh, ow, o]
  P: number; // output pixels n oh ow
  K: number; // patch length kh kw c
  outShape: number[];
  /** Output pixels per block: a block's patch rows (block x max(K, kPad) floats) stay in cache. */
  block: number;
  /**
   * One input channel, stride 1, no padding, rows of a multiple of 4 outputs and a filter at most
   * 5 wide: the direct kernels (conv1Forward, conv1Filter) take it without patch rows.
   */
  direct: boolean;
}

/** Scratch floats per block: the L2 cache of one core holds them with room for the operands. */
const BLOCK_FLOATS = 16384;
const MAX_BLOCK = 512;

/**
 * Geometries already worked out, by shapes and attributes: a training step asks for the same few
 * every time, and tfjs's computeConv2DInfo is a good part of a small layer's fixed cost. Bounded,
 * as prediction on batches of every size would otherwise grow it without end.
 */
const known = new Map<string, Readonly<Geometry> | null>();
const KNOWN_MAX = 256;

/**
 * The geometry of x [n, h, w, c] * filter [kh, kw, c, o], or null for what the kernels do not
 * take (dilation, NCHW, empty output). Shared between calls: read it, never change it.
 */
export function geometry(xShape: number[], filterShape: number[], attrs: Conv2DAttrs): Readonly<Geometry> | null {
  const key = `${xShape}|${filterShape}|${attrs.strides}|${JSON.stringify(attrs.pad)}|${attrs.dataFormat}|${attrs.dilations ?? 1}|${attrs.dimRoundingMode}`;
  const hit = known.get(key);
  if (hit !== undefined) return hit;
  if (known.size >= KNOWN_MAX) known.clear();
  const g = computeGeometry(xShape, filterShape, attrs);
  known.set(key, g && Object.freeze(g));
  return g;
}

function computeGeometry(xShape: number[], filterShape: number[], attrs: Conv2DAttrs): Geometry | null {
  if (attrs.dataFormat !== 'NHWC') return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad as 'valid',
    attrs.dimRoundingMode,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1 || info.outHeight <= 0 || info.outWidth <= 0) return null;
  const f = fieldsOf(info);
  const { h, w, c, kh, kw } = f;
  const K = kh * kw * c;
  return {
    ...f,
    o: info.outChannels,
    P: f.n * f.oh * f.ow,
    K,
    outShape: info.outShape,
    block: Math.max(4, Math.min(MAX_BLOCK, Math.floor(BLOCK_FLOATS / roundUp4(K)) & ~3)),
    direct: c === 1 && f.sh === 1 && f.sw === 1 && f.pt === 0 && f.pl === 0 && f.oh === h - kh + 1 && f.ow === w - kw + 1 && f.ow % 4 === 0 && kw <= 5,
  };
}

/** What geometry.as.ts reads: a convolution's or a pooling's sizes (block: convolutions only). */
export type GeometryFields = Pick<Geometry, 'n' | 'h' | 'w' | 'c' | 'kh' | 'kw' | 'sh' | 'sw' | 'pt' | 'pl' | 'oh' | 'ow'> & { block?: number };

/** Those sizes from tfjs's info of a convolution or a pooling (the window is the filter). */
export function fieldsOf(info: tf.backend_util.Conv2DInfo): GeometryFields {
  return {
    n: info.batchSize, h: info.inHeight, w: info.inWidth, c: info.inChannels, kh: info.filterHeight, kw: info.filterWidth,
    sh: info.strideHeight, sw: info.strideWidth, pt: info.padInfo.top, pl: info.padInfo.left, oh: info.outHeight, ow: info.outWidth,
  };
}

/** The geometry block as geometry.as.ts reads it (its field order); returns its pointer. */
export function putGeometry(arena: Arena, g: GeometryFields): number {
  const fields = [g.n, g.h, g.w, g.c, g.kh, g.kw, g.sh, g.sw, g.pt, g.pl, g.oh, g.ow, g.block ?? 0];
  const ptr = arena.alloc(fields.length);
  arena.i32(ptr, fields.length).set(fields);
  return ptr;
}

/**
 * The row stride of the output and of its gradient: O rounded up to 4 for the GEMM (it vectorises
 * along O), O itself for the direct kernels (padding would cost a copy of each tensor).
 */
export const outputLd = (g: Readonly<Geometry>) => (g.direct ? g.o : roundUp4(g.o));

/** Scratch for one block of patch rows. */
export const scratchFloats = (g: Readonly<Geometry>) => g.block * roundUp4(g.K);
