#!/usr/bin/python3
"""Build a small CLIP-architecture model with random weights, exported to ONNX
in the Hugging Face / Transformers.js folder layout.

Dev-time only: the output of the "tiny" preset is committed under
fixtures/tiny-clip so that tests and CI never need Python.  The weights are
random, so the model is useless for real classification; it exists to exercise
the real code paths (tokenizer, image processor, ONNX sessions, batching,
padding) against a model of the real architecture.

Usage:
    /usr/bin/python3 scripts/build_clip_fixture.py --out fixtures/tiny-clip
    /usr/bin/python3 scripts/build_clip_fixture.py --out /tmp/clip-b32 --preset vit-b-32

Requires torch and onnx (Debian: python3-torch 1.13, python3-onnx); nothing
else beyond the standard library.  Run it with /usr/bin/python3.

The architecture follows the published description of CLIP (Radford et al.,
2021): pre-LayerNorm transformer blocks with quick-GELU MLPs; a causal text
transformer pooled at the end-of-text token; a ViT image encoder pooled at the
class token; linear (bias-free) projections into a joint embedding space.
"""

import argparse
import json
import math
import os
import re
import shutil
import sys
import unicodedata

try:
    import torch
    import torch.nn as nn
except ImportError:  # e.g. a pyenv python3 first on PATH
    sys.exit("build_clip_fixture.py needs torch: apt-get install python3-torch python3-onnx, "
             "then run it with /usr/bin/python3")

VOCAB_SIZE = 49408
MAX_POSITIONS = 77
BOS_ID = 49406  # <|startoftext|>
EOS_ID = 49407  # <|endoftext|>, the largest id; also the padding token
PAD_ID_CONFIG = 1  # what openai/clip-vit-base-patch32's config.json says
LN_EPS = 1e-5
OPSET = 17

PRESETS = {
    "tiny": {
        "text": {"width": 32, "layers": 2, "heads": 2},
        "vision": {"width": 32, "layers": 2, "heads": 2, "patch": 32, "image": 224},
        "projection_dim": 32,
    },
    "vit-b-32": {
        "text": {"width": 512, "layers": 12, "heads": 8},
        "vision": {"width": 768, "layers": 12, "heads": 12, "patch": 32, "image": 224},
        "projection_dim": 512,
    },
}

REFERENCE_PROMPTS = [
    "a photo of a white man",
    "a photo of an east asian woman",
    "a photo of a cat",
]

PREPROCESSOR_CONFIG = {
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": [0.48145466, 0.4578275, 0.40821073],
    "image_processor_type": "CLIPImageProcessor",
    "image_std": [0.26862954, 0.26130258, 0.27577711],
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 224},
}

TOKENIZER_FILES_COPIED = ["tokenizer.json", "vocab.json", "merges.txt"]
SPECIAL_TOKEN_KEYS = ["bos_token", "eos_token", "unk_token", "pad_token"]


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


# config.json `hidden_act` -> activation: OpenAI's CLIPs use quick-GELU, the
# LAION/open_clip CLIPs the exact (erf) GELU.
ACTIVATIONS = {"quick_gelu": quick_gelu, "gelu": nn.functional.gelu}


class SelfAttention(nn.Module):
    """Multi-head self-attention with separate q/k/v/out projections (with bias).

    `bias` is an additive mask broadcastable to [batch, heads, q, k]
    (0 where attending is allowed, a large negative number where not).
    """

    def __init__(self, width, heads):
        super().__init__()
        if width % heads != 0:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads = heads
        self.head_dim = width // heads
        self.scale = self.head_dim ** -0.5
        self.q = nn.Linear(width, width)
        self.k = nn.Linear(width, width)
        self.v = nn.Linear(width, width)
        self.out = nn.Linear(width, width)

    def _split(self, t):
        b = t.shape[0]
        # [b, s, width] -> [b, heads, s, head_dim]
        return t.reshape(b, -1, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, bias=None):
        b = x.shape[0]
        q = self._split(self.q(x) * self.scale)
        k = self._split(self.k(x))
        v = self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2))
        if bias is not None:
            scores = scores + bias
        weights = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(weights, v)  # [b, heads, s, head_dim]
        ctx = ctx.transpose(1, 2).reshape(b, -1, self.heads * self.head_dim)
        return self.out(ctx)


class Block(nn.Module):
    """Pre-LN residual block: x + attn(LN(x)); x + mlp(LN(x))."""

    def __init__(self, width, heads, act="quick_gelu"):
        super().__init__()
        self.act = ACTIVATIONS[act]
        self.ln_attn = nn.LayerNorm(width, eps=LN_EPS)
        self.attn = SelfAttention(width, heads)
        self.ln_mlp = nn.LayerNorm(width, eps=LN_EPS)
        self.fc_in = nn.Linear(width, 4 * width)
        self.fc_out = nn.Linear(4 * width, width)

    def forward(self, x, bias=None):
        x = x + self.attn(self.ln_attn(x), bias)
        x = x + self.fc_out(self.act(self.fc_in(self.ln_mlp(x))))
        return x


class TextEncoder(nn.Module):
    """`causal=False` is MobileCLIP's text encoder setting (no causal mask: every
    position, padding included, sees every other, so only fixed-length padding is
    exact).  forward() without `attention_mask` is the graph optimum's
    text-with-projection export declares: `input_ids` only."""

    NEG = -1e9

    def __init__(self, width, layers, heads, projection_dim, act="quick_gelu", causal=True):
        super().__init__()
        self.causal = causal
        self.token_embedding = nn.Embedding(VOCAB_SIZE, width)
        self.position_embedding = nn.Parameter(torch.zeros(MAX_POSITIONS, width))
        self.blocks = nn.ModuleList([Block(width, heads, act) for _ in range(layers)])
        self.ln_final = nn.LayerNorm(width, eps=LN_EPS)
        self.projection = nn.Linear(width, projection_dim, bias=False)
        # Additive causal mask for the longest sequence; sliced per input.
        causal = torch.triu(torch.ones(MAX_POSITIONS, MAX_POSITIONS, dtype=torch.bool), diagonal=1)
        self.register_buffer(
            "causal_bias",
            torch.zeros(MAX_POSITIONS, MAX_POSITIONS).masked_fill(causal, self.NEG),
            persistent=False,
        )

    def forward(self, input_ids, attention_mask=None):
        seq = input_ids.shape[1]
        x = self.token_embedding(input_ids) + self.position_embedding[:seq]
        # causal [1, 1, s, s] + padding (keys) [b, 1, 1, s], each when present
        pad = None if attention_mask is None else (1.0 - attention_mask.to(x.dtype)) * self.NEG
        bias = self.causal_bias[:seq, :seq].unsqueeze(0).unsqueeze(0) if self.causal else None
        if pad is not None:
            bias = pad[:, None, None, :] if bias is None else bias + pad[:, None, None, :]
        for block in self.blocks:
            x = block(x, bias)
        x = self.ln_final(x)
        # Pool at the first end-of-text token: it has the largest id, so argmax
        # finds it (first occurrence on ties, also when padded with it).
        # int32 cast: ONNX Runtime's ArgMax has no int64 kernel.
        eot = input_ids.to(torch.int32).argmax(dim=-1).to(torch.int64)
        index = eot.reshape(-1, 1, 1).expand(-1, 1, x.shape[2])
        pooled = torch.gather(x, 1, index)[:, 0, :]
        return self.projection(pooled), x


class VisionEncoder(nn.Module):
    def __init__(self, width, layers, heads, patch, image, projection_dim, act="quick_gelu"):
        super().__init__()
        if image % patch != 0:
            raise ValueError(f"image size {image} is not a multiple of patch size {patch}")
        self.patch_embedding = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(width))
        n_positions = (image // patch) ** 2 + 1
        self.position_embedding = nn.Parameter(torch.zeros(n_positions, width))
        self.ln_pre = nn.LayerNorm(width, eps=LN_EPS)
        self.blocks = nn.ModuleList([Block(width, heads, act) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width, eps=LN_EPS)
        self.projection = nn.Linear(width, projection_dim, bias=False)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values)  # [b, width, g, g]
        x = x.flatten(2).transpose(1, 2)  # [b, g*g, width]
        cls = self.class_embedding.reshape(1, 1, -1).expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.position_embedding
        x = self.ln_pre(x)
        for block in self.blocks:
            x = block(x)
        pooled = self.ln_post(x[:, 0, :])
        return self.projection(pooled), x


def init_weights(module, generator):
    """Random init from an explicit generator (deterministic for a seed).

    Linear weights use std 1/sqrt(fan_in) (2/sqrt(fan_in) for the attention
    value and output projections) rather than CLIP's small training init, so
    that every block contributes visibly and embeddings of different inputs
    are clearly different; LayerNorm gains/biases are jittered too.
    """

    def normal_(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=generator) * std + mean)

    wide = set()
    for m in module.modules():
        if isinstance(m, SelfAttention):
            wide.update((id(m.v), id(m.out)))
    for m in module.modules():
        if isinstance(m, nn.Linear):
            gain = 2.0 if id(m) in wide else 1.0
            normal_(m.weight, gain / math.sqrt(m.in_features))
            if m.bias is not None:
                normal_(m.bias, 0.02)
        elif isinstance(m, nn.Conv2d):
            fan_in = m.in_channels * m.kernel_size[0] * m.kernel_size[1]
            normal_(m.weight, 1.0 / math.sqrt(fan_in))
        elif isinstance(m, nn.Embedding):
            normal_(m.weight, 0.1)
        elif isinstance(m, nn.LayerNorm):
            normal_(m.weight, 0.1, mean=1.0)
            normal_(m.bias, 0.02)
    if isinstance(module, TextEncoder):
        normal_(module.position_embedding, 0.05)
    if isinstance(module, VisionEncoder):
        normal_(module.class_embedding, 0.1)
        normal_(module.position_embedding, 0.05)


# --------------------------------------------------------------------------
# Tokenisation (for reference.json; cross-checked against Transformers.js)
# --------------------------------------------------------------------------


def byte_symbols():
    """Byte -> printable unicode symbol table of byte-level BPE.

    Printable Latin-1 bytes stand for themselves; the remaining bytes are
    mapped, in order, to code points 256, 257, ...
    """
    keep = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("\u00a1"), ord("\u00ac") + 1))
        + list(range(ord("\u00ae"), ord("\u00ff") + 1))
    )
    table = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


# Approximates the tokenizer.json split pattern with Python's `re`
# (\p{L} ~ [^\W\d_], \p{N} ~ \d).  Exact for the ASCII prompts used here.
SPLIT_RE = re.compile(
    r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+"
)


class ClipBpe:
    def __init__(self, tokenizer_dir):
        with open(os.path.join(tokenizer_dir, "vocab.json"), encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(os.path.join(tokenizer_dir, "merges.txt"), encoding="utf-8") as f:
            lines = [l.rstrip("\n") for l in f]
        pairs = [tuple(l.split(" ")) for l in lines if l and not l.startswith("#version")]
        self.rank = {p: i for i, p in enumerate(pairs)}
        self.bytes = byte_symbols()

    def _bpe(self, word):
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            best = None
            for i in range(len(symbols) - 1):
                r = self.rank.get((symbols[i], symbols[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            a, b = symbols[best[1]], symbols[best[1] + 1]
            merged = []
            i = 0
            while i < len(symbols):
                if i < len(symbols) - 1 and symbols[i] == a and symbols[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return symbols

    def encode(self, text):
        text = unicodedata.normalize("NFC", text)
        text = re.sub(r"\s+", " ", text).strip().lower()
        ids = [BOS_ID]
        for piece in SPLIT_RE.findall(text):
            word = "".join(self.bytes[b] for b in piece.encode("utf-8"))
            for sym in self._bpe(word):
                ids.append(self.vocab[sym])
        # Over-long input: keep <|startoftext|> and end with <|endoftext|>, as
        # the Python Hugging Face tokenizers do.  (Transformers.js v4's
        # `truncation: true` just cuts at 77 and drops the <|endoftext|>.)
        return ids[: MAX_POSITIONS - 1] + [EOS_ID]


# --------------------------------------------------------------------------
# Output files
# --------------------------------------------------------------------------


def export_onnx(module, args, path, input_names, output_names, dynamic_axes):
    module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            args,
            path,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic_axes,
            opset_version=OPSET,
            do_constant_folding=True,
            export_params=True,
        )


def set_output_shapes(path, shapes):
    """Give the graph outputs clean shapes (the exporter leaves generated names
    such as 'Addlast_hidden_state_dim_1' where it lost track of a static size),
    then validate the model."""
    import onnx  # python3-onnx

    model = onnx.load(path)
    for out in model.graph.output:
        if out.name not in shapes:
            continue
        dims = out.type.tensor_type.shape.dim
        if len(dims) != len(shapes[out.name]):
            raise RuntimeError(f"{path}: output {out.name} has rank {len(dims)}")
        for d, want in zip(dims, shapes[out.name]):
            if isinstance(want, str):
                d.dim_param = want
            else:
                d.dim_value = want
    onnx.checker.check_model(model)
    onnx.save(model, path)


def plain_special_tokens(d):
    out = dict(d)
    for key in SPECIAL_TOKEN_KEYS:
        v = out.get(key)
        if isinstance(v, dict):
            out[key] = v["content"]
    return out


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")


def write_tokenizer_files(tok_dir, out):
    """The real CLIP BPE tokenizer files, special tokens as plain strings (which Transformers.js needs)."""
    for name in TOKENIZER_FILES_COPIED:
        shutil.copyfile(os.path.join(tok_dir, name), os.path.join(out, name))
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        with open(os.path.join(tok_dir, name), encoding="utf-8") as f:
            write_json(os.path.join(out, name), plain_special_tokens(json.load(f)))


def print_listing(out):
    for rel in sorted(os.path.relpath(os.path.join(d, f), out) for d, _, fs in os.walk(out) for f in fs):
        print("%10d  %s" % (os.path.getsize(os.path.join(out, rel)), rel))


def model_config(preset_name, preset, seed, hidden_act="quick_gelu", text_token_ids=(BOS_ID, EOS_ID, PAD_ID_CONFIG)):
    """config.json of a CLIPModel.  `text_token_ids` = (bos, eos, pad) of text_config:
    hub repos converted before transformers 4.31 carry the legacy (0, 2, 1), with
    which transformers pools at argmax(input_ids) instead of at the first eos id."""
    t, v, proj = preset["text"], preset["vision"], preset["projection_dim"]
    bos_id, eos_id, pad_id = text_token_ids
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": proj,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            "model_type": "clip_text_model",
            "hidden_size": t["width"],
            "intermediate_size": 4 * t["width"],
            "num_hidden_layers": t["layers"],
            "num_attention_heads": t["heads"],
            "max_position_embeddings": MAX_POSITIONS,
            "vocab_size": VOCAB_SIZE,
            "hidden_act": hidden_act,
            "layer_norm_eps": LN_EPS,
            "bos_token_id": bos_id,
            "eos_token_id": eos_id,
            "pad_token_id": pad_id,
            "projection_dim": proj,
        },
        "vision_config": {
            "model_type": "clip_vision_model",
            "hidden_size": v["width"],
            "intermediate_size": 4 * v["width"],
            "num_hidden_layers": v["layers"],
            "num_attention_heads": v["heads"],
            "image_size": v["image"],
            "patch_size": v["patch"],
            "num_channels": 3,
            "hidden_act": hidden_act,
            "layer_norm_eps": LN_EPS,
            "projection_dim": proj,
        },
        "zeroshot_fixture": {
            "preset": preset_name,
            "seed": seed,
            "note": "random weights: for tests only",
        },
    }


def build_towers(preset, seed, act="quick_gelu", causal_text=True):
    """The preset's text and vision towers with the seed's random weights, in eval mode."""
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    gen_text = torch.Generator().manual_seed(seed * 2 + 1)
    gen_vision = torch.Generator().manual_seed(seed * 2 + 2)
    t, v, proj = preset["text"], preset["vision"], preset["projection_dim"]
    text = TextEncoder(t["width"], t["layers"], t["heads"], proj, act=act, causal=causal_text)
    vision = VisionEncoder(v["width"], v["layers"], v["heads"], v["patch"], v["image"], proj, act=act)
    init_weights(text, gen_text)
    init_weights(vision, gen_vision)
    return text.eval(), vision.eval()


def reference_pixels(image_size):
    n = 3 * image_size * image_size
    return torch.linspace(-1.0, 1.0, n, dtype=torch.float32).reshape(1, 3, image_size, image_size)


def tolist(t):
    return [float(x) for x in t.reshape(-1).tolist()]


def main(argv=None):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="output folder (created; existing files overwritten)")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--tokenizer-dir",
        default=os.path.join(repo, "..", "shared", "clip"),
        help="folder with tokenizer.json, vocab.json, merges.txt, tokenizer_config.json, "
        "special_tokens_map.json (default: <repo>/../shared/clip)",
    )
    args = ap.parse_args(argv)

    preset = PRESETS[args.preset]
    out = args.out
    tok_dir = os.path.normpath(args.tokenizer_dir)
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)

    text, vision = build_towers(preset, args.seed)
    t, v, proj = preset["text"], preset["vision"], preset["projection_dim"]

    # ---- Hugging Face layout files ----
    write_json(os.path.join(out, "config.json"), model_config(args.preset, preset, args.seed))
    pre = dict(PREPROCESSOR_CONFIG)
    pre["crop_size"] = {"height": v["image"], "width": v["image"]}
    pre["size"] = {"shortest_edge": v["image"]}
    write_json(os.path.join(out, "preprocessor_config.json"), pre)
    write_tokenizer_files(tok_dir, out)

    # ---- ONNX ----
    bpe = ClipBpe(tok_dir)
    ids = [bpe.encode(p) for p in REFERENCE_PROMPTS]
    example_ids = torch.tensor([ids[0], ids[2] + [EOS_ID] * (len(ids[0]) - len(ids[2]))], dtype=torch.int64)
    example_mask = torch.tensor([[1] * len(ids[0]), [1] * len(ids[2]) + [0] * (len(ids[0]) - len(ids[2]))])
    export_onnx(
        text,
        (example_ids, example_mask),
        os.path.join(out, "onnx", "text_model.onnx"),
        ["input_ids", "attention_mask"],
        ["text_embeds", "last_hidden_state"],
        {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "sequence_length"},
            "text_embeds": {0: "batch_size"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"},
        },
    )
    set_output_shapes(
        os.path.join(out, "onnx", "text_model.onnx"),
        {
            "text_embeds": ["batch_size", proj],
            "last_hidden_state": ["batch_size", "sequence_length", t["width"]],
        },
    )
    pixels = reference_pixels(v["image"])
    export_onnx(
        vision,
        (torch.cat([pixels, -pixels]),),
        os.path.join(out, "onnx", "vision_model.onnx"),
        ["pixel_values"],
        ["image_embeds", "last_hidden_state"],
        {
            "pixel_values": {0: "batch_size"},
            "image_embeds": {0: "batch_size"},
            "last_hidden_state": {0: "batch_size"},
        },
    )
    set_output_shapes(
        os.path.join(out, "onnx", "vision_model.onnx"),
        {
            "image_embeds": ["batch_size", proj],
            "last_hidden_state": ["batch_size", (v["image"] // v["patch"]) ** 2 + 1, v["width"]],
        },
    )

    # ---- reference outputs (torch, one prompt at a time, no padding) ----
    with torch.no_grad():
        texts = []
        for prompt, row in zip(REFERENCE_PROMPTS, ids):
            x = torch.tensor([row], dtype=torch.int64)
            emb, _ = text(x, torch.ones_like(x))
            texts.append({"prompt": prompt, "input_ids": row, "text_embeds": tolist(emb[0])})
        img, _ = vision(pixels)
    reference = {
        "note": "torch outputs of the random-weight model (embeddings NOT normalised)",
        "preset": args.preset,
        "seed": args.seed,
        "text": texts,
        "image": {
            "pixel_values": "torch.linspace(-1, 1, n, float32).reshape(1, 3, %d, %d) with n = 3*%d*%d,"
            " i.e. flat C-order element i = -1 + 2*i/(n-1)" % ((v["image"],) * 4),
            "shape": [1, 3, v["image"], v["image"]],
            "image_embeds": tolist(img[0]),
        },
    }
    write_json(os.path.join(out, "reference.json"), reference)

    print_listing(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
