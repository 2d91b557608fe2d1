#!/usr/bin/python3
"""Write test/golden/families/{clip-hub,laion-clip,mobileclip}.json: what the Python
reference pipeline of each family gives on its fixture, image by image and prompt
by prompt, for zeroshot's family parity tests.

Dev-time only; the outputs are committed so tests never need Python.  Per fixture:

  images:  the 14 fixtures/demo-images/*.jpg and 6 odd ones from test/golden/images
           (RGBA, palette, greyscale, wide, tall, odd size), through the family's
           original transform (PIL computes every resize):
             clip-hub, laion-clip: OpenAI's / open_clip's
               Resize(224, BICUBIC) -> CenterCrop(224) -> convert("RGB")
               -> ToTensor -> Normalize(CLIP mean, std)
               (laion's preprocessor_config.json says "size": 224, "crop_size": 224,
               which Python's CLIPImageProcessor also reads as shortest edge 224 +
               centre crop 224)
             mobileclip: MobileCLIP's transform as open_clip builds it for the
               MobileCLIP models: Resize(256, BILINEAR) -> CenterCrop(256)
               -> convert("RGB") -> ToTensor (mean 0 / std 1: no normalisation).
               (apple/ml-mobileclip's own Compose has no RGB step; its README
               converts at open, which differs only on non-RGB images.)
           torchvision's resize size rule and round-half-even crop offsets as in
           make_image_goldens.py, whose functions are used.
  prompts: the 14 of specs/fairface-race.yaml and make_similarity_goldens.py's hard
           ones (HTML entities, mojibake, curly quote, whitespace, ligatures, > 77
           tokens), tokenised as clip.tokenize(truncate=True) does
           (make_tokenizer_goldens.py) and fed zero-padded to 77 with no attention
           mask (the causal towers make any right padding exact; MobileCLIP's
           unmasked tower needs exactly this).
  model:   the fixture's torch towers rebuilt by build_family_fixtures.py
           (checked against the fixture's reference.json).
  scores:  L2-normalised embeddings, similarities = 100 * image @ text.T (float32);
           for the record, logit_scale and softmax(exp(logit_scale) * cos) over the
           14 spec prompts.

Usage (from the repository root):
    PYTHONPATH=<folder with ftfy> /usr/bin/python3 scripts/make_family_goldens.py [--only NAME]

Needs torch, PIL, numpy, PyYAML, regex and ftfy (see make_tokenizer_goldens.py).
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_clip_fixture as clip  # noqa: E402
import build_family_fixtures as families  # noqa: E402
import make_image_goldens as image_goldens  # noqa: E402
import make_similarity_goldens as similarity_goldens  # noqa: E402
import make_tokenizer_goldens as tokenizer_goldens  # noqa: E402

import ftfy  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(ROOT, "fixtures", "demo-images")
GOLDEN_IMAGES_DIR = os.path.join(ROOT, "test", "golden", "images")
OUT_DIR = os.path.join(ROOT, "test", "golden", "families")

ODD_IMAGES = [
    "rgba_320x240.png",  # RGBA: resized premultiplied, alpha dropped after the crop
    "palette_400x300.png",  # mode P: PIL resizes palette indices with NEAREST whatever the filter
    "grey_300x200.png",  # mode L
    "strip_1500x45.png",  # very wide: x5 upscale
    "strip_37x611.png",  # very tall
    "odd_253x397.png",  # odd sizes: crop offsets round half to even
]

OPENAI_TRANSFORM = {
    "name": "OpenAI CLIP _transform / open_clip image_transform",
    "steps": "PIL open -> Resize(shortest edge, BICUBIC) -> CenterCrop -> convert('RGB') -> ToTensor -> Normalize",
    "resize_shortest_edge": 224,
    "resample": "bicubic",
    "crop": [224, 224],
    "convert_rgb": "after the crop",
    "normalize": {"mean": families.OPENAI_MEAN, "std": families.OPENAI_STD},
}
MOBILECLIP_TRANSFORM = {
    "name": "MobileCLIP's transform (mobileclip.create_model_and_transforms: Resize BILINEAR, CenterCrop, ToTensor) "
            "with open_clip's RGB step after the crop",
    "steps": "PIL open -> Resize(shortest edge, BILINEAR) -> CenterCrop -> convert('RGB') -> ToTensor",
    "resize_shortest_edge": 256,
    "resample": "bilinear",
    "crop": [256, 256],
    "convert_rgb": "after the crop",
    "normalize": None,
}
TRANSFORMS = {"clip-hub": OPENAI_TRANSFORM, "laion-clip": OPENAI_TRANSFORM, "mobileclip": MOBILECLIP_TRANSFORM}


def image_paths():
    demo = sorted((n for n in os.listdir(DEMO_DIR) if n.endswith(".jpg")), key=lambda n: int(n.split(".")[0]))
    if len(demo) != 14:
        sys.exit(f"expected 14 JPEGs in {DEMO_DIR}, found {len(demo)}")
    return [("fixtures/demo-images/" + n, os.path.join(DEMO_DIR, n)) for n in demo] + [
        ("test/golden/images/" + n, os.path.join(GOLDEN_IMAGES_DIR, n)) for n in ODD_IMAGES
    ]


RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR}


def reference_crop(path, transform):
    (crop_h, crop_w), shortest = transform["crop"], transform["resize_shortest_edge"]
    assert crop_h == crop_w, "square crops only"
    return image_goldens.reference_crop(path, shortest, crop_h, resample=RESAMPLE[transform["resample"]])


def pixel_tensor(crop, transform):
    if transform["normalize"] is not None:
        return similarity_goldens.pixel_tensor(crop)
    # torchvision ToTensor alone
    hwc = torch.from_numpy(np.array(crop, dtype=np.uint8, copy=True))
    return hwc.permute(2, 0, 1).contiguous().to(torch.float32).div(255)


def check_against_fixture(name, text, vision):
    """The rebuilt towers must be the committed fixture's: same outputs as its reference.json."""
    with open(os.path.join(ROOT, "fixtures", name, "reference.json"), encoding="utf-8") as f:
        reference = json.load(f)
    worst = 0.0
    with torch.no_grad():
        for row in reference["text"]:
            emb, _ = text(torch.tensor([row["input_ids"]], dtype=torch.int64))
            worst = max(worst, float((emb[0] - torch.tensor(row["text_embeds"])).abs().max()))
        emb, _ = vision(clip.reference_pixels(reference["image"]["shape"][-1]))
        worst = max(worst, float((emb[0] - torch.tensor(reference["image"]["image_embeds"])).abs().max()))
    if worst > 1e-5:
        sys.exit(f"rebuilt {name} differs from fixtures/{name}/reference.json by {worst:g}: rebuild the fixture")
    return worst


def golden_for(name, images, prompts, token_ids):
    spec = families.FIXTURES[name]
    transform = TRANSFORMS[name]
    text_model, vision_model = families.build_model(name)
    fixture_diff = check_against_fixture(name, text_model, vision_model)

    crops = [reference_crop(path, transform) for _, path in images]
    for (rel, _), crop in zip(images, crops):
        if crop.size != tuple(reversed(transform["crop"])) or crop.mode != "RGB":
            sys.exit(f"{rel}: crop is {crop.mode} {crop.size}")
    hashes = [hashlib.sha256(np.asarray(c, dtype=np.uint8).tobytes()).hexdigest() for c in crops]
    pixels = torch.stack([pixel_tensor(c, transform) for c in crops])

    ids = torch.tensor([families.pad_row(t, families.CONTEXT_LENGTH) for t in token_ids], dtype=torch.int64)
    with torch.no_grad():
        image_features, _ = vision_model(pixels)
        text_features, _ = text_model(ids)
        image_features = image_features / image_features.norm(dim=1, keepdim=True)
        text_features = text_features / text_features.norm(dim=1, keepdim=True)
        similarities = 100.0 * image_features @ text_features.t()
        spec_prompts = len(similarity_goldens.fairface_prompts())
        logits = image_features @ text_features[:spec_prompts].t() * torch.tensor(families.LOGIT_SCALE).exp()
        probabilities = logits.softmax(dim=1)
    assert similarities.dtype == torch.float32 and probabilities.dtype == torch.float32

    f32 = similarity_goldens.f32_list
    return {
        "generator": "scripts/make_family_goldens.py",
        "fixture": "fixtures/" + name,
        "stands_for": spec["hub_id"],
        "model": {"seed": spec["seed"], "hidden_act": spec["hidden_act"], "causal_text_mask": spec["causal_text"],
                  "max_abs_diff_vs_reference_json": fixture_diff},
        "versions": {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
                     "ftfy": ftfy.__version__},
        "preprocessing": transform,
        "tokenization": {
            "reference": "clip.tokenize(texts, truncate=True): ftfy, HTML unescape x2, whitespace, lower-case, "
                         "CLIP BPE, <|startoftext|> ... <|endoftext|>, cut to 77 with <|endoftext|> last",
            "fed_to_text_model": "each token_ids row right-padded with pad_id to length; no attention mask",
            "pad_id": families.CLIP_TOKENIZE_PAD_ID,
            "length": families.CONTEXT_LENGTH,
        },
        "images": [rel for rel, _ in images],
        "crop_sha256": hashes,
        "prompts": prompts,
        "token_ids": token_ids,
        "similarities": [f32(row) for row in similarities],
        "image_embeds": [f32(row) for row in image_features],
        "text_embeds": [f32(row) for row in text_features],
        "logit_scale": families.LOGIT_SCALE,
        "probabilities_over": f"the first {spec_prompts} prompts (specs/fairface-race.yaml): "
                              "softmax over prompts of exp(logit_scale) * cos, per image",
        "probabilities": [f32(row) for row in probabilities],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    parser.add_argument("--only", choices=sorted(families.FIXTURES), action="append")
    args = parser.parse_args()

    torch.use_deterministic_algorithms(True)
    prompts = similarity_goldens.fairface_prompts() + similarity_goldens.HARD_PROMPTS
    if len(set(prompts)) != len(prompts):
        sys.exit("prompts must be unique")
    shared_clip = os.path.join(args.shared, "clip")
    vocab, ranks, merges = tokenizer_goldens.load_vocabulary(os.path.join(shared_clip, "bpe_simple_vocab_16e6.txt.gz"))
    tokenizer_goldens.check_hf_layout(shared_clip, vocab, merges)
    tokenizer = tokenizer_goldens.ClipReference(vocab, ranks)
    token_ids = [tokenizer.tokenize(p)[1] for p in prompts]
    images = image_paths()

    os.makedirs(OUT_DIR, exist_ok=True)
    for name in args.only or sorted(families.FIXTURES):
        golden = golden_for(name, images, prompts, token_ids)
        out = os.path.join(OUT_DIR, name + ".json")
        with open(out, "w", encoding="utf-8") as f:
            # ASCII JSON so the hard prompts' characters survive any editor
            json.dump(golden, f, indent=1)
            f.write("\n")
        top = np.asarray(golden["similarities"]).argmax(axis=1).tolist()
        print(f"{name}: {len(images)} images x {len(prompts)} prompts -> {os.path.relpath(out, ROOT)} "
              f"(rebuilt vs reference.json {golden['model']['max_abs_diff_vs_reference_json']:g}; top prompts {top})")


if __name__ == "__main__":
    main()
