/** Number formats of the pages. A missing value (null or undefined) is an em dash. */

type Maybe = number | null | undefined;

/** A share as a percentage: 0.123 → "12.3%". */
export function pct(x: Maybe, digits = 1): string {
  return x == null ? '—' : `${(100 * x).toFixed(digits)}%`;
}

/** An interval [low, high] as "low – high" (percentages unless told). */
export function interval(ci: readonly [number, number] | null | undefined, format: (x: number) => string = (x) => pct(x)): string {
  return ci ? `${format(ci[0])} – ${format(ci[1])}` : '';
}

/** A difference of shares in percentage points, unsigned (gaps and spreads are never negative). */
export function points(x: Maybe): string {
  return x == null ? '—' : `${(100 * x).toFixed(1)} pp`;
}

/** A signed difference of shares in percentage points: +1.2 pp, −0.4 pp, ±0.0 pp. */
export function pp(x: Maybe): string {
  if (x == null) return '—';
  const v = Math.round(1000 * x) / 10;
  return `${v > 0 ? '+' : v < 0 ? '−' : '±'}${Math.abs(v).toFixed(1)} pp`;
}

/** A count with thousands separators. */
export function int(n: Maybe): string {
  return n == null ? '—' : Number(n).toLocaleString('en-US');
}

export function fixed(x: Maybe, digits: number): string {
  return x == null ? '—' : Number(x).toFixed(digits);
}

/** "1 class", "3 classes". */
export function plural(n: number, one: string, many: string): string {
  return `${int(n)} ${n === 1 ? one : many}`;
}
