/** The pages' colours and chart font, shared so the report and the lab look alike. */

/** Okabe–Ito: distinguishable with colour-vision deficiencies. */
export const CATEGORICAL = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];
/** ColorBrewer Blues: sequential, light = few, dark = many. */
export const SEQUENTIAL = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
export const BAR = '#3b7dc4';
export const BAR_SMALL = '#d3d9e0';
export const PROBE_BAR = '#d4733a';
export const WHISKER = '#2c3a47';
export const INK = '#1c2530';
export const MUTED = '#5a6572';
export const FAINT = '#8a94a0';
export const ACCENT = '#0b5cad';
export const WARN_INK = '#7a4a00';
export const CHART_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif';
