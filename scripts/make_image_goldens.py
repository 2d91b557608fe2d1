#!/usr/bin/python3
"""Generate golden inputs and PIL-reference crops for test/image_preprocess.test.ts.

Run with Debian's interpreter, which has python3-pil (Pillow 9.4) and numpy:

    /usr/bin/python3 scripts/make_image_goldens.py

The reference is OpenAI CLIP's transform as torchvision applies it to PIL
images: Resize(224, BICUBIC) -> CenterCrop(224) -> convert("RGB"). torchvision
is not needed; its PIL code path is re-stated below with plain PIL calls
(resize with the truncating size rule, crop with int(round(...)), zero padding
when the crop is larger than the image).

Everything is deterministic (seeded numpy RandomState, fixed encoder settings),
so re-running reproduces the same files with the same Pillow/libjpeg build.
"""

import io
import json
import os
import shutil
import struct
import zlib

import numpy as np
import PIL
from PIL import Image, ImageDraw, ImageOps

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "golden", "images")
FAIRFACE = "/work/shared/data/fairface-val/val"

DEFAULT_SHORTEST = 224
DEFAULT_CROP = 224


# ---------------------------------------------------------------- reference


def torchvision_resize(img, shortest, resample=Image.BICUBIC):
    """torchvision Resize(int) for PIL: shortest side -> `shortest`, the other
    side int(shortest * long / short) (truncation), PIL `resample` (CLIP's BICUBIC
    by default; MobileCLIP's transform uses BILINEAR)."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = shortest, int(shortest * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img.resize((new_w, new_h), resample)


def torchvision_center_crop(img, crop_h, crop_w):
    """torchvision center_crop for PIL: zero-pad when the crop is larger,
    then crop at int(round((size - crop) / 2)) (round half to even)."""
    w, h = img.size
    if crop_w > w or crop_h > h:
        pad = (
            (crop_w - w) // 2 if crop_w > w else 0,
            (crop_h - h) // 2 if crop_h > h else 0,
            (crop_w - w + 1) // 2 if crop_w > w else 0,
            (crop_h - h + 1) // 2 if crop_h > h else 0,
        )
        if img.mode == "P":
            palette = img.getpalette()
            img = ImageOps.expand(img, border=pad, fill=0)
            img.putpalette(palette)
        else:
            img = ImageOps.expand(img, border=pad, fill=0)
        w, h = img.size
        if (w, h) == (crop_w, crop_h):
            return img
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return img.crop((left, top, left + crop_w, top + crop_h))


def reference_crop(path, shortest, crop, exif_rotate=False, resample=Image.BICUBIC):
    img = Image.open(path)
    if exif_rotate:
        img = ImageOps.exif_transpose(img)
    img = torchvision_resize(img, shortest, resample)
    img = torchvision_center_crop(img, crop, crop)
    return img.convert("RGB")


# ---------------------------------------------------------------- content


def synth_rgb(w, h, seed, noise=6):
    """Gradients + seeded noise + a few shapes, as a PIL RGB image."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255.0 * x / max(w - 1, 1)
    g = 255.0 * y / max(h - 1, 1)
    b = 128.0 + 110.0 * np.sin((x + 2.0 * y) / 13.0)
    arr = np.dstack([r, g, b]) + rs.randint(-noise, noise + 1, (h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, x1 = sorted(rs.randint(0, max(w, 2), 2))
        y0, y1 = sorted(rs.randint(0, max(h, 2), 2))
        colour = tuple(int(c) for c in rs.randint(0, 256, 3))
        if rs.rand() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), outline=colour, width=3)
    draw.line((0, 0, w - 1, h - 1), fill=(255, 255, 255), width=2)
    return img


def synth_alpha(w, h, seed):
    """Alpha with fully transparent, fully opaque and partial regions."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w]
    a = (255.0 * x / max(w - 1, 1)).astype(np.int64)
    a += rs.randint(-20, 21, (h, w))
    a[: h // 4, :] = 0
    a[h - h // 4 :, :] = 255
    a[(x // 16 + y // 16) % 5 == 0] = 0
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "L")


# ---------------------------------------------------------------- writers


def png_chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png_raw(path, width, height, bit_depth, colour_type, rows):
    """Minimal PNG writer for what PIL cannot save (16-bit colour/LA)."""
    raw = b"".join(b"\x00" + row for row in rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
    data += png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(data)


def write_bmp(path, width, height, bits, pixel_data, palette=None, compression=0,
              masks=None, header_size=40, top_down=False, palette_entry=4):
    """BMP writer for layouts PIL does not save (4/16-bit, bitfields, RLE, V4)."""
    palette = palette or b""
    if header_size == 12:
        info = struct.pack("<IHHHH", 12, width, height, 1, bits)
    else:
        h = -height if top_down else height
        info = struct.pack("<IiiHHIIiiII", header_size, width, h, 1, bits, compression,
                           len(pixel_data), 2835, 2835,
                           len(palette) // palette_entry if palette else 0, 0)
        if header_size >= 52 and masks is not None:
            info += struct.pack("<IIII", *masks)
        info += b"\x00" * (header_size - len(info))
        if header_size == 40 and masks is not None:
            info += struct.pack("<III", *masks[:3])
    offset = 14 + len(info) + len(palette)
    head = b"BM" + struct.pack("<IHHI", offset + len(pixel_data), 0, 0, offset)
    with open(path, "wb") as f:
        f.write(head + info + palette + pixel_data)


def bmp_rows(rows, top_down):
    """Pads rows to 4 bytes and orders them as stored in the file."""
    out = []
    for row in (rows if top_down else rows[::-1]):
        out.append(row + b"\x00" * ((-len(row)) % 4))
    return b"".join(out)


def rle8_encode(indices):
    """Simple RLE8 encoder: runs for repeats, absolute mode for the rest."""
    h, w = indices.shape
    out = bytearray()
    for y in range(h - 1, -1, -1):
        row = indices[y]
        x = 0
        while x < w:
            run = 1
            while x + run < w and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 3 or w - x < 3:
                out += bytes((run, int(row[x])))
                x += run
            else:
                n = 3
                while x + n < w and n < 255 and not (
                        x + n + 2 < w and row[x + n] == row[x + n + 1] == row[x + n + 2]):
                    n += 1
                out += bytes((0, n)) + bytes(int(v) for v in row[x:x + n])
                if n % 2:
                    out += b"\x00"
                x += n
        out += b"\x00\x00"
    out += b"\x00\x01"
    return bytes(out)


# ---------------------------------------------------------------- cases


def make_inputs():
    """Writes every input file; returns a list of (file, note, extra) tuples."""
    cases = []

    def add(name, note, **extra):
        cases.append((name, note, extra))

    def save(img, name, note, **kw):
        img.save(os.path.join(OUT, name), **kw)
        add(name, note)

    # sizes (RGB PNG)
    save(synth_rgb(1, 1, 1), "tiny_1x1.png", "1x1 upscaled to 224x224")
    save(synth_rgb(50, 300, 2), "tall_50x300.png", "elongated, upscale")
    save(synth_rgb(223, 224, 3), "near_223x224.png", "one pixel short: horizontal+vertical upscale")
    save(synth_rgb(224, 224, 4), "exact_224x224.png", "already 224x224: no resize")
    save(synth_rgb(225, 224, 5), "wide_225x224.png", "no resize, crop left round(0.5)=0")
    save(synth_rgb(227, 224, 6), "wide_227x224.png", "no resize, crop left round(1.5)=2")
    save(synth_rgb(229, 224, 7), "wide_229x224.png", "no resize, crop left round(2.5)=2")
    save(synth_rgb(224, 231, 8), "tall_224x231.png", "no resize, crop top round(3.5)=4")
    save(synth_rgb(253, 397, 9), "odd_253x397.png", "odd sizes, downscale")
    save(synth_rgb(1500, 45, 10, noise=4), "strip_1500x45.png", "very elongated, upscale x4.98")
    save(synth_rgb(37, 611, 11), "strip_37x611.png", "very elongated tall")
    save(synth_rgb(231, 240, 12), "small_down_231x240.png", "slight downscale")

    # JPEG variants
    save(synth_rgb(500, 375, 20), "baseline420_500x375.jpg", "JPEG baseline 4:2:0",
         quality=90, subsampling=2)
    save(synth_rgb(500, 375, 21), "baseline444_500x375.jpg", "JPEG baseline 4:4:4",
         quality=90, subsampling=0)
    save(synth_rgb(375, 500, 22), "progressive_375x500.jpg", "JPEG progressive 4:2:0",
         quality=85, progressive=True)
    save(synth_rgb(1000, 700, 23, noise=6), "large422_1000x700.jpg", "JPEG 4:2:2, downscale x3.1",
         quality=80, subsampling=1)
    save(synth_rgb(310, 241, 24).convert("L"), "grey_310x241.jpg", "greyscale JPEG (mode L)",
         quality=90)
    save(synth_rgb(240, 320, 25).convert("CMYK"), "cmyk_240x320.jpg", "Adobe CMYK JPEG",
         quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    save(synth_rgb(320, 240, 26), "exif_orient6_320x240.jpg",
         "EXIF orientation 6: ignored by default like PIL", quality=90, exif=exif.tobytes())

    # PNG modes
    rgba = synth_rgb(320, 240, 30)
    rgba.putalpha(synth_alpha(320, 240, 31))
    save(rgba, "rgba_320x240.png", "RGBA, varying alpha incl. 0 and 255 (premultiplied resize)")
    rgba2 = synth_rgb(201, 150, 32)
    rgba2.putalpha(synth_alpha(201, 150, 33).rotate(90, expand=False))
    save(rgba2, "rgba_up_201x150.png", "RGBA upscale")
    save(synth_rgb(300, 200, 34).convert("L"), "grey_300x200.png", "mode L")
    la = synth_rgb(260, 180, 35).convert("L")
    la = Image.merge("LA", (la, synth_alpha(260, 180, 36)))
    save(la, "la_260x180.png", "mode LA (premultiplied resize)")
    pal = synth_rgb(400, 300, 37).quantize(colors=200, method=Image.Quantize.MEDIANCUT)
    save(pal, "palette_400x300.png", "mode P: NEAREST resize")
    palt = synth_rgb(150, 210, 38).quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    save(palt, "palette_trns_150x210.png", "mode P with tRNS: NEAREST, alpha ignored",
         transparency=3)
    pal4 = synth_rgb(97, 61, 39).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    save(pal4, "palette4bit_97x61.png", "4-bit palette, upscale NEAREST", bits=4)
    bw = synth_rgb(199, 123, 40).convert("L").point(lambda v: 255 if v > 120 else 0).convert("1")
    save(bw, "bilevel_199x123.png", "mode 1: NEAREST resize")
    save(synth_rgb(260, 230, 41), "rgb_trns_260x230.png", "RGB with tRNS (mode RGB)",
         transparency=(10, 20, 30))
    save(synth_rgb(230, 260, 42).convert("L"), "grey_trns_230x260.png", "L with tRNS (mode L)",
         transparency=17)
    rs = np.random.RandomState(43)
    g16 = (np.add.outer(np.arange(97) * 3, np.arange(130) * 2) + rs.randint(0, 40, (97, 130)))
    save(Image.fromarray(g16.astype(np.uint16)), "grey16_130x97.png",
         "16-bit grey PNG: PIL mode I, values 0..~520, clipped at 255 by convert(RGB)")
    rs = np.random.RandomState(44)
    rgb16 = (np.asarray(synth_rgb(120, 100, 45)).astype(np.uint32) * 256
             + rs.randint(0, 256, (100, 120, 3))).astype(">u2")
    write_png_raw(os.path.join(OUT, "rgb16_120x100.png"), 120, 100, 16, 2,
                  [rgb16[y].tobytes() for y in range(100)])
    add("rgb16_120x100.png", "16-bit RGB PNG: PIL keeps the high byte")
    l16 = (np.asarray(synth_rgb(150, 170, 46).convert("L")).astype(np.uint32) * 256
           + rs.randint(0, 256, (170, 150)))
    a16 = np.asarray(synth_alpha(150, 170, 47)).astype(np.uint32) * 256 + rs.randint(0, 256, (170, 150))
    la16 = np.dstack([l16, a16]).astype(">u2")
    write_png_raw(os.path.join(OUT, "la16_150x170.png"), 150, 170, 16, 4,
                  [la16[y].tobytes() for y in range(170)])
    add("la16_150x170.png", "16-bit LA PNG: PIL opens as RGBA (high bytes)")
    grey_pal = synth_rgb(210, 140, 48).convert("L").quantize(colors=32)
    save(grey_pal, "palette_grey_210x140.png", "P with grey palette")

    # WebP
    save(synth_rgb(280, 210, 50), "lossless_280x210.webp", "WebP lossless RGB", lossless=True)
    wa = synth_rgb(210, 280, 51)
    wa.putalpha(synth_alpha(210, 280, 52))
    save(wa, "lossless_rgba_210x280.webp", "WebP lossless RGBA", lossless=True)
    save(synth_rgb(300, 300, 53), "lossy_300x300.webp", "WebP lossy", quality=80)

    # GIF
    f0 = synth_rgb(240, 180, 60).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    f1 = synth_rgb(240, 180, 61).quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    f0.save(os.path.join(OUT, "animated_240x180.gif"), save_all=True, append_images=[f1],
            duration=100, loop=0)
    add("animated_240x180.gif", "animated GIF (2 frames): first frame, mode P, NEAREST")
    gt = synth_rgb(130, 170, 62).quantize(colors=32, method=Image.Quantize.MEDIANCUT)
    save(gt, "transparent_130x170.gif", "GIF with transparency index (colour kept)", transparency=5)
    save(synth_rgb(190, 250, 63).convert("L"), "grey_190x250.gif",
         "greyscale GIF: full ramp palette -> PIL mode L, BICUBIC", optimize=False)
    gi = synth_rgb(257, 199, 64).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    save(gi, "interlaced_257x199.gif", "interlaced GIF", interlace=True)

    # BMP
    save(synth_rgb(211, 161, 70), "rgb24_211x161.bmp", "BMP 24-bit bottom-up")
    save(synth_rgb(256, 190, 71).quantize(colors=100, method=Image.Quantize.MEDIANCUT),
         "pal8_256x190.bmp", "BMP 8-bit palette (mode P)")
    save(synth_rgb(190, 256, 72).convert("L"), "grey8_190x256.bmp", "BMP 8-bit grey ramp (mode L)")
    bmp32 = synth_rgb(150, 120, 73)
    bmp32.putalpha(synth_alpha(150, 120, 74))
    save(bmp32, "rgbx32_150x120.bmp", "BMP 32-bit BI_RGB: PIL ignores alpha (mode RGB)")
    save(bw.resize((170, 111)), "bilevel_170x111.bmp", "BMP 1-bit black/white (mode 1)")
    # hand-written layouts
    arr = np.asarray(bmp32)
    rows = [arr[y][:, [2, 1, 0, 3]].tobytes() for y in range(arr.shape[0])]
    write_bmp(os.path.join(OUT, "bgra32_bitfields_150x120.bmp"), 150, 120, 32,
              bmp_rows(rows, True), compression=3,
              masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000), header_size=108, top_down=True)
    add("bgra32_bitfields_150x120.bmp", "BMP V4 32-bit BI_BITFIELDS with alpha, top-down (mode RGBA)")
    p4 = synth_rgb(133, 77, 75).quantize(colors=16, method=Image.Quantize.MEDIANCUT)
    idx = np.asarray(p4)
    pal = p4.getpalette()[: 16 * 3]
    palette = b"".join(bytes((pal[3 * i + 2], pal[3 * i + 1], pal[3 * i], 0)) for i in range(16))
    rows = []
    for y in range(idx.shape[0]):
        row = list(idx[y]) + ([0] if idx.shape[1] % 2 else [])
        rows.append(bytes((row[i] << 4) | row[i + 1] for i in range(0, len(row), 2)))
    write_bmp(os.path.join(OUT, "pal4_133x77.bmp"), 133, 77, 4, bmp_rows(rows, False),
              palette=palette)
    add("pal4_133x77.bmp", "BMP 4-bit palette")
    c16 = np.asarray(synth_rgb(150, 110, 76)).astype(np.uint32)
    v565 = ((c16[:, :, 0] >> 3) << 11) | ((c16[:, :, 1] >> 2) << 5) | (c16[:, :, 2] >> 3)
    rows = [v565[y].astype("<u2").tobytes() for y in range(110)]
    write_bmp(os.path.join(OUT, "rgb565_150x110.bmp"), 150, 110, 16, bmp_rows(rows, False),
              compression=3, masks=(0xF800, 0x7E0, 0x1F))
    add("rgb565_150x110.bmp", "BMP 16-bit 5-6-5 BI_BITFIELDS")
    v555 = ((c16[:, :, 0] >> 3) << 10) | ((c16[:, :, 1] >> 3) << 5) | (c16[:, :, 2] >> 3)
    rows = [v555[y].astype("<u2").tobytes() for y in range(110)]
    write_bmp(os.path.join(OUT, "rgb555_150x110.bmp"), 150, 110, 16, bmp_rows(rows, True),
              top_down=True)
    add("rgb555_150x110.bmp", "BMP 16-bit 5-5-5 BI_RGB, top-down")
    p8 = synth_rgb(180, 120, 77, noise=0).quantize(colors=40, method=Image.Quantize.MEDIANCUT)
    idx = np.asarray(p8)
    pal = p8.getpalette()[: 40 * 3]
    palette = b"".join(bytes((pal[3 * i + 2], pal[3 * i + 1], pal[3 * i], 0)) for i in range(40))
    write_bmp(os.path.join(OUT, "rle8_180x120.bmp"), 180, 120, 8, rle8_encode(idx),
              palette=palette, compression=1)
    add("rle8_180x120.bmp", "BMP 8-bit RLE")
    arr = np.asarray(synth_rgb(120, 90, 78))
    rows = [arr[y][:, ::-1].tobytes() for y in range(90)]
    write_bmp(os.path.join(OUT, "os2core24_120x90.bmp"), 120, 90, 24, bmp_rows(rows, False),
              header_size=12)
    add("os2core24_120x90.bmp", "BMP OS/2 core header, 24-bit")

    # TIFF
    save(synth_rgb(180, 140, 80), "rgb_180x140.tif", "TIFF RGB uncompressed")
    save(synth_rgb(150, 190, 81), "rgb_lzw_150x190.tif", "TIFF RGB LZW", compression="tiff_lzw")
    save(synth_rgb(250, 190, 82).convert("L"), "grey_deflate_250x190.tif", "TIFF L deflate",
         compression="tiff_adobe_deflate")
    ta = synth_rgb(130, 170, 83)
    ta.putalpha(synth_alpha(130, 170, 84))
    save(ta, "rgba_130x170.tif", "TIFF RGBA (unassociated alpha), LZW", compression="tiff_lzw")

    # real photos: FairFace validation faces (CC BY 4.0)
    licence = ("FairFace (Karkkainen & Joo, 2021), validation split, CC BY 4.0; "
               "rescaled with PIL BICUBIC and re-encoded as JPEG")
    for src, size, name in [("1.jpg", (300, 300), "face1_300x300.jpg"),
                            ("2.jpg", (180, 250), "face2_180x250.jpg"),
                            ("3.jpg", (517, 389), "face3_517x389.jpg")]:
        face = Image.open(os.path.join(FAIRFACE, src)).convert("RGB").resize(size, Image.BICUBIC)
        face.save(os.path.join(OUT, name), quality=92)
        add(name, "real face photo", source=f"fairface-val/val/{src}", licence=licence)
    shutil.copyfile(os.path.join(FAIRFACE, "4.jpg"), os.path.join(OUT, "face4_224x224.jpg"))
    add("face4_224x224.jpg", "real face photo, original 224x224 file", source="fairface-val/val/4.jpg",
        licence="FairFace (Karkkainen & Joo, 2021), validation split, CC BY 4.0; unmodified")

    return cases


# Extra transform settings exercised on some inputs (file, options).
VARIANTS = [
    ("baseline420_500x375.jpg", {"shortestEdge": 256, "crop": 224}),
    ("odd_253x397.png", {"shortestEdge": 336, "crop": 336}),
    ("rgba_320x240.png", {"shortestEdge": 200, "crop": 224}),  # crop > image: zero padding
    ("palette_400x300.png", {"shortestEdge": 180, "crop": 224}),  # P padding uses index 0
    ("strip_37x611.png", {"shortestEdge": 224, "crop": 240}),
    ("exif_orient6_320x240.jpg", {"shortestEdge": 224, "crop": 224, "exifRotate": True}),
]


def main():
    # preprocess/ belongs to scripts/make_preprocess_goldens.py (rerun it after this).
    os.makedirs(OUT, exist_ok=True)
    for entry in os.listdir(OUT):
        if entry != "preprocess":
            path = os.path.join(OUT, entry)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
    cases = make_inputs()
    entries = []

    def expect(name, note, extra, opts):
        path = os.path.join(OUT, name)
        shortest = opts.get("shortestEdge", DEFAULT_SHORTEST)
        crop = opts.get("crop", DEFAULT_CROP)
        exif_rotate = opts.get("exifRotate", False)
        out = reference_crop(path, shortest, crop, exif_rotate)
        stem = os.path.splitext(name)[0]
        suffix = "" if not opts else "__s%d_c%d%s" % (shortest, crop, "_exif" if exif_rotate else "")
        expected = f"expected/{stem}{suffix}.png"
        # A fresh image, so no tRNS chunk carries over from the source's info.
        Image.fromarray(np.asarray(out), "RGB").save(os.path.join(OUT, expected), optimize=True)
        with Image.open(path) as im:
            entry = {
                "file": name,
                "format": im.format,
                "mode": im.mode,
                "size": list(im.size),
                "shortestEdge": shortest,
                "crop": crop,
                "exifRotate": exif_rotate,
                "expected": expected,
                "note": note,
            }
        entry.update(extra)
        entries.append(entry)

    os.makedirs(os.path.join(OUT, "expected"))
    for name, note, extra in cases:
        expect(name, note, extra, {})
    notes = {name: (note, extra) for name, note, extra in cases}
    for name, opts in VARIANTS:
        note, extra = notes[name]
        expect(name, note, extra, opts)

    manifest = {
        "generator": "scripts/make_image_goldens.py",
        "reference": "Pillow %s (Debian python3-pil): Image.open -> resize((w, h), BICUBIC) with "
                     "torchvision's size rule -> torchvision center crop -> convert('RGB')" % PIL.__version__,
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "images": entries,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    inputs = sum(os.path.getsize(os.path.join(OUT, e)) for e in os.listdir(OUT)
                 if os.path.isfile(os.path.join(OUT, e)))
    crops = sum(os.path.getsize(os.path.join(OUT, "expected", e))
                for e in os.listdir(os.path.join(OUT, "expected")))
    print(f"{len(entries)} cases, inputs {inputs / 1e6:.2f} MB, expected crops {crops / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
