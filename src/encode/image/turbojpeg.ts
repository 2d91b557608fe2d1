/**
 * JPEG decoding through the system's libjpeg-turbo (its TurboJPEG API, called with koffi), when the library is
 * installed: about 0.3 ms for a 224 × 224 face against about 2 ms through sharp, whose per-call pipeline setup
 * costs more than the decoding itself at that size. The preprocessing threads share the CPU with ONNX Runtime,
 * so this is time given back to the model.
 *
 * Same pixels as the sharp path and as PIL: the default TurboJPEG flags are libjpeg's defaults (accurate
 * integer IDCT, fancy upsampling), which PIL uses, and no colour management. Anything out of the ordinary
 * (CMYK, a warning such as truncated data, a failure) returns null and the caller decodes through sharp,
 * which carries PIL's error semantics. ZEROSHOT_JPEG_DECODER=sharp turns this path off.
 */
import { createRequire } from 'node:module';
import type Koffi from 'koffi';

export interface TurboJpegImage {
  readonly width: number;
  readonly height: number;
  readonly mode: 'RGB' | 'L';
  readonly data: Uint8Array;
}

// TurboJPEG constants (turbojpeg.h).
const TJPF_RGB = 0;
const TJPF_GRAY = 6;
const TJCS_RGB = 0;
const TJCS_YCbCr = 1;
const TJCS_GRAY = 2;

/** Where the library is called on each platform; the first that loads wins. */
const LIBRARY_NAMES: Readonly<Record<string, readonly string[]>> = {
  linux: ['libturbojpeg.so.0', 'libturbojpeg.so'],
  darwin: ['libturbojpeg.0.dylib', '/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.0.dylib', '/usr/local/opt/jpeg-turbo/lib/libturbojpeg.0.dylib'],
  win32: ['turbojpeg.dll'],
};

interface Api {
  decodeHeader(bytes: Uint8Array): { width: number; height: number; subsampling: number; colorspace: number } | null;
  decode(bytes: Uint8Array, out: Uint8Array, width: number, height: number, pixelFormat: number): boolean;
  planeSize(component: number, width: number, height: number, subsampling: number): { width: number; height: number };
  /** Raw component planes, one after the other, rows unpadded; null and the library's message on an error (not a warning). */
  decodeYuv(bytes: Uint8Array, out: Uint8Array, width: number, height: number): string | null;
}

function loadApi(): Api | null {
  if (process.env.ZEROSHOT_JPEG_DECODER === 'sharp') return null;
  let koffi: typeof Koffi;
  try {
    // Loaded here, not imported: on a platform koffi has no binary for, sharp simply does all the decoding.
    koffi = createRequire(import.meta.url)('koffi') as typeof Koffi;
  } catch {
    return null;
  }
  for (const name of LIBRARY_NAMES[process.platform] ?? []) {
    let lib: ReturnType<typeof koffi.load>;
    try {
      lib = koffi.load(name);
    } catch {
      continue;
    }
    const init = lib.func('void *tjInitDecompress()');
    const header = lib.func('int tjDecompressHeader3(void *handle, const uint8_t *jpeg, unsigned long size, _Out_ int *width, _Out_ int *height, _Out_ int *subsampling, _Out_ int *colorspace)');
    const decompress = lib.func('int tjDecompress2(void *handle, const uint8_t *jpeg, unsigned long size, _Out_ uint8_t *out, int width, int pitch, int height, int pixelFormat, int flags)');
    const decompressYuv = lib.func('int tjDecompressToYUV2(void *handle, const uint8_t *jpeg, unsigned long size, _Out_ uint8_t *out, int width, int pad, int height, int flags)');
    const planeWidth = lib.func('int tjPlaneWidth(int component, int width, int subsampling)');
    const planeHeight = lib.func('int tjPlaneHeight(int component, int height, int subsampling)');
    const errorCode = lib.func('int tjGetErrorCode(void *handle)');
    const errorString = lib.func('const char *tjGetErrorStr2(void *handle)');
    // One decompressor for this thread, kept for its lifetime: creating one per image would cost more than a small decode.
    const handle = init();
    if (!handle) continue;
    return {
      decodeHeader(bytes) {
        const [width, height, subsampling, colorspace] = [[0], [0], [0], [0]];
        if (header(handle, bytes, bytes.length, width, height, subsampling, colorspace) !== 0) return null;
        return { width: width[0], height: height[0], subsampling: subsampling[0], colorspace: colorspace[0] };
      },
      // A warning (e.g. truncated data) also returns non-zero: the caller then takes the sharp path.
      decode: (bytes, out, width, height, pixelFormat) => decompress(handle, bytes, bytes.length, out, width, 0, height, pixelFormat, 0) === 0,
      planeSize: (component, width, height, subsampling) => ({ width: planeWidth(component, width, subsampling), height: planeHeight(component, height, subsampling) }),
      // TJERR_WARNING (0): the planes are complete, as libjpeg's warnings only warn (libtiff's OJPEG codec too).
      decodeYuv: (bytes, out, width, height) => (decompressYuv(handle, bytes, bytes.length, out, width, 1, height, 0) === 0 || errorCode(handle) === 0 ? null : String(errorString(handle))),
    };
  }
  return null;
}

let api: Api | null | undefined;

/** Whether the system library was found (and not turned off). */
export function turboJpegAvailable(): boolean {
  api ??= loadApi();
  return api !== null;
}

/**
 * Decodes a baseline or progressive JPEG in YCbCr, RGB or greyscale to PIL's RGB or L samples; null when the
 * library is missing, the image is of another kind, larger than `maxPixels` (the size decode/jpeg.ts read from
 * the frame header and checked against the pixel limit), or anything went wrong.
 */
export function decodeJpegWithTurbo(bytes: Uint8Array, maxPixels: number): TurboJpegImage | null {
  api ??= loadApi();
  if (!api) return null;
  const header = api.decodeHeader(bytes);
  if (!header || header.width * header.height > maxPixels) return null;
  const grey = header.colorspace === TJCS_GRAY;
  if (!grey && header.colorspace !== TJCS_YCbCr && header.colorspace !== TJCS_RGB) return null;
  const data = new Uint8Array(header.width * header.height * (grey ? 1 : 3));
  if (!api.decode(bytes, data, header.width, header.height, grey ? TJPF_GRAY : TJPF_RGB)) return null;
  return { width: header.width, height: header.height, mode: grey ? 'L' : 'RGB', data };
}

/** A JPEG's component planes as libjpeg's raw-data output gives them: decoded, not upsampled, not colour-converted. */
export interface JpegPlanes {
  readonly width: number;
  readonly height: number;
  /** Luma samples per chroma sample, across and down (4:2:0 is 2, 2). */
  readonly chromaStep: readonly [number, number];
  /** Y (or the first component), Cb, Cr: each `width` samples a row, rows padded to whole chroma blocks. */
  readonly planes: readonly { readonly width: number; readonly height: number; readonly data: Uint8Array }[];
}

/** Luma samples per chroma sample of TurboJPEG's subsampling kinds (TJSAMP_444, 422, 420, GRAY, 440, 411). */
const CHROMA_STEP: Readonly<Record<number, readonly [number, number]>> = { 0: [1, 1], 1: [2, 1], 2: [2, 2], 4: [1, 2], 5: [4, 1] };

/**
 * The three component planes of a baseline or progressive JPEG (for TIFF's old-style JPEG, whose pixels libtiff
 * converts itself). Throws, saying why, when the library is missing, the JPEG is not three components with one
 * of TurboJPEG's subsamplings, it is larger than `maxPixels`, or it cannot be decoded.
 */
export function decodeJpegPlanes(bytes: Uint8Array, maxPixels: number): JpegPlanes {
  api ??= loadApi();
  if (!api) {
    const why = process.env.ZEROSHOT_JPEG_DECODER === 'sharp' ? 'is turned off by ZEROSHOT_JPEG_DECODER=sharp' : 'was not found (Debian/Ubuntu libturbojpeg0, Fedora turbojpeg, Homebrew jpeg-turbo)';
    throw new Error(`needs the system's libjpeg-turbo (TurboJPEG), which ${why}`);
  }
  const header = api.decodeHeader(bytes);
  if (!header) throw new Error('its JPEG data has no readable header');
  const chromaStep = CHROMA_STEP[header.subsampling];
  if (!chromaStep) throw new Error(`its JPEG data is not three components in a standard subsampling (TurboJPEG subsampling ${header.subsampling})`);
  const { width, height } = header;
  if (width * height > maxPixels) throw new Error(`its JPEG data is ${width}x${height}, above the pixel limit`);
  const sizes = [0, 1, 2].map((c) => api!.planeSize(c, width, height, header.subsampling));
  const out = new Uint8Array(sizes.reduce((n, p) => n + p.width * p.height, 0));
  const error = api.decodeYuv(bytes, out, width, height);
  if (error !== null) throw new Error(`its JPEG data cannot be decoded: ${error}`);
  let at = 0;
  const planes = sizes.map((p) => {
    const data = out.subarray(at, at + p.width * p.height);
    at += data.length;
    return { width: p.width, height: p.height, data };
  });
  return { width, height, chromaStep, planes };
}
