#!/usr/bin/python3
"""Train the demo's small CLIP on FairFace faces with captions made from their labels.

Dev-time only: writes fixtures/demo-clip (the model, in tiny-clip's hub layout, plus
training.json and NOTICE.md) and fixtures/demo-faces (the demo's held-out faces with
their labels), both committed, so `zeroshot demo` shows an audit of a model that has
learnt something. It is a toy, not CLIP: a 0.85 MB vision tower trained for a few
minutes on about 1,600 faces.

    /usr/bin/python3 scripts/train_demo_clip.py            # a few minutes on 2 cores

The towers are build_clip_fixture.py's (text 16 wide, vision 48 wide, 2 layers each,
patch 32 at 224x224), trained with a symmetric InfoNCE loss and a learned logit
scale. Captions come from each face's race, gender and age, in several phrasings
that include the exact prompts of specs/fairface-race.yaml and fairface-gender.yaml.
Many faces share each caption, so the loss pairs a batch of images with the distinct
captions, and a pair is positive whenever the caption fits the image (multi-positive
targets), not only on a diagonal.

The patch embedding is the top principal components of the training patches, fixed:
with it frozen, each image's patch tokens are computed once (and once mirrored, the
only augmentation), and the epochs train only the transformers and projections,
which keeps the run to minutes on a shared 2-core machine and regularises a tower
that sees few faces. The class token and position embeddings start near zero, so the
class token starts as a pooled mix of the patches. The text graph takes input_ids
only (the causal mask makes <|endoftext|> padding exact).

Pixels are zeroshot's: PIL bicubic resize and centre crop (make_image_goldens.py's
reference_crop; FairFace's 224x224 JPEGs pass unchanged) and CLIP's normalisation.
Splits, initialisation, batches and captions come from --seed: the same seed gives
the same weights.
"""

import argparse
import contextlib
import csv
import hashlib
import json
import os
import random
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_clip_fixture as clip  # noqa: E402
import build_family_fixtures as family  # noqa: E402
from make_image_goldens import reference_crop  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import yaml  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAIRFACE = os.path.normpath(os.path.join(ROOT, "..", "shared", "data", "fairface-val"))

PRESET = {
    "text": {"width": 16, "layers": 2, "heads": 2},
    "vision": {"width": 48, "layers": 2, "heads": 4, "patch": 32, "image": 224},
    "projection_dim": 32,
}
DEMO_FACES_PER_RACE_GENDER = 5  # 70 faces: 35 per gender, above the audit's default --min-group-size 30
HELD_OUT = 300
YOUNG_AGES = {"0-2", "3-9", "10-19"}  # captioned boy/girl in the gender phrasings
MAX_LOGIT_SCALE = 100.0  # CLIP's clamp of exp(logit_scale)

NOTICE = """The face images used here are from the FairFace validation set:
Kärkkäinen & Joo, "FairFace: Face Attribute Dataset for Balanced Race, Gender, and Age", WACV 2021,
licensed CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/). {what}
"""


# --------------------------------------------------------------------------
# Data: labels, splits, captions
# --------------------------------------------------------------------------


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sha256_lines(names):
    return hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()


def split_faces(rows, excluded, seed):
    """(demo faces, held-out, train) rows: the demo faces balanced by race and gender,
    then a random held-out set, from the faces not in `excluded`."""
    rng = random.Random(seed)
    eligible = sorted((r for r in rows if os.path.basename(r["file"]) not in excluded), key=lambda r: r["file"])
    demo = []
    for race in sorted({r["race"] for r in eligible}):
        for gender in ("Female", "Male"):
            pool = [r for r in eligible if r["race"] == race and r["gender"] == gender]
            demo += rng.sample(pool, DEMO_FACES_PER_RACE_GENDER)
    demo_files = {r["file"] for r in demo}
    rest = [r for r in eligible if r["file"] not in demo_files]
    held_out = sorted(rng.sample(rest, HELD_OUT), key=lambda r: r["file"])
    held_files = {r["file"] for r in held_out}
    train = [r for r in rest if r["file"] not in held_files]
    return sorted(demo, key=lambda r: r["file"]), held_out, train


def article(name):
    """a/an by the first letter, as zeroshot's spec loader chooses it."""
    return "an" if name[0].lower() in "aeiou" else "a"


def load_specs():
    """The seed's race prompts {race: {gender: prompt}} and the gender spec's
    prompts {gender: [prompt, ...]}, as zeroshot expands them."""
    with open(os.path.join(ROOT, "specs", "fairface-race.yaml"), encoding="utf-8") as f:
        race_spec = yaml.safe_load(f)
    race_prompts = {}
    for race, (male, female) in race_spec["classes"].items():
        if not (male.endswith(" man") and female.endswith(" woman")):
            raise SystemExit(f"specs/fairface-race.yaml: class {race}: expected [<...> man, <...> woman] prompts")
        race_prompts[race] = {"Male": male, "Female": female}
    with open(os.path.join(ROOT, "specs", "fairface-gender.yaml"), encoding="utf-8") as f:
        gender_spec = yaml.safe_load(f)
    gender_prompts = {
        gender: [t.replace("{article}", article(n)).replace("{name}", n) for n in names for t in gender_spec["templates"]]
        for gender, names in gender_spec["classes"].items()
    }
    return race_prompts, gender_spec["templates"], gender_prompts


def captions_for(row, race_prompts, gender_templates):
    """[(caption, race or None, gender or None)] for one face: the seed's prompt and
    other phrasings of race and gender, race alone, and the gender spec's phrasings."""
    race, gender = row["race"], row["gender"]
    seed_prompt = race_prompts[race][gender]
    noun = "man" if gender == "Male" else "woman"
    race_phrase = seed_prompt[len("a photo of "): -len(" " + noun)]  # e.g. "an east asian"
    out = [(seed_prompt, race, gender)]
    out += [(c, race, gender) for c in (
        f"a close-up photo of {race_phrase} {noun}",
        f"a photo of {race_phrase} {noun}'s face",
        f"{race_phrase} {noun}",
    )]
    out += [(c, race, None) for c in (f"a photo of {race_phrase} person", f"the face of {race_phrase} person")]
    young = {"Male": "boy", "Female": "girl"}[gender] if row["age"] in YOUNG_AGES else noun
    out += [(t.replace("{article}", article(young)).replace("{name}", young), None, gender) for t in gender_templates]
    return out


# --------------------------------------------------------------------------
# Pixels and patch tokens
# --------------------------------------------------------------------------


def load_pixels(paths, image_size):
    """uint8 [n, 3, s, s]: zeroshot's resize + centre crop of each file."""
    arrays = [np.asarray(reference_crop(p, image_size, image_size), dtype=np.uint8) for p in paths]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def normalise(pixels):
    """CLIP's normalisation of uint8 pixels, as preprocessor_config.json states it."""
    cfg = clip.PREPROCESSOR_CONFIG
    mean = torch.tensor(cfg["image_mean"]).reshape(1, 3, 1, 1)
    std = torch.tensor(cfg["image_std"]).reshape(1, 3, 1, 1)
    return (pixels.to(torch.float32) * cfg["rescale_factor"] - mean) / std


def patch_pca(pixels, patch, components, seed, images=160):
    """The top principal directions of the (normalised) patches of `images` random
    training images, as a Conv2d weight [components, 3, patch, patch], scaled so
    each output has unit variance."""
    gen = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(pixels.shape[0], generator=gen)[:images]
    patches = F.unfold(normalise(pixels[chosen]), kernel_size=patch, stride=patch)  # [n, 3*p*p, g*g]
    flat = patches.transpose(1, 2).reshape(-1, patches.shape[1])
    torch.manual_seed(seed)  # pca_lowrank's random start
    _, singular, directions = torch.pca_lowrank(flat, q=components + 16, center=True, niter=4)
    std = singular[:components] / (flat.shape[0] - 1) ** 0.5
    return (directions[:, :components].T / std[:, None]).reshape(components, 3, patch, patch).contiguous()


def patch_tokens(conv, pixels, batch=100):
    """[n, 2, width, g, g]: the patch embedding of each image and of its mirror image."""
    out = []
    with torch.no_grad():
        for i in range(0, pixels.shape[0], batch):
            x = normalise(pixels[i: i + batch])
            out.append(torch.stack([conv(x), conv(x.flip(3))], dim=1))
    return torch.cat(out)


# --------------------------------------------------------------------------
# Training and evaluation
# --------------------------------------------------------------------------


def tokenize(bpe, texts):
    """[n, longest] ids padded with <|endoftext|> (the causal mask makes padding exact)."""
    rows = [bpe.encode(t) for t in texts]
    longest = max(len(r) for r in rows)
    return torch.tensor([r + [clip.EOS_ID] * (longest - len(r)) for r in rows], dtype=torch.int64)


def soft_cross_entropy(logits, targets):
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def train(text, vision, tokens, caption_ids, caption_of, fits, args, log, monitor=None):
    """Symmetric InfoNCE between a batch of images and the distinct captions, with
    multi-positive targets (every caption that fits an image is its positive, and
    every image a caption fits is the caption's): image to text over all captions,
    text to image over the batch for each caption of the batch's images. AdamW with
    warm-up and cosine decay; the logit scale is learned (clamped at 100)."""
    gen = torch.Generator().manual_seed(args.seed + 100)
    logit_scale = nn.Parameter(torch.tensor(float(np.log(args.initial_scale))))
    params = [p for p in list(text.parameters()) + list(vision.parameters()) if p.requires_grad]
    opt = torch.optim.AdamW([{"params": params}, {"params": [logit_scale], "weight_decay": 0.0}],
                            lr=args.lr, weight_decay=args.weight_decay)
    n = tokens.shape[0]
    steps_per_epoch = n // args.batch_size
    total = steps_per_epoch * args.epochs
    warmup = steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warmup if s < warmup else 0.5 * (1 + np.cos(np.pi * (s - warmup) / max(1, total - warmup))))
    text.train()
    vision.train()
    for epoch in range(args.epochs):
        perm = torch.randperm(n, generator=gen)
        running = 0.0
        for step in range(steps_per_epoch):
            idx = perm[step * args.batch_size: (step + 1) * args.batch_size]
            mirror = torch.randint(0, 2, (len(idx),), generator=gen)
            img = F.normalize(vision(tokens[idx, mirror])[0], dim=-1)
            txt = F.normalize(text(caption_ids)[0], dim=-1)
            logits = logit_scale.exp().clamp(max=MAX_LOGIT_SCALE) * img @ txt.T  # [image, caption]
            positive = fits[idx].to(torch.float32)
            in_batch = torch.unique(caption_of[idx])  # the captions of these images
            column = positive[:, in_batch]
            loss = 0.5 * (soft_cross_entropy(logits, positive / positive.sum(1, keepdim=True))
                          + soft_cross_entropy(logits[:, in_batch].T, (column / column.sum(0, keepdim=True)).T))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
        line = f"epoch {epoch + 1}/{args.epochs}  loss {running / steps_per_epoch:.4f}  logit scale {logit_scale.exp().item():.2f}"
        if monitor and (epoch + 1) % 5 == 0:
            text.eval()
            vision.eval()
            line += "  " + monitor()
            text.train()
            vision.train()
        log(line)
    text.eval()
    vision.eval()
    return float(logit_scale.detach().clamp(max=np.log(MAX_LOGIT_SCALE)))


@contextlib.contextmanager
def tokens_in(vision):
    """The vision tower fed precomputed patch tokens: its fixed patch embedding steps aside."""
    conv, vision.patch_embedding = vision.patch_embedding, nn.Identity()
    try:
        yield
    finally:
        vision.patch_embedding = conv


def embed_images(vision, tokens):
    with torch.no_grad():
        return F.normalize(vision(tokens[:, 0])[0], dim=-1)


def embed_texts(text, bpe, prompts):
    with torch.no_grad():
        return F.normalize(text(tokenize(bpe, prompts))[0], dim=-1)


def zero_shot_accuracy(image_embeds, rows, column, class_prompts, text, bpe):
    """Accuracy of the sum strategy (argmax over classes of the summed 100 * cos of
    the class's prompts), overall and per class (recall)."""
    classes = list(class_prompts)
    prompts = [p for c in classes for p in class_prompts[c]]
    owner = torch.tensor([i for i, c in enumerate(classes) for _ in class_prompts[c]])
    sims = 100.0 * image_embeds @ embed_texts(text, bpe, prompts).T
    scores = torch.zeros(sims.shape[0], len(classes)).index_add_(1, owner, sims)
    predicted = [classes[i] for i in scores.argmax(dim=1).tolist()]
    truth = [r[column] for r in rows]
    per_class = {c: round(float(np.mean([p == t for p, t in zip(predicted, truth) if t == c])), 4) for c in classes}
    return {
        "accuracy": round(float(np.mean([p == t for p, t in zip(predicted, truth)])), 4),
        "balanced_accuracy": round(float(np.mean(list(per_class.values()))), 4),
        "recall": per_class,
        "chance": round(1.0 / len(classes), 4),
        "majority_share": round(max(truth.count(c) for c in classes) / len(truth), 4),
    }


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def write_demo_faces(rows, out):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    with open(os.path.join(out, "labels.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["file", "age", "gender", "race"])
        for r in rows:
            name = os.path.basename(r["file"])
            shutil.copyfile(os.path.join(FAIRFACE, r["file"]), os.path.join(out, name))
            w.writerow([name, r["age"], r["gender"], r["race"]])
    with open(os.path.join(out, "NOTICE.md"), "w", encoding="utf-8") as f:
        f.write(NOTICE.format(what=f"These {len(rows)} faces ({DEMO_FACES_PER_RACE_GENDER} per race and gender, chosen "
                              "with a seed by scripts/train_demo_clip.py) were held out from training fixtures/demo-clip. "
                              "`labels.csv` holds their official labels (file, age, gender, race)."))


def export_model(text, vision, bpe, out, tok_dir, seed, train_count):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    config = clip.model_config("demo", PRESET, seed)
    config["zeroshot_fixture"] = {
        "preset": "demo",
        "seed": seed,
        "note": f"toy model trained by scripts/train_demo_clip.py on {train_count} FairFace faces: for the demo, not CLIP",
    }
    clip.write_json(os.path.join(out, "config.json"), config)
    clip.write_json(os.path.join(out, "preprocessor_config.json"), clip.PREPROCESSOR_CONFIG)
    clip.write_tokenizer_files(tok_dir, out)
    # ids-only text graph (the causal mask makes <|endoftext|> padding exact), hidden states kept.
    spec = {"preset": PRESET, "hidden_state_outputs": True}
    family.export_text(text, spec, out, tokenize(bpe, ["a photo of an east asian woman", "a photo of a man"]))
    size = PRESET["vision"]["image"]
    family.export_vision(vision, spec, out, clip.reference_pixels(size).repeat(2, 1, 1, 1) * torch.tensor([1.0, -1.0]).reshape(2, 1, 1, 1))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--initial-scale", type=float, default=1 / 0.07, help="initial exp(logit_scale) (CLIP's 1/0.07)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=0.05)
    ap.add_argument("--data", default=FAIRFACE, help="FairFace validation folder (val/ and fairface_label_val.csv)")
    ap.add_argument("--model-out", default=os.path.join(ROOT, "fixtures", "demo-clip"))
    ap.add_argument("--faces-out", default=os.path.join(ROOT, "fixtures", "demo-faces"))
    ap.add_argument("--tokenizer-dir", default=os.path.join(ROOT, "..", "shared", "clip"))
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    log = lambda line: print(line, flush=True)  # noqa: E731
    tok_dir = os.path.normpath(args.tokenizer_dir)

    labels_csv = os.path.join(args.data, "fairface_label_val.csv")
    rows = read_csv(labels_csv)
    excluded = {r["file"] for r in read_csv(os.path.join(ROOT, "fixtures", "demo-images", "labels.csv"))}
    demo, held_out, train_rows = split_faces(rows, excluded, args.seed)
    log(f"{len(rows)} faces: {len(excluded)} demo-images excluded, {len(demo)} demo faces, "
        f"{len(held_out)} held out, {len(train_rows)} for training")
    write_demo_faces(demo, args.faces_out)

    race_prompts, gender_templates, gender_prompts = load_specs()
    captions, keys = [], {}
    caption_of = []
    for r in train_rows:
        row_caps = []
        for c, race, gender in captions_for(r, race_prompts, gender_templates):
            if c not in keys:
                keys[c] = len(captions)
                captions.append((c, race, gender))
            row_caps.append(keys[c])
        caption_of.append(row_caps)
    caption_of = torch.tensor(caption_of)
    cap_race = [c[1] for c in captions]
    cap_gender = [c[2] for c in captions]
    fits = torch.tensor([[(cr is None or cr == r["race"]) and (cg is None or cg == r["gender"])
                          for cr, cg in zip(cap_race, cap_gender)] for r in train_rows])
    bpe = clip.ClipBpe(tok_dir)
    caption_ids = tokenize(bpe, [c[0] for c in captions])
    log(f"{len(captions)} distinct captions, {caption_of.shape[1]} per face")

    t0 = time.time()
    text, vision = clip.build_towers(PRESET, args.seed)
    # The class token starts as (nearly) nothing, so its output starts as a pooled mix of
    # the patches: input-dependent from the first step, which the contrastive loss needs.
    with torch.no_grad():
        vision.class_embedding.zero_()
        vision.position_embedding.mul_(0.1)
    v = PRESET["vision"]
    split_pixels = {name: load_pixels([os.path.join(args.data, r["file"]) for r in part], v["image"])
                    for name, part in (("train", train_rows), ("held_out", held_out), ("demo", demo))}
    with torch.no_grad():
        vision.patch_embedding.weight.copy_(patch_pca(split_pixels["train"], v["patch"], v["width"], args.seed))
    vision.patch_embedding.weight.requires_grad_(False)
    tokens = {name: patch_tokens(vision.patch_embedding, px) for name, px in split_pixels.items()}
    log(f"pixels and patch tokens: {time.time() - t0:.1f} s")

    race_classes = {c: list(p.values()) for c, p in race_prompts.items()}

    def held_out_line():
        embeds = embed_images(vision, tokens["held_out"])
        race = zero_shot_accuracy(embeds, held_out, "race", race_classes, text, bpe)["accuracy"]
        gender = zero_shot_accuracy(embeds, held_out, "gender", gender_prompts, text, bpe)["accuracy"]
        return f"held-out race {race:.3f} gender {gender:.3f}"

    t1 = time.time()
    with tokens_in(vision):
        logit_scale = train(text, vision, tokens["train"], caption_ids, caption_of, fits, args, log, monitor=held_out_line)
    train_seconds = time.time() - t1

    evaluation = {}
    with tokens_in(vision):
        for name, part, split in (("held_out", held_out, "held_out"), ("demo_faces", demo, "demo"), ("train", train_rows, "train")):
            embeds = embed_images(vision, tokens[split])
            evaluation[name] = {
                "images": len(part),
                "race": zero_shot_accuracy(embeds, part, "race", race_classes, text, bpe),
                "gender": zero_shot_accuracy(embeds, part, "gender", gender_prompts, text, bpe),
            }
            log(f"{name}: race {evaluation[name]['race']['accuracy']:.3f}, gender {evaluation[name]['gender']['accuracy']:.3f}")
        on_tokens = embed_images(vision, tokens["demo"][:8])
    # The exported tower, on pixels, must agree with the token path it was trained on.
    with torch.no_grad():
        on_pixels = F.normalize(vision(normalise(split_pixels["demo"][:8]))[0], dim=-1)
    gap = (on_pixels - on_tokens).abs().max().item()
    if gap > 1e-5:
        raise SystemExit(f"the vision tower on pixels and on patch tokens disagrees by {gap}")

    export_model(text, vision, bpe, args.model_out, tok_dir, args.seed, len(train_rows))
    names = lambda part: [os.path.basename(r["file"]) for r in part]  # noqa: E731
    training = {
        "what": "a toy CLIP-architecture model trained by scripts/train_demo_clip.py for zeroshot's demo; not CLIP",
        "data": {
            "source": "FairFace validation set (../shared/data/fairface-val: val/*.jpg, fairface_label_val.csv), CC BY 4.0",
            "labels_sha256": hashlib.sha256(open(labels_csv, "rb").read()).hexdigest(),
            "faces": len(rows),
        },
        "split": {
            "excluded_demo_images": sorted(excluded, key=lambda s: int(s.split(".")[0])),
            "demo_faces": {"count": len(demo), "folder": "fixtures/demo-faces", "files": names(demo)},
            "held_out": {"count": len(held_out), "sha256_of_file_lines": sha256_lines(names(held_out)), "files": names(held_out)},
            "train": {"count": len(train_rows), "sha256_of_file_lines": sha256_lines(names(train_rows))},
        },
        "seed": args.seed,
        "architecture": {
            **PRESET,
            "patch_embedding": "top principal components of training patches, fixed",
            "init": "build_clip_fixture.build_towers(seed), then class embedding 0 and position embeddings x 0.1",
            "onnx": "text_model.onnx: input_ids only (no attention_mask); both graphs output embeddings and last_hidden_state",
        },
        "captions": {"distinct": len(captions), "per_face": caption_of.shape[1], "examples": [c[0] for c in captions[:9]]},
        "training": {
            "loss": "symmetric InfoNCE, multi-positive (a caption fits every image whose labels it names)",
            "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": "AdamW",
            "lr": args.lr, "weight_decay": args.weight_decay, "schedule": "1-epoch warm-up, cosine decay",
            "augmentation": "horizontal mirror",
            "seconds": round(train_seconds, 1),
            "torch": torch.__version__, "threads": torch.get_num_threads(),
        },
        "logit_scale": round(logit_scale, 6),
        "evaluation": {
            "how": "torch, zero-shot sum strategy with the prompts of specs/fairface-race.yaml and specs/fairface-gender.yaml",
            **evaluation,
        },
    }
    clip.write_json(os.path.join(args.model_out, "training.json"), training)
    with open(os.path.join(args.model_out, "NOTICE.md"), "w", encoding="utf-8") as f:
        f.write(NOTICE.format(what=f"This model was trained on {len(train_rows)} of its faces and their labels "
                              "(see training.json for the split); the tokenizer files are OpenAI CLIP's."))
    clip.print_listing(args.model_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
