#!/usr/bin/python3
"""Write test/golden/similarities.json: the image x prompt similarities that the
Python CLIP reference pipeline gives on the tiny fixture model, for
test/parity.test.ts to hold zeroshot's pipeline to, number by number.

Dev-time only; the output is committed so tests never need Python.  The
reference is what a Python user of OpenAI CLIP runs:

  images:  PIL Image.open -> Resize(224, BICUBIC) -> CenterCrop(224)
           -> convert("RGB") -> ToTensor -> Normalize(CLIP mean, std)
           (torchvision's PIL path, re-stated with PIL by make_image_goldens.py,
           whose functions are reused here; ToTensor/Normalize in float32 torch)
  prompts: clip.tokenize(prompts, truncate=True), i.e. make_tokenizer_goldens.py's
           reference tokenizer, zero-padded to 77 with no attention mask
  model:   the fixture's torch modules rebuilt from build_clip_fixture.py with the
           fixture's seed (checked against fixtures/tiny-clip/reference.json)
  scores:  L2-normalise both, 100 * image @ text.T, float32

Besides the similarities, the file holds per image the sha256 of its
224x224x3 uint8 crop and per prompt its token ids, plus both normalised
embeddings, so that a mismatch can be traced to pixels, tokens or the model.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_similarity_goldens.py [--shared ../shared]

Needs torch, PIL, numpy and PyYAML (Debian python3-torch, python3-pil, python3-yaml), ftfy and regex
(see make_tokenizer_goldens.py).
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import PIL

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_clip_fixture as fixture  # noqa: E402
import make_image_goldens as image_goldens  # noqa: E402
import make_tokenizer_goldens as tokenizer_goldens  # noqa: E402

import ftfy  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE_DIR = os.path.join(ROOT, "fixtures", "tiny-clip")
IMAGES_DIR = os.path.join(ROOT, "test", "golden", "images")
SPEC = os.path.join(ROOT, "specs", "fairface-race.yaml")
OUT = os.path.join(ROOT, "test", "golden", "similarities.json")

IMAGE_SIZE = 224
# Varied decoders and PIL modes; all use the default 224/224 transform.
IMAGES = [
    "face1_300x300.jpg",  # FairFace photos (downscale, upscale, wide, exact size)
    "face2_180x250.jpg",
    "face3_517x389.jpg",
    "face4_224x224.jpg",
    "palette_400x300.png",  # mode P: NEAREST resize
    "rgba_320x240.png",  # RGBA: premultiplied resize, alpha dropped after the crop
    "la_260x180.png",  # LA
    "rgb24_211x161.bmp",
    "cmyk_240x320.jpg",  # Adobe CMYK JPEG: resized in CMYK
    "grey16_130x97.png",  # 16-bit grey: PIL mode I, clipped at 255 by convert("RGB")
    "rgb16_120x100.png",  # 16-bit RGB: PIL keeps the high byte
    "progressive_375x500.jpg",
    "lossy_300x300.webp",
    "strip_1500x45.png",  # extreme aspect ratio, x5 upscale
]

# Prompts where a tokenizer without CLIP's ftfy + HTML cleaning, or one that
# truncates differently, gives other ids.
HARD_PROMPTS = [
    "a photo of a black &amp; white cat",  # HTML entity
    "a photo of a cafÃ© owner",  # mojibake: ftfy repairs it to "café"
    "a photo of a woman\u2019s face",  # curly apostrophe: ftfy straightens it, so "'s" splits off
    "A  PHOTO\tof a\u00a0Man &amp;quot;in a hat&amp;quot;",  # whitespace runs, case, double-escaped entity
    "a photo of a \ufb01re\ufb01ghter \U0001f692 \uff46\uff55\uff4c\uff4c-width",  # ligature, emoji, full-width
    # > 77 tokens: cut to 77 with <|endoftext|> last
    "a detailed photograph of a smiling person wearing a red scarf, a blue hat and round glasses, "
    "standing near a tall window in the soft afternoon light, " * 3,
]


def fairface_prompts():
    """The 14 prompts of specs/fairface-race.yaml, class by class in spec order."""
    with open(SPEC, encoding="utf-8") as f:
        classes = yaml.safe_load(f)["classes"]
    prompts = [p for class_prompts in classes.values() for p in class_prompts]
    if len(prompts) != 14:
        sys.exit(f"expected 14 prompts in {SPEC}, read {len(prompts)}")
    return prompts


def build_model(seed):
    """The fixture's torch towers, built the way build_clip_fixture.main builds them."""
    preset = fixture.PRESETS["tiny"]
    torch.manual_seed(seed)
    gen_text = torch.Generator().manual_seed(seed * 2 + 1)
    gen_vision = torch.Generator().manual_seed(seed * 2 + 2)
    t, v, proj = preset["text"], preset["vision"], preset["projection_dim"]
    text = fixture.TextEncoder(t["width"], t["layers"], t["heads"], proj)
    vision = fixture.VisionEncoder(v["width"], v["layers"], v["heads"], v["patch"], v["image"], proj)
    fixture.init_weights(text, gen_text)
    fixture.init_weights(vision, gen_vision)
    return text.eval(), vision.eval()


def check_against_fixture(text, vision, reference):
    """The rebuilt weights must be the fixture's: same outputs as its reference.json."""
    worst = 0.0
    with torch.no_grad():
        for row in reference["text"]:
            ids = torch.tensor([row["input_ids"]], dtype=torch.int64)
            emb, _ = text(ids, torch.ones_like(ids))
            worst = max(worst, float((emb[0] - torch.tensor(row["text_embeds"])).abs().max()))
        emb, _ = vision(fixture.reference_pixels(IMAGE_SIZE))
        worst = max(worst, float((emb[0] - torch.tensor(reference["image"]["image_embeds"])).abs().max()))
    if worst > 1e-6:
        sys.exit(f"rebuilt model differs from fixtures/tiny-clip/reference.json by {worst:g}")
    return worst


def pixel_tensor(crop):
    """torchvision ToTensor + Normalize on an RGB crop, in float32 as torchvision computes it."""
    hwc = torch.from_numpy(np.array(crop, dtype=np.uint8, copy=True))
    x = hwc.permute(2, 0, 1).contiguous().to(torch.float32).div(255)
    mean = torch.as_tensor(fixture.PREPROCESSOR_CONFIG["image_mean"], dtype=torch.float32)
    std = torch.as_tensor(fixture.PREPROCESSOR_CONFIG["image_std"], dtype=torch.float32)
    return x.sub(mean[:, None, None]).div(std[:, None, None])


def f32_list(t):
    """Shortest decimals that round-trip each float32."""
    return [float(repr(np.float32(x))) for x in t.reshape(-1).tolist()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    args = parser.parse_args()

    with open(os.path.join(FIXTURE_DIR, "reference.json"), encoding="utf-8") as f:
        reference = json.load(f)
    with open(os.path.join(FIXTURE_DIR, "config.json"), encoding="utf-8") as f:
        fixture_info = json.load(f)["zeroshot_fixture"]
    if fixture_info["preset"] != "tiny":
        sys.exit(f"fixtures/tiny-clip has preset {fixture_info['preset']}, expected tiny")
    torch.use_deterministic_algorithms(True)
    text_model, vision_model = build_model(fixture_info["seed"])
    fixture_diff = check_against_fixture(text_model, vision_model, reference)

    # ---- images ----
    crops, hashes = [], []
    for name in IMAGES:
        crop = image_goldens.reference_crop(os.path.join(IMAGES_DIR, name), IMAGE_SIZE, IMAGE_SIZE)
        if crop.size != (IMAGE_SIZE, IMAGE_SIZE):
            sys.exit(f"{name}: crop is {crop.size}")
        hashes.append(hashlib.sha256(np.asarray(crop, dtype=np.uint8).tobytes()).hexdigest())
        crops.append(pixel_tensor(crop))
    pixels = torch.stack(crops)

    # ---- prompts ----
    prompts = fairface_prompts() + HARD_PROMPTS
    if len(set(prompts)) != len(prompts):
        sys.exit("prompts must be unique")
    shared_clip = os.path.join(args.shared, "clip")
    vocab, ranks, merges = tokenizer_goldens.load_vocabulary(os.path.join(shared_clip, "bpe_simple_vocab_16e6.txt.gz"))
    tokenizer_goldens.check_hf_layout(shared_clip, vocab, merges)
    tokenizer = tokenizer_goldens.ClipReference(vocab, ranks)
    token_ids = [tokenizer.tokenize(p)[1] for p in prompts]
    # clip.tokenize's batch: zero padding to 77, and the model sees no attention mask
    # (the causal mask keeps padding out of the pooled end-of-text position).
    ids = torch.zeros(len(prompts), tokenizer_goldens.CONTEXT_LENGTH, dtype=torch.int64)
    for row, tokens in enumerate(token_ids):
        ids[row, : len(tokens)] = torch.tensor(tokens)

    # ---- model and scores ----
    with torch.no_grad():
        image_features, _ = vision_model(pixels)
        text_features, _ = text_model(ids, torch.ones_like(ids))
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        similarities = 100.0 * image_features @ text_features.t()
    assert similarities.dtype == torch.float32

    golden = {
        "generator": "scripts/make_similarity_goldens.py",
        "reference": "PIL open -> Resize(224, BICUBIC) -> CenterCrop(224) -> convert('RGB') -> ToTensor -> "
                     "Normalize (float32); clip.tokenize(truncate=True), zero-padded to 77, no attention mask; "
                     "fixtures/tiny-clip rebuilt in torch; 100 * normalised image @ normalised text.T in float32",
        "model": {"fixture": "fixtures/tiny-clip", "preset": fixture_info["preset"], "seed": fixture_info["seed"],
                  "max_abs_diff_vs_reference_json": fixture_diff},
        "versions": {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
                     "ftfy": ftfy.__version__},
        "images": IMAGES,
        "crop_sha256": hashes,
        "prompts": prompts,
        "token_ids": token_ids,
        "similarities": [f32_list(row) for row in similarities],
        "image_embeds": [f32_list(row) for row in image_features],
        "text_embeds": [f32_list(row) for row in text_features],
    }
    with open(OUT, "w", encoding="utf-8") as f:
        # ASCII JSON so the hard prompts' characters survive any editor
        json.dump(golden, f, indent=1)
        f.write("\n")
    top = similarities.argmax(dim=1).tolist()
    print(f"{len(IMAGES)} images x {len(prompts)} prompts -> {OUT}")
    print(f"rebuilt model vs reference.json: max |diff| {fixture_diff:g}; top prompt per image: {top}")


if __name__ == "__main__":
    main()
