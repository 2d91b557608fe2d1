// The bootstrap memo's counters (evaluate/audit_memo.ts) moved by images, in WebAssembly SIMD: each image's
// multiplicities (how often it is drawn in each replicate) added to or taken from the counter rows of its
// (truth, prediction) cell, sixteen replicates at a time. Integer sums, so exact in any order.
// Built by scripts/build_wasm.sh (clang --target=wasm32 -msimd128).
#include <stdint.h>
#include <wasm_simd128.h>

static void add_row(int32_t *row, const uint8_t *weights, int n, int sign) {
  int b = 0;
  for (; b + 16 <= n; b += 16) {
    const v128_t w = wasm_v128_load(weights + b);
    const v128_t low = wasm_u16x8_extend_low_u8x16(w);
    const v128_t high = wasm_u16x8_extend_high_u8x16(w);
    const v128_t parts[4] = {wasm_u32x4_extend_low_u16x8(low), wasm_u32x4_extend_high_u16x8(low), wasm_u32x4_extend_low_u16x8(high), wasm_u32x4_extend_high_u16x8(high)};
    for (int q = 0; q < 4; q++) {
      const v128_t counts = wasm_v128_load(row + b + 4 * q);
      wasm_v128_store(row + b + 4 * q, sign > 0 ? wasm_i32x4_add(counts, parts[q]) : wasm_i32x4_sub(counts, parts[q]));
    }
  }
  for (; b < n; b++) row[b] += sign > 0 ? weights[b] : -weights[b];
}

// weights: images × replicates (uint8); counters: [group][3C][replicate] (int32: predicted, support, hits per class);
// moves: count quadruples (image, group, cell = (truth + 1)·C + predicted with truth −1 unlabelled, sign ±1).
__attribute__((export_name("move_images")))
void move_images(const uint8_t *weights, int replicates, int32_t *counters, int numClasses, const int32_t *moves, int count) {
  const int stride = 3 * numClasses;
  for (int k = 0; k < count; k++) {
    const int image = moves[4 * k], group = moves[4 * k + 1], cell = moves[4 * k + 2], sign = moves[4 * k + 3];
    const int truth = cell / numClasses - 1, predicted = cell % numClasses;
    const uint8_t *w = weights + (long)image * replicates;
    int32_t *block = counters + (long)group * stride * replicates;
    add_row(block + (long)predicted * replicates, w, replicates, sign);
    if (truth < 0) continue;
    add_row(block + (long)(numClasses + truth) * replicates, w, replicates, sign);
    if (predicted == truth) add_row(block + (long)(2 * numClasses + truth) * replicates, w, replicates, sign);
  }
}

// counters [group][counter][replicate] → out [replicate][group][counter] (OutcomeTallies.resampled's layout).
__attribute__((export_name("replicates_outermost")))
void replicates_outermost(const int32_t *counters, int groups, int stride, int replicates, int32_t *out) {
  for (int g = 0; g < groups; g++)
    for (int k = 0; k < stride; k++) {
      const int32_t *from = counters + ((long)g * stride + k) * replicates;
      int32_t *to = out + (long)g * stride + k;
      for (int b = 0; b < replicates; b++) to[(long)b * groups * stride] = from[b];
    }
}

// out[b] = Σ_i (signs[i] − from[i]) · weights[i][b] over `images` images (from null: zeros), signs and from small
// integers: a signed count over a set of images (the prompt analysis's leave-one-out flips), moved from another set.
__attribute__((export_name("signed_sums")))
void signed_sums(const uint8_t *weights, int replicates, const int8_t *signs, const int8_t *from, int images, int32_t *out) {
  for (int b = 0; b < replicates; b++) out[b] = 0;
  for (int i = 0; i < images; i++) {
    int change = signs[i] - (from ? from[i] : 0);
    for (; change > 0; change--) add_row(out, weights + (long)i * replicates, replicates, 1);
    for (; change < 0; change++) add_row(out, weights + (long)i * replicates, replicates, -1);
  }
}
