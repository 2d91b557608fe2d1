#!/usr/bin/python3
"""Generate PIL-reference goldens for every resampling filter and both Python
references, for test/image_preprocess.test.ts (test/golden/images/preprocess/).

Run with Debian's interpreter (python3-pil = Pillow 9.4, numpy, torch):

    /usr/bin/python3 scripts/make_preprocess_goldens.py

after scripts/make_image_goldens.py, whose inputs some cases reuse. Two
pipelines are re-stated with plain PIL/numpy calls (neither torchvision nor
transformers is installed; their steps are short):

- "original" (OpenAI / open_clip / MobileCLIP, torchvision on PIL):
  img.resize((w, h), filter) with torchvision's size rule (PIL itself forces
  NEAREST for P/1 and premultiplies RGBA/LA) -> torchvision center_crop
  (int(round(...)), zero padding in the image's mode) -> convert("RGB").
- "transformers" (CLIPImageProcessor / SiglipImageProcessor): convert("RGB")
  first -> numpy uint8 -> PIL resize of that RGB image (get_resize_output_image_size:
  the same int(size * long / short)) -> transformers center_crop on the array
  ((size - crop) // 2, zero padding placed ceil((crop - size) / 2) before).

Mode "I" resizes are also checked directly: 16-bit grey PNGs in, PIL's
32-bit resize, 16-bit PNGs out. The float steps (ToTensor's x/255 and
Normalize in torch, transformers' rescale and normalize in numpy) are written
as 256-entry tables.
"""

import json
import math
import os
import shutil
import sys

import numpy as np
import PIL
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_image_goldens import (  # noqa: E402
    OUT as IMAGES,
    synth_alpha,
    synth_rgb,
    torchvision_center_crop,
    write_png_raw,
)

OUT = os.path.join(IMAGES, "preprocess")

FILTERS = {
    "nearest": Image.NEAREST,
    "lanczos": Image.LANCZOS,
    "bilinear": Image.BILINEAR,
    "bicubic": Image.BICUBIC,
    "box": Image.BOX,
    "hamming": Image.HAMMING,
}
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# ---------------------------------------------------------------- references


def resize_size(w, h, size):
    """(w, h) after the resize: torchvision's and transformers' rule for a
    shortest edge (int(size * long / short)), or an exact {height, width}."""
    if "shortestEdge" in size:
        s = size["shortestEdge"]
        short, long = (w, h) if w <= h else (h, w)
        new_short, new_long = s, int(s * long / short)
        return (new_short, new_long) if w <= h else (new_long, new_short)
    return size["width"], size["height"]


def original_reference(img, opts):
    filt = FILTERS[opts.get("resample", "bicubic")]
    if opts.get("doResize", True):
        img = img.resize(resize_size(*img.size, opts["size"]), filt)
    if opts.get("doCenterCrop", True):
        img = torchvision_center_crop(img, opts["crop"]["height"], opts["crop"]["width"])
    return np.asarray(img.convert("RGB"))


def transformers_center_crop(arr, crop_h, crop_w):
    """transformers.image_transforms.center_crop on an HWC array."""
    h, w = arr.shape[:2]
    top = (h - crop_h) // 2
    left = (w - crop_w) // 2
    if top >= 0 and top + crop_h <= h and left >= 0 and left + crop_w <= w:
        return arr[top:top + crop_h, left:left + crop_w]
    new_h, new_w = max(crop_h, h), max(crop_w, w)
    padded = np.zeros((new_h, new_w) + arr.shape[2:], dtype=arr.dtype)
    top_pad = math.ceil((new_h - h) / 2)
    left_pad = math.ceil((new_w - w) / 2)
    padded[top_pad:top_pad + h, left_pad:left_pad + w] = arr
    top += top_pad
    left += left_pad
    return padded[max(0, top):min(new_h, top + crop_h), max(0, left):min(new_w, left + crop_w)]


def transformers_reference(img, opts):
    if img.mode != "RGB":
        img = img.convert("RGB")
    arr = np.array(img)
    if opts.get("doResize", True):
        w, h = resize_size(arr.shape[1], arr.shape[0], opts["size"])
        arr = np.array(Image.fromarray(arr).resize((w, h), FILTERS[opts.get("resample", "bicubic")]))
    if opts.get("doCenterCrop", True):
        arr = transformers_center_crop(arr, opts["crop"]["height"], opts["crop"]["width"])
    return arr


# ---------------------------------------------------------------- inputs


def grey16(w, h, seed, lo, hi):
    """Smooth ramps plus noise plus hard steps, in [lo, hi]."""
    rs = np.random.RandomState(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    v = lo + (hi - lo) * (0.5 + 0.25 * np.sin(x / 5.0) + 0.2 * np.cos(y / 7.0))
    v += rs.randint(-(hi - lo) // 40, (hi - lo) // 40 + 1, (h, w))
    v[(x // 9 + y // 9) % 4 == 0] = lo
    v[(x // 11 + y // 7) % 5 == 0] = hi
    return np.clip(v, lo, hi).astype(np.int64)


def save_grey16(path, arr):
    assert arr.min() >= 0 and arr.max() <= 65535, (arr.min(), arr.max())
    h, w = arr.shape
    data = arr.astype(">u2")
    write_png_raw(path, w, h, 16, 0, [data[y].tobytes() for y in range(h)])


def make_inputs():
    rgb = synth_rgb(90, 70, 101)
    rgb.save(os.path.join(OUT, "src_rgb_90x70.png"))
    synth_rgb(90, 70, 102).convert("L").save(os.path.join(OUT, "src_l_90x70.png"))
    rgba = synth_rgb(90, 70, 103)
    rgba.putalpha(synth_alpha(90, 70, 104))
    rgba.save(os.path.join(OUT, "src_rgba_90x70.png"))
    # Mid-range values, so that no filter's overshoot leaves 0..65535.
    save_grey16(os.path.join(OUT, "src_i_90x70.png"), grey16(90, 70, 105, 22000, 43000))


# ---------------------------------------------------------------- cases

UP = {"height": 97, "width": 131}
DOWN = {"height": 17, "width": 23}
MIXED = {"height": 30, "width": 150}


def squash(size, resample, **extra):
    return {"size": size, "doCenterCrop": False, "resample": resample, **extra}


def cases():
    out = []
    for name in FILTERS:
        for src, mode in [("src_rgb_90x70.png", "RGB"), ("src_l_90x70.png", "L"), ("src_rgba_90x70.png", "RGBA")]:
            for label, size in [("up", UP), ("down", DOWN)]:
                out.append(("rgb", src, squash(size, name), f"{mode} {label}scale, {name}"))
        out.append(("rgb", "src_rgb_90x70.png", squash(MIXED, name), f"RGB wider and shorter, {name}"))
        out.append(("rgb", "../grey16_130x97.png", squash({"height": 111, "width": 150}, name),
                    f"mode I resized in 32 bits then clipped by convert(RGB), {name}"))
        for label, size in [("up", UP), ("down", DOWN)]:
            out.append(("int32", "src_i_90x70.png", {**size, "resample": name}, f"mode I {label}scale, {name}"))

    def both(src, opts, note):
        for ref in ("original", "transformers"):
            out.append(("rgb", src, {**opts, "reference": ref}, f"{note} ({ref})"))

    shortest = lambda s: {"shortestEdge": s}  # noqa: E731
    both("../odd_253x397.png", squash({"height": 200, "width": 150}, "bicubic"), "squash without crop")
    both("../odd_253x397.png", {"size": shortest(224), "crop": {"height": 224, "width": 224}},
         "odd resize 224x351: crop top round(63.5) = 64 vs floor = 63")
    both("../wide_227x224.png", {"size": shortest(224), "crop": {"height": 224, "width": 224}},
         "no resize, crop left round(1.5) = 2 vs floor = 1")
    both("../odd_253x397.png", {"size": shortest(224), "crop": {"height": 200, "width": 160}}, "non-square crop")
    both("../face3_517x389.jpg", {"size": shortest(256), "crop": {"height": 240, "width": 240}, "resample": "bilinear",
                                  "doNormalize": False}, "MobileCLIP-style: bilinear, crop smaller than the resize, no normalisation")
    both("../rgba_320x240.png", {"size": shortest(200), "crop": {"height": 241, "width": 281}},
         "crop larger than the image on both axes, odd padding: floor before vs ceil before")
    both("../strip_37x611.png", {"size": shortest(224), "crop": {"height": 240, "width": 239}},
         "crop larger on one axis only")
    both("../palette_400x300.png", {"size": shortest(180), "crop": {"height": 225, "width": 239}},
         "P padding: palette[0] vs black")
    both("../palette_400x300.png", {"size": shortest(224), "crop": {"height": 224, "width": 224}, "resample": "bilinear"},
         "P: NEAREST in its own mode vs bilinear after convert(RGB)")
    for src, note in [
        ("../palette_trns_150x210.png", "P with tRNS"),
        ("../rgba_320x240.png", "RGBA: premultiplied resize vs alpha dropped first"),
        ("../la_260x180.png", "LA"),
        ("../bilevel_199x123.png", "mode 1"),
        ("../cmyk_240x320.jpg", "CMYK"),
        ("../grey16_130x97.png", "mode I"),
        ("../interlaced_257x199.gif", "GIF P, odd sizes"),
    ]:
        both(src, {"size": shortest(224), "crop": {"height": 224, "width": 224}}, note)
    both("../rgba_up_201x150.png", {"size": shortest(224), "crop": {"height": 224, "width": 224}, "resample": "lanczos"},
         "RGBA upscale, lanczos")
    out.append(("rgb", "../baseline420_500x375.jpg",
                squash({"height": 224, "width": 224}, "bicubic", reference="transformers"), "SigLIP: squash 224x224, bicubic"))
    out.append(("rgb", "../baseline420_500x375.jpg",
                squash({"height": 256, "width": 256}, "bilinear", reference="transformers"), "SigLIP 2: squash 256x256, bilinear"))
    return out


def float_tables():
    """The float32 steps after the crop, for every byte value, from torch
    (ToTensor + Normalize) and numpy (transformers' rescale + normalize)."""
    x = torch.arange(256, dtype=torch.uint8)
    torch_rescaled = x.float().div(255)
    mean = torch.tensor(CLIP_MEAN, dtype=torch.float32)[:, None]
    std = torch.tensor(CLIP_STD, dtype=torch.float32)[:, None]
    torch_normalized = (torch_rescaled[None, :] - mean) / std
    np_rescaled = (np.arange(256).astype(np.float64) * (1 / 255)).astype(np.float32)
    np_normalized = (np_rescaled[:, None] - np.array(CLIP_MEAN, dtype=np.float32)) / np.array(CLIP_STD, dtype=np.float32)
    return {
        "original_rescaled": torch_rescaled.tolist(),
        "original_clip_normalized": torch_normalized.tolist(),
        "transformers_rescaled": np_rescaled.tolist(),
        "transformers_clip_normalized": np_normalized.T.tolist(),
    }


def main():
    if not os.path.isfile(os.path.join(IMAGES, "manifest.json")):
        sys.exit("run scripts/make_image_goldens.py first: some cases reuse its inputs")
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "expected"))
    make_inputs()
    entries = []
    used = set()
    for kind, src, opts, note in cases():
        path = os.path.normpath(os.path.join(OUT, src))
        stem = os.path.splitext(os.path.basename(src))[0]
        tag = "_".join(str(v) for v in [
            opts.get("reference", "original")[0] if kind == "rgb" else "i32",
            opts.get("resample", "bicubic"),
            json.dumps(opts.get("size", opts), sort_keys=True),
            json.dumps(opts.get("crop", "")) if opts.get("doCenterCrop", True) and kind == "rgb" else "nocrop",
            "nonorm" if opts.get("doNormalize", True) is False else "",
        ])
        tag = "".join(c for c in tag if c.isalnum() or c == "_")
        expected = f"expected/{stem}__{tag}.png"
        assert expected not in used, expected
        used.add(expected)
        with Image.open(path) as img:
            mode, size = img.mode, list(img.size)
            if kind == "int32":
                assert img.mode == "I", img.mode
                res = np.asarray(img.resize((opts["width"], opts["height"]), FILTERS[opts["resample"]]))
                save_grey16(os.path.join(OUT, expected), res.astype(np.int64))
            else:
                ref = transformers_reference if opts.get("reference") == "transformers" else original_reference
                arr = ref(img, opts)
                Image.fromarray(np.ascontiguousarray(arr), "RGB").save(os.path.join(OUT, expected), optimize=True)
        entries.append({"kind": kind, "input": src, "mode": mode, "size": size, "options": opts,
                        "expected": expected, "note": note})
    manifest = {
        "generator": "scripts/make_preprocess_goldens.py",
        "pillow": PIL.__version__,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cases": entries,
        "floatTables": float_tables(),
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"{len(entries)} cases, {total / 1e6:.2f} MB under {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
