// The geometry block of a convolution or pooling: 13 i32s that conv-geometry.ts writes, read here
// as fields (an unmanaged class: no header, fields at 4-byte steps in this order).
//   input [n, h, w, c]; window kh x kw; strides sh, sw; top and left zero padding pt, pl;
//   output [n, oh, ow, .]; block: output pixels per block of patch rows (convolutions only).

// @ts-ignore: decorator
@unmanaged export class Geometry {
  n: i32; h: i32; w: i32; c: i32;
  kh: i32; kw: i32;
  sh: i32; sw: i32; pt: i32; pl: i32;
  oh: i32; ow: i32;
  block: i32;
}
