/** comparison.html's number formats: percentages without the sign, a missing value as an en dash. */
type Maybe = number | null | undefined;

/** A share in percent: 0.846 → "84.6". */
export function percent(x: Maybe): string {
  return x == null ? '–' : (100 * x).toFixed(1);
}

/** A difference of shares in signed percentage points: +1.2, −0.4. */
export function signedPoints(x: Maybe): string {
  return x == null ? '–' : (x > 0 ? '+' : x < 0 ? '−' : '') + Math.abs(100 * x).toFixed(1);
}

/** A value with its interval (a ComparedValue of comparison.json): "84.6 [80.1, 88.0]". */
export function withInterval(v: { readonly value: number | null; readonly ci: readonly [number, number] | null } | null | undefined, format: (x: Maybe) => string): string {
  if (!v) return '–';
  return format(v.value) + (v.ci ? ` [${format(v.ci[0])}, ${format(v.ci[1])}]` : '');
}

export function pValue(x: number): string {
  return x < 0.001 ? '<0.001' : x.toFixed(3);
}
