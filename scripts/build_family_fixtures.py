#!/usr/bin/python3
"""Build the CLIP-architecture family fixtures: small random-weight models in the
exact file layout of three real hub repos.

Dev-time only; the outputs are committed under fixtures/ so tests never need
Python.  Each fixture stands for one real repo (docs/families.md lists what was
verified about each, with sources):

  fixtures/clip-hub     Xenova/clip-vit-base-patch32: config.json with the legacy
                        text ids (bos 0, eos 2, pad 1), so transformers pools at
                        argmax(input_ids); text_model.onnx declares input_ids only
                        (optimum's CLIP text-with-projection export);
                        onnx/model.onnx, the combined graph with logit_scale inside;
                        _quantized variants of all three.
  fixtures/laion-clip   laion/CLIP-ViT-B-32-laion2B-s34B-b79K converted the
                        Transformers.js way: exact (erf) GELU, the legacy integer
                        "size": 224 / "crop_size": 224 preprocessor config.
  fixtures/mobileclip   Xenova/mobileclip_s0: config.json {"model_type": "clip"}
                        and nothing else; shortest edge 256, crop 256, bilinear, no
                        normalisation; a text tower without causal mask or
                        attention mask, so only padding to 77 with id 0 is exact.
                        (The real towers are MobileCLIP networks; this fixture has
                        CLIP-architecture towers behind the real file and I/O names.)

The torch modules, weight init, tokenizer files and ONNX export are
scripts/build_clip_fixture.py's; the _quantized files are
scripts/quantize_dynamic_int8.py's.  Same seed -> byte-identical files.

Usage (from the repository root):
    /usr/bin/python3 scripts/build_family_fixtures.py [--only clip-hub] [--out-root fixtures]
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_clip_fixture as clip  # noqa: E402
import quantize_dynamic_int8 as q8  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEGACY_TEXT_IDS = (0, 2, 1)  # text_config (bos, eos, pad) of the pre-4.31 conversions
# The learned temperature: trained CLIPs end at the clamp, exp(logit_scale) = 100.
LOGIT_SCALE = math.log(100.0)
CONTEXT_LENGTH = clip.MAX_POSITIONS
CLIP_TOKENIZE_PAD_ID = 0  # clip.tokenize / MobileCLIP's tokenizer pad with zeros

TOY_TEXT = {"width": 16, "layers": 2, "heads": 2}


def toy_vision(image):
    return {"width": 32, "layers": 2, "heads": 2, "patch": 32, "image": image}


OPENAI_MEAN = clip.PREPROCESSOR_CONFIG["image_mean"]
OPENAI_STD = clip.PREPROCESSOR_CONFIG["image_std"]
RESCALE = clip.PREPROCESSOR_CONFIG["rescale_factor"]

# Key order as in the real files.
XENOVA_CLIP_PREPROCESSOR = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": OPENAI_MEAN,
    "image_processor_type": "CLIPFeatureExtractor",
    "image_std": OPENAI_STD,
    "resample": 3,
    "rescale_factor": RESCALE,
    "size": {"shortest_edge": 224},
}
LAION_PREPROCESSOR = {
    "crop_size": 224,
    "do_center_crop": True,
    "do_normalize": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": OPENAI_MEAN,
    "image_std": OPENAI_STD,
    "resample": 3,
    "size": 224,
}
MOBILECLIP_S0_PREPROCESSOR = {
    "crop_size": {"height": 256, "width": 256},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": False,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_processor_type": "CLIPFeatureExtractor",
    "resample": 2,
    "rescale_factor": RESCALE,
    "size": {"shortest_edge": 256},
}

FIXTURES = {
    "clip-hub": {
        "hub_id": "Xenova/clip-vit-base-patch32",
        "converted_from": "openai/clip-vit-base-patch32",
        "seed": 1,
        "preset": {"text": TOY_TEXT, "vision": toy_vision(224), "projection_dim": 16},
        "hidden_act": "quick_gelu",
        "causal_text": True,
        "config": "clip",
        "preprocessor": XENOVA_CLIP_PREPROCESSOR,
        "hidden_state_outputs": True,
        "combined": True,
        "text_length": None,  # causal mask: any right padding is exact
        "quantized": ("text_model", "vision_model", "model"),
    },
    "laion-clip": {
        "hub_id": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        "converted_from": "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
        "seed": 2,
        "preset": {"text": TOY_TEXT, "vision": toy_vision(224), "projection_dim": 24},
        "hidden_act": "gelu",
        "causal_text": True,
        "config": "clip",
        "preprocessor": LAION_PREPROCESSOR,
        "hidden_state_outputs": True,
        "combined": False,
        "text_length": None,
        # A Transformers.js conversion also writes _quantized files; clip-hub covers that path,
        # so they are left out here to keep the repository small.
        "quantized": (),
    },
    "mobileclip": {
        "hub_id": "Xenova/mobileclip_s0",
        "seed": 3,
        "preset": {"text": TOY_TEXT, "vision": toy_vision(256), "projection_dim": 16},
        "hidden_act": "quick_gelu",
        "causal_text": False,
        "config": "model_type_only",
        "preprocessor": MOBILECLIP_S0_PREPROCESSOR,
        "hidden_state_outputs": False,
        "combined": False,
        "text_length": CONTEXT_LENGTH,  # no mask of any kind: only the training padding is exact
        "quantized": ("vision_model",),  # the variant whose inaccuracy the model card warns about
    },
}


class EmbedsOnly(nn.Module):
    """A tower's projected embedding alone, for exports that declare no hidden states."""

    def __init__(self, tower):
        super().__init__()
        self.tower = tower

    def forward(self, x):
        return self.tower(x)[0]


class CombinedClip(nn.Module):
    """transformers' CLIPModel.forward as optimum exports it to onnx/model.onnx: both
    embeddings L2-normalised, logits = exp(logit_scale) * cosine."""

    def __init__(self, text, vision, logit_scale):
        super().__init__()
        self.text = text
        self.vision = vision
        self.logit_scale = nn.Parameter(torch.tensor(logit_scale, dtype=torch.float32))

    def forward(self, input_ids, pixel_values, attention_mask):
        text_embeds, _ = self.text(input_ids, attention_mask)
        image_embeds, _ = self.vision(pixel_values)
        image_embeds = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        text_embeds = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = torch.matmul(text_embeds, image_embeds.t()) * self.logit_scale.exp()
        return logits_per_text.t(), logits_per_text, text_embeds, image_embeds


def build_model(name):
    """The fixture's torch towers (also used by make_family_goldens.py)."""
    spec = FIXTURES[name]
    return clip.build_towers(spec["preset"], spec["seed"], act=spec["hidden_act"], causal_text=spec["causal_text"])


def pad_row(ids, length, pad_id=CLIP_TOKENIZE_PAD_ID):
    if len(ids) > length:
        raise ValueError(f"{len(ids)} token ids do not fit in {length}")
    return list(ids) + [pad_id] * (length - len(ids))


def pad_batch(rows, pad_id=CLIP_TOKENIZE_PAD_ID):
    """Right-padded ids and their attention mask, to the longest row."""
    longest = max(len(r) for r in rows)
    ids = torch.tensor([pad_row(r, longest, pad_id) for r in rows], dtype=torch.int64)
    mask = torch.tensor([[1] * len(r) + [0] * (longest - len(r)) for r in rows], dtype=torch.int64)
    return ids, mask


def config_json(name, spec):
    if spec["config"] == "model_type_only":
        return {"model_type": "clip"}
    config = {"_name_or_path": spec["converted_from"]}
    config.update(clip.model_config(name, spec["preset"], spec["seed"], spec["hidden_act"], LEGACY_TEXT_IDS))
    return config


def export_text(text, spec, out, example_ids):
    path = os.path.join(out, "onnx", "text_model.onnx")
    proj, width = spec["preset"]["projection_dim"], spec["preset"]["text"]["width"]
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"}}
    shapes = {"text_embeds": ["batch_size", proj]}
    if spec["hidden_state_outputs"]:
        module, outputs = text, ["text_embeds", "last_hidden_state"]
        axes["last_hidden_state"] = {0: "batch_size", 1: "sequence_length"}
        shapes["last_hidden_state"] = ["batch_size", "sequence_length", width]
    else:
        module, outputs = EmbedsOnly(text), ["text_embeds"]
    clip.export_onnx(module, (example_ids,), path, ["input_ids"], outputs, axes)
    clip.set_output_shapes(path, shapes)


def export_vision(vision, spec, out, example_pixels):
    path = os.path.join(out, "onnx", "vision_model.onnx")
    v, proj = spec["preset"]["vision"], spec["preset"]["projection_dim"]
    axes = {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}}
    shapes = {"image_embeds": ["batch_size", proj]}
    if spec["hidden_state_outputs"]:
        module, outputs = vision, ["image_embeds", "last_hidden_state"]
        axes["last_hidden_state"] = {0: "batch_size"}
        shapes["last_hidden_state"] = ["batch_size", (v["image"] // v["patch"]) ** 2 + 1, v["width"]]
    else:
        module, outputs = EmbedsOnly(vision), ["image_embeds"]
    clip.export_onnx(module, (example_pixels,), path, ["pixel_values"], outputs, axes)
    clip.set_output_shapes(path, shapes)


def export_combined(combined, spec, out, example_ids, example_mask, example_pixels):
    path = os.path.join(out, "onnx", "model.onnx")
    proj = spec["preset"]["projection_dim"]
    clip.export_onnx(
        combined,
        (example_ids, example_pixels, example_mask),
        path,
        ["input_ids", "pixel_values", "attention_mask"],
        ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
        {
            "input_ids": {0: "text_batch_size", 1: "sequence_length"},
            "pixel_values": {0: "image_batch_size"},
            "attention_mask": {0: "text_batch_size", 1: "sequence_length"},
            "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
            "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
            "text_embeds": {0: "text_batch_size"},
            "image_embeds": {0: "image_batch_size"},
        },
    )
    clip.set_output_shapes(
        path,
        {
            "logits_per_image": ["image_batch_size", "text_batch_size"],
            "logits_per_text": ["text_batch_size", "image_batch_size"],
            "text_embeds": ["text_batch_size", proj],
            "image_embeds": ["image_batch_size", proj],
        },
    )


def reference_rows(text, bpe, text_length):
    """Per prompt: the ids exactly as fed to text_model.onnx and torch's text_embeds."""
    rows = []
    with torch.no_grad():
        for prompt in clip.REFERENCE_PROMPTS:
            ids = bpe.encode(prompt)
            if text_length is not None:
                ids = pad_row(ids, text_length)
            emb, _ = text(torch.tensor([ids], dtype=torch.int64))
            rows.append({"prompt": prompt, "input_ids": ids, "text_embeds": clip.tolist(emb[0])})
    return rows


def build(name, out_root, tok_dir):
    spec = FIXTURES[name]
    out = os.path.join(out_root, name)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    v = spec["preset"]["vision"]
    text, vision = build_model(name)

    clip.write_json(os.path.join(out, "config.json"), config_json(name, spec))
    clip.write_json(os.path.join(out, "preprocessor_config.json"), spec["preprocessor"])
    clip.write_tokenizer_files(tok_dir, out)

    bpe = clip.ClipBpe(tok_dir)
    prompt_ids = [bpe.encode(p) for p in clip.REFERENCE_PROMPTS]
    example_ids, example_mask = pad_batch(prompt_ids)
    if spec["text_length"] is not None:
        example_ids = torch.tensor([pad_row(r, spec["text_length"]) for r in prompt_ids], dtype=torch.int64)
    pixels = clip.reference_pixels(v["image"])
    example_pixels = torch.cat([pixels, -pixels])

    export_text(text, spec, out, example_ids)
    export_vision(vision, spec, out, example_pixels)

    reference = {
        "note": "torch outputs of the random-weight model; text_model/vision_model embeddings are NOT "
        "normalised (model.onnx's are)",
        "fixture": name,
        "stands_for": spec["hub_id"],
        "seed": spec["seed"],
        "preset": spec["preset"],
        "hidden_act": spec["hidden_act"],
        "causal_text_mask": spec["causal_text"],
        "text": reference_rows(text, bpe, spec["text_length"]),
    }
    with torch.no_grad():
        img, _ = vision(pixels)
    reference["image"] = {
        "pixel_values": "torch.linspace(-1, 1, n, float32).reshape(1, 3, %d, %d) with n = 3*%d*%d,"
        " i.e. flat C-order element i = -1 + 2*i/(n-1)" % ((v["image"],) * 4),
        "shape": [1, 3, v["image"], v["image"]],
        "image_embeds": clip.tolist(img[0]),
    }

    if spec["combined"]:
        combined = CombinedClip(text, vision, LOGIT_SCALE).eval()
        export_combined(combined, spec, out, example_ids, example_mask, example_pixels)
        with torch.no_grad():
            logits_per_image, logits_per_text, text_embeds, image_embeds = combined(
                example_ids, example_pixels, example_mask
            )
        reference["combined"] = {
            "graph": "onnx/model.onnx",
            "logit_scale": LOGIT_SCALE,
            "input_ids": example_ids.tolist(),
            "attention_mask": example_mask.tolist(),
            "pixel_values": "the image reference's tensor and its negation, batch of 2",
            "logits_per_image": [clip.tolist(r) for r in logits_per_image],
            "logits_per_text": [clip.tolist(r) for r in logits_per_text],
            "text_embeds": [clip.tolist(r) for r in text_embeds],
            "image_embeds": [clip.tolist(r) for r in image_embeds],
        }
    clip.write_json(os.path.join(out, "reference.json"), reference)

    for graph in spec["quantized"]:
        src = os.path.join(out, "onnx", f"{graph}.onnx")
        q8.quantize_file(src, os.path.join(out, "onnx", f"{graph}{q8.Q8_SUFFIX}.onnx"))
    clip.print_listing(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted(FIXTURES), action="append", help="build only this fixture (repeatable)")
    ap.add_argument("--out-root", default=os.path.join(ROOT, "fixtures"), help="folder the fixture folders go in")
    ap.add_argument("--tokenizer-dir", default=os.path.join(ROOT, "..", "shared", "clip"))
    args = ap.parse_args(argv)
    for name in args.only or sorted(FIXTURES):
        print(f"== {name} ({FIXTURES[name]['hub_id']})")
        build(name, args.out_root, os.path.normpath(args.tokenizer_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
