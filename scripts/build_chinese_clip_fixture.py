#!/usr/bin/python3
"""Build the Chinese-CLIP fixture, its WordPiece tokenizer and its goldens.

Dev-time only; the outputs are committed so tests never need Python:

    fixtures/chinese-clip/                      Xenova/chinese-clip-vit-base-patch16 layout: config.json,
                                                preprocessor_config.json, tokenizer.json, tokenizer_config.json,
                                                special_tokens_map.json, vocab.txt, onnx/model.onnx (the one
                                                combined graph) and onnx/model_quantized.onnx, reference.json
    test/golden/families/chinese-clip.json      Python reference on the fixture: ids, pixel hashes, embeddings,
                                                100·cos similarities, logit_scale, softmax probabilities
    test/golden/families/wordpiece_tokens.json  token-id goldens, many prompts per text rule

Usage (from the repository root):
    PYTHONPATH=<folder with ftfy> /usr/bin/python3 scripts/build_chinese_clip_fixture.py

Needs Debian's python3-torch (1.13), python3-onnx, python3-pil, numpy and yaml; ftfy only because
make_family_goldens.py (whose image list is used) imports it.

The model follows transformers' ChineseCLIPModel (docs/families.md has the sources):
  text    a BERT encoder (ChineseCLIPTextModel with add_pooling_layer=False): word + absolute position + token-type
          embeddings (token_type_ids all 0), LayerNorm (eps 1e-12), post-LN encoder layers
          (x = LN(x + attn(x)); x = LN(x + W2·gelu(W1·x))), exact erf GELU, bidirectional attention with the
          padding mask; text_embeds = text_projection(last_hidden_state[:, 0]), the [CLS] token's final state
          (no pooler layer), bias-free projection.
  vision  the CLIP ViT (build_clip_fixture.VisionEncoder: class token, pre-LN blocks, quick-GELU, post-LN on the
          class token) -> bias-free visual_projection.
  graph   ChineseCLIPModel.forward as optimum's ChineseCLIPOnnxConfig (= CLIPOnnxConfig) exports it: inputs
          input_ids, pixel_values, attention_mask; outputs logits_per_image, logits_per_text, text_embeds,
          image_embeds (both L2-normalised), logits = exp(logit_scale)·cos with logit_scale an initializer.
Toy sizes and random weights: the numbers mean nothing, the code paths are the real ones.

Text reference (WordPieceReference below): transformers' BertTokenizer / BertTokenizerFast rules on the fixture's
vocabulary: special tokens split out first (exact, case-sensitive), lower-case per character, clean text (drop NUL,
U+FFFD and other control/format characters, whitespace -> space), a space around each CJK ideograph, NFC, split on
whitespace, strip accents (NFD, drop Mn), split off each punctuation character, WordPiece greedy longest match
first with "##" continuations (a word that cannot be covered, or longer than 100 characters, is [UNK]);
[CLS] ... [SEP], cut to 52 keeping [SEP] last; a batch is padded with [PAD] (id 0) to its longest row, with the
attention mask.
Image reference: transformers' ChineseCLIPImageProcessor with do_center_crop false: convert('RGB') first, PIL
resize to (224, 224) with BICUBIC (a squash, no crop), x/255, (x - CLIP mean) / CLIP std.

Same seed -> byte-identical files.
"""

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import build_clip_fixture as clip  # noqa: E402
import build_family_fixtures as families  # noqa: E402
import make_family_goldens as family_goldens  # noqa: E402
import quantize_dynamic_int8 as q8  # noqa: E402

import numpy as np  # noqa: E402
import PIL  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "fixtures", "chinese-clip")
GOLDEN_DIR = os.path.join(ROOT, "test", "golden", "families")
HUB_ID = "Xenova/chinese-clip-vit-base-patch16"
CONVERTED_FROM = "OFA-Sys/chinese-clip-vit-base-patch16"
SEED = 5

MAX_LENGTH = 52  # cn_clip.clip.tokenize's context_length, the length the models were trained with
BERT_LN_EPS = 1e-12
MAX_POSITIONS = 512
TYPE_VOCAB_SIZE = 2
TEXT = {"width": 32, "layers": 2, "heads": 2, "intermediate": 128}
VISION = {"width": 32, "layers": 2, "heads": 2, "patch": 16, "image": 224}
PROJECTION_DIM = 16
LOGIT_SCALE = families.LOGIT_SCALE  # ln 100, where trained CLIPs end (the clamp)
NEG = -1e9

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------

# bert-base-chinese's layout: [PAD] 0, [unused1..99], [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103
SPECIAL_TOKENS = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PUNCTUATION = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("，。、！？：；“”‘’《》（）【】…—·¿¡«»–")
LATIN = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("ßøæœþðı")
GREEK = list("αβγδεζηθικλμνξοπρστυφχψως")
DIGITS = list("0123456789")
WORDS = """a an the of photo photos picture image face person people man men woman women boy girl child white black
latino hispanic east asian southeast south indian middle eastern chinese japanese korean cat dog new york city
cafe naive senor zurich creme brulee hello world this is and in with smiling young old""".split()
PIECES = """##es ##ed ##ing ##er ##ern ##ly ##ian ##ness ##tion ##graph ##to ##dle ##east ##ic ##an ##en ##ee
##20 ##00 20 2026 100 ##す""".split()
# CJK ideographs: those of the Chinese prompts and a few more; 語 (traditional) and 𠀁 are left out on purpose ([UNK])
CJK = list("一张白人男子女的照片黑拉丁裔西班牙东亚南印度中猫狗图像是这个和在有了我你他她们大小很好看年轻老孩童脸头发眼睛笑国日本语文字豈") + [
    "\U00020000"]
OTHER = ["で", "😀", "ｆｕｌｌ"]


def vocabulary():
    tokens = list(SPECIAL_TOKENS)
    for group in (PUNCTUATION, DIGITS, LATIN, GREEK, CJK, OTHER):
        tokens.extend(group)
    tokens.extend("##" + c for c in DIGITS + LATIN + GREEK)
    tokens.extend(WORDS)
    tokens.extend(PIECES)
    return list(dict.fromkeys(tokens))  # first occurrence kept ("a" is a letter and a word)


def added_token(token_id, content):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(vocab):
    """tokenizer.json as transformers' BertConverter writes a BertTokenizerFast (do_lower_case true)."""
    ids = {t: i for i, t in enumerate(vocab)}
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    cls, sep = ids["[CLS]"], ids["[SEP]"]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [added_token(ids[t], t) for t in specials],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [cls], "tokens": ["[CLS]"]},
                               "[SEP]": {"id": "[SEP]", "ids": [sep], "tokens": ["[SEP]"]}},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": ids},
    }


def tokenizer_config():
    return {
        "clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "do_basic_tokenize": True, "do_lower_case": True,
        "mask_token": "[MASK]", "model_max_length": MAX_LENGTH, "never_split": None, "pad_token": "[PAD]",
        "processor_class": "ChineseCLIPProcessor", "sep_token": "[SEP]", "strip_accents": None,
        "tokenize_chinese_chars": True, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]",
    }


SPECIAL_TOKENS_MAP = {"cls_token": "[CLS]", "mask_token": "[MASK]", "pad_token": "[PAD]", "sep_token": "[SEP]",
                      "unk_token": "[UNK]"}

# --------------------------------------------------------------------------
# Reference tokenizer (BERT's rules, restated)
# --------------------------------------------------------------------------

CJK_RANGES = [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)]


def is_cjk(ch):
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in CJK_RANGES)


def is_whitespace(ch):
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def is_control(ch):
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def is_punctuation(ch):
    cp = ord(ch)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(ch).startswith("P")


class WordPieceReference:
    """BertTokenizer's tokenize() as transformers runs it (PreTrainedTokenizer.tokenize, BasicTokenizer,
    WordpieceTokenizer), then [CLS] ... [SEP] and the cut to max_length."""

    def __init__(self, vocab, max_length=MAX_LENGTH):
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.specials = sorted(("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"), key=len, reverse=True)
        self.max_length = max_length
        self.cls_id, self.sep_id, self.pad_id, self.unk = self.ids["[CLS]"], self.ids["[SEP]"], self.ids["[PAD]"], "[UNK]"

    def split_special(self, text):
        """Special tokens matched verbatim, leftmost then longest (the added-tokens trie)."""
        out, start, i = [], 0, 0
        while i < len(text):
            match = next((s for s in self.specials if text.startswith(s, i)), None)
            if match:
                if i > start:
                    out.append((text[start:i], False))
                out.append((match, True))
                i = start = i + len(match)
            else:
                i += 1
        if start < len(text):
            out.append((text[start:], False))
        return out

    @staticmethod
    def basic_tokens(text):
        # PreTrainedTokenizer.tokenize lower-cases character by character (do_lower_case) before BasicTokenizer
        text = "".join(c.lower() for c in text)
        text = "".join(" " if is_whitespace(c) else c for c in text if not (c in "\0\ufffd" or is_control(c)))
        text = "".join(f" {c} " if is_cjk(c) else c for c in text)
        text = unicodedata.normalize("NFC", text)
        pieces = []
        for token in text.split():
            token = token.lower()
            token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")
            word = ""
            for c in token:
                if is_punctuation(c):
                    if word:
                        pieces.append(word)
                    pieces.append(c)
                    word = ""
                else:
                    word += c
            if word:
                pieces.append(word)
        return " ".join(pieces).split()

    def wordpiece(self, word):
        if len(word) > 100:
            return [self.unk]
        out, start = [], 0
        while start < len(word):
            end, piece = len(word), None
            while start < end:
                candidate = ("##" if start > 0 else "") + word[start:end]
                if candidate in self.ids:
                    piece = candidate
                    break
                end -= 1
            if piece is None:
                return [self.unk]
            out.append(piece)
            start = end
        return out

    def tokens(self, text):
        out = []
        for segment, special in self.split_special(text):
            if special:
                out.append(segment)
            else:
                for word in self.basic_tokens(segment):
                    out.extend(self.wordpiece(word))
        return out

    def encode(self, text):
        ids = [self.ids[t] for t in self.tokens(text)]
        return [self.cls_id] + ids[: self.max_length - 2] + [self.sep_id]


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


class BertLayer(nn.Module):
    """Post-LN BERT encoder layer (BertAttention + BertIntermediate + BertOutput)."""

    def __init__(self, width, heads, intermediate):
        super().__init__()
        self.attn = clip.SelfAttention(width, heads)
        self.ln_attn = nn.LayerNorm(width, eps=BERT_LN_EPS)
        self.fc_in = nn.Linear(width, intermediate)
        self.fc_out = nn.Linear(intermediate, width)
        self.ln_out = nn.LayerNorm(width, eps=BERT_LN_EPS)

    def forward(self, x, bias):
        x = self.ln_attn(x + self.attn(x, bias))
        return self.ln_out(x + self.fc_out(nn.functional.gelu(self.fc_in(x))))


class BertTextTower(nn.Module):
    """ChineseCLIPTextModel without pooler, then text_projection on the [CLS] state. forward() has the CLIP
    towers' signature, so families.CombinedClip combines it with the vision tower."""

    def __init__(self, vocab_size):
        super().__init__()
        w = TEXT["width"]
        self.word_embeddings = nn.Embedding(vocab_size, w)
        self.position_embeddings = nn.Embedding(MAX_POSITIONS, w)
        self.token_type_embeddings = nn.Embedding(TYPE_VOCAB_SIZE, w)
        self.ln_embed = nn.LayerNorm(w, eps=BERT_LN_EPS)
        self.layers = nn.ModuleList(BertLayer(w, TEXT["heads"], TEXT["intermediate"]) for _ in range(TEXT["layers"]))
        self.projection = nn.Linear(w, PROJECTION_DIM, bias=False)
        self.register_buffer("position_ids", torch.arange(MAX_POSITIONS).unsqueeze(0), persistent=False)

    def forward(self, input_ids, attention_mask):
        positions = self.position_ids[:, : input_ids.shape[1]]
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(torch.zeros_like(input_ids)) + \
            self.position_embeddings(positions)
        x = self.ln_embed(x)
        bias = ((1.0 - attention_mask.to(x.dtype)) * NEG)[:, None, None, :]  # padding keys masked, [b, 1, 1, s]
        for layer in self.layers:
            x = layer(x, bias)
        return self.projection(x[:, 0, :]), x


def build_model(vocab_size):
    """The fixture's text and vision towers with the seed's random weights, in eval mode."""
    torch.manual_seed(SEED)
    text = BertTextTower(vocab_size)
    vision = clip.VisionEncoder(VISION["width"], VISION["layers"], VISION["heads"], VISION["patch"], VISION["image"],
                                PROJECTION_DIM, act="quick_gelu")
    clip.init_weights(text, torch.Generator().manual_seed(SEED * 2 + 1))
    clip.init_weights(vision, torch.Generator().manual_seed(SEED * 2 + 2))
    return text.eval(), vision.eval()


# --------------------------------------------------------------------------
# Configs
# --------------------------------------------------------------------------


def config_json(vocab_size):
    """config.json of a ChineseCLIPModel with every field that drives loading (the hub's own is a diff-from-defaults
    dump with the same model_type and architecture)."""
    return {
        "_name_or_path": CONVERTED_FROM,
        "architectures": ["ChineseCLIPModel"],
        "initializer_factor": 1.0,
        "initializer_range": 0.02,
        "logit_scale_init_value": 2.6592,
        "model_type": "chinese_clip",
        "projection_dim": PROJECTION_DIM,
        "text_config": {
            "architectures": ["ChineseCLIPTextModel"], "attention_probs_dropout_prob": 0.1, "bos_token_id": 0,
            "directionality": "bidi", "eos_token_id": 2, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
            "hidden_size": TEXT["width"], "initializer_range": 0.02, "intermediate_size": TEXT["intermediate"],
            "layer_norm_eps": BERT_LN_EPS, "max_position_embeddings": MAX_POSITIONS,
            "model_type": "chinese_clip_text_model", "num_attention_heads": TEXT["heads"],
            "num_hidden_layers": TEXT["layers"], "output_past": True, "pad_token_id": 0,
            "pooler_fc_size": 768, "pooler_num_attention_heads": 12, "pooler_num_fc_layers": 3,
            "pooler_size_per_head": 128, "pooler_type": "first_token_transform",
            "position_embedding_type": "absolute", "type_vocab_size": TYPE_VOCAB_SIZE, "vocab_size": vocab_size,
        },
        "transformers_version": "4.36.0.dev0",
        "vision_config": {
            "dropout": 0.0, "hidden_act": "quick_gelu", "hidden_size": VISION["width"],
            "image_size": VISION["image"], "intermediate_size": 4 * VISION["width"], "layer_norm_eps": clip.LN_EPS,
            "model_type": "chinese_clip_vision_model", "num_attention_heads": VISION["heads"], "num_channels": 3,
            "num_hidden_layers": VISION["layers"], "patch_size": VISION["patch"], "projection_dim": PROJECTION_DIM,
        },
        "zeroshot_fixture": {"layout": HUB_ID, "seed": SEED, "note": "random weights: for tests only"},
    }


PREPROCESSOR_CONFIG = {  # Xenova's conversions of the Chinese-CLIP repos (key order as in the real files)
    "crop_size": {"height": 224, "width": 224},
    "do_center_crop": False,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "ChineseCLIPFeatureExtractor",
    "image_mean": families.OPENAI_MEAN,
    "image_processor_type": "ChineseCLIPFeatureExtractor",
    "image_std": families.OPENAI_STD,
    "resample": 3,
    "rescale_factor": families.RESCALE,
    "size": {"height": 224, "width": 224},
}

# --------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------


def fairface_prompts():
    with open(os.path.join(ROOT, "specs", "fairface-race.yaml"), encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    return [p for prompts in spec["classes"].values() for p in prompts]


# The 14 spec prompts in Chinese, in the same order ("a photo of a <race> man|woman")
RACES_ZH = ["白人", "黑人", "拉丁裔西班牙裔", "东亚", "东南亚", "印度", "中东"]
CHINESE_PROMPTS = [f"一张{race}{person}的照片" for race in RACES_ZH for person in ("男子", "女子")]
MIXED_PROMPTS = [
    "一张 white man 的照片",
    "a photo of 一个中国人",
    "照片：白人男子！",
    "A Photo of 东亚 WOMEN, smiling",
    "这是一张cat的照片",
    "一张" + "很好看的照片" * 12,  # > 52 tokens: cut, [SEP] last
]


def rule_prompts():
    """Prompts per text rule for wordpiece_tokens.json."""
    rng = random.Random(11)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") + \
        list("一张白人男子女的照片黑东亚南印度中猫狗語龍") + list(" ,.!?'-()，。！？：") + \
        list("éàüñçßøÆŒΣσ😀👍🏽\u00a0\u3000\u200b\t\n") + ["[MASK]", "[CLS]", "##"]
    random_prompts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(150)]
    return {
        "fairface": fairface_prompts(),
        "chinese": CHINESE_PROMPTS + ["猫", "一只猫和一只狗", "日本语", "日本語", "龙", "中国人 的 照片"],
        "mixed": MIXED_PROMPTS + ["photo照片photo", "white白人man", "2026年的照片"],
        "case": ["A PHOTO OF A WHITE MAN", "A Photo Of An East Asian Woman", "İstanbul", "ΟΔΟΣ Σ", "STRASSE Straße",
                 "ＦＵＬＬ ｗｉｄｔｈ"],
        "accents": ["café", "naïve señor", "Zürich", "crème brûlée", "e\u0301 combining", "Ångström", "ø æ œ",
                    "ǅ title"],
        "punctuation": ["a photo of a white man.", "a photo, of a man!", "(a) [photo] {of} <a> man?", "don't stop",
                        "middle-eastern", "a_b_c", "\"quoted\" 'single'", "100% #1 @home $5 ^_^ ~x~", "...",
                        "照片，白人。", "《照片》", "¿qué? ¡sí!", "a—b–c", "price €5 ©2026"],
        "whitespace": ["  leading", "trailing  ", "a   b    c", "tab\tseparated", "new\nline", "\u00a0nbsp\u00a0here",
                       "ideographic\u3000space", "", " ", "zero\u200bwidth", "soft\u00adhyphen", "line\u2028sep"],
        "unknown": ["語言", "한국어", "emoji 😀", "face😀", "thumbs 👍🏽", "\U00020000 and \U00020001", "豈 compat",
                    "control\u0007char", "nul\u0000char", "replacement\ufffdchar"],
        "special": ["[MASK]", "a [MASK] photo", "[CLS][SEP]", "[cls] lower", "[PAD] padded", "[UNK]", "[MASK"],
        "long": ["a" * 100, "a" * 101, "photo " * 60, "照" * 49, "照" * 50, "照" * 51,
                 " ".join(["white"] * 50), " ".join(["white"] * 51)],
        "random": random_prompts,
    }


# --------------------------------------------------------------------------
# Goldens
# --------------------------------------------------------------------------


def preprocess(path):
    """ChineseCLIPImageProcessor: RGB first, squash to 224x224 with PIL bicubic, rescale, normalise."""
    with Image.open(path) as img:
        rgb = img.convert("RGB").resize((VISION["image"], VISION["image"]), resample=Image.BICUBIC)
    pixels = np.asarray(rgb, dtype=np.uint8)
    scaled = (pixels.astype(np.float64) * families.RESCALE).astype(np.float32)
    mean, std = np.asarray(families.OPENAI_MEAN, np.float32), np.asarray(families.OPENAI_STD, np.float32)
    chw = ((scaled - mean) / std).astype(np.float32).transpose(2, 0, 1)
    return hashlib.sha256(pixels.tobytes()).hexdigest(), torch.from_numpy(np.ascontiguousarray(chw))


def normalised(t):
    return t / t.norm(p=2, dim=-1, keepdim=True)


def model_golden(tok, text, vision):
    f32 = family_goldens.similarity_goldens.f32_list
    english = fairface_prompts()
    prompts = english + CHINESE_PROMPTS + MIXED_PROMPTS
    token_ids = [tok.encode(p) for p in prompts]
    ids, mask = families.pad_batch(token_ids, tok.pad_id)
    images = family_goldens.image_paths()
    hashes, pixels = zip(*(preprocess(path) for _, path in images))
    with torch.no_grad():
        text_features = normalised(text(ids, mask)[0])
        image_features = normalised(vision(torch.stack(pixels))[0])
        similarities = 100.0 * image_features @ text_features.t()
        scale = torch.tensor(LOGIT_SCALE, dtype=torch.float32).exp()
        n = len(english)
        probabilities = (image_features @ text_features[:n].t() * scale).softmax(dim=1)
        probabilities_zh = (image_features @ text_features[n:2 * n].t() * scale).softmax(dim=1)
    return {
        "generator": "scripts/build_chinese_clip_fixture.py",
        "fixture": "fixtures/chinese-clip",
        "stands_for": HUB_ID,
        "model": {"seed": SEED, "text": "BERT, post-LN, gelu, [CLS] pooling, text_projection",
                  "vision": "CLIP ViT, quick_gelu, class token, visual_projection"},
        "versions": {"torch": torch.__version__, "pillow": PIL.__version__, "numpy": np.__version__},
        "preprocessing": {
            "name": "transformers ChineseCLIPImageProcessor (do_center_crop false)",
            "steps": "PIL open -> convert('RGB') -> resize((224, 224), BICUBIC) -> x/255 -> (x - mean) / std",
            "size": {"height": 224, "width": 224},
            "resample": "bicubic",
            "crop": None,
            "convert_rgb": "first",
            "normalize": {"mean": families.OPENAI_MEAN, "std": families.OPENAI_STD},
            "crop_sha256": "sha256 of the 224x224x3 uint8 image after the resize (no crop)",
        },
        "tokenization": {
            "reference": "BertTokenizer rules (WordPieceReference in the generator) on fixtures/chinese-clip/vocab.txt: "
                         "lower-case, clean text, CJK ideographs split, NFC, strip accents, punctuation split, "
                         "WordPiece with ##; [CLS] ... [SEP], cut to 52 keeping [SEP] last",
            "fed_to_text_model": "all prompts in one batch, right-padded with pad_id to the longest row, "
                                 "attention_mask 1 on real tokens",
            "padding": "longest",
            "pad_id": tok.pad_id,
            "max_length": MAX_LENGTH,
        },
        "images": [rel for rel, _ in images],
        "crop_sha256": list(hashes),
        "prompts": prompts,
        "token_ids": token_ids,
        "similarities": [f32(row) for row in similarities],
        "image_embeds": [f32(row) for row in image_features],
        "text_embeds": [f32(row) for row in text_features],
        "logit_scale": LOGIT_SCALE,
        "probabilities_over": f"the first {n} prompts (specs/fairface-race.yaml): softmax over prompts of "
                              "exp(logit_scale) * cos, per image",
        "probabilities": [f32(row) for row in probabilities],
        "probabilities_zh_over": f"prompts {n}..{2 * n - 1} (the same classes in Chinese), same formula",
        "probabilities_zh": [f32(row) for row in probabilities_zh],
    }


def reference_json(vocab_size, tok, text, vision, combined):
    prompts = ["a photo of a white man", "一张白人男子的照片", "a photo of 一个中国人"]
    rows = [tok.encode(p) for p in prompts]
    ids, mask = families.pad_batch(rows, tok.pad_id)
    size = VISION["image"]
    pixels = clip.reference_pixels(size)
    with torch.no_grad():
        text_rows = []
        for prompt, row in zip(prompts, rows):
            x = torch.tensor([row], dtype=torch.int64)
            emb, _ = text(x, torch.ones_like(x))
            text_rows.append({"prompt": prompt, "input_ids": row, "text_embeds": clip.tolist(emb[0])})
        image, _ = vision(pixels)
        logits_per_image, logits_per_text, text_embeds, image_embeds = combined(ids, torch.cat([pixels, -pixels]), mask)
    return {
        "note": "torch outputs of the random-weight model; text rows one prompt at a time with an all-ones mask "
                "(embeddings NOT normalised); onnx/model.onnx's text_embeds/image_embeds are normalised",
        "fixture": "chinese-clip",
        "stands_for": HUB_ID,
        "seed": SEED,
        "preset": {"text": TEXT, "vision": VISION, "projection_dim": PROJECTION_DIM, "vocab_size": vocab_size},
        "text": text_rows,
        "image": {
            "pixel_values": "torch.linspace(-1, 1, n, float32).reshape(1, 3, %d, %d) with n = 3*%d*%d,"
                            " i.e. flat C-order element i = -1 + 2*i/(n-1)" % ((size,) * 4),
            "shape": [1, 3, size, size],
            "image_embeds": clip.tolist(image[0]),
        },
        "combined": {
            "graph": "onnx/model.onnx",
            "logit_scale": LOGIT_SCALE,
            "input_ids": ids.tolist(),
            "attention_mask": mask.tolist(),
            "pixel_values": "the image reference's tensor and its negation, batch of 2",
            "logits_per_image": [clip.tolist(r) for r in logits_per_image],
            "logits_per_text": [clip.tolist(r) for r in logits_per_text],
            "text_embeds": [clip.tolist(r) for r in text_embeds],
            "image_embeds": [clip.tolist(r) for r in image_embeds],
        },
    }


def write_json(path, obj, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def main(argv=None):
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    vocab = vocabulary()
    tok = WordPieceReference(vocab)
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(os.path.join(OUT_DIR, "onnx"))
    with open(os.path.join(OUT_DIR, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")
    write_json(os.path.join(OUT_DIR, "tokenizer.json"), tokenizer_json(vocab))
    write_json(os.path.join(OUT_DIR, "tokenizer_config.json"), tokenizer_config())
    write_json(os.path.join(OUT_DIR, "special_tokens_map.json"), SPECIAL_TOKENS_MAP)
    write_json(os.path.join(OUT_DIR, "config.json"), config_json(len(vocab)))
    write_json(os.path.join(OUT_DIR, "preprocessor_config.json"), PREPROCESSOR_CONFIG)

    text, vision = build_model(len(vocab))
    combined = families.CombinedClip(text, vision, LOGIT_SCALE).eval()
    example_ids, example_mask = families.pad_batch([tok.encode(p) for p in ("a photo of a white man", "猫")], tok.pad_id)
    pixels = clip.reference_pixels(VISION["image"])
    families.export_combined(combined, {"preset": {"projection_dim": PROJECTION_DIM}}, OUT_DIR, example_ids,
                             example_mask, torch.cat([pixels, -pixels]))
    q8.quantize_file(os.path.join(OUT_DIR, "onnx", "model.onnx"),
                     os.path.join(OUT_DIR, "onnx", f"model{q8.Q8_SUFFIX}.onnx"))
    write_json(os.path.join(OUT_DIR, "reference.json"), reference_json(len(vocab), tok, text, vision, combined))

    os.makedirs(GOLDEN_DIR, exist_ok=True)
    write_json(os.path.join(GOLDEN_DIR, "chinese-clip.json"), model_golden(tok, text, vision), indent=1)
    rules = {rule: [{"text": t, "tokens": tok.tokens(t), "input_ids": tok.encode(t)} for t in texts]
             for rule, texts in rule_prompts().items()}
    write_json(os.path.join(GOLDEN_DIR, "wordpiece_tokens.json"), {
        "generator": "scripts/build_chinese_clip_fixture.py",
        "tokenizer": "fixtures/chinese-clip",
        "note": "tokens: word pieces before [CLS]/[SEP] and the cut; input_ids: as fed to the text graph before "
                "padding ([CLS] ... [SEP], at most max_length)",
        "max_length": MAX_LENGTH, "pad_id": tok.pad_id, "cls_id": tok.cls_id, "sep_id": tok.sep_id,
        "rules": rules,
    }, indent=1)
    clip.print_listing(OUT_DIR)
    return 0


if __name__ == "__main__":
    sys.exit(main())
