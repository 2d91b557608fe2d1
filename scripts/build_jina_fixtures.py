#!/usr/bin/python3
"""Build the jina-clip v1, jina-clip v2 and multilingual SigLIP test fixtures, their tokenizers and their goldens.

Dev-time only; the outputs are committed so tests never need Python:

    fixtures/jina-clip-v1/          jinaai/jina-clip-v1 layout: split towers onnx/text_model.onnx and
                                    onnx/vision_model.onnx (+ _quantized), BERT WordPiece tokenizer (vocab.txt,
                                    tokenizer.json), the custom preprocessor_config.json (size 224, resize_mode
                                    "shortest", interpolation "bicubic", mean/std)
    fixtures/jina-clip-v2/          jinaai/jina-clip-v2 layout: ONE combined onnx/model.onnx whose weights are in
                                    onnx/model.onnx_data (external data), XLM-RoBERTa SentencePiece Unigram tokenizer
                                    (sentencepiece.bpe.model, tokenizer.json), preprocessor size 512
    fixtures/siglip-multilingual/   google/siglip-base-patch16-256-multilingual converted the Transformers.js way
                                    (Xenova layout, as in fixtures/siglip) at 256×256 with a multilingual vocabulary
    test/golden/families/{jina-clip-v1,jina-clip-v2,siglip-multilingual}.json

Usage (from the repository root; ftfy for make_similarity_goldens, e.g. an unpacked wheel):
    PYTHONPATH=<folder with ftfy> /usr/bin/python3 scripts/build_jina_fixtures.py [--only jina-clip-v2]

The torch modules are written here from the reference code's architecture (docs/families.md has the sources):
  v1 text   JinaBERT: word + token-type embeddings, LayerNorm, post-LN encoder layers with ALiBi attention
            biases (no position embeddings) and a GEGLU feed-forward, mean pooling over the attention mask. The
            mask is (input_ids != pad id 0), computed inside the graph as open_clip's HFTextEncoder does, so the
            graph takes input_ids only. No text projection: config text_config proj_type null with embed_dim equal
            to the hidden size (open_clip's rule: nn.Identity).
  v2 text   XLM-RoBERTa: word embeddings (padding_idx 1), learned positions numbered from padding_idx + 1 over the
            non-pad tokens (RoBERTa's create_position_ids_from_input_ids: pads get position 1), token-type row 0,
            post-LN encoder layers, mean pooling over the mask (input_ids != 1). The real text tower uses rotary
            position embeddings (jina-embeddings-v3); this fixture keeps RoBERTa's learned positions.
  vision    a ViT standing in for EVA02: patch convolution, class token, learned positions, pre-LN blocks
            (gelu-tanh MLPs), final LayerNorm on the class token, linear head.
  siglip    build_siglip_fixtures.py's SigLIP towers and tokenizer files at 256×256.

Python references for the goldens:
  v1 text   BertTokenizer (do_lower_case, tokenize_chinese_chars, strip_accents None: accents stripped because
            lower-casing is on) restated below, [CLS] … [SEP], truncated to model_max_length keeping [SEP].
  v2 text   XLMRobertaTokenizer on python sentencepiece: the text cut at the added tokens, <s> … </s>, piece ids + 1
            (fairseq offset), the SentencePiece unknown id 0 → <unk> 3, truncated keeping </s>; padded to the
            longest with <pad> 1.
  images    jina-clip-implementation's transform.py (open_clip's image_transform, is_train False, resize_mode
            "shortest"): Resize(size, BICUBIC) → CenterCrop(size) → convert("RGB") → ToTensor → Normalize(mean,
            std), with make_image_goldens.py's torchvision rules; SigLIP: build_siglip_fixtures.py's.

Same files on every run (seeded weights, single-threaded SentencePiece training on generated corpora).
"""

import argparse
import contextlib
import hashlib
import math
import os
import random
import shutil
import string
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_siglip_fixtures as sg  # noqa: E402
import make_family_goldens as family_goldens  # noqa: E402
import make_similarity_goldens as similarity_goldens  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import PIL  # noqa: E402
import sentencepiece as spm  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402
from sentencepiece import sentencepiece_model_pb2 as sp_pb2  # noqa: E402

ROOT = sg.ROOT
WIDTH, LAYERS, HEADS = sg.WIDTH, sg.LAYERS, sg.HEADS
EMBED_DIM = WIDTH  # text_config embed_dim == hidden size, so no text projection (as in both real configs)
FFN = 64
OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
MATRYOSHKA_DIMS = [8, 16, 32]

BERT_PAD_ID = 0
XLMR_PAD_ID, XLMR_BOS_ID, XLMR_EOS_ID, XLMR_UNK_ID = 1, 0, 2, 3
TEXT_MAX_LENGTH = 8192  # tokenizer_config.json model_max_length of both jina text towers (8k context)
XLMR_MAX_POSITIONS = TEXT_MAX_LENGTH + 2  # RoBERTa numbers positions from padding_idx + 1

FIXTURES = {
    "jina-clip-v1": {"dir": "fixtures/jina-clip-v1", "hub": "jinaai/jina-clip-v1", "seed": 11, "image": 224,
                     "patch": 16},
    "jina-clip-v2": {"dir": "fixtures/jina-clip-v2", "hub": "jinaai/jina-clip-v2", "seed": 12, "image": 512,
                     "patch": 32},
    "siglip-multilingual": {"dir": "fixtures/siglip-multilingual",
                            "hub": "google/siglip-base-patch16-256-multilingual (ONNX, Transformers.js layout)",
                            "seed": 13, "image": 256, "resample": 3, "vocab_size": 2500},
}

# The seed's 14 prompts in Portuguese and Spanish, class by class in specs/fairface-race.yaml's order.
PORTUGUESE_PROMPTS = [
    "uma foto de um homem branco", "uma foto de uma mulher branca",
    "uma foto de um homem negro", "uma foto de uma mulher negra",
    "uma foto de um homem latino hispânico", "uma foto de uma mulher latina hispânica",
    "uma foto de um homem do leste asiático", "uma foto de uma mulher do leste asiático",
    "uma foto de um homem do sudeste asiático", "uma foto de uma mulher do sudeste asiático",
    "uma foto de um homem indiano", "uma foto de uma mulher indiana",
    "uma foto de um homem do oriente médio", "uma foto de uma mulher do oriente médio",
]
SPANISH_PROMPTS = [
    "una foto de un hombre blanco", "una foto de una mujer blanca",
    "una foto de un hombre negro", "una foto de una mujer negra",
    "una foto de un hombre latino hispano", "una foto de una mujer latina hispana",
    "una foto de un hombre de asia oriental", "una foto de una mujer de asia oriental",
    "una foto de un hombre del sudeste asiático", "una foto de una mujer del sudeste asiático",
    "una foto de un hombre indio", "una foto de una mujer india",
    "una foto de un hombre de oriente medio", "una foto de una mujer de oriente medio",
]
CHINESE_PROMPTS = ["一张白人男子的照片", "一张黑人女子的照片", "一张东亚男子的照片", "一张中东女子的照片"]
LANGUAGE_TRICKY_PROMPTS = [
    "Uma Foto De Um HOMEM Branco!", "  uma   foto\tde uma\nmulher  ", "¿una foto de un hombre?",
    "«uma foto» — de um homem", "uma foto de um homem " + " ".join(["com uma descrição muito longa do rosto"] * 12),
]


def golden_prompts():
    return (similarity_goldens.fairface_prompts() + PORTUGUESE_PROMPTS + SPANISH_PROMPTS + CHINESE_PROMPTS
            + LANGUAGE_TRICKY_PROMPTS + sg.TRICKY_PROMPTS)


# --------------------------------------------------------------------------
# Multilingual corpus and SentencePiece models
# --------------------------------------------------------------------------

PT_WORDS = """uma um foto de do da homem mulher branco branca negro negra latino latina hispânico hispânica leste
sudeste asiático asiática indiano indiana oriente médio retrato imagem pessoa pessoas jovem velho velha criança
menino menina sorrindo cabelo olhos óculos barba camisa fundo escuro claro rosto câmera não são está também com sem
para por muito pouco bonito feliz triste cidade praia família amigo escola água coração ação atenção""".split()
ES_WORDS = """una un foto de del la el hombre mujer blanco blanca negro negra latino latina hispano hispana asia
oriental sudeste asiático asiática indio india oriente medio retrato imagen persona personas joven viejo vieja niño
niña sonriendo pelo ojos gafas barba camisa fondo oscuro claro cara cámara año señor señora también con sin para por
muy poco bonito feliz triste ciudad playa familia amigo escuela agua corazón acción atención pequeño""".split()
ZH_LINES = ["一张白人男子的照片", "一张白人女子的照片", "一张黑人男子的照片", "一张黑人女子的照片", "一张东亚男子的照片",
            "一张东南亚女子的照片", "一张印度男子的照片", "一张中东女子的照片", "这是一张照片", "中国人 日本人 韩国人",
            "男人 女人 孩子 老人 年轻人", "照片 图片 肖像 相机 微笑"]
PT_TEMPLATES = ["uma foto de {}", "um retrato de {}", "uma imagem de {}", "esta é uma foto de {}"]
ES_TEMPLATES = ["una foto de {}", "un retrato de {}", "una imagen de {}", "esta es una foto de {}"]


def multilingual_lines():
    """English (build_siglip_fixtures.py's corpus), Portuguese, Spanish and a little Chinese, seeded."""
    rng = random.Random(20261)
    lines = list(sg.corpus_lines())
    lines += [" ".join(rng.choice(PT_WORDS) for _ in range(rng.randint(4, 12))) for _ in range(1500)]
    lines += [" ".join(rng.choice(ES_WORDS) for _ in range(rng.randint(4, 12))) for _ in range(1500)]
    for prompts, templates, words in ((PORTUGUESE_PROMPTS, PT_TEMPLATES, PT_WORDS),
                                      (SPANISH_PROMPTS, ES_TEMPLATES, ES_WORDS)):
        lines += prompts * 10
        lines += [rng.choice(templates).format(" ".join(rng.sample(words, 3))) for _ in range(600)]
    lines += ZH_LINES * 15
    lines += [l[:1].upper() + l[1:] for l in lines[::9]]
    return lines


def train_unigram(name, lines, vocab_size, workdir, ids):
    """A SentencePiece Unigram model (nmt_nfkc, dummy prefix) with build_siglip_fixtures.py's trainer settings;
    the recorded input and prefix are names only, so the bytes do not depend on the temporary folder."""
    corpus = os.path.join(workdir, f"{name}.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    prefix = os.path.join(workdir, name)
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=vocab_size, hard_vocab_limit=False, num_threads=1,
        character_coverage=1.0, shuffle_input_sentence=False, seed_sentencepiece_size=100000, minloglevel=2,
        model_type="unigram", **ids)
    with open(prefix + ".model", "rb") as f:
        proto = sp_pb2.ModelProto.FromString(f.read())
    del proto.trainer_spec.input[:]
    proto.trainer_spec.input.append(f"{name}.txt")
    proto.trainer_spec.model_prefix = name
    return proto.SerializeToString()


# --------------------------------------------------------------------------
# XLM-RoBERTa tokenizer (v2)
# --------------------------------------------------------------------------


def xlmr_tokenizer_json(proto):
    """tokenizer.json as transformers' XLMRobertaConverter writes an XLM-R SentencePiece model: the fairseq vocab
    order (<s> 0, <pad> 1, </s> 2, <unk> 3, then the model's pieces from its id 3 on, each one id higher, <mask>
    last), SpmConverter's normalizer and Metaspace, and TemplateProcessing <s> $A </s>."""
    unigram = sg.unigram_tokenizer_json(proto)
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p.piece, p.score] for p in proto.pieces[3:]]
    mask_id = len(vocab)
    vocab.append(["<mask>", 0.0])
    special = {"<s>": {"id": "<s>", "ids": [XLMR_BOS_ID], "tokens": ["<s>"]},
               "</s>": {"id": "</s>", "ids": [XLMR_EOS_ID], "tokens": ["</s>"]}}

    def seq(name):
        return {"Sequence": {"id": name, "type_id": 0}}

    def tok(name):
        return {"SpecialToken": {"id": name, "type_id": 0}}

    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [sg.added_token(0, "<s>"), sg.added_token(1, "<pad>"), sg.added_token(2, "</s>"),
                         sg.added_token(3, "<unk>"), sg.added_token(mask_id, "<mask>", lstrip=True)],
        "normalizer": unigram["normalizer"],
        "pre_tokenizer": unigram["pre_tokenizer"],
        "post_processor": {"type": "TemplateProcessing",
                           "single": [tok("<s>"), seq("A"), tok("</s>")],
                           "pair": [tok("<s>"), seq("A"), tok("</s>"), tok("</s>"), seq("B"), tok("</s>")],
                           "special_tokens": special},
        "decoder": unigram["decoder"],
        "model": {"type": "Unigram", "unk_id": XLMR_UNK_ID, "vocab": vocab, "byte_fallback": False},
    }


def xlmr_tokenizer_config():
    decoder = {str(i): {**sg.special(c, False), "special": True}
               for i, c in ((0, "<s>"), (1, "<pad>"), (2, "</s>"), (3, "<unk>"))}
    return {"added_tokens_decoder": decoder, "bos_token": "<s>", "clean_up_tokenization_spaces": True,
            "cls_token": "<s>", "eos_token": "</s>", "mask_token": "<mask>", "model_max_length": TEXT_MAX_LENGTH,
            "pad_token": "<pad>", "sep_token": "</s>", "sp_model_kwargs": {},
            "tokenizer_class": "XLMRobertaTokenizer", "unk_token": "<unk>"}


def xlmr_special_tokens_map():
    return {k: sg.special(v, k == "mask_token") for k, v in (
        ("bos_token", "<s>"), ("cls_token", "<s>"), ("eos_token", "</s>"), ("mask_token", "<mask>"),
        ("pad_token", "<pad>"), ("sep_token", "</s>"), ("unk_token", "<unk>"))}


class XlmrReference:
    """transformers' XLMRobertaTokenizer (the slow, SentencePiece one) restated on python sentencepiece: the text cut
    at the added tokens (<mask> strips the whitespace on its left; the others strip nothing), each piece encoded."""

    pad_id, bos_id, eos_id = XLMR_PAD_ID, XLMR_BOS_ID, XLMR_EOS_ID

    def __init__(self, model_bytes):
        self.sp, proto = sg.load_processor(model_bytes)
        self.special = {"<s>": XLMR_BOS_ID, "<pad>": XLMR_PAD_ID, "</s>": XLMR_EOS_ID, "<unk>": XLMR_UNK_ID,
                        "<mask>": len(proto.pieces) + 1}

    def ids(self, text, max_length=TEXT_MAX_LENGTH):
        parts = sg.split_on_tokens(text, self.special)
        for i, part in enumerate(parts):
            if part == "<mask>" and i > 0 and parts[i - 1] not in self.special:
                parts[i - 1] = parts[i - 1].rstrip()
        pieces = []
        for part in parts:
            if part in self.special:
                pieces.append(self.special[part])
            elif part:
                # _convert_token_to_id: fairseq offset 1; SentencePiece's <unk> (0) is XLM-R's <unk> (3)
                pieces.extend(i + 1 if i else XLMR_UNK_ID for i in self.sp.encode(part))
        return [self.bos_id] + pieces[:max_length - 2] + [self.eos_id]


# --------------------------------------------------------------------------
# BERT WordPiece tokenizer (v1)
# --------------------------------------------------------------------------

BERT_SPECIALS = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
WORDPIECE_SUFFIXES = ["s", "es", "ed", "ing", "er", "ers", "est", "ly", "ian", "ese", "ish", "an", "n", "y", "ern",
                      "ness", "ment", "ful", "less", "able"]


def wordpiece_vocab():
    """A small uncased BERT vocabulary in bert-base-uncased's order: specials with [PAD] 0 and [UNK] 100, [CLS] 101,
    [SEP] 102, [MASK] 103, then characters, continuation characters, whole words and suffixes."""
    chars = sorted(set(string.ascii_lowercase + string.digits + string.punctuation + "¡¿«»€£°éíóúñçãõâêôàü")
                   | set("日本中文人男女照片"))
    words = sorted(set(w for w in sg.WORDS + sg.GENDERS + sg.AGES + [w for r in sg.RACES for w in r.split()]
                       + "a an of photo the".split() if len(w) > 1))
    pieces = chars + ["##" + c for c in chars if c.isalnum()] + words + ["##" + s for s in WORDPIECE_SUFFIXES]
    seen, vocab = set(BERT_SPECIALS), list(BERT_SPECIALS)
    for p in pieces:
        if p not in seen:
            seen.add(p)
            vocab.append(p)
    return vocab


def _is_cjk(cp):
    return any(lo <= cp <= hi for lo, hi in ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF),
                                              (0x2A700, 0x2B73F), (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF),
                                              (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)))


def _is_punctuation(ch):
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(ch).startswith("P")


class BertReference:
    """transformers' BertTokenizer (BasicTokenizer + WordpieceTokenizer) with do_lower_case True,
    tokenize_chinese_chars True and strip_accents None, restated. Added tokens written in the text ("[MASK]") are
    not split out first as transformers does: no golden prompt has one."""

    pad_id = BERT_PAD_ID

    def __init__(self, vocab):
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.unk_id, self.cls_id, self.sep_id = self.vocab["[UNK]"], self.vocab["[CLS]"], self.vocab["[SEP]"]

    @staticmethod
    def basic_tokens(text):
        out = []
        for ch in text:  # _clean_text: NUL, U+FFFD and control characters dropped, whitespace to " "
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or (unicodedata.category(ch).startswith("C") and ch not in "\t\n\r"):
                continue
            out.append(" " if ch in " \t\n\r" or unicodedata.category(ch) == "Zs" else ch)
        text = "".join(f" {c} " if _is_cjk(ord(c)) else c for c in out)
        text = unicodedata.normalize("NFC", text)
        tokens = []
        for token in text.split():
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower()) if unicodedata.category(c) != "Mn")
            word = ""
            for ch in token:
                if _is_punctuation(ch):
                    if word:
                        tokens.append(word)
                    tokens.append(ch)
                    word = ""
                else:
                    word += ch
            if word:
                tokens.append(word)
        return tokens

    def wordpiece(self, token):
        if len(token) > 100:
            return [self.unk_id]
        ids, start = [], 0
        while start < len(token):
            end = len(token)
            while end > start:
                piece = ("##" if start else "") + token[start:end]
                if piece in self.vocab:
                    ids.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk_id]
            start = end
        return ids

    def ids(self, text, max_length=TEXT_MAX_LENGTH):
        # PreTrainedTokenizer.tokenize lower-cases the whole text first (do_lower_case); BasicTokenizer again per word
        pieces = [i for token in self.basic_tokens(text.lower()) for i in self.wordpiece(token)]
        return [self.cls_id] + pieces[:max_length - 2] + [self.sep_id]


def bert_tokenizer_json(vocab):
    """tokenizer.json as transformers' BertConverter writes an uncased BERT vocabulary."""
    ids = {t: i for i, t in enumerate(vocab)}
    special = {t: {"id": t, "ids": [ids[t]], "tokens": [t]} for t in ("[CLS]", "[SEP]")}
    seq_a, seq_b = {"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [sg.added_token(ids[t], t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, seq_a,
                                      {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, seq_a,
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, seq_b,
                                    {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
                           "special_tokens": special},
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def bert_tokenizer_config():
    """jinaai/jina-bert-implementation's tokenizer_config.json (BertTokenizer, uncased, 8192)."""
    return {"clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_basic_tokenize": True,
            "do_lower_case": True, "mask_token": "[MASK]", "model_max_length": TEXT_MAX_LENGTH, "never_split": None,
            "pad_token": "[PAD]", "sep_token": "[SEP]", "strip_accents": None, "tokenize_chinese_chars": True,
            "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]"}


def bert_special_tokens_map():
    return {k: v for k, v in (("cls_token", "[CLS]"), ("mask_token", "[MASK]"), ("pad_token", "[PAD]"),
                              ("sep_token", "[SEP]"), ("unk_token", "[UNK]"))}


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

MASKED = -1e9  # additive attention bias on padding keys (exp underflows to exactly 0 in float32)


class MaskedAttention(nn.Module):
    """Multi-head self-attention with an optional additive bias [batch or 1, heads or 1, seq, seq]. Reshapes name
    every dimension (no -1), so a batch of 0 runs too: Transformers.js feeds jina-clip-v2's combined graph an empty
    pixel_values [0, 3, H, W] to encode text alone."""

    def __init__(self):
        super().__init__()
        self.head_dim = WIDTH // HEADS
        self.q, self.k, self.v, self.out = (nn.Linear(WIDTH, WIDTH) for _ in range(4))

    def _split(self, t):
        return t.reshape(t.shape[0], t.shape[1], HEADS, self.head_dim).transpose(1, 2)

    def forward(self, x, bias=None):
        q = self._split(self.q(x)) * self.head_dim ** -0.5
        scores = torch.matmul(q, self._split(self.k(x)).transpose(-1, -2))
        weights = torch.softmax(scores if bias is None else scores + bias, dim=-1)
        ctx = torch.matmul(weights, self._split(self.v(x))).transpose(1, 2)
        return self.out(ctx.reshape(ctx.shape[0], ctx.shape[1], WIDTH))


class PostLnLayer(nn.Module):
    """BERT / RoBERTa encoder layer: x = LN(x + attn(x)); x = LN(x + ffn(x)); exact (erf) GELU.
    `geglu` is JinaBERT's gated feed-forward: gelu(gate) * value, then down-projection."""

    def __init__(self, eps, geglu):
        super().__init__()
        self.attn, self.ln1 = MaskedAttention(), nn.LayerNorm(WIDTH, eps=eps)
        self.geglu = geglu
        self.up = nn.Linear(WIDTH, 2 * FFN if geglu else FFN)
        self.down = nn.Linear(FFN, WIDTH)
        self.ln2 = nn.LayerNorm(WIDTH, eps=eps)

    def forward(self, x, bias):
        x = self.ln1(x + self.attn(x, bias))
        h = self.up(x)
        if self.geglu:
            gate, value = h.chunk(2, dim=-1)
            h = F.gelu(gate) * value
        else:
            h = F.gelu(h)
        return self.ln2(x + self.down(h))


class PreLnBlock(nn.Module):
    """ViT layer: x + attn(LN(x)); x + mlp(LN(x)) with build_siglip_fixtures.py's gelu-tanh Mlp."""

    def __init__(self):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(WIDTH, eps=1e-6), MaskedAttention()
        self.ln2, self.mlp = nn.LayerNorm(WIDTH, eps=1e-6), sg.Mlp(WIDTH, 4 * WIDTH)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


def mean_pool(hidden, mask):
    """open_clip's MeanPooler: sum of the masked states / number of real tokens."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1)


def key_padding_bias(mask):
    return ((1.0 - mask.to(torch.float32)) * MASKED)[:, None, None, :]


def alibi_slopes(heads):
    """ALiBi's head slopes for a power-of-two head count: 2^(-8/heads · (h + 1))."""
    return [2.0 ** (-8.0 / heads * (h + 1)) for h in range(heads)]


class JinaBertTextTower(nn.Module):
    """JinaBERT (jina-bert-v2 / jina-clip-v1's text tower) with mean pooling; the mask comes from the pad id."""

    def __init__(self, vocab_size):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, WIDTH)
        self.token_type_embeddings = nn.Embedding(2, WIDTH)
        self.embedding_ln = nn.LayerNorm(WIDTH, eps=1e-12)
        self.layers = nn.ModuleList(PostLnLayer(1e-12, geglu=True) for _ in range(LAYERS))
        self.register_buffer("slopes", torch.tensor(alibi_slopes(HEADS)).reshape(1, HEADS, 1, 1), persistent=False)

    def forward(self, input_ids):
        mask = (input_ids != BERT_PAD_ID).to(torch.int64)
        x = self.word_embeddings(input_ids) + self.token_type_embeddings.weight[0]
        x = self.embedding_ln(x)
        positions = torch.arange(input_ids.shape[1], device=input_ids.device).to(torch.float32)
        distance = (positions[None, :] - positions[:, None]).abs()[None, None]  # symmetric: an encoder
        bias = -self.slopes * distance + key_padding_bias(mask)
        for layer in self.layers:
            x = layer(x, bias)
        return mean_pool(x, mask)


class XlmrTextTower(nn.Module):
    """XLM-RoBERTa with mean pooling; the mask comes from the pad id, positions as RoBERTa numbers them."""

    def __init__(self, vocab_size):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, WIDTH, padding_idx=XLMR_PAD_ID)
        self.position_embeddings = nn.Embedding(XLMR_MAX_POSITIONS, WIDTH, padding_idx=XLMR_PAD_ID)
        self.token_type_embeddings = nn.Embedding(1, WIDTH)
        self.embedding_ln = nn.LayerNorm(WIDTH, eps=1e-5)
        self.layers = nn.ModuleList(PostLnLayer(1e-5, geglu=False) for _ in range(LAYERS))

    def forward(self, input_ids):
        mask = (input_ids != XLMR_PAD_ID).to(torch.int64)
        positions = torch.cumsum(mask, dim=1) * mask + XLMR_PAD_ID  # create_position_ids_from_input_ids
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions) + self.token_type_embeddings.weight[0]
        x = self.embedding_ln(x)
        bias = key_padding_bias(mask)
        for layer in self.layers:
            x = layer(x, bias)
        return mean_pool(x, mask)


class VitTower(nn.Module):
    """A ViT in EVA02's place: patch conv, class token, learned positions, pre-LN blocks, LN, class token → head."""

    def __init__(self, image, patch):
        super().__init__()
        self.patch_embedding = nn.Conv2d(3, WIDTH, kernel_size=patch, stride=patch)
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, WIDTH))
        self.patches = (image // patch) ** 2
        self.position_embedding = nn.Parameter(torch.zeros(self.patches + 1, WIDTH))
        self.blocks = nn.ModuleList(PreLnBlock() for _ in range(LAYERS))
        self.norm = nn.LayerNorm(WIDTH, eps=1e-6)
        self.head = nn.Linear(WIDTH, EMBED_DIM)

    def forward(self, pixel_values):
        x = self.patch_embedding(pixel_values)
        x = x.reshape(x.shape[0], WIDTH, self.patches).transpose(1, 2)
        x = torch.cat([self.class_embedding.expand(x.shape[0], 1, WIDTH), x], dim=1) + self.position_embedding
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])


class JinaClipCombined(nn.Module):
    """jina-clip-v2's onnx/model.onnx: both towers side by side, raw and L2-normalised embeddings."""

    def __init__(self, text, vision):
        super().__init__()
        self.text, self.vision = text, vision

    def forward(self, input_ids, pixel_values):
        text_embeddings = self.text(input_ids)
        image_embeddings = self.vision(pixel_values)
        return (text_embeddings, image_embeddings, F.normalize(text_embeddings, dim=-1),
                F.normalize(image_embeddings, dim=-1))


def build_towers(name, vocab_size):
    spec = FIXTURES[name]
    torch.manual_seed(spec["seed"])
    gen = torch.Generator().manual_seed(spec["seed"])
    if name == "siglip-multilingual":
        with siglip_image_size(spec["image"]):
            text, vision = sg.TextTower(vocab_size).eval(), sg.VisionTower().eval()
    else:
        text_cls = JinaBertTextTower if name == "jina-clip-v1" else XlmrTextTower
        text, vision = text_cls(vocab_size).eval(), VitTower(spec["image"], spec["patch"]).eval()
    sg.init_weights(text, gen)
    sg.init_weights(vision, gen)
    return text, vision


@contextlib.contextmanager
def siglip_image_size(size):
    """build_siglip_fixtures.py's towers, configs and preprocessing read its module-level IMAGE when called; the
    multilingual checkpoint is 256×256."""
    saved, sg.IMAGE = sg.IMAGE, size
    try:
        yield
    finally:
        sg.IMAGE = saved


def export_external(module, args, path, input_names, output_names, dynamic_axes):
    """torch.onnx.export, then the weights moved to <graph>.onnx_data beside it (ONNX external data, one file),
    as the real jina-clip-v2 repo ships them."""
    sg.export(module, args, path, input_names, output_names, dynamic_axes)
    model = onnx.load(path)
    data = os.path.basename(path) + "_data"
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                    size_threshold=1024)
    onnx.checker.check_model(path)


# --------------------------------------------------------------------------
# Config files
# --------------------------------------------------------------------------


def jina_preprocessor_config(size):
    """The real repos' custom keys, in their order (processing_clip.JinaCLIPImageProcessor reads them)."""
    return {
        "auto_map": {"AutoImageProcessor": "jinaai/jina-clip-implementation--processing_clip.JinaCLIPImageProcessor",
                     "AutoProcessor": "jinaai/jina-clip-implementation--processing_clip.JinaCLIPProcessor"},
        "fill_color": 0,
        "image_processor_type": "JinaCLIPImageProcessor",
        "interpolation": "bicubic",
        "mean": OPENAI_MEAN,
        "processor_class": "JinaCLIPProcessor",
        "resize_mode": "shortest",
        "size": size,
        "std": OPENAI_STD,
    }


def jina_config(name, vocab_size):
    spec = FIXTURES[name]
    v2 = name == "jina-clip-v2"
    text = {"embed_dim": EMBED_DIM, "hf_model_config_kwargs": {"use_flash_attn": False},
            "hf_model_name_or_path": "jinaai/jina-embeddings-v3" if v2 else "jinaai/jina-bert-flash-implementation",
            "model_type": "jina_clip_text", "pooler_type": "mean_pooler", "proj_bias": False, "proj_type": None}
    if v2:
        text["default_lora_task"] = "retrieval.query"
    config = {
        "add_projections": False,
        "architectures": ["JinaCLIPModel"],
        "auto_map": {"AutoConfig": "jinaai/jina-clip-implementation--configuration_clip.JinaCLIPConfig",
                     "AutoModel": "jinaai/jina-clip-implementation--modeling_clip.JinaCLIPModel"},
        "initializer_factor": 1.0,
        "logit_scale_init_value": 2.6592,
    }
    if v2:
        config["matryoshka_dimensions"] = MATRYOSHKA_DIMS
    config.update({
        "model_type": "jina_clip",
        "projection_dim": EMBED_DIM,
        "text_config": text,
        "torch_dtype": "float32",
        "vision_config": {"embed_dim": EMBED_DIM, "head_width": WIDTH // HEADS, "image_size": spec["image"],
                          "layers": LAYERS, "model_type": "jina_clip_vision", "patch_size": spec["patch"],
                          "width": WIDTH},
        "zeroshot_fixture": {"layout": spec["hub"], "seed": spec["seed"], "text_vocab_size": vocab_size,
                             "note": "random weights: for tests only"},
    })
    return config


# --------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------


def jina_transform(size):
    return {
        "name": "jina-clip-implementation transform.py image_transform(is_train=False, resize_mode='shortest') "
                "(open_clip's eval transform)",
        "steps": "PIL open -> Resize(size, BICUBIC) -> CenterCrop(size) -> convert('RGB') -> ToTensor -> Normalize",
        "resize_shortest_edge": size,
        "resample": "bicubic",
        "crop": [size, size],
        "convert_rgb": "after the crop",
        "normalize": {"mean": OPENAI_MEAN, "std": OPENAI_STD},
    }


def token_rule_prompts():
    """build_siglip_fixtures.py's prompts per text rule, plus the languages and 8k-token truncation."""
    rules = sg.token_rule_prompts()
    rules["portuguese"] = PORTUGUESE_PROMPTS + ["ação, coração e atenção: não!", "Olá São Paulo"]
    rules["spanish"] = SPANISH_PROMPTS + ["¿Año nuevo? ¡Sí, señor!", "Niño pequeño en la playa"]
    rules["chinese"] = CHINESE_PROMPTS + ["中文和English混合", "人"]
    rules["mask"] = ["a photo of a <mask> man", "a   <mask>", "<mask>", "<s>a photo</s>", "uma foto<mask> de"]
    rules["long"] = [" ".join(["uma foto"] * 4200), " ".join(["photo"] * (TEXT_MAX_LENGTH - 2)),
                     " ".join(["photo"] * (TEXT_MAX_LENGTH - 1))]
    return rules


def pad_longest(rows, pad_id):
    longest = max(len(r) for r in rows)
    return torch.tensor([r + [pad_id] * (longest - len(r)) for r in rows], dtype=torch.int64)


def jina_golden(name, tok, text, vision, token_reference):
    spec = FIXTURES[name]
    transform = jina_transform(spec["image"])
    images = family_goldens.image_paths()
    crops = [family_goldens.reference_crop(path, transform) for _, path in images]
    pixels = torch.stack([family_goldens.pixel_tensor(c, transform) for c in crops])
    prompts = golden_prompts()
    token_ids = [tok.ids(p) for p in prompts]
    with torch.no_grad():
        image_embeds = F.normalize(vision(pixels), dim=-1)
        text_embeds = F.normalize(text(pad_longest(token_ids, tok.pad_id)), dim=-1)
        # Each prompt alone equals the padded batch: the graph masks its padding.
        alone = torch.cat([text(torch.tensor([ids])) for ids in token_ids])
        assert torch.allclose(F.normalize(alone, dim=-1), text_embeds, atol=1e-5), "padding leaks into the pooling"
    f32 = similarity_goldens.f32_list
    golden = {
        "generator": "scripts/build_jina_fixtures.py",
        "fixture": spec["dir"],
        "stands_for": spec["hub"],
        "model": {"seed": spec["seed"], "text_tower": type(text).__name__, "pooling": "mean over the attention mask "
                  f"(input_ids != {tok.pad_id}, computed in the graph)", "embed_dim": EMBED_DIM},
        "versions": {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__,
                     "sentencepiece": spm.__version__},
        "preprocessing": transform,
        "tokenization": {
            "reference": token_reference,
            "fed_to_text_model": f"token_ids rows right-padded with pad_id to the longest prompt; input_ids only",
            "pad_id": tok.pad_id,
            "max_length": TEXT_MAX_LENGTH,
        },
        "images": [rel for rel, _ in images],
        "crop_sha256": [hashlib.sha256(np.asarray(c, dtype=np.uint8).tobytes()).hexdigest() for c in crops],
        "prompts": prompts,
        "token_ids": token_ids,
        "similarities": [f32(row) for row in 100.0 * image_embeds @ text_embeds.t()],
        "image_embeds": [f32(row) for row in image_embeds],
        "text_embeds": [f32(row) for row in text_embeds],
        "logit_scale": None,
        "probabilities_over": "none: the ONNX graphs have no logit_scale (jina scores with the cosine)",
    }
    if name == "jina-clip-v2":
        golden["matryoshka"] = {
            str(dim): {"similarities": [f32(row) for row in 100.0 * F.normalize(image_embeds[:, :dim], dim=-1)
                                        @ F.normalize(text_embeds[:, :dim], dim=-1).t()]}
            for dim in MATRYOSHKA_DIMS if dim < EMBED_DIM}
        golden["matryoshka_rule"] = "first dim components of each normalised embedding, L2-normalised again"
    golden["token_rules"] = {rule: [{"text": t, "input_ids": tok.ids(t)} for t in texts]
                             for rule, texts in token_rule_prompts().items()}
    return golden


def siglip_golden(tok, text, vision, logit_scale, logit_bias):
    """test/golden/families/siglip.json's layout for the multilingual fixture, with the languages' prompts."""
    spec = FIXTURES["siglip-multilingual"]
    prompts = golden_prompts()
    ids = [sg.padded(tok, p) for p in prompts]
    images, pixels = [], []
    with torch.no_grad(), siglip_image_size(spec["image"]):
        for rel in sg.golden_images():
            meta, chw = sg.preprocess(rel, spec["resample"])
            images.append(meta)
            pixels.append(chw)
        text_out = text(torch.tensor([i for i, _ in ids], dtype=torch.int64))[1].numpy()
        image_out = vision(torch.from_numpy(np.stack(pixels)))[1].numpy()
    text_n = text_out / np.linalg.norm(text_out, axis=1, keepdims=True)
    image_n = image_out / np.linalg.norm(image_out, axis=1, keepdims=True)
    cos = (image_n @ text_n.T).astype(np.float32)
    probs = 1.0 / (1.0 + np.exp(-(np.exp(np.float32(logit_scale)) * cos + np.float32(logit_bias))))
    for meta, emb in zip(images, image_out):
        meta["pooler_output"] = sg.rounded(emb)
    size = spec["image"]
    return {
        "generator": "scripts/build_jina_fixtures.py",
        "family": "siglip",
        "fixture": spec["dir"],
        "layout_of": spec["hub"],
        "note": "random-weight toy model: the numbers test code paths, not SigLIP's accuracy",
        "text_reference": "SiglipTokenizer rules on python sentencepiece (multilingual Unigram vocabulary)",
        "image_reference": (f"PIL {Image.__version__}: open -> convert('RGB') -> resize(({size}, {size}), "
                            f"resample={spec['resample']}) -> x/255 -> (x - 0.5) / 0.5"),
        "max_length": sg.MAX_LENGTH,
        "pad_id": tok.pad_id,
        "eos_id": tok.eos_id,
        "prompts": [{"text": p, "input_ids": i, "length": n, "pooler_output": sg.rounded(e)}
                    for p, (i, n), e in zip(prompts, ids, text_out)],
        "images": images,
        "logit_scale": float(np.float32(logit_scale)),
        "logit_bias": float(np.float32(logit_bias)),
        "similarities": [sg.rounded(100.0 * row) for row in cos],
        "probabilities": [sg.rounded(row) for row in probs],
        "token_rules": {rule: [{"text": t, "input_ids": sg.padded(tok, t)[0], "length": sg.padded(tok, t)[1]}
                               for t in texts] for rule, texts in token_rule_prompts().items() if rule != "long"},
    }


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


def fresh_dir(name):
    out = os.path.join(ROOT, FIXTURES[name]["dir"])
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "onnx"))
    return out


def reference_pixels(image, batch=1):
    """linspace(-1, 1) over [batch, 3, image, image] (C order), as the other fixtures' reference.json."""
    return torch.linspace(-1.0, 1.0, batch * 3 * image * image).reshape(batch, 3, image, image)


REFERENCE_PROMPTS = ["a photo of a white man", "uma foto de uma mulher negra", "una foto de un hombre indio", ""]


def build_v1(work):
    name = "jina-clip-v1"
    spec, out = FIXTURES[name], fresh_dir(name)
    vocab = wordpiece_vocab()
    with open(os.path.join(out, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    sg.write_json(os.path.join(out, "tokenizer.json"), bert_tokenizer_json(vocab))
    sg.write_json(os.path.join(out, "tokenizer_config.json"), bert_tokenizer_config())
    sg.write_json(os.path.join(out, "special_tokens_map.json"), bert_special_tokens_map())
    sg.write_json(os.path.join(out, "config.json"), jina_config(name, len(vocab)))
    sg.write_json(os.path.join(out, "preprocessor_config.json"), jina_preprocessor_config(spec["image"]))
    tok = BertReference(vocab)
    text, vision = build_towers(name, len(vocab))
    rows = [tok.ids(p) for p in REFERENCE_PROMPTS]
    sample_ids, sample_pixels = pad_longest(rows, BERT_PAD_ID), reference_pixels(spec["image"], 2)
    onnx_dir = os.path.join(out, "onnx")
    sg.export(text, (sample_ids,), os.path.join(onnx_dir, "text_model.onnx"), ["input_ids"], ["text_embeds"],
              {"input_ids": {0: "batch_size", 1: "sequence_length"}, "text_embeds": {0: "batch_size"}})
    sg.export(vision, (sample_pixels,), os.path.join(onnx_dir, "vision_model.onnx"), ["pixel_values"],
              ["image_embeds"], {"pixel_values": {0: "batch_size"}, "image_embeds": {0: "batch_size"}})
    for graph in ("text_model", "vision_model"):
        sg.quantize(os.path.join(onnx_dir, f"{graph}.onnx"), os.path.join(onnx_dir, f"{graph}_quantized.onnx"))
    with torch.no_grad():
        ref_text, ref_image = text(sample_ids), vision(reference_pixels(spec["image"]))
    sg.write_json(os.path.join(out, "reference.json"), {
        "note": "torch outputs of the random-weight model, NOT normalised; input_ids padded with 0 to the longest; "
                "pixel_values = linspace(-1, 1) over [1, 3, 224, 224]",
        "seed": spec["seed"],
        "text": [{"prompt": p, "input_ids": ids, "text_embeds": sg.rounded(e)}
                 for p, ids, e in zip(REFERENCE_PROMPTS, sample_ids.tolist(), ref_text)],
        "image": {"shape": [1, 3, spec["image"], spec["image"]], "image_embeds": sg.rounded(ref_image[0])},
    })
    return jina_golden(name, tok, text, vision,
                       "BertTokenizer (do_lower_case, tokenize_chinese_chars, strip_accents None) restated in "
                       "Python: [CLS] ... [SEP], truncated to max_length keeping [SEP]")


def build_v2(work):
    name = "jina-clip-v2"
    spec, out = FIXTURES[name], fresh_dir(name)
    model_bytes = train_unigram("xlmr", multilingual_lines(), 3000, work,
                                dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1))  # XLM-R's own spm ids
    _, proto = sg.load_processor(model_bytes)
    with open(os.path.join(out, "sentencepiece.bpe.model"), "wb") as f:
        f.write(model_bytes)
    tokenizer_json = xlmr_tokenizer_json(proto)
    vocab_size = len(tokenizer_json["model"]["vocab"])
    sg.write_json(os.path.join(out, "tokenizer.json"), tokenizer_json)
    sg.write_json(os.path.join(out, "tokenizer_config.json"), xlmr_tokenizer_config())
    sg.write_json(os.path.join(out, "special_tokens_map.json"), xlmr_special_tokens_map())
    sg.write_json(os.path.join(out, "config.json"), jina_config(name, vocab_size))
    sg.write_json(os.path.join(out, "preprocessor_config.json"), jina_preprocessor_config(spec["image"]))
    tok = XlmrReference(model_bytes)
    text, vision = build_towers(name, vocab_size)
    combined = JinaClipCombined(text, vision).eval()
    rows = [tok.ids(p) for p in REFERENCE_PROMPTS]
    sample_ids, sample_pixels = pad_longest(rows, XLMR_PAD_ID), reference_pixels(spec["image"], 2)
    outputs = ["text_embeddings", "image_embeddings", "l2norm_text_embeddings", "l2norm_image_embeddings"]
    axes = {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"}}
    axes.update({o: {0: ("text" if "text" in o else "image") + "_batch_size"} for o in outputs})
    export_external(combined, (sample_ids, sample_pixels), os.path.join(out, "onnx", "model.onnx"),
                    ["input_ids", "pixel_values"], outputs, axes)
    with torch.no_grad():
        ref = combined(sample_ids, sample_pixels)
    sg.write_json(os.path.join(out, "reference.json"), {
        "note": "torch outputs of onnx/model.onnx's module; input_ids padded with 1 to the longest; pixel_values = "
                "linspace(-1, 1) over [2, 3, 512, 512]",
        "seed": spec["seed"],
        "input_ids": sample_ids.tolist(),
        "prompts": REFERENCE_PROMPTS,
        "pixel_values": {"shape": list(sample_pixels.shape)},
        **{o: [sg.rounded(r) for r in t] for o, t in zip(outputs, ref)},
    })
    return jina_golden(name, tok, text, vision,
                       "XLMRobertaTokenizer on python sentencepiece: cut at the added tokens (<mask> strips the "
                       "whitespace on its left), <s> ... </s>, ids = spm ids + 1 (spm <unk> 0 -> 3), truncated to "
                       "max_length keeping </s>")


def build_siglip_multilingual(work):
    name = "siglip-multilingual"
    spec, out = FIXTURES[name], fresh_dir(name)
    lines = [l.lower() for l in multilingual_lines()]  # SigLIP's vocabularies are lower-case text
    model_bytes = train_unigram("unigram", lines, spec["vocab_size"], work, dict(pad_id=0, eos_id=1, unk_id=2,
                                                                                 bos_id=-1))
    _, proto = sg.load_processor(model_bytes)
    with open(os.path.join(out, "spiece.model"), "wb") as f:
        f.write(model_bytes)
    sg.write_json(os.path.join(out, "tokenizer.json"), sg.unigram_tokenizer_json(proto))
    sg.write_json(os.path.join(out, "tokenizer_config.json"), sg.siglip_tokenizer_config())
    sg.write_json(os.path.join(out, "special_tokens_map.json"), sg.siglip_special_tokens_map())
    with siglip_image_size(spec["image"]):
        config = sg.model_config("siglip", len(proto.pieces), spec["seed"])
        config["zeroshot_fixture"]["family"], config["zeroshot_fixture"]["layout"] = "siglip", spec["hub"]
        sg.write_json(os.path.join(out, "config.json"), config)
        sg.write_json(os.path.join(out, "preprocessor_config.json"), sg.preprocessor_config(spec["resample"]))
    tok = sg.SiglipReferenceTokenizer(model_bytes)
    text, vision = build_towers(name, len(proto.pieces))
    logit_scale, logit_bias = 4.7, -12.9  # SigLIP base's trained values; the multilingual ones are not verified
    combined = sg.Combined(text, vision, logit_scale, logit_bias).eval()
    image = spec["image"]
    sample_ids = torch.tensor([sg.padded(tok, p)[0] for p in REFERENCE_PROMPTS[:3]], dtype=torch.int64)
    sample_pixels = reference_pixels(image, 2)
    onnx_dir = os.path.join(out, "onnx")
    sg.export(text, (sample_ids,), os.path.join(onnx_dir, "text_model.onnx"), ["input_ids"],
              ["last_hidden_state", "pooler_output"],
              {"input_ids": {0: "batch_size", 1: "sequence_length"},
               "last_hidden_state": {0: "batch_size", 1: "sequence_length"}, "pooler_output": {0: "batch_size"}})
    sg.export(vision, (sample_pixels,), os.path.join(onnx_dir, "vision_model.onnx"), ["pixel_values"],
              ["last_hidden_state", "pooler_output"],
              {"pixel_values": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"},
               "pooler_output": {0: "batch_size"}})
    sg.export(combined, (sample_ids, sample_pixels), os.path.join(onnx_dir, "model.onnx"),
              ["input_ids", "pixel_values"], ["logits_per_image", "logits_per_text", "text_embeds", "image_embeds"],
              {"input_ids": {0: "text_batch_size", 1: "sequence_length"}, "pixel_values": {0: "image_batch_size"},
               "logits_per_image": {0: "image_batch_size", 1: "text_batch_size"},
               "logits_per_text": {0: "text_batch_size", 1: "image_batch_size"},
               "text_embeds": {0: "text_batch_size"}, "image_embeds": {0: "image_batch_size"}}, fold=False)
    with torch.no_grad():
        ref_text = text(sample_ids)[1]
        ref_image = vision(reference_pixels(image))[1]
        logits_per_image = combined(sample_ids, reference_pixels(image))[0]
    sg.write_json(os.path.join(out, "reference.json"), {
        "note": f"torch outputs of the random-weight model: pooler_output NOT normalised; pixel_values = "
                f"linspace(-1, 1) over [1, 3, {image}, {image}]",
        "seed": spec["seed"],
        "text": [{"input_ids": ids, "pooler_output": sg.rounded(e)} for ids, e in zip(sample_ids.tolist(), ref_text)],
        "image": {"pixel_values": f"linspace(-1, 1, 3*{image}*{image}).reshape(1, 3, {image}, {image})",
                  "shape": [1, 3, image, image], "pooler_output": sg.rounded(ref_image[0])},
        "logit_scale": float(np.float32(logit_scale)),
        "logit_bias": float(np.float32(logit_bias)),
        "logits_per_image": sg.rounded(logits_per_image),
    })
    return siglip_golden(tok, text, vision, logit_scale, logit_bias)


BUILDERS = {"jina-clip-v1": build_v1, "jina-clip-v2": build_v2, "siglip-multilingual": build_siglip_multilingual}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=sorted(BUILDERS), action="append", help="build only this fixture (repeatable)")
    args = ap.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    golden_dir = os.path.join(ROOT, "test", "golden", "families")
    with tempfile.TemporaryDirectory() as work:
        for name in args.only or list(BUILDERS):
            golden = BUILDERS[name](work)
            sg.write_json(os.path.join(golden_dir, f"{name}.json"), golden, indent=1, compact_numbers=True)
            sizes = {f: os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(os.path.join(ROOT,
                     FIXTURES[name]["dir"])) for f in fs}
            print(f"{name}: {sum(sizes.values()) / 1e6:.2f} MB in {FIXTURES[name]['dir']} "
                  f"({', '.join(f'{k} {v // 1024} kB' for k, v in sorted(sizes.items()))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
