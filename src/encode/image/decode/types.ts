/** The decoders' output: pixels in the mode Pillow 9.4 opens the file in. */

/** Pillow modes produced by the decoders. */
export type ImageMode = 'L' | 'LA' | 'RGB' | 'RGBA' | 'P' | 'PA' | '1' | 'CMYK' | 'LAB' | 'I' | 'F';

/** The formats zeroshot decodes ('OTHER' only for images built in memory). */
export type ImageFormat = 'JPEG' | 'PNG' | 'WEBP' | 'GIF' | 'BMP' | 'TIFF' | 'OTHER';

interface DecodedBase {
  width: number;
  height: number;
  format: ImageFormat;
  /**
   * The size PIL reports before loading, when loading changes it: a TIFF with Orientation 5–8, which PIL 9.4
   * transposes on load, after torchvision's Resize has read the size, so the reference pipeline resizes the
   * turned image to the shape computed from this size.
   */
  sizeBeforeLoad?: DeclaredSize;
}

/**
 * 8-bit modes, interleaved row-major: L 1 sample, LA 2, RGB 3, RGBA 4
 * (straight alpha), CMYK 4 (0 = no ink), "1" 1 (0 or 255), LAB 3 (L*, a* + 128, b* + 128, as PIL stores them).
 */
export interface Decoded8 extends DecodedBase {
  mode: 'L' | 'LA' | 'RGB' | 'RGBA' | '1' | 'CMYK' | 'LAB';
  data: Uint8Array;
}

/** Palette image: one index per pixel; palette is 256 RGB triplets. */
export interface DecodedPalette extends DecodedBase {
  mode: 'P';
  data: Uint8Array;
  palette: Uint8Array;
}

/** Palette + alpha (a TIFF): index and alpha per pixel; palette is 256 RGB triplets. */
export interface DecodedPaletteAlpha extends DecodedBase {
  mode: 'PA';
  data: Uint8Array;
  palette: Uint8Array;
}

/** Pillow mode "I" (32-bit integer grey), what PIL opens 16-bit grey PNGs as. */
export interface DecodedInt32 extends DecodedBase {
  mode: 'I';
  data: Int32Array;
}

/** Pillow mode "F" (32-bit float grey), what PIL opens floating-point TIFFs as. */
export interface DecodedFloat32 extends DecodedBase {
  mode: 'F';
  data: Float32Array;
}

export type DecodedImage = Decoded8 | DecodedPalette | DecodedPaletteAlpha | DecodedInt32 | DecodedFloat32;

/** Samples per pixel for an 8-bit mode. */
export function channelsOf(mode: Exclude<ImageMode, 'I' | 'F'>): number {
  switch (mode) {
    case 'L':
    case 'P':
    case '1':
      return 1;
    case 'LA':
    case 'PA':
      return 2;
    case 'RGB':
    case 'LAB':
      return 3;
    case 'RGBA':
    case 'CMYK':
      return 4;
  }
}

/** The size a file declares in its header, read before anything is decoded or allocated. */
export interface DeclaredSize {
  readonly width: number;
  readonly height: number;
}
