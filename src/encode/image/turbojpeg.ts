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
  decodeHeader(bytes: Uint8Array): { width: number; height: number; colorspace: number } | null;
  decode(bytes: Uint8Array, out: Uint8Array, width: number, height: number, pixelFormat: number): boolean;
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
    // One decompressor for this thread, kept for its lifetime: creating one per image would cost more than a small decode.
    const handle = init();
    if (!handle) continue;
    return {
      decodeHeader(bytes) {
        const [width, height, subsampling, colorspace] = [[0], [0], [0], [0]];
        if (header(handle, bytes, bytes.length, width, height, subsampling, colorspace) !== 0) return null;
        return { width: width[0], height: height[0], colorspace: colorspace[0] };
      },
      // A warning (e.g. truncated data) also returns non-zero: the caller then takes the sharp path.
      decode: (bytes, out, width, height, pixelFormat) => decompress(handle, bytes, bytes.length, out, width, 0, height, pixelFormat, 0) === 0,
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
