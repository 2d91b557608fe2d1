#!/usr/bin/python3
"""Golden inputs and PIL-reference crops for the decoders' fidelity with PIL 9.4 on files from the wild
(issue 15): BMP RLE escapes and short pixel data, TIFF orientation, 16-bit and premultiplied TIFFs, CIELAB and
old-style JPEG TIFFs, and TIFFs PIL 9.4 cannot open (test/decode_robustness.test.ts checks the error for each).

Run with Debian's interpreter (python3-pil 9.4, numpy) and libtiff-tools (tiffcp):

    /usr/bin/python3 scripts/make_decode_goldens.py

Writes test/golden/images/decode/: the inputs, expected/<name>.png (the reference crop, made as in
make_image_goldens.py) and manifest.json in the same layout as test/golden/images/manifest.json, plus
`swapped`: TIFFs whose sides PIL swaps on load (Orientation 5-8), with the size before, `unreadable`: files
PIL 9.4 fails to open (checked here), with the reason zeroshot gives, `variants`: modes F and PA under other
filters, the transformers reference and no resize, with the options (ClipPreprocessOptions fields), and `cielab`:
PIL's RGB for a sample of Lab triples (test/tiff_color.test.ts).
"""

import io
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_image_goldens import bmp_rows, reference_crop, synth_alpha, synth_rgb, write_bmp  # noqa: E402
from make_preprocess_goldens import FILTERS, original_reference, transformers_reference  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "golden", "images", "decode")


def path(name):
    return os.path.join(OUT, name)


def tiffcp(*args):
    subprocess.run(["tiffcp", *args], check=True, capture_output=True)


def write_tiff(name, arr, photometric, bits, extra=None, colormap=None, sample_format=1):
    """Uncompressed little-endian single-strip TIFF with the given tags (for layouts PIL cannot save)."""
    h, w = arr.shape[:2]
    spp = 1 if arr.ndim == 2 else arr.shape[2]
    data = arr.astype({8: "u1", 16: "<u2", 32: "<f4"}[bits]).tobytes()
    tags = [(256, 4, [w]), (257, 4, [h]), (258, 3, [bits] * spp), (259, 3, [1]), (262, 3, [photometric]),
            (273, 4, [0]), (277, 3, [spp]), (278, 4, [h]), (279, 4, [len(data)]), (284, 3, [1]),
            (339, 3, [sample_format] * spp)]
    if colormap is not None:
        tags.append((320, 3, colormap))
    if extra is not None:
        tags.append((338, 3, [extra]))
    tags.sort()
    ifd_size = 2 + 12 * len(tags) + 4
    values = b""
    entries = b""
    for tag, typ, vals in tags:
        raw = b"".join(struct.pack("<H" if typ == 3 else "<I", v) for v in vals)
        if len(raw) <= 4:
            entries += struct.pack("<HHI", tag, typ, len(vals)) + raw.ljust(4, b"\0")
        else:
            entries += struct.pack("<HHII", tag, typ, len(vals), 8 + ifd_size + len(values))
            values += raw + (b"\0" if len(raw) % 2 else b"")
    data_offset = 8 + ifd_size + len(values)
    strip = [i for i, (tag, _, _) in enumerate(tags) if tag == 273][0]
    entries = entries[:12 * strip + 8] + struct.pack("<I", data_offset) + entries[12 * strip + 12:]
    with open(path(name), "wb") as f:
        f.write(b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", len(tags)) + entries + b"\0\0\0\0" + values + data)


def write_tags_tiff(name, entries, blobs):
    """Little-endian TIFF of one directory: (tag, type, values) entries (3 SHORT, 4 LONG, 5 RATIONAL as
    (numerator, denominator) pairs), where a value that is a string is the offset of that blob, and a value
    ("len", key) its length; the blobs follow the directory."""
    def resolve(v, offsets):
        if isinstance(v, str):
            return offsets[v]
        if isinstance(v, tuple) and v[0] == "len":
            return len(blobs[v[1]])
        return v
    entries = sorted(entries)
    ifd_size = 2 + 12 * len(entries) + 4
    sizes = {3: 2, 4: 4, 5: 8}
    out_of_line = sum(-(-sizes[t] * len(vals) // 2) * 2 for _, t, vals in entries if sizes[t] * len(vals) > 4)
    offsets, at = {}, 8 + ifd_size + out_of_line
    for key, blob in blobs.items():
        offsets[key] = at
        at += len(blob) + len(blob) % 2
    ifd, values = b"", b""
    for tag, typ, vals in entries:
        vals = [resolve(v, offsets) for v in vals]
        raw = b"".join(struct.pack("<II", *v) if typ == 5 else struct.pack("<H" if typ == 3 else "<I", v) for v in vals)
        if len(raw) <= 4:
            ifd += struct.pack("<HHI", tag, typ, len(vals)) + raw.ljust(4, b"\0")
        else:
            ifd += struct.pack("<HHII", tag, typ, len(vals), 8 + ifd_size + len(values))
            values += raw + b"\0" * (len(raw) % 2)
    data = b"".join(blob + b"\0" * (len(blob) % 2) for blob in blobs.values())
    with open(path(name), "wb") as f:
        f.write(b"II*\0" + struct.pack("<IH", 8, len(entries)) + ifd + b"\0\0\0\0" + values + data)


def jpeg_segments(jpeg):
    """(marker, payload) of each segment before the scan, and the entropy-coded data after SOS (EOI cut off)."""
    segments, p = [], 2
    while True:
        marker, length = jpeg[p + 1], struct.unpack(">H", jpeg[p + 2:p + 4])[0]
        segments.append((marker, jpeg[p + 4:p + 2 + length]))
        p += 2 + length
        if marker == 0xDA:
            return segments, jpeg[p:-2]


def write_ojpeg_tiff(name, img, subsampling, extra=(), tables_in_tags=False, progressive=False):
    """Old-style JPEG TIFF (compression 6, YCbCr) as early writers made them: the whole JFIF stream in the strip,
    also named by JPEGInterchangeFormat, or (`tables_in_tags`) the scan data alone in the strip with the tables
    in JPEGQTables / JPEGDCTables / JPEGACTables, one per component, Cr sharing Cb's."""
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, subsampling=subsampling, progressive=progressive)
    jpeg = buf.getvalue()
    w, h = img.size
    entries = [(256, 4, [w]), (257, 4, [h]), (258, 3, [8, 8, 8]), (259, 3, [6]), (262, 3, [6]), (277, 3, [3]),
               (278, 4, [h]), (512, 3, [1]), *extra]
    if not tables_in_tags:
        blobs = {"jpeg": jpeg}
        entries += [(273, 4, ["jpeg"]), (279, 4, [("len", "jpeg")]), (513, 4, ["jpeg"]), (514, 4, [("len", "jpeg")])]
    else:
        segments, scan = jpeg_segments(jpeg)
        blobs = {"scan": scan}
        for marker, payload in segments:
            if marker == 0xDB:
                blobs[f"q{payload[0]}"] = payload[1:65]
            elif marker == 0xC4:
                blobs[f"{'ac' if payload[0] >> 4 else 'dc'}{payload[0] & 15}"] = payload[1:]
        entries += [(273, 4, ["scan"]), (279, 4, [("len", "scan")]), (519, 4, ["q0", "q1", "q1"]),
                    (520, 4, ["dc0", "dc1", "dc1"]), (521, 4, ["ac0", "ac1", "ac1"])]
    write_tags_tiff(name, entries, blobs)


def bgr0_palette(img, n):
    pal = img.getpalette()[: 3 * n]
    return b"".join(bytes((pal[3 * i + 2], pal[3 * i + 1], pal[3 * i], 0)) for i in range(n))


def rle_with_escapes(indices, rle4):
    """RLE8/RLE4 that uses every escape PIL 9.4 reads its own way: end of line before the row is full, deltas
    (PIL takes the offsets from the 2 bytes after the escape's own pair), odd RLE4 literal runs, end of bitmap."""
    h, w = indices.shape
    out = bytearray()
    pack = (lambda vals: bytes((vals[i] << 4) | (vals[i + 1] if i + 1 < len(vals) else 0)
                               for i in range(0, len(vals), 2))) if rle4 else bytes
    for y in range(h - 1, -1, -1):
        row = [int(v) for v in indices[y]]
        k = (h - 1 - y) % 4
        if k == 0:  # literal run of 7 (odd: RLE4 loses a pixel), then a plain run, then end of line early
            out += bytes((0, 7)) + pack(row[:7])
            if len(out) % 2:
                out += b"\0"
            out += bytes((w // 2, (row[8] << 4 | row[9]) if rle4 else row[8]))
            out += b"\0\0"
        elif k == 1:  # a delta to the right: escape, a pair PIL skips, then (right, up) = (5, 0)
            out += bytes((10, (row[0] << 4 | row[1]) if rle4 else row[0]))
            out += bytes((0, 2, 99, 99, 5, 0))
            out += bytes((w - 15, (row[20] << 4 | row[21]) if rle4 else row[20])) + b"\0\0"
        else:  # full row in runs of 3
            for x in range(0, w, 3):
                n = min(3, w - x)
                out += bytes((n, (row[x] << 4 | row[min(x + 1, w - 1)]) if rle4 else row[x]))
            out += b"\0\0"
    out += b"\0\1"
    return bytes(out)


def make_inputs():
    cases = []

    def add(name, note):
        cases.append((name, note))

    # BMP
    p8 = synth_rgb(96, 64, 101).quantize(colors=48, method=Image.Quantize.MEDIANCUT)
    idx = np.asarray(p8)
    write_bmp(path("rle8_escapes_96x64.bmp"), 96, 64, 8, rle_with_escapes(idx, False),
              palette=bgr0_palette(p8, 48), compression=1)
    add("rle8_escapes_96x64.bmp", "BMP RLE8: end of line before the row is full, deltas, as PIL 9.4 reads them")
    p4 = synth_rgb(90, 70, 102).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    idx = np.asarray(p4)
    write_bmp(path("rle4_escapes_90x70.bmp"), 90, 70, 4, rle_with_escapes(idx, True),
              palette=bgr0_palette(p4, 16), compression=2)
    add("rle4_escapes_90x70.bmp", "BMP RLE4: odd literal runs, end of line, deltas, as PIL 9.4 reads them")
    rgb = np.asarray(synth_rgb(101, 77, 103))
    rows = [rgb[y][:, ::-1].tobytes() for y in range(77)]
    data = bmp_rows(rows, False)
    write_bmp(path("rgb24_short_101x77.bmp"), 101, 77, 24, data[:-1])
    add("rgb24_short_101x77.bmp", "BMP 24-bit, pixel data one byte short (the last row's padding): PIL reads it")
    pal = synth_rgb(83, 59, 104).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    idx = np.asarray(pal)
    data = bmp_rows([idx[y].astype(np.uint8).tobytes() for y in range(59)], False)
    write_bmp(path("pal8_short_83x59.bmp"), 83, 59, 8, data[:-1], palette=bgr0_palette(pal, 64))
    add("pal8_short_83x59.bmp", "BMP 8-bit palette, pixel data one byte short: PIL reads it")

    # TIFF orientation: PIL 9.4 transposes on load (TiffImagePlugin.load_end). 5-8 also swap the sides after
    # torchvision has read the size, so PIL resizes the turned image to the unturned shape (`swapped` cases:
    # reproduced when the transform resizes to the shape from `sizeBeforeLoad`).
    base = synth_rgb(150, 110, 105)
    for o in range(2, 9):
        base.save(path(f"orient{o}_150x110.tif"), tiffinfo={274: o})
        add(f"orient{o}_150x110.tif", f"TIFF Orientation {o}: applied on load, as PIL 9.4 does")

    # TIFF sample layouts
    alpha = np.asarray(synth_alpha(150, 110, 106)).astype(np.uint32)
    rs = np.random.RandomState(107)
    rgb16 = np.asarray(base).astype(np.uint32) * 257 + rs.randint(0, 200, (110, 150, 3))
    a16 = alpha * 257
    premultiplied = rgb16 * a16[..., None] // 65535
    write_tiff("rgba16_assoc_150x110.tif", np.dstack([premultiplied, a16]), 2, 16, extra=1)
    add("rgba16_assoc_150x110.tif", "TIFF 16-bit RGBA, associated alpha: PIL's RGBa;16 unpremultiply")
    premultiplied8 = np.asarray(base).astype(np.uint32) * alpha[..., None] // 255
    write_tiff("rgba8_assoc_150x110.tif", np.dstack([premultiplied8, alpha]), 2, 8, extra=1)
    add("rgba8_assoc_150x110.tif", "TIFF 8-bit RGBA, associated alpha: PIL's RGBa unpremultiply")
    cmyk = np.asarray(base.convert("CMYK")).astype(np.uint32)
    write_tiff("cmyk16_150x110.tif", cmyk * 257 + rs.randint(0, 256, cmyk.shape), 5, 16)
    add("cmyk16_150x110.tif", "TIFF 16-bit CMYK: PIL keeps the high byte")
    base.convert("CMYK").save(path("cmyk8.tmp.tif"))
    tiffcp("-c", "jpeg", "-r", "16", path("cmyk8.tmp.tif"), path("cmyk_jpeg_150x110.tif"))
    add("cmyk_jpeg_150x110.tif", "TIFF CMYK, JPEG-compressed")
    base.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path("palette_150x110.tif"))
    add("palette_150x110.tif", "TIFF palette (mode P): the ColorMap's high bytes, NEAREST resize")
    bilevel = base.convert("L").point(lambda v: 255 if v > 120 else 0).convert("1")
    bilevel.save(path("bilevel_g4_150x110.tif"), compression="group4")
    add("bilevel_g4_150x110.tif", "TIFF bilevel, CCITT group 4 (mode 1)")
    Image.merge("LA", (base.convert("L"), synth_alpha(150, 110, 108))).save(path("la_150x110.tif"))
    add("la_150x110.tif", "TIFF grey + unassociated alpha (mode LA)")
    base.convert("CMYK").save(path("cmyk8_150x110.tif"))
    add("cmyk8_150x110.tif", "TIFF 8-bit CMYK")
    base.save(path("rgb.tmp.tif"))
    tiffcp("-c", "jpeg", "-r", "16", path("rgb.tmp.tif"), path("rgb_jpeg_150x110.tif"))
    add("rgb_jpeg_150x110.tif", "TIFF RGB, JPEG-compressed (YCbCr)")
    tiffcp("-p", "separate", path("rgb.tmp.tif"), path("rgb_planar_150x110.tif"))
    add("rgb_planar_150x110.tif", "TIFF RGB, strips with separate planes")
    tiffcp("-t", "-w", "32", "-l", "32", "-c", "lzw", path("rgb.tmp.tif"), path("rgb_tiled_150x110.tif"))
    add("rgb_tiled_150x110.tif", "TIFF RGB, tiled, LZW")

    # Mode F: fractions, negatives and values above 255, so that the float resize and convert's clipping show.
    grey = np.asarray(base.convert("L")).astype(np.float32)
    floats = grey * np.float32(1.37) - np.float32(30.25) + rs.rand(110, 150).astype(np.float32)
    Image.fromarray(floats, "F").save(path("float_150x110.tif"))
    add("float_150x110.tif", "TIFF 32-bit float (mode F): float32 resize passes, convert clips")
    tiffcp("-c", "zip:3", path("float_150x110.tif"), path("float_deflate_pred3_150x110.tif"))
    add("float_deflate_pred3_150x110.tif", "TIFF 32-bit float, deflate with the floating-point predictor")
    # Mode PA: PIL resizes the index band bicubic like a grey band, and the resized image has lost its palette.
    q = base.quantize(colors=32)
    palette = (q.getpalette() + [0] * 768)[:768]
    colormap = [v * 257 for v in palette[0::3]] + [v * 257 for v in palette[1::3]] + [v * 257 for v in palette[2::3]]
    write_tiff("pa_150x110.tif", np.dstack([np.asarray(q), alpha.astype(np.uint8)]), 3, 8, extra=2, colormap=colormap)
    add("pa_150x110.tif", "TIFF palette + alpha (mode PA): bicubic indices, converted with the grey ramp")
    tiffcp("-c", "lzw", path("pa_150x110.tif"), path("pa_lzw_150x110.tif"))
    add("pa_lzw_150x110.tif", "TIFF palette + alpha, LZW")

    # Layouts and codecs libvips cannot read (zeroshot rewrites them as a plain TIFF): tiles with separate
    # planes under each codec, Zstandard and LZMA (libtiff's .xz streams with a delta filter), predictors 2 and 3.
    tiles = ("-t", "-w", "32", "-l", "32", "-p", "separate")
    for codec, label in (("none", "uncompressed"), ("lzw:2", "LZW, horizontal predictor"), ("zip", "deflate"),
                         ("packbits", "PackBits"), ("zstd", "Zstandard"), ("lzma", "LZMA")):
        name = f"tiled_planar_{codec.replace(':2', '_pred2')}_150x110.tif"
        tiffcp(*tiles, "-c", codec, path("rgb.tmp.tif"), path(name))
        add(name, f"TIFF RGB, tiles with separate planes, {label}")
    for codec, label in (("zstd", "Zstandard"), ("zstd:2", "Zstandard, horizontal predictor"), ("lzma", "LZMA"),
                         ("lzma:2", "LZMA, horizontal predictor")):
        name = f"{codec.replace(':2', '_pred2')}_150x110.tif"
        tiffcp("-c", codec, "-r", "16", path("rgb.tmp.tif"), path(name))
        add(name, f"TIFF RGB, strips, {label}")
    write_tiff("rgb16.tmp.tif", rgb16, 2, 16)
    # (tiffcp changes the planar configuration of 8-bit samples only)
    tiffcp("-t", "-w", "32", "-l", "32", "-B", "-c", "zstd:2", path("rgb16.tmp.tif"), path("rgb16_be_tiled_zstd_pred2_150x110.tif"))
    add("rgb16_be_tiled_zstd_pred2_150x110.tif", "TIFF 16-bit RGB, big-endian, tiled, Zstandard, horizontal predictor")
    tiffcp("-c", "lzma:3", path("float_150x110.tif"), path("float_lzma_pred3_150x110.tif"))
    add("float_lzma_pred3_150x110.tif", "TIFF 32-bit float, LZMA with the floating-point predictor")
    tiffcp("-t", "-w", "32", "-l", "32", "-c", "zstd", path("la_150x110.tif"), path("la_tiled_zstd_150x110.tif"))
    add("la_tiled_zstd_150x110.tif", "TIFF grey + alpha, tiled, Zstandard")

    # CIELAB (mode LAB), converted by ImageCms (LittleCMS) in convert("RGB"), after the resize in the original
    # reference. With separate planes PIL 9.4 unpacks a* and b* as plain bands (no sign flip).
    lab = base.convert("LAB")
    del lab.info["icc_profile"]  # ImageCms's profile carries the time it was made
    lab.save(path("lab_150x110.tif"))
    add("lab_150x110.tif", "TIFF CIELAB (mode LAB): resized as Lab bytes, converted by LittleCMS")
    tiffcp("-p", "separate", "-c", "lzw", path("lab_150x110.tif"), path("lab_planar_lzw_150x110.tif"))
    add("lab_planar_lzw_150x110.tif", "TIFF CIELAB, separate planes, LZW: a* and b* unpacked unsigned, as PIL 9.4 does")

    # Old-style JPEG (compression 6): PIL reads it through libtiff's TIFFRGBAImage (chroma replicated per block,
    # libtiff's own YCbCr conversion with YCbCrCoefficients and ReferenceBlackWhite).
    write_ojpeg_tiff("ojpeg_420_150x110.tif", base, 2)
    add("ojpeg_420_150x110.tif", "TIFF old-style JPEG, 4:2:0, the JFIF stream in JPEGInterchangeFormat")
    write_ojpeg_tiff("ojpeg_422_151x111.tif", synth_rgb(151, 111, 109), 1, extra=[(530, 3, [2, 1])])
    add("ojpeg_422_151x111.tif", "TIFF old-style JPEG, 4:2:2, odd sides")
    write_ojpeg_tiff("ojpeg_444_refbw_150x110.tif", base, 0, extra=[
        (529, 5, [(2126, 10000), (7152, 10000), (722, 10000)]), (530, 3, [1, 1]),
        (532, 5, [(16, 1), (235, 1), (128, 1), (240, 1), (128, 1), (240, 1)])])
    add("ojpeg_444_refbw_150x110.tif", "TIFF old-style JPEG, 4:4:4, Rec. 709 YCbCrCoefficients, studio-range ReferenceBlackWhite")
    write_ojpeg_tiff("ojpeg_tables_150x110.tif", base, 2, tables_in_tags=True)
    add("ojpeg_tables_150x110.tif", "TIFF old-style JPEG, tables in JPEGQTables/DCTables/ACTables, scan data in the strip")

    # PIL 9.4 cannot open these (libtiff's OJPEG reader rejects a progressive frame): inputs only.
    unreadable = {}
    write_ojpeg_tiff("ojpeg_progressive_150x110.tif", base, 2, progressive=True)
    unreadable["ojpeg_progressive_150x110.tif"] = "JPEG marker 0xc2 (progressive)"
    # Grey with associated (premultiplied) alpha: OPEN_INFO's only grey layout with an extra sample is LA
    # (MinIsBlack, 2 x 8 bits, unassociated alpha), so PIL 9.4 fails on these, MinIsWhite or MinIsBlack, 8 or 16 bits.
    small = synth_rgb(48, 32, 110).convert("L")
    small_alpha = np.asarray(synth_alpha(48, 32, 111)).astype(np.uint32)
    for photometric, white in ((1, ""), (0, "_miniswhite")):
        for bits, scale in ((8, 1), (16, 257)):
            stored = (np.asarray(small).astype(np.uint32) if photometric else 255 - np.asarray(small).astype(np.uint32)) * scale
            a = small_alpha * scale
            name = f"la{bits}_assoc{white}_48x32.tif"
            write_tiff(name, np.dstack([stored * a // (255 * scale), a]), photometric, bits, extra=1)
            unreadable[name] = f"grey (photometric {photometric}) in 2 \u00d7 {bits}-bit samples, ExtraSamples 1 (associated, premultiplied alpha)"
    for tmp in ("cmyk8.tmp.tif", "rgb.tmp.tif", "rgb16.tmp.tif"):
        os.remove(path(tmp))
    return cases, unreadable


def variant_cases():
    """Modes F and PA under every filter and both references, and unresized with padding (PA keeps its palette
    then): options as ClipPreprocessOptions fields."""
    out = []
    crop = {"height": 224, "width": 224}
    for name in ("float_150x110.tif", "pa_150x110.tif"):
        for resample in FILTERS:
            for reference in ("original", "transformers"):
                out.append((name, {"reference": reference, "resample": resample, "size": {"shortestEdge": 224}, "crop": crop}))
        out.append((name, {"reference": "original", "resample": "bicubic", "size": {"shortestEdge": 224}, "crop": crop, "doResize": False}))
    return out


# Lab triples for the LAB -> RGB golden: every L* with a* and b* on a grid, then a hashed spread of the cube.
CIELAB_SAMPLE = {"grid_step": 15, "hashed": 32768, "multiplier": 2654435761, "width": 512}


def cielab_sample_bytes():
    """The triples as a TIFF stores them (a*, b* signed), in the order test/tiff_color.test.ts rebuilds them."""
    step = CIELAB_SAMPLE["grid_step"]
    ab = np.arange(0, 256, step)
    L, a, b = np.meshgrid(np.arange(256), ab, ab, indexing="ij")
    grid = np.stack([L.ravel(), a.ravel(), b.ravel()], -1)
    v = (np.arange(CIELAB_SAMPLE["hashed"], dtype=np.uint64) * CIELAB_SAMPLE["multiplier"]) % (1 << 24)
    hashed = np.stack([v >> 16, (v >> 8) & 255, v & 255], -1)
    return np.concatenate([grid, hashed]).astype(np.uint8)


def make_cielab_sample():
    """PIL's RGB for each sample triple (Image.frombytes unpacks LAB as TiffImagePlugin does), as one PNG."""
    triples = cielab_sample_bytes()
    width = CIELAB_SAMPLE["width"]
    assert len(triples) % width == 0
    lab = Image.frombytes("LAB", (width, len(triples) // width), triples.tobytes())
    rgb = lab.convert("RGB")
    del rgb.info["icc_profile"]  # ImageCms's profile carries the time it was made
    rgb.save(path("expected/cielab_sample.png"), optimize=True)
    return {**CIELAB_SAMPLE, "count": len(triples), "expected": "expected/cielab_sample.png"}


def make_variants():
    entries = []
    for i, (name, opts) in enumerate(variant_cases()):
        with Image.open(path(name)) as im:
            im.load()
            ref = original_reference if opts["reference"] == "original" else transformers_reference
            arr = ref(im, opts)
        expected = f"expected/variant{i:02d}_{os.path.splitext(name)[0]}.png"
        Image.fromarray(np.ascontiguousarray(arr), "RGB").save(path(expected), optimize=True)
        entries.append({"file": name, "options": opts, "expected": expected})
    return entries


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "expected"))
    cases, unreadable = make_inputs()
    entries = []
    swapped = []
    for name, note in cases:
        out = reference_crop(path(name), 224, 224)
        expected = f"expected/{os.path.splitext(name)[0]}.png"
        Image.fromarray(np.asarray(out), "RGB").save(path(expected), optimize=True)
        with Image.open(path(name)) as im:
            size_before_load = list(im.size)
            im.load()
            entry = {"file": name, "format": im.format, "mode": im.mode, "size": list(im.size),
                     "shortestEdge": 224, "crop": 224, "exifRotate": False, "expected": expected, "note": note}
            if list(im.size) != size_before_load:
                entry["sizeBeforeLoad"] = size_before_load
                swapped.append(entry)
            else:
                entries.append(entry)
    for name in unreadable:
        try:
            with Image.open(path(name)) as im:
                im.load()
        except OSError:
            continue
        raise AssertionError(f"PIL opens {name}")
    manifest = {
        "generator": "scripts/make_decode_goldens.py",
        "reference": "Pillow %s (Debian python3-pil), crops as scripts/make_image_goldens.py makes them" % PIL.__version__,
        "pillow": PIL.__version__,
        "images": entries,
        "swapped": swapped,
        "unreadable": [{"file": name, "reason": reason} for name, reason in unreadable.items()],
        "variants": make_variants(),
        "cielab": make_cielab_sample(),
    }
    with open(path("manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"{len(entries)} golden cases, {len(swapped)} with sides swapped on load, {len(unreadable)} files PIL cannot open, "
          f"{size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
