// 100·image·text for one text embedding at a time over panels of 8 image embeddings, in WebAssembly SIMD.
// Each (image, text) value is scoring's exact loop (score/similarity.ts cosineScores): the float32 pair's product in
// double (exact), summed in double in k order from +0, times the scale, rounded to float32 once. The lanes run 8
// images side by side; no sum is split or reordered, so every value is the same bits as the loop's.
// Built by scripts/build_wasm.sh (clang --target=wasm32 -msimd128; no fast-math; WebAssembly has no FMA).
#include <wasm_simd128.h>

// panels: panel p holds images 8p..8p+7, value k of image 8p+r at panels[(p·dim + k)·8 + r] (rows past the last
//         image are zeros); texts: count × dim doubles (the float32 values); out: count columns of panelCount·8
//         float32, column j at out[j·panelCount·8].
__attribute__((export_name("image_columns")))
void image_columns(const float *panels, int panelCount, int dim, const double *texts, int count, float *out, double scale) {
  const v128_t s = wasm_f64x2_splat(scale);
  const int stride = panelCount * 8;
  for (int p = 0; p < panelCount; p++) {
    const float *panel = panels + (long)p * dim * 8;
    for (int j = 0; j < count; j++) {
      const double *t = texts + (long)j * dim;
      v128_t a0 = wasm_f64x2_splat(0.0), a1 = a0, a2 = a0, a3 = a0;
      for (int k = 0; k < dim; k++) {
        const v128_t x0 = wasm_v128_load(panel + k * 8);
        const v128_t x1 = wasm_v128_load(panel + k * 8 + 4);
        const v128_t tk = wasm_v128_load64_splat(t + k);
        a0 = wasm_f64x2_add(a0, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(x0), tk));
        a1 = wasm_f64x2_add(a1, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x0, x0, 2, 3, 0, 1)), tk));
        a2 = wasm_f64x2_add(a2, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(x1), tk));
        a3 = wasm_f64x2_add(a3, wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x1, x1, 2, 3, 0, 1)), tk));
      }
      const v128_t r0 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(a0, s));
      const v128_t r1 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(a1, s));
      const v128_t r2 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(a2, s));
      const v128_t r3 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_mul(a3, s));
      float *o = out + (long)j * stride + p * 8;
      wasm_v128_store(o, wasm_i64x2_shuffle(r0, r1, 0, 2));
      wasm_v128_store(o + 4, wasm_i64x2_shuffle(r2, r3, 0, 2));
    }
  }
}
