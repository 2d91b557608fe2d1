/*
 * WebAssembly SIMD kernels for Pillow-exact 8-bit convolution resampling
 * (any of Pillow's filters: the caller computes the coefficient rows) and
 * CLIP's uint8 -> float32 normalisation. Freestanding (no libc); built by
 * scripts/build_wasm.sh into src/encode/image/wasm/resample_wasm.ts. The
 * caller, src/encode/image/pil_resample_wasm.ts, owns the memory layout.
 *
 * Arithmetic is Pillow's: each output sample is
 * clip8((2^21 + sum(src * w)) >> 22) with int32 weights, horizontal pass
 * first, the intermediate clamped to uint8. Every exact sum lies within int32
 * (the weights' absolute values sum to at most ~1.6 * 2^22, for LANCZOS), and wrapping
 * int32 arithmetic is exact modulo 2^32, so the SIMD lanes give the scalar
 * result bit for bit.
 *
 * Contract with the caller, which lets the loops skip all edge handling:
 * - every weight row holds `taps` weights, zero where a slot is not a tap
 *   (taps are rounded up to whole pairs, or quads for 1 channel);
 * - loads and stores run up to 15 bytes past a row, and the vertical pass
 *   reads one row past its source when the rounding made `taps` exceed the
 *   source height; the values read there get zero weights or land in bytes
 *   that are overwritten or never copied out, so buffers need that much
 *   spare room after them.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define PRECISION_BITS 22
#define HALF_UNIT (1 << (PRECISION_BITS - 1))

/*
 * Multiplies use i32x4.dot_i16x8_s (the sum of two 16-bit products per lane),
 * which is about twice as fast as i32x4.mul but needs 16-bit weights. So each
 * weight is split exactly as w = hi * 2^15 + lo with lo = w & 0x7fff and
 * hi = w >> 15 (both fit int16: |w| is a few times 2^22), two taps' halves
 * are packed per int32 (one dot lane), and sum = (sum_hi << 15) + sum_lo.
 */
#define SPLIT_BITS 15

#define EXPORT(name) __attribute__((export_name(#name))) void name

/*
 * Rewrites weights in place, per pair of taps (t, t + 1) at w[t], w[t + 1]:
 * the int16 pair (lo_t, lo_t+1) then the int16 pair (hi_t, hi_t+1).
 */
static void split_weight_pairs(int32_t *w, int32_t count) {
  for (int32_t i = 0; i < count; i += 2) {
    const int32_t a = w[i], b = w[i + 1];
    w[i] = (int32_t)(((uint32_t)a & 0x7fff) | ((uint32_t)b & 0x7fff) << 16);
    w[i + 1] = (int32_t)(((uint32_t)(a >> SPLIT_BITS) & 0xffff) | (uint32_t)(b >> SPLIT_BITS) << 16);
  }
}

/* (hi << 15) + lo, then Pillow's clip8: bytes 0..3 (repeated in 4..15). */
static inline v128_t clip8x4(v128_t lo, v128_t hi) {
  v128_t sum = wasm_i32x4_add(wasm_i32x4_shl(hi, SPLIT_BITS), lo);
  v128_t v = wasm_i32x4_shr(sum, PRECISION_BITS);
  v128_t v16 = wasm_i16x8_narrow_i32x4(v, v);
  return wasm_u8x16_narrow_i16x8(v16, v16);
}

/*
 * int16 lanes (c0 of pixel t, c0 of pixel t+1, c1 of t, c1 of t+1, ...) for
 * the two pixels at p, zero past the channel count: a dot with a splatted
 * weight pair then gives each channel's two products in its own lane.
 */
static inline v128_t pixel_pair(const uint8_t *p, const int channels) {
  const v128_t v = wasm_v128_load64_zero(p);
  const int z = 0x80; /* swizzle index out of range: lane becomes 0 */
  switch (channels) {
    case 2: return wasm_i8x16_swizzle(v, wasm_u8x16_const(0, z, 2, z, 1, z, 3, z, z, z, z, z, z, z, z, z));
    case 3: return wasm_i8x16_swizzle(v, wasm_u8x16_const(0, z, 3, z, 1, z, 4, z, 2, z, 5, z, z, z, z, z));
    default: return wasm_i8x16_swizzle(v, wasm_u8x16_const(0, z, 4, z, 1, z, 5, z, 2, z, 6, z, 3, z, 7, z));
  }
}

/*
 * Horizontal pass for 2 to 4 channels: channel c in lane c. Two rows run
 * together, sharing the weights (an odd last row is paired with itself).
 */
static inline void horizontal_pixels(const uint8_t *src, int32_t src_stride, int32_t rows, const int channels,
                                     const int32_t *start, const int32_t *weights, int32_t taps, uint8_t *out,
                                     int32_t out_width) {
  const int32_t out_stride = out_width * channels;
  for (int32_t y = 0; y < rows; y += 2) {
    const int32_t next = y + 1 < rows;
    const uint8_t *row0 = src + y * src_stride, *row1 = row0 + next * src_stride;
    uint8_t *o0 = out + y * out_stride, *o1 = o0 + next * out_stride;
    for (int32_t x = 0; x < out_width; x++, o0 += channels, o1 += channels) {
      const int32_t *w = weights + x * taps;
      int32_t at = start[x] * channels;
      v128_t lo0 = wasm_i32x4_splat(HALF_UNIT), lo1 = lo0, hi0 = wasm_i32x4_splat(0), hi1 = hi0;
      for (int32_t t = 0; t < taps; t += 2, at += 2 * channels) {
        const v128_t wlo = wasm_v128_load32_splat(w + t), whi = wasm_v128_load32_splat(w + t + 1);
        const v128_t p0 = pixel_pair(row0 + at, channels), p1 = pixel_pair(row1 + at, channels);
        lo0 = wasm_i32x4_add(lo0, wasm_i32x4_dot_i16x8(p0, wlo));
        hi0 = wasm_i32x4_add(hi0, wasm_i32x4_dot_i16x8(p0, whi));
        lo1 = wasm_i32x4_add(lo1, wasm_i32x4_dot_i16x8(p1, wlo));
        hi1 = wasm_i32x4_add(hi1, wasm_i32x4_dot_i16x8(p1, whi));
      }
      const v128_t b0 = clip8x4(lo0, hi0), b1 = clip8x4(lo1, hi1);
      /* Exactly `channels` bytes: with two rows in flight, a wider store at
         the end of the first row would clobber the start of the second. */
      if (channels == 4) {
        wasm_v128_store32_lane(o0, b0, 0);
        wasm_v128_store32_lane(o1, b1, 0);
      } else {
        wasm_v128_store16_lane(o0, b0, 0);
        wasm_v128_store16_lane(o1, b1, 0);
        if (channels == 3) {
          wasm_v128_store8_lane(o0 + 2, b0, 2);
          wasm_v128_store8_lane(o1 + 2, b1, 2);
        }
      }
    }
  }
}

/*
 * Horizontal pass for 1 channel, 4 contiguous taps per vector: lanes
 * (lo sum of taps 0-1, hi sum of 0-1, lo sum of 2-3, hi sum of 2-3).
 */
static void horizontal_grey(const uint8_t *src, int32_t src_stride, int32_t rows, const int32_t *start,
                            const int32_t *weights, int32_t taps, uint8_t *out, int32_t out_width) {
  const int z = 0x80;
  const v128_t spread = wasm_u8x16_const(0, z, 1, z, 0, z, 1, z, 2, z, 3, z, 2, z, 3, z);
  for (int32_t y = 0; y < rows; y++) {
    const uint8_t *row = src + y * src_stride;
    uint8_t *o = out + y * out_width;
    for (int32_t x = 0; x < out_width; x++) {
      const uint8_t *p = row + start[x];
      const int32_t *w = weights + x * taps;
      v128_t acc = wasm_i32x4_splat(0);
      for (int32_t t = 0; t < taps; t += 4) {
        const v128_t px = wasm_i8x16_swizzle(wasm_v128_load32_zero(p + t), spread);
        acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(px, wasm_v128_load(w + t)));
      }
      /* Unsigned, to wrap like the vector lanes (signed overflow is undefined in C). */
      const uint32_t lo = (uint32_t)wasm_i32x4_extract_lane(acc, 0) + (uint32_t)wasm_i32x4_extract_lane(acc, 2);
      const uint32_t hi = (uint32_t)wasm_i32x4_extract_lane(acc, 1) + (uint32_t)wasm_i32x4_extract_lane(acc, 3);
      const int32_t v = (int32_t)((hi << SPLIT_BITS) + lo + HALF_UNIT) >> PRECISION_BITS;
      o[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
  }
}

/*
 * Resamples `rows` rows of `src` (row stride in bytes) to `out_width` pixels
 * each, written contiguously to `out`. Output pixel x reads the `taps` pixels
 * from start[x] with weights[x * taps ...]; `taps` is even (a multiple of 4
 * for 1 channel). The weights are overwritten.
 */
EXPORT(horizontal_pass)(const uint8_t *src, int32_t src_stride, int32_t rows, int32_t channels,
                        const int32_t *start, int32_t *weights, int32_t taps, uint8_t *out, int32_t out_width) {
  split_weight_pairs(weights, out_width * taps);
  /* Constant channel counts let the compiler specialise each loop. */
  switch (channels) {
    case 1: horizontal_grey(src, src_stride, rows, start, weights, taps, out, out_width); break;
    case 2: horizontal_pixels(src, src_stride, rows, 2, start, weights, taps, out, out_width); break;
    case 3: horizontal_pixels(src, src_stride, rows, 3, start, weights, taps, out, out_width); break;
    case 4: horizontal_pixels(src, src_stride, rows, 4, start, weights, taps, out, out_width); break;
  }
}

/* Dot products of 4 int16 sample pairs (row t, row t+1) with a weight pair. */
#define DOT_PAIR(lo, hi, pair, wlo, whi)                      \
  do {                                                        \
    lo = wasm_i32x4_add(lo, wasm_i32x4_dot_i16x8(pair, wlo)); \
    hi = wasm_i32x4_add(hi, wasm_i32x4_dot_i16x8(pair, whi)); \
  } while (0)

/*
 * Resamples columns: output row y, `row_samples` bytes written contiguously
 * to `out`, reads source rows start[y] ... start[y] + taps - 1 (row stride
 * in bytes) with weights[y * taps ...]; `taps` is even and the weights are
 * overwritten. Channels do not interact, so the row's samples are processed
 * 16 at a time whatever the channel count, two source rows per step.
 */
EXPORT(vertical_pass)(const uint8_t *src, int32_t src_stride, int32_t row_samples, const int32_t *start,
                      int32_t *weights, int32_t taps, uint8_t *out, int32_t out_rows) {
  split_weight_pairs(weights, out_rows * taps);
  for (int32_t y = 0; y < out_rows; y++) {
    const uint8_t *first = src + start[y] * src_stride;
    const int32_t *w = weights + y * taps;
    uint8_t *o = out + y * row_samples;
    for (int32_t i = 0; i < row_samples; i += 16) {
      v128_t lo0 = wasm_i32x4_splat(HALF_UNIT), lo1 = lo0, lo2 = lo0, lo3 = lo0;
      v128_t hi0 = wasm_i32x4_splat(0), hi1 = hi0, hi2 = hi0, hi3 = hi0;
      const uint8_t *p = first + i;
      for (int32_t t = 0; t < taps; t += 2, p += 2 * src_stride) {
        const v128_t a = wasm_v128_load(p), b = wasm_v128_load(p + src_stride);
        const v128_t wlo = wasm_v128_load32_splat(w + t), whi = wasm_v128_load32_splat(w + t + 1);
        /* Bytes interleaved (a0, b0, a1, b1, ...), then widened to int16. */
        const v128_t ab_lo = wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const v128_t ab_hi = wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        DOT_PAIR(lo0, hi0, wasm_u16x8_extend_low_u8x16(ab_lo), wlo, whi);
        DOT_PAIR(lo1, hi1, wasm_u16x8_extend_high_u8x16(ab_lo), wlo, whi);
        DOT_PAIR(lo2, hi2, wasm_u16x8_extend_low_u8x16(ab_hi), wlo, whi);
        DOT_PAIR(lo3, hi3, wasm_u16x8_extend_high_u8x16(ab_hi), wlo, whi);
      }
      const v128_t s0 = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_shl(hi0, SPLIT_BITS), lo0), PRECISION_BITS);
      const v128_t s1 = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_shl(hi1, SPLIT_BITS), lo1), PRECISION_BITS);
      const v128_t s2 = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_shl(hi2, SPLIT_BITS), lo2), PRECISION_BITS);
      const v128_t s3 = wasm_i32x4_shr(wasm_i32x4_add(wasm_i32x4_shl(hi3, SPLIT_BITS), lo3), PRECISION_BITS);
      wasm_v128_store(o + i, wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(s0, s1), wasm_i16x8_narrow_i32x4(s2, s3)));
    }
  }
}

/*
 * Interleaved RGB bytes -> planar (CHW) float32 through a per-channel
 * 256-entry table (red, green, blue tables back to back).
 */
EXPORT(normalize_chw)(const uint8_t *rgb, int32_t pixels, const float *table, float *out) {
  float *r = out, *g = out + pixels, *b = out + 2 * pixels;
  for (int32_t i = 0; i < pixels; i++, rgb += 3) {
    r[i] = table[rgb[0]];
    g[i] = table[256 + rgb[1]];
    b[i] = table[512 + rgb[2]];
  }
}
