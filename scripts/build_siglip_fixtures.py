#!/usr/bin/python3
"""Build the SigLIP and SigLIP 2 test fixtures, their tokenizers and their goldens.

Dev-time only; the outputs are committed so tests never need Python:

    fixtures/siglip/          Xenova/siglip-base-patch16-224 layout (SentencePiece Unigram, spiece.model)
    fixtures/siglip2/         onnx-community/siglip2-base-patch16-224-ONNX layout (Gemma-style SentencePiece BPE
                              with byte fallback, tokenizer.model)
    fixtures/siglip2-naflex/  config.json + preprocessor_config.json only (NaFlex is refused with a clear error)
    test/golden/families/siglip.json, siglip2.json       ids, pixels hashes, embeddings, similarities, probabilities
    test/golden/families/sentencepiece_tokens.json       token-id goldens, many prompts per text rule

Usage:
    /usr/bin/python3 scripts/build_siglip_fixtures.py [--seed 0]

Requires Debian's python3-torch (1.13), python3-onnx, python3-sentencepiece, python3-pil, numpy and yaml.

The models are written from the papers and the reference code's architecture (SigLIP, Zhai et al. 2023; SigLIP 2,
Tschannen et al. 2025, whose fixed-resolution checkpoints keep SigLIP's graph): a ViT with a patch convolution,
learned position embeddings and no class token, pre-LayerNorm blocks with gelu-tanh MLPs, a post-LayerNorm and the
attention-pooling head (MAP: one learned probe token attends over the patches, then LayerNorm + MLP with a
residual); a bidirectional text transformer with learned positions, a final LayerNorm and a linear head on the LAST
position's state. Toy sizes, random weights: the numbers mean nothing, the code paths are the real ones.

Text reference (what the goldens hold), following Python transformers:
  SigLIP   SiglipTokenizer: lower-case, drop ASCII punctuation (string.punctuation), collapse whitespace, strip,
           SentencePiece with a "▁" prefix (the unk-prefix trick), append </s>, truncate to 63 + </s>,
           pad with the pad token (</s>, id 1) to exactly 64.
  SigLIP 2 GemmaTokenizer(Fast) with the repo's tokenizer_config (add_bos_token false, add_eos_token true):
           no lower-casing, SentencePiece BPE (identity normalisation, no dummy prefix, byte fallback),
           append <eos> (id 1), truncate to 63 + <eos>, pad with <pad> (id 0) to exactly 64.
Image reference: transformers' SiglipImageProcessor: convert("RGB") first, PIL resize to (height, width) with the
config's resample (3 bicubic for SigLIP, 2 bilinear for SigLIP 2), rescale 1/255, normalise mean = std = 0.5.

Same --seed, same files (the SentencePiece trainer runs single-threaded on a generated corpus).
"""

import argparse
import base64
import hashlib
import json
import math
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import sentencepiece as spm
    import torch
    import torch.nn as nn
    import yaml
    from PIL import Image
    from sentencepiece import sentencepiece_model_pb2 as sp_pb2
except ImportError as e:  # e.g. a pyenv python3 first on PATH
    sys.exit(f"build_siglip_fixtures.py: {e}; apt-get install python3-torch python3-onnx python3-sentencepiece "
             "python3-pil python3-yaml, then run it with /usr/bin/python3")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPSET = 17
LN_EPS = 1e-6
MAX_LENGTH = 64
WIDTH, LAYERS, HEADS, MLP = 32, 2, 2, 128
IMAGE, PATCH = 224, 16
SPIECE_UNDERLINE = "\u2581"

FAMILIES = {
    "siglip": {
        "dir": "fixtures/siglip",
        "hub": "Xenova/siglip-base-patch16-224",
        "resample": 3,
        "tokenizer": "unigram",
        "vocab_size": 1500,
    },
    "siglip2": {
        "dir": "fixtures/siglip2",
        "hub": "onnx-community/siglip2-base-patch16-224-ONNX",
        "resample": 2,
        "tokenizer": "gemma-bpe",
        "vocab_size": 1500,
    },
}

GOLDEN_IMAGES_EXTRA = [
    "test/golden/images/odd_253x397.png",
    "test/golden/images/palette_trns_150x210.png",
    "test/golden/images/rgba_320x240.png",
    "test/golden/images/grey_300x200.png",
    "test/golden/images/cmyk_240x320.jpg",
    "test/golden/images/la_260x180.png",
    "test/golden/images/tall_50x300.png",
    "test/golden/images/tiny_1x1.png",
]

TRICKY_PROMPTS = [
    "A Photo of a WHITE Man",
    "a photo of a white man.",
    "a photo, of a (black) woman!",
    "it's a photo of a middle-eastern man?",
    "  a   photo  of\tan   indian\nwoman  ",
    "a photo of 2 people aged 30-39",
    "a photo of a café owner",
    "ＡＢＣ full-width ｆｏｏ",
    "a photo of a naïve señor in Zürich",
    "a photo of a man 日本",
    "...",
    "",
    "a photo of a white man " + " ".join(["with a very long description of his face and clothes"] * 8),
]

# --------------------------------------------------------------------------
# Corpus and tokenizers
# --------------------------------------------------------------------------

RACES = ["white", "black", "latino hispanic", "latino", "hispanic", "east asian", "southeast asian", "indian",
         "middle eastern", "asian", "african", "european", "arab", "caucasian"]
GENDERS = ["man", "woman", "boy", "girl", "person", "male", "female", "men", "women", "people", "child", "adult"]
AGES = ["young", "old", "elderly", "teenage", "middle aged", "adult", "baby", "little", "smiling", "serious"]
TEMPLATES = ["a photo of a {}", "a photo of an {}", "a picture of a {}", "this is a photo of a {}",
             "a close-up photo of a {}", "a portrait of a {}", "a cropped photo of the {}", "a good photo of a {}",
             "a bad photo of the {}", "an image of a {}", "a blurry photo of a {}", "a black and white photo of a {}"]
SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "a face looking at the camera with a neutral expression",
    "people aged 20-29 and 30-39 and 40-49 and 50-59 and 60-69",
    "there are 10 images in the folder and 1000 in the data set",
    "the model was trained on pairs of images and captions from the web",
    "a person with short hair and glasses wearing a shirt",
    "a woman with long hair smiling in front of a wall",
    "a man with a beard in a dark room",
    "a criminal a thief a suspect a gorilla an animal a chimpanzee a human being",
    "the weather today is sunny with a few clouds in the sky",
    "zero shot image classification with language and vision models",
    "fairness audits compare accuracy across groups of people",
    "it is a photo of my friend from school",
    "this picture shows a family of four at the beach",
    "a drawing a painting a sketch a rendering a cartoon a sculpture",
    "one two three four five six seven eight nine ten hundred thousand",
    "cats dogs birds horses cars bicycles trees houses streets",
    "With Capital Letters At The Start Of Each Word For Gemma",
    "Photo Of A White Man And A Black Woman In New York City",
    "What is in this image? A Person, Maybe a Doctor or a Nurse.",
    "the café in the city sells crème brûlée and naïve piñatas",
]


WORDS = """the of and to in is was for on that with as by at from his her it an are be this which or had not but
were they have one you all their there been has more she when who will would no if so can out up about into than
them some time could only other new also two first may any after these people like over such most made many
before must through back years where much your way well down should because each just those how too little state
good very make world still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take three himself few house
use during without again place around however home small found thought went say part once general high upon school
every does got left number course war until always away something fact though water less public put think almost
hand enough far took head yet government system better set told nothing night end why called eyes find going look
asked later knew point next city business give group toward young days let room president side social given present
several order national possible rather second face per among form important often things looking early white case
john become large big need four within felt along children saw best church ever least power development light
seemed family interest want members mind country area others done turned although open god service certain kind
problem began different door thus help sense whole matter perhaps itself york times law human line above name
example action company hands local show whether five history gave today either act feet across taken past quite
anything seen having death experience body word half really field am car words already themselves information
tell together college shall money period held keep sure free seems real behind cannot miss political air question
making office brought whose special heard major problems ago became federal moment study available known result
street economic boy reason change south board individual job society areas west close turn love community true
court force full seem am wife future age wanted black department voice center woman common control necessary
following front sometimes six girl clear further land able mother feel picture photo portrait camera image smile
hair eyes glasses beard shirt jacket dress hat background indoor outdoor sunny dark bright blurry sharp close
east asian southeast indian middle eastern latino hispanic african european caucasian arab chinese japanese korean
vietnamese thai filipino mexican brazilian nigerian kenyan ethiopian egyptian turkish persian pakistani""".split()


def corpus_lines():
    rng = random.Random(20260)
    lines = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 12))) for _ in range(3000)]
    for template in TEMPLATES:
        for race in RACES:
            for gender in GENDERS:
                lines.append(template.format(f"{race} {gender}"))
    for age in AGES:
        for race in RACES:
            for gender in GENDERS[:6]:
                lines.append(f"a photo of a {age} {race} {gender}")
    lines += SENTENCES * 20
    # Capitalised copies for the cased (Gemma) vocabulary
    lines += [l[:1].upper() + l[1:] for l in lines[::7]]
    return lines


def train_sentencepiece(kind, vocab_size, workdir):
    corpus = os.path.join(workdir, f"{kind}.txt")
    lines = corpus_lines()
    if kind == "unigram":  # SigLIP's vocabulary is lower-case text
        lines = [l.lower() for l in lines]
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    prefix = os.path.join(workdir, kind)
    common = dict(input=corpus, model_prefix=prefix, vocab_size=vocab_size, hard_vocab_limit=False,
                  num_threads=1, character_coverage=1.0, shuffle_input_sentence=False, seed_sentencepiece_size=100000,
                  minloglevel=2)
    if kind == "unigram":
        # T5 / SigLIP ids: <pad> 0, </s> 1, <unk> 2, no <s>; nmt_nfkc normalisation (a precompiled charsmap)
        spm.SentencePieceTrainer.train(model_type="unigram", pad_id=0, eos_id=1, unk_id=2, bos_id=-1, **common)
    else:
        # Gemma ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3; identity normalisation, no dummy prefix, byte fallback,
        # digits split, whitespace-only pieces allowed (GemmaConverter's docstring lists these trainer settings)
        spm.SentencePieceTrainer.train(
            model_type="bpe", pad_id=0, eos_id=1, bos_id=2, unk_id=3, pad_piece="<pad>", eos_piece="<eos>",
            bos_piece="<bos>", unk_piece="<unk>", byte_fallback=True, split_digits=True,
            allow_whitespace_only_pieces=True, normalization_rule_name="identity", add_dummy_prefix=False,
            remove_extra_whitespaces=False, **common)
    with open(prefix + ".model", "rb") as f:
        proto = sp_pb2.ModelProto.FromString(f.read())
    # The trainer records its input and output paths (a temporary folder): keep only the names, for identical files
    del proto.trainer_spec.input[:]
    proto.trainer_spec.input.append(f"{kind}.txt")
    proto.trainer_spec.model_prefix = kind
    return proto.SerializeToString()


def load_processor(model_bytes, add_dummy_prefix=None):
    proto = sp_pb2.ModelProto.FromString(model_bytes)
    if add_dummy_prefix is not None:
        proto.normalizer_spec.add_dummy_prefix = add_dummy_prefix
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto.SerializeToString())
    return sp, proto


def added_token(i, content, lstrip=False, rstrip=False):
    return {"id": i, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": False, "special": True}


def template_eos(eos, eos_id):
    return {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}},
                 {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": eos, "type_id": 0}}],
        "special_tokens": {eos: {"id": eos, "ids": [eos_id], "tokens": [eos]}},
    }


def unigram_tokenizer_json(proto):
    """tokenizer.json as transformers' SpmConverter (T5 structure) writes a SentencePiece Unigram model."""
    charsmap = base64.b64encode(proto.normalizer_spec.precompiled_charsmap).decode("ascii")
    metaspace = {"type": "Metaspace", "replacement": SPIECE_UNDERLINE, "prepend_scheme": "always", "split": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(0, "<pad>"), added_token(1, "</s>"), added_token(2, "<unk>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Precompiled", "precompiled_charsmap": charsmap},
            {"type": "Strip", "strip_left": False, "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": SPIECE_UNDERLINE},
        ]},
        "pre_tokenizer": metaspace,
        "post_processor": template_eos("</s>", 1),
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": proto.trainer_spec.unk_id,
                  "vocab": [[p.piece, p.score] for p in proto.pieces], "byte_fallback": False},
    }


def bpe_merges(proto):
    """Merges ordered by the merged piece's score (transformers' generate_merges with vocab scores)."""
    vocab = {p.piece: i for i, p in enumerate(proto.pieces)}
    merges = []
    for i, p in enumerate(proto.pieces):
        if p.type != 1:  # NORMAL pieces only
            continue
        local = [(p.piece[:k], p.piece[k:], p.score) for k in range(1, len(p.piece))
                 if p.piece[:k] in vocab and p.piece[k:] in vocab]
        merges.extend(sorted(local, key=lambda m: (vocab[m[0]], vocab[m[1]])))
    merges.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [[a, b] for a, b, _ in merges]


def gemma_tokenizer_json(proto):
    """tokenizer.json as transformers' GemmaConverter writes a SentencePiece BPE model, with the post-processor a
    GemmaTokenizerFast saves when add_bos_token is false and add_eos_token true."""
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(0, "<pad>"), added_token(1, "<eos>"), added_token(2, "<bos>"),
                         added_token(3, "<unk>")],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": SPIECE_UNDERLINE},
        "pre_tokenizer": None,
        "post_processor": template_eos("<eos>", 1),
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": SPIECE_UNDERLINE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {p.piece: i for i, p in enumerate(proto.pieces)}, "merges": bpe_merges(proto)},
    }


def special(content, strip):
    return {"content": content, "lstrip": strip, "normalized": False, "rstrip": strip, "single_word": False}


def siglip_tokenizer_config():
    """Xenova/siglip-base-patch16-224's tokenizer_config.json."""
    decoder = {str(i): {**special(c, True), "normalized": True, "special": True} for i, c in ((1, "</s>"), (2, "<unk>"))}
    return {
        "added_tokens_decoder": decoder, "additional_special_tokens": [], "clean_up_tokenization_spaces": True,
        "do_lower_case": True, "eos_token": "</s>", "model_input_names": ["input_ids"], "model_max_length": MAX_LENGTH,
        "pad_token": "</s>", "processor_class": "SiglipProcessor", "sp_model_kwargs": {},
        "tokenizer_class": "SiglipTokenizer", "trust_remote_code": False, "unk_token": "<unk>",
    }


def siglip_special_tokens_map():
    return {"eos_token": special("</s>", True), "pad_token": special("</s>", True), "unk_token": special("<unk>", True)}


def gemma_tokenizer_config():
    decoder = {str(i): {**special(c, False), "special": True}
               for i, c in ((0, "<pad>"), (1, "<eos>"), (2, "<bos>"), (3, "<unk>"))}
    return {
        "add_bos_token": False, "add_eos_token": True, "added_tokens_decoder": decoder, "bos_token": "<bos>",
        "clean_up_tokenization_spaces": False, "eos_token": "<eos>", "extra_special_tokens": {},
        "model_max_length": MAX_LENGTH, "pad_token": "<pad>", "padding_side": "right",
        "processor_class": "SiglipProcessor", "sp_model_kwargs": {}, "spaces_between_special_tokens": False,
        "tokenizer_class": "GemmaTokenizer", "unk_token": "<unk>", "use_default_system_prompt": False,
    }


def gemma_special_tokens_map():
    return {"bos_token": special("<bos>", False), "eos_token": special("<eos>", False),
            "pad_token": special("<pad>", False), "unk_token": special("<unk>", False)}


def split_on_tokens(text, tokens):
    """transformers' Trie.split: cut `text` at the added tokens (leftmost match, longest token first)."""
    pieces, start, i = [], 0, 0
    ordered = sorted(tokens, key=len, reverse=True)
    while i < len(text):
        match = next((t for t in ordered if text.startswith(t, i)), None)
        if match is None:
            i += 1
            continue
        if i > start:
            pieces.append(text[start:i])
        pieces.append(match)
        i = start = i + len(match)
    if start < len(text):
        pieces.append(text[start:])
    return pieces


class SiglipReferenceTokenizer:
    """Python transformers' SiglipTokenizer (slow; there is no fast one), restated on python sentencepiece:
    SiglipTokenizer.tokenize -> PreTrainedTokenizer.tokenize (lower-casing, split on the added tokens </s> and <unk>,
    which strip the whitespace beside them) -> _tokenize (canonicalize_text, the "<unk>" prefix trick) per piece,
    then build_inputs_with_special_tokens (</s> unless the ids already end with it)."""

    SPECIAL = {"</s>": 1, "<unk>": 2}

    def __init__(self, model_bytes):
        self.sp, _ = load_processor(model_bytes, add_dummy_prefix=False)
        self.unk_length = len(self.sp.encode("<unk>"))
        self.eos_id, self.pad_id = 1, 1
        self.space_id = self.sp.piece_to_id(SPIECE_UNDERLINE)

    @staticmethod
    def canonicalize(text):
        text = text.translate(str.maketrans("", "", string.punctuation))
        return re.sub(r"\s+", " ", text).strip()

    def _tokenize(self, piece):
        ids = self.sp.encode("<unk>" + self.canonicalize(piece))
        return ids[self.unk_length:] if len(ids) >= self.unk_length else ids

    def ids(self, text):
        text = (SPIECE_UNDERLINE + text.replace(SPIECE_UNDERLINE, " ")).lower()
        pieces = split_on_tokens(text, self.SPECIAL)
        for i, piece in enumerate(pieces):
            if piece in self.SPECIAL:  # lstrip and rstrip: the neighbours lose their whitespace on this side
                if i > 0:
                    pieces[i - 1] = pieces[i - 1].rstrip()
                if i + 1 < len(pieces):
                    pieces[i + 1] = pieces[i + 1].lstrip()
        ids, first = [], []
        for piece in pieces:
            if piece in self.SPECIAL:
                ids.append(self.SPECIAL[piece])
            elif piece:
                ids.extend(self._tokenize(piece))
        if len(ids) > 1 and ids[0] == self.space_id and ids[1] in self.SPECIAL.values():
            ids = ids[1:]
        ids = ids[:MAX_LENGTH - 1]
        return ids if ids and ids[-1] == self.eos_id else ids + [self.eos_id]


class GemmaReferenceTokenizer:
    """GemmaTokenizerFast with add_bos_token false, add_eos_token true, on python sentencepiece: the text is cut at
    the added tokens (matched on the raw text), each other piece is SentencePiece-encoded, <eos> follows."""

    SPECIAL = {"<pad>": 0, "<eos>": 1, "<bos>": 2, "<unk>": 3}

    def __init__(self, model_bytes):
        self.sp, _ = load_processor(model_bytes)
        self.eos_id, self.pad_id = 1, 0

    def ids(self, text):
        ids = []
        for piece in split_on_tokens(text, self.SPECIAL):
            ids.extend([self.SPECIAL[piece]] if piece in self.SPECIAL else self.sp.encode(piece))
        return ids[:MAX_LENGTH - 1] + [self.eos_id]


def padded(tok, text):
    ids = tok.ids(text)
    return ids + [tok.pad_id] * (MAX_LENGTH - len(ids)), len(ids)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


def gelu_tanh(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class Attention(nn.Module):
    """Multi-head attention with q/k/v/out projections; `query` defaults to the keys' sequence (self-attention)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.q, self.k, self.v, self.out = (nn.Linear(width, width) for _ in range(4))

    def _split(self, t):
        return t.reshape(t.shape[0], -1, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x, query=None):
        q = self._split(self.q(x if query is None else query)) * self.head_dim ** -0.5
        k, v = self._split(self.k(x)), self._split(self.v(x))
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)), dim=-1)
        ctx = torch.matmul(weights, v).transpose(1, 2)
        return self.out(ctx.reshape(ctx.shape[0], -1, self.heads * self.head_dim))


class Mlp(nn.Module):
    def __init__(self, width, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, hidden), nn.Linear(hidden, width)

    def forward(self, x):
        return self.fc2(gelu_tanh(self.fc1(x)))


class Block(nn.Module):
    """Pre-LN encoder layer: x + attn(LN(x)); x + mlp(LN(x)). No mask: both towers attend everywhere."""

    def __init__(self):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(WIDTH, eps=LN_EPS), Attention(WIDTH, HEADS)
        self.ln2, self.mlp = nn.LayerNorm(WIDTH, eps=LN_EPS), Mlp(WIDTH, MLP)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TextTower(nn.Module):
    """SiglipTextTransformer: token + learned position embeddings, bidirectional blocks, final LN,
    pooler_output = head(last position's state)."""

    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, WIDTH)
        self.position_embedding = nn.Parameter(torch.zeros(MAX_LENGTH, WIDTH))
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.final_ln = nn.LayerNorm(WIDTH, eps=LN_EPS)
        self.head = nn.Linear(WIDTH, WIDTH)

    def forward(self, input_ids):
        x = self.token_embedding(input_ids) + self.position_embedding[: input_ids.shape[1]]
        for block in self.blocks:
            x = block(x)
        x = self.final_ln(x)
        return x, self.head(x[:, -1, :])


class VisionTower(nn.Module):
    """SiglipVisionTransformer: patch conv (with bias), learned positions, no class token, blocks, post-LN,
    attention-pooling head (probe attends over the patches; residual + LN + MLP)."""

    def __init__(self):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, WIDTH, kernel_size=PATCH, stride=PATCH)
        self.position_embedding = nn.Parameter(torch.zeros((IMAGE // PATCH) ** 2, WIDTH))
        self.blocks = nn.ModuleList(Block() for _ in range(LAYERS))
        self.post_ln = nn.LayerNorm(WIDTH, eps=LN_EPS)
        self.probe = nn.Parameter(torch.zeros(1, 1, WIDTH))
        self.head_attn = Attention(WIDTH, HEADS)
        self.head_ln = nn.LayerNorm(WIDTH, eps=LN_EPS)
        self.head_mlp = Mlp(WIDTH, MLP)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2) + self.position_embedding
        for block in self.blocks:
            x = block(x)
        x = self.post_ln(x)
        pooled = self.head_attn(x, query=self.probe.expand(x.shape[0], -1, -1))
        pooled = pooled + self.head_mlp(self.head_ln(pooled))
        return x, pooled[:, 0]


class Combined(nn.Module):
    """SiglipModel: both towers, normalised embeddings, logits = text @ image.T * exp(logit_scale) + logit_bias."""

    def __init__(self, text, vision, logit_scale, logit_bias):
        super().__init__()
        self.text, self.vision = text, vision
        self.logit_scale = nn.Parameter(torch.tensor([logit_scale]))
        self.logit_bias = nn.Parameter(torch.tensor([logit_bias]))

    def forward(self, input_ids, pixel_values):
        text_embeds = self.text(input_ids)[1]
        image_embeds = self.vision(pixel_values)[1]
        text_embeds = text_embeds / text_embeds.norm(p=2, dim=-1, keepdim=True)
        image_embeds = image_embeds / image_embeds.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = torch.matmul(text_embeds, image_embeds.t()) * self.logit_scale.exp() + self.logit_bias
        return logits_per_text.t(), logits_per_text, text_embeds, image_embeds


def init_weights(module, generator):
    """Deterministic random init with visible contributions from every block (std 1/sqrt(fan_in))."""

    def normal_(t, std, mean=0.0):
        with torch.no_grad():
            t.copy_(torch.randn(t.shape, generator=generator) * std + mean)

    for m in module.modules():
        if isinstance(m, nn.Linear):
            normal_(m.weight, 1.0 / math.sqrt(m.in_features))
            normal_(m.bias, 0.02)
        elif isinstance(m, nn.Conv2d):
            normal_(m.weight, 1.0 / math.sqrt(m.in_channels * m.kernel_size[0] * m.kernel_size[1]))
            normal_(m.bias, 0.02)
        elif isinstance(m, nn.Embedding):
            normal_(m.weight, 0.5)
        elif isinstance(m, nn.LayerNorm):
            normal_(m.weight, 0.1, mean=1.0)
            normal_(m.bias, 0.02)
    for name, p in module.named_parameters(recurse=False):
        normal_(p, 0.5 if name == "probe" else 0.1)


def export(module, args, path, input_names, output_names, dynamic_axes, fold=True):
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=fold)
    import onnx
    model = onnx.load(path)
    onnx.checker.check_model(model)


def quantize(src, dst):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "quantize_dynamic_int8.py"),
                    "--input", src, "--output", dst], check=True, stdout=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# Config files
# --------------------------------------------------------------------------


def tower_config(kind, vocab_size=None):
    base = {"hidden_size": WIDTH, "intermediate_size": MLP, "num_attention_heads": HEADS, "num_hidden_layers": LAYERS,
            "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": LN_EPS}
    if kind == "text":
        return {**base, "model_type": "siglip_text_model", "vocab_size": vocab_size,
                "max_position_embeddings": MAX_LENGTH, "projection_size": WIDTH}
    return {**base, "model_type": "siglip_vision_model", "image_size": IMAGE, "patch_size": PATCH, "num_channels": 3}


def model_config(family, vocab_size, seed):
    return {
        "architectures": ["SiglipModel"],
        "initializer_factor": 1.0,
        "model_type": "siglip",
        "text_config": tower_config("text", vocab_size),
        "transformers_version": "4.49.0" if family == "siglip2" else "4.37.0.dev0",
        "vision_config": tower_config("vision"),
        "zeroshot_fixture": {"family": family, "layout": FAMILIES[family]["hub"], "seed": seed,
                             "note": "random weights: for tests only"},
    }


def preprocessor_config(resample):
    out = {"do_normalize": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
           "image_processor_type": "SiglipImageProcessor", "image_std": [0.5, 0.5, 0.5],
           "processor_class": "SiglipProcessor", "resample": resample, "rescale_factor": 0.00392156862745098,
           "size": {"height": IMAGE, "width": IMAGE}}
    return {"do_convert_rgb": None, **out} if resample == 2 else out


NAFLEX_CONFIG = {
    "architectures": ["Siglip2Model"],
    "initializer_factor": 1.0,
    "model_type": "siglip2",
    "text_config": {"model_type": "siglip2_text_model", "vocab_size": 256000},
    "transformers_version": "4.49.0.dev0",
    "vision_config": {"model_type": "siglip2_vision_model", "num_patches": 256, "patch_size": 16},
}
NAFLEX_PREPROCESSOR = {
    "do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True,
    "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "Siglip2ImageProcessorFast", "image_std": [0.5, 0.5, 0.5],
    "max_num_patches": 256, "patch_size": 16, "processor_class": "Siglip2Processor", "resample": 2,
    "rescale_factor": 0.00392156862745098,
}


NUMBER_LIST = re.compile(r"\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]")


def write_json(path, obj, indent=2, compact_numbers=False):
    """JSON, optionally with each list of numbers on one line (the goldens: ids and embeddings)."""
    text = json.dumps(obj, indent=indent, ensure_ascii=False)
    if compact_numbers:
        text = NUMBER_LIST.sub(lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")


# --------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------


def fairface_prompts():
    with open(os.path.join(ROOT, "specs", "fairface-race.yaml"), encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    return [p for prompts in spec["classes"].values() for p in prompts]


def golden_images():
    demo = os.path.join(ROOT, "fixtures", "demo-images")
    names = sorted((n for n in os.listdir(demo) if n.endswith(".jpg")), key=lambda n: int(n.split(".")[0]))
    return [os.path.join("fixtures/demo-images", n) for n in names] + GOLDEN_IMAGES_EXTRA


def preprocess(rel, resample):
    with Image.open(os.path.join(ROOT, rel)) as img:
        mode, size = img.mode, list(img.size)
        rgb = img.convert("RGB").resize((IMAGE, IMAGE), resample=resample)
    pixels = np.asarray(rgb, dtype=np.uint8)
    chw = (pixels.astype(np.float32) * np.float32(0.00392156862745098) - np.float32(0.5)) / np.float32(0.5)
    return {"file": rel, "mode": mode, "size": size,
            "resized_sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}, chw.transpose(2, 0, 1)


def rounded(values):
    return [float(v) for v in np.asarray(values, dtype=np.float32).reshape(-1)]


def random_prompts(count=200):
    """Seeded mixtures of words, case, punctuation, digits, whitespace and non-ASCII characters."""
    rng = random.Random(7)
    extra = list("ÀÉÎÕÜàéîõüßçñøåæœ€£¥©®°±µ¶·¿¡«»–—‘’“”…†‡•ΑΒΓαβγΣσςДЖЯжя日本語한국어😀👍🏽\u00a0\u2003\u200b\u3000ﬁﬂ①②ⅫＡｂ１")
    symbols = list(string.punctuation) + [" ", "  ", "\t", "\n"]
    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.randint(1, 14)):
            roll = rng.random()
            word = rng.choice(WORDS)
            if roll < 0.15:
                word = word.upper()
            elif roll < 0.3:
                word = word.capitalize()
            elif roll < 0.4:
                word = str(rng.randint(0, 10 ** rng.randint(1, 6)))
            elif roll < 0.5:
                word = "".join(rng.choice(extra) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.3:
                word += rng.choice(symbols)
            parts.append(word)
        out.append(rng.choice(["", " ", "\t"]) + " ".join(parts))
    return out


def codepoint_prompts(per_prompt=12):
    """Every code point SentencePiece's nmt_nfkc or Python's lower()/whitespace rules could treat specially
    (NFKC changes it, control and format characters, whitespace), between "a"s so each stands alone."""
    import unicodedata
    points = [c for c in range(0x01, 0x30000) if not 0xD800 <= c <= 0xDFFF and (
        unicodedata.normalize("NFKC", chr(c)) != chr(c) or unicodedata.category(chr(c)) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        or chr(c).lower() != chr(c) and c > 0x7F and c % 7 == 0)]
    return ["a" + "a".join(chr(c) for c in points[i:i + per_prompt]) + "a" for i in range(0, len(points), per_prompt)]


def token_rule_prompts():
    """Prompts per text rule for sentencepiece_tokens.json."""
    base = fairface_prompts()
    long_words = " ".join(f"word{i} and more" for i in range(40))
    return {
        "fairface": base,
        "case": ["A PHOTO OF A WHITE MAN", "A Photo Of An East Asian Woman", "a pHoTo of a BLACK man", "İstanbul",
                 "ΟΔΟΣ Σ", "STRASSE Straße"],
        "punctuation": ["a photo of a white man.", "a photo, of a man!", "(a) [photo] {of} <a> man?",
                        "don't stop", "middle-eastern", "a_b_c", "\"quoted\" 'single'", "100% #1 @home $5 ^_^ ~x~",
                        "a/b\\c|d", "...", "!!!", "a.b.c."],
        "whitespace": ["  leading", "trailing  ", "a   b    c", "tab\tseparated", "new\nline", "\u00a0nbsp\u00a0here",
                       "ideographic\u3000space", "", " ", "\u2581already\u2581escaped", "em\u2003space"],
        "digits": ["a photo of 2 people", "aged 30-39", "1234567890", "3.14159", "year 2026", "0"],
        "unicode": ["café", "naïve señor", "Zürich", "crème brûlée", "日本語", "emoji 😀 face", "ﬁne ligature",
                    "ＦＵＬＬ ｗｉｄｔｈ", "Ⅻ roman", "x² superscript", "e\u0301 combining", "ß", "ǅ title",
                    "zero\u200bwidth", "soft\u00adhyphen", "control\u0007char"],
        "truncation": [long_words, "a photo of " + "very " * 70 + "long",
                       " ".join(["photo"] * 63), " ".join(["photo"] * 64), " ".join(["photo"] * 65)],
        "random": random_prompts(),
        "codepoints": codepoint_prompts(),
        "special_tokens": ["a photo </s> of a man", "a photo of a man</s>", "</s> a photo", "<unk>", "x <unk> y",
                           "</S> upper", "a<eos>b", "<bos> a photo <eos>", "<pad><pad>", "a <unk>日本", "</s></s>",
                           "a photo of a man </s>", "< /s> <unk", "ends with </s>  "],
    }


def family_golden(family, tok, text_tower, vision_tower, logit_scale, logit_bias, resample):
    prompts = fairface_prompts() + TRICKY_PROMPTS
    ids = [padded(tok, p) for p in prompts]
    with torch.no_grad():
        input_ids = torch.tensor([i for i, _ in ids], dtype=torch.int64)
        text_out = text_tower(input_ids)[1].numpy()
        images, pixels = [], []
        for rel in golden_images():
            meta, chw = preprocess(rel, resample)
            images.append(meta)
            pixels.append(chw)
        image_out = vision_tower(torch.from_numpy(np.stack(pixels)))[1].numpy()
    text_n = text_out / np.linalg.norm(text_out, axis=1, keepdims=True)
    image_n = image_out / np.linalg.norm(image_out, axis=1, keepdims=True)
    cos = (image_n @ text_n.T).astype(np.float32)
    probs = 1.0 / (1.0 + np.exp(-(np.exp(np.float32(logit_scale)) * cos + np.float32(logit_bias))))
    for meta, emb in zip(images, image_out):
        meta["pooler_output"] = rounded(emb)
    return {
        "generator": "scripts/build_siglip_fixtures.py",
        "family": family,
        "fixture": FAMILIES[family]["dir"],
        "layout_of": FAMILIES[family]["hub"],
        "note": "random-weight toy model: the numbers test code paths, not SigLIP's accuracy",
        "text_reference": ("SiglipTokenizer rules on python sentencepiece" if family == "siglip"
                           else "GemmaTokenizer (add_bos_token false, add_eos_token true) on python sentencepiece"),
        "image_reference": (f"PIL {Image.__version__}: open -> convert('RGB') -> resize(({IMAGE}, {IMAGE}), "
                            f"resample={resample}) -> x/255 -> (x - 0.5) / 0.5"),
        "max_length": MAX_LENGTH,
        "pad_id": tok.pad_id,
        "eos_id": tok.eos_id,
        "prompts": [{"text": p, "input_ids": i, "length": n, "pooler_output": rounded(e)}
                    for p, (i, n), e in zip(prompts, ids, text_out)],
        "images": images,
        "logit_scale": float(np.float32(logit_scale)),
        "logit_bias": float(np.float32(logit_bias)),
        "similarities": [rounded(100.0 * row) for row in cos],
        "probabilities": [rounded(row) for row in probs],
    }


# --------------------------------------------------------------------------


def build_family(family, model_bytes, proto, seed, logit_scale, logit_bias):
    info = FAMILIES[family]
    out = os.path.join(ROOT, info["dir"])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "onnx"))
    vocab_size = len(proto.pieces)

    if family == "siglip":
        with open(os.path.join(out, "spiece.model"), "wb") as f:
            f.write(model_bytes)
        write_json(os.path.join(out, "tokenizer.json"), unigram_tokenizer_json(proto))
        write_json(os.path.join(out, "tokenizer_config.json"), siglip_tokenizer_config())
        write_json(os.path.join(out, "special_tokens_map.json"), siglip_special_tokens_map())
        tok = SiglipReferenceTokenizer(model_bytes)
    else:
        with open(os.path.join(out, "tokenizer.model"), "wb") as f:
            f.write(model_bytes)
        write_json(os.path.join(out, "tokenizer.json"), gemma_tokenizer_json(proto))
        write_json(os.path.join(out, "tokenizer_config.json"), gemma_tokenizer_config())
        write_json(os.path.join(out, "special_tokens_map.json"), gemma_special_tokens_map())
        tok = GemmaReferenceTokenizer(model_bytes)
    write_json(os.path.join(out, "config.json"), model_config(family, vocab_size, seed))
    write_json(os.path.join(out, "preprocessor_config.json"), preprocessor_config(info["resample"]))

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed * 10 + (1 if family == "siglip" else 2))
    text, vision = TextTower(vocab_size).eval(), VisionTower().eval()
    init_weights(text, gen)
    init_weights(vision, gen)
    combined = Combined(text, vision, logit_scale, logit_bias).eval()

    sample_ids = torch.tensor([padded(tok, "a photo of a white man")[0], padded(tok, "a cat")[0]], dtype=torch.int64)
    sample_pixels = torch.linspace(-1.0, 1.0, 2 * 3 * IMAGE * IMAGE).reshape(2, 3, IMAGE, IMAGE)
    onnx_dir = os.path.join(out, "onnx")
    export(text, (sample_ids,), os.path.join(onnx_dir, "text_model.onnx"), ["input_ids"],
           ["last_hidden_state", "pooler_output"],
           {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}})
    export(vision, (sample_pixels,), os.path.join(onnx_dir, "vision_model.onnx"), ["pixel_values"],
           ["last_hidden_state", "pooler_output"],
           {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"},
            "pooler_output": {0: "batch_size"}})
    # No constant folding, so exp(logit_scale) stays a node and both learned values stay named initializers.
    export(combined, (sample_ids, sample_pixels), os.path.join(onnx_dir, "model.onnx"), ["input_ids", "pixel_values"],
           ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
           {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"},
            "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
            "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
            "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}}, fold=False)
    for name in ("text_model", "vision_model", "model"):
        quantize(os.path.join(onnx_dir, f"{name}.onnx"), os.path.join(onnx_dir, f"{name}_quantized.onnx"))

    ref_pixels = torch.linspace(-1.0, 1.0, 3 * IMAGE * IMAGE).reshape(1, 3, IMAGE, IMAGE)
    with torch.no_grad():
        ref_text = text(sample_ids)[1]
        ref_image = vision(ref_pixels)[1]
        logits_per_image = combined(sample_ids, ref_pixels)[0]
    write_json(os.path.join(out, "reference.json"), {
        "note": "torch outputs of the random-weight model: pooler_output NOT normalised; pixel_values = "
                "linspace(-1, 1) over [1, 3, 224, 224]",
        "seed": seed,
        "text": [{"input_ids": ids, "pooler_output": rounded(e)} for ids, e in zip(sample_ids.tolist(), ref_text)],
        "image": {"pixel_values": "linspace(-1, 1, 3*224*224).reshape(1, 3, 224, 224)", "shape": [1, 3, IMAGE, IMAGE],
                  "pooler_output": rounded(ref_image[0])},
        "logit_scale": float(np.float32(logit_scale)),
        "logit_bias": float(np.float32(logit_bias)),
        "logits_per_image": rounded(logits_per_image),
    })
    return tok, family_golden(family, tok, text, vision, logit_scale, logit_bias, info["resample"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    golden_dir = os.path.join(ROOT, "test", "golden", "families")
    os.makedirs(golden_dir, exist_ok=True)
    token_goldens = {}
    # SigLIP's released values are about log(10) → 2.30 scale and -10 bias at init; trained ones differ
    learned = {"siglip": (4.7, -12.9), "siglip2": (4.72, -16.8)}
    with tempfile.TemporaryDirectory() as work:
        for family, info in FAMILIES.items():
            model_bytes = train_sentencepiece(info["tokenizer"], info["vocab_size"], work)
            _, proto = load_processor(model_bytes)
            tok, golden = build_family(family, model_bytes, proto, args.seed, *learned[family])
            write_json(os.path.join(golden_dir, f"{family}.json"), golden, indent=1, compact_numbers=True)
            token_goldens[family] = {
                "tokenizer": info["dir"], "max_length": MAX_LENGTH, "pad_id": tok.pad_id, "eos_id": tok.eos_id,
                "rules": {rule: [{"text": t, "input_ids": padded(tok, t)[0], "length": padded(tok, t)[1]}
                                 for t in texts] for rule, texts in token_rule_prompts().items()},
            }
            print(f"{family}: vocab {len(proto.pieces)}, files in {info['dir']}")
    write_json(os.path.join(golden_dir, "sentencepiece_tokens.json"), {
        "generator": "scripts/build_siglip_fixtures.py",
        "note": "input_ids as fed to the text graph (padded to max_length), per text rule",
        **token_goldens,
    }, indent=1, compact_numbers=True)
    naflex = os.path.join(ROOT, "fixtures", "siglip2-naflex")
    os.makedirs(naflex, exist_ok=True)
    write_json(os.path.join(naflex, "config.json"), NAFLEX_CONFIG)
    write_json(os.path.join(naflex, "preprocessor_config.json"), NAFLEX_PREPROCESSOR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
