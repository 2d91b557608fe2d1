#!/usr/bin/python3
"""Write test/golden/tokenizer_corpus.jsonl: the token ids that OpenAI CLIP's
tokenizer (`clip.tokenize(texts, truncate=True)`) gives each prompt of
test/golden/tokenizer_prompts.json.

Dev-time only; the output is committed so tests never need Python.  This is an
independent implementation of CLIP's documented tokenization:

  ftfy.fix_text (default settings) -> html.unescape twice -> strip
  -> collapse whitespace runs to one space -> strip -> lower-case
  -> split with CLIP's regex -> UTF-8 bytes as GPT-2's byte symbols
  -> BPE (last symbol of each word carries "</w>", merges ranked by file order)
  -> [<|startoftext|>] + ids + [<|endoftext|>], cut to 77 with <|endoftext|> last.

The vocabulary is rebuilt from ../shared/clip/bpe_simple_vocab_16e6.txt.gz the
way CLIP builds it; when ../shared/clip/vocab.json and merges.txt (the Hugging
Face layout the TypeScript tokenizer reads) are there too, they are checked to
be the same vocabulary.

Usage (from the repository root):
    /usr/bin/python3 scripts/make_tokenizer_goldens.py [--shared ../shared]

Needs ftfy and the `regex` module (Debian: python3-regex; ftfy 6.3.1 from PyPI,
as bookworm has no python3-ftfy).
"""

import argparse
import gzip
import html
import json
import os
import sys

try:
    import ftfy
    import regex
except ImportError as missing:
    sys.exit(f"make_tokenizer_goldens.py needs ftfy and regex ({missing})")

CONTEXT_LENGTH = 77
START, END = "<|startoftext|>", "<|endoftext|>"
# CLIP keeps the first 49152 - 256 - 2 merges of the file (after its header line).
MERGE_COUNT = 49152 - 256 - 2
PRE_TOKEN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE,
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def byte_symbols():
    """GPT-2's byte -> printable character table: printable Latin-1 bytes stand for
    themselves, the others for chr(256 + n).  Ordered printable bytes first, then
    the others, which is the order of the vocabulary's first 256 entries."""
    printable = [b for b in range(256) if 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF]
    others = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def load_vocabulary(bpe_gz):
    lines = gzip.open(bpe_gz).read().decode("utf-8").split("\n")
    merges = [tuple(line.split()) for line in lines[1 : 1 + MERGE_COUNT]]
    symbols = list(byte_symbols().values())
    words = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [START, END]
    vocab = {w: i for i, w in enumerate(words)}
    ranks = {m: i for i, m in enumerate(merges)}
    return vocab, ranks, merges


def check_hf_layout(shared_clip, vocab, merges):
    vocab_path = os.path.join(shared_clip, "vocab.json")
    merges_path = os.path.join(shared_clip, "merges.txt")
    if not (os.path.exists(vocab_path) and os.path.exists(merges_path)):
        return
    with open(vocab_path, encoding="utf-8") as f:
        if json.load(f) != vocab:
            sys.exit("vocab.json differs from the vocabulary built from the .gz file")
    with open(merges_path, encoding="utf-8") as f:
        hf_lines = [line for line in f.read().splitlines() if line and not line.startswith("#version")]
    if [tuple(line.split(" ")) for line in hf_lines] != merges:
        sys.exit("merges.txt differs from the merges of the .gz file")


class ClipReference:
    def __init__(self, vocab, ranks):
        self.vocab, self.ranks = vocab, ranks
        self.byte_symbol = byte_symbols()
        # A pre-token spelling a special token exactly becomes that token.
        self.cache = {START: [START], END: [END]}

    @staticmethod
    def clean(text):
        text = ftfy.fix_text(text)
        text = html.unescape(html.unescape(text)).strip()
        text = regex.sub(r"\s+", " ", text).strip()
        return text.lower()

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = {(symbols[i], symbols[i + 1]) for i in range(len(symbols) - 1)}
            best = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(symbols):
                if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        self.cache[word] = symbols
        return symbols

    def tokenize(self, text):
        """One row of clip.tokenize(..., truncate=True), without the zero padding."""
        cleaned = self.clean(text)
        ids = [self.vocab[START]]
        for piece in PRE_TOKEN.findall(cleaned):
            word = "".join(self.byte_symbol[b] for b in piece.encode("utf-8"))
            ids.extend(self.vocab[s] for s in self.bpe(word))
        ids.append(self.vocab[END])
        if len(ids) > CONTEXT_LENGTH:
            ids = ids[:CONTEXT_LENGTH]
            ids[-1] = self.vocab[END]
        return cleaned, ids


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", default=os.path.join(os.path.dirname(ROOT), "shared"))
    parser.add_argument("--prompts", default=os.path.join(ROOT, "test/golden/tokenizer_prompts.json"))
    parser.add_argument("--out", default=os.path.join(ROOT, "test/golden/tokenizer_corpus.jsonl"))
    args = parser.parse_args()

    shared_clip = os.path.join(args.shared, "clip")
    vocab, ranks, merges = load_vocabulary(os.path.join(shared_clip, "bpe_simple_vocab_16e6.txt.gz"))
    check_hf_layout(shared_clip, vocab, merges)
    reference = ClipReference(vocab, ranks)

    with open(args.prompts, encoding="utf-8") as f:
        prompts = json.load(f)
    with open(args.out, "w", encoding="utf-8") as out:
        for text in prompts:
            cleaned, ids = reference.tokenize(text)
            # ASCII JSON so that control characters and lone surrogates survive any editor
            out.write(json.dumps({"text": text, "clean": cleaned, "ids": ids}) + "\n")
    print(f"{len(prompts)} prompts -> {args.out} (ftfy {ftfy.__version__}, vocab {len(vocab)})")


if __name__ == "__main__":
    main()
