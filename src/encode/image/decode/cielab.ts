/**
 * PIL 9.4's conversion of mode LAB to RGB, reproduced bit for bit (every one of the 2^24 8-bit triples; checked
 * by scripts/check_cielab_cube.ts). Pillow's Image.convert hands LAB to ImageCms: LittleCMS (2.14 on Debian 12)
 * with its built-in Lab v2 profile (D50) as input, its built-in sRGB profile as output, perceptual intent, no flags,
 * pixels as 8-bit Lab v2 plus a padding byte in, 8-bit RGBA out. What LittleCMS makes of that:
 * - the input bytes become 16-bit by v·257 (the generic formatter: Pillow's layout does not match lcms's Lab v2
 *   formatters, so no v2→v4 rescaling), read as Lab v4 (L 0..100, a and b −128..127 over 0..65535);
 * - the Lab profile's pipeline (v4→v2, identity, v2→v4) optimises away, leaving Lab→XYZ (D50), the inverse of
 *   sRGB's colorant matrix (Bradford-adapted to D50) and sRGB's inverted parametric curve; black-point
 *   compensation, forced for the v4 sRGB profile, finds both black points at zero and adds nothing;
 * - that pipeline is sampled, in float32 stages, on a 33³ grid of 16-bit nodes (OptimizeByResampling), the
 *   white fix-up finds Lab white off the grid, and each pixel is interpolated tetrahedrally in 16.16 fixed
 *   point from its 16-bit input, then reduced to 8 bits with lcms's rounding.
 * Every step below follows that arithmetic (float32 where lcms stores float32, its fast floor, its integer
 * interpolation), which is what makes the result exact.
 */

const GRID = 33;
const OUT = 3;

/** lcms's _cmsQuickFloor: rounds to 1/65536 (by the 1.5·2^36 magic number), then floors. */
function quickFloor(v: number): number {
  const magic = 68719476736 * 1.5;
  return Math.floor(v + magic - magic);
}

/** lcms's _cmsQuickSaturateWord: nearest 16-bit value, saturated. */
function saturateWord(v: number): number {
  const d = v + 0.5;
  if (d <= 0) return 0;
  if (d >= 65535) return 65535;
  return quickFloor(d - 32767) + 32767;
}

type Mat3 = readonly [readonly [number, number, number], readonly [number, number, number], readonly [number, number, number]];
type Vec3 = readonly [number, number, number];

/** _cmsMAT3per: a·b, each entry summed left to right. */
function multiply(a: Mat3, b: Mat3): Mat3 {
  const row = (i: number): [number, number, number] => [0, 1, 2].map((j) => a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j]) as [number, number, number];
  return [row(0), row(1), row(2)];
}

/** _cmsMAT3inverse: cofactors over the determinant, in lcms's order of operations. */
function inverse(a: Mat3): Mat3 {
  const c0 = a[1][1] * a[2][2] - a[1][2] * a[2][1];
  const c1 = -a[1][0] * a[2][2] + a[1][2] * a[2][0];
  const c2 = a[1][0] * a[2][1] - a[1][1] * a[2][0];
  const det = a[0][0] * c0 + a[0][1] * c1 + a[0][2] * c2;
  return [
    [c0 / det, (a[0][2] * a[2][1] - a[0][1] * a[2][2]) / det, (a[0][1] * a[1][2] - a[0][2] * a[1][1]) / det],
    [c1 / det, (a[0][0] * a[2][2] - a[0][2] * a[2][0]) / det, (a[0][2] * a[1][0] - a[0][0] * a[1][2]) / det],
    [c2 / det, (a[0][1] * a[2][0] - a[0][0] * a[2][1]) / det, (a[0][0] * a[1][1] - a[0][1] * a[1][0]) / det],
  ];
}

function apply(m: Mat3, v: Vec3): Vec3 {
  return [0, 1, 2].map((i) => m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]) as unknown as Vec3;
}

const D50: Vec3 = [0.9642, 1.0, 0.8249];

/** _cmsAdaptationMatrix with the Bradford cone matrix, from illuminant `from` to `to`. */
function bradford(from: Vec3, to: Vec3): Mat3 {
  const cone: Mat3 = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
  ];
  const src = apply(cone, from);
  const dst = apply(cone, to);
  const scale: Mat3 = [
    [dst[0] / src[0], 0, 0],
    [0, dst[1] / src[1], 0],
    [0, 0, dst[2] / src[2]],
  ];
  return multiply(inverse(cone), multiply(scale, cone));
}

/** The built-in sRGB profile's colorants (D65 white, Rec. 709 primaries, adapted to D50): RGB → XYZ. */
function srgbToXyz(): Mat3 {
  const [xn, yn] = [0.3127, 0.329];
  const [[xr, yr], [xg, yg], [xb, yb]] = [[0.64, 0.33], [0.3, 0.6], [0.15, 0.06]];
  const primaries: Mat3 = [
    [xr, xg, xb],
    [yr, yg, yb],
    [1 - xr - yr, 1 - xg - yg, 1 - xb - yb],
  ];
  const coef = apply(inverse(primaries), [xn / yn, 1.0, (1.0 - xn - yn) / yn]);
  const m: Mat3 = [
    [coef[0] * xr, coef[1] * xg, coef[2] * xb],
    [coef[0] * yr, coef[1] * yg, coef[2] * yb],
    [coef[0] * (1.0 - xr - yr), coef[1] * (1.0 - xg - yg), coef[2] * (1.0 - xb - yb)],
  ];
  const white: Vec3 = [(xn / yn) * 1.0, 1.0, ((1 - xn - yn) / yn) * 1.0];
  return multiply(bradford(white, D50), m);
}

/** XYZ is encoded over 0..1 as 0..1.99997 (1.15 fixed point's largest value). */
const MAX_ENCODEABLE_XYZ = 1.0 + 32767.0 / 32768.0;

/** CIE's inverse of L*'s cube root, as cmsLab2XYZ's f_1. */
function cieInverseF(t: number): number {
  if (t <= 24.0 / 116.0) return (108.0 / 841.0) * (t - 16.0 / 116.0);
  return t * t * t;
}

/** sRGB's curve inverted (lcms's parametric type −4), linear light → encoded. */
const SRGB = [2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045] as const;
const SRGB_BREAK = Math.pow(SRGB[1] * SRGB[4] + SRGB[2], SRGB[0]);
function srgbEncode(r: number): number {
  return r >= SRGB_BREAK ? (Math.pow(r, 1.0 / SRGB[0]) - SRGB[2]) / SRGB[1] : r / SRGB[3];
}

/** The optimised transform's 33³ × RGB table of 16-bit nodes, the last input (b) varying fastest. */
function buildNodes(): Uint16Array {
  const toRgb = inverse(srgbToXyz()).map((row) => row.map((v) => v * MAX_ENCODEABLE_XYZ));
  const nodes = new Uint16Array(GRID * GRID * GRID * OUT);
  const level = Array.from({ length: GRID }, (_, i) => Math.fround(saturateWord((i * 65535) / (GRID - 1)) / 65535));
  const xyz = [0, 0, 0];
  let o = 0;
  for (let li = 0; li < GRID; li++) {
    for (let ai = 0; ai < GRID; ai++) {
      for (let bi = 0; bi < GRID; bi++) {
        const y = (level[li] * 100.0 + 16.0) / 116.0;
        const x = y + 0.002 * (level[ai] * 255.0 - 128.0);
        const z = y - 0.005 * (level[bi] * 255.0 - 128.0);
        xyz[0] = Math.fround((cieInverseF(x) * D50[0]) / MAX_ENCODEABLE_XYZ);
        xyz[1] = Math.fround((cieInverseF(y) * D50[1]) / MAX_ENCODEABLE_XYZ);
        xyz[2] = Math.fround((cieInverseF(z) * D50[2]) / MAX_ENCODEABLE_XYZ);
        for (let c = 0; c < OUT; c++) {
          const m = toRgb[c];
          const linear = Math.fround(xyz[0] * m[0] + xyz[1] * m[1] + xyz[2] * m[2]);
          nodes[o++] = saturateWord(Math.fround(srgbEncode(linear)) * 65535.0);
        }
      }
    }
  }
  return nodes;
}

/** Per 8-bit input value: its grid cell's offset along one axis (in table entries, `stride` per step) and the 16-bit fraction. */
interface Axis {
  readonly base: Int32Array;
  readonly step: Int32Array;
  readonly rest: Int32Array;
}

function axis(stride: number): Axis {
  const base = new Int32Array(256);
  const step = new Int32Array(256);
  const rest = new Int32Array(256);
  for (let v = 0; v < 256; v++) {
    const a = v * 257 * (GRID - 1);
    const fixed = a + Math.trunc((a + 0x7fff) / 0xffff); // _cmsToFixedDomain
    base[v] = (fixed >> 16) * stride;
    rest[v] = fixed & 0xffff;
    step[v] = v === 255 ? 0 : stride; // lcms reads the same node again at the top of the range
  }
  return { base, step, rest };
}

interface Transform {
  readonly nodes: Uint16Array;
  readonly l: Axis;
  readonly a: Axis;
  readonly b: Axis;
}

let transform: Transform | null = null;

function getTransform(): Transform {
  transform ??= { nodes: buildNodes(), l: axis(GRID * GRID * OUT), a: axis(GRID * OUT), b: axis(OUT) };
  return transform;
}

/**
 * PIL's RGB for PIL-encoded Lab pixels (L, a + 128, b + 128 as bytes), `channels` bytes apart from `offset`
 * in `lab` (the first 3 used), written as RGB triplets into `rgb` from `rgbOffset`.
 */
export function labToRgb(lab: Uint8Array, channels: number, rgb: Uint8Array, count = Math.floor(lab.length / channels), offset = 0, rgbOffset = 0): void {
  const { nodes, l, a, b } = getTransform();
  for (let i = 0, p = offset, o = rgbOffset; i < count; i++, p += channels, o += 3) {
    const L = lab[p];
    const A = lab[p + 1];
    const B = lab[p + 2];
    const rx = l.rest[L];
    const ry = a.rest[A];
    const rz = b.rest[B];
    const base = l.base[L] + a.base[A] + b.base[B];
    // TetrahedralInterp16: the tetrahedron holding the point; its far corners n1, n2, n3 in decreasing order of the fractions f1, f2, f3.
    const x1 = l.step[L];
    const y1 = a.step[A];
    const z1 = b.step[B];
    const n3 = x1 + y1 + z1;
    let n1 = x1;
    let n2 = x1 + y1;
    let f1 = rx;
    let f2 = ry;
    let f3 = rz;
    if (rx >= ry) {
      if (rz > ry) {
        if (rz >= rx) {
          n1 = z1;
          n2 = x1 + z1;
          f1 = rz;
          f2 = rx;
          f3 = ry;
        } else {
          n2 = x1 + z1;
          f2 = rz;
          f3 = ry;
        }
      }
    } else if (rx >= rz) {
      n1 = y1;
      f1 = ry;
      f2 = rx;
    } else if (ry >= rz) {
      n1 = y1;
      n2 = y1 + z1;
      f1 = ry;
      f2 = rz;
      f3 = rx;
    } else {
      n1 = z1;
      n2 = y1 + z1;
      f1 = rz;
      f3 = rx;
    }
    for (let c = 0; c < OUT; c++) {
      const c0 = nodes[base + c];
      const v1 = nodes[base + n1 + c];
      const v2 = nodes[base + n2 + c];
      const v3 = nodes[base + n3 + c];
      const rest = (v1 - c0) * f1 + (v2 - v1) * f2 + (v3 - v2) * f3 + 0x8001;
      const v16 = (c0 + ((rest + (rest >> 16)) >> 16)) & 0xffff;
      rgb[o + c] = (v16 * 65281 + 8388608) >>> 24; // FROM_16_TO_8
    }
  }
}

/** TIFF's CIELAB samples (a* and b* signed) as PIL stores them (its "LAB" unpacker adds 128), in place. */
export function tiffLabToPil(data: Uint8Array, channels: number): void {
  for (let p = 0; p < data.length; p += channels) {
    data[p + 1] ^= 0x80;
    data[p + 2] ^= 0x80;
  }
}
