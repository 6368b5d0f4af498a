"""One tokenizer for English, Chinese and the mix of both.

Latin-script runs go through spaCy's rule-based tokenizer (the one `spacy.blank("xx")` uses);
runs of Han characters become one token per character ("char") or jieba words ("jieba").
Registered as `mailbot.mixed_tokenizer.v1` so a model's config.cfg can name it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab

# Han ideographs (basic, extension A, compatibility) and CJK/full-width punctuation.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_PUNCT = "\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
_CJK_RUN = re.compile(f"[{HAN}{CJK_PUNCT}]+")
SEGMENTERS = ("char", "jieba")
# The Latin text between two Han runs is most often a line break, a number or a product
# name, the same from mail to mail: its tokens are kept, as tokenizing it makes a Doc.
CACHED_CHUNK_CHARS = 32
CACHED_CHUNKS = 8192


class MixedTokenizer:
    def __init__(self, vocab: Vocab, segmenter: str = "char") -> None:
        if segmenter not in SEGMENTERS:
            raise ValueError(f"segmenter must be one of {SEGMENTERS}, not {segmenter!r}")
        self.vocab = vocab
        self.segmenter = segmenter
        self._latin = spacy.blank("xx", vocab=vocab).tokenizer
        # spaCy's base exceptions say that a whitespace token is itself, which it is without
        # them too (the same tokens, tested), but a special case in a text stops spaCy from
        # remembering how it split the words after it: with them, every line break made the
        # rest of a mail's words be split again, at about eight times the cost.
        self._latin.rules = {k: v for k, v in (self._latin.rules or {}).items() if not k.isspace()}
        self._cut: Callable[[str], list[str]] = list
        self._chunks: dict[str, tuple[tuple[str, bool], ...]] = {}  # short Latin chunks
        if segmenter == "jieba":
            import jieba  # optional: only for models trained with segmenter = "jieba"

            jieba.setLogLevel(60)
            self._cut = lambda run: [w for w in jieba.cut(run, HMM=True) if w]

    def __call__(self, text: str) -> Doc:
        if not _CJK_RUN.search(text):
            return self._latin(text)  # no Han text: the rule-based tokenizer alone
        words: list[str] = []
        spaces: list[bool] = []
        pos = 0
        for match in _CJK_RUN.finditer(text):
            self._add_latin(text[pos : match.start()], words, spaces)
            for word in self._cut(match.group()):
                words.append(word)
                spaces.append(False)
            pos = match.end()
        self._add_latin(text[pos:], words, spaces)
        return Doc(self.vocab, words=words, spaces=spaces)

    def _add_latin(self, chunk: str, words: list[str], spaces: list[bool]) -> None:
        if not chunk:
            return
        if chunk[0] == " " and words and not spaces[-1]:
            # one space right after a Han run is that token's trailing whitespace
            spaces[-1] = True
            chunk = chunk[1:]
            if not chunk:
                return
        for word, space in self._latin_words(chunk):
            words.append(word)
            spaces.append(space)

    def _latin_words(self, chunk: str) -> tuple[tuple[str, bool], ...]:
        """The words of a Latin chunk, each with whether a space follows it."""
        known = self._chunks.get(chunk)
        if known is not None:
            return known
        found = tuple((token.text, bool(token.whitespace_)) for token in self._latin(chunk))
        if len(chunk) <= CACHED_CHUNK_CHARS:
            if len(self._chunks) >= CACHED_CHUNKS:
                self._chunks.clear()  # a mail stream's common chunks come back at once
            self._chunks[chunk] = found
        return found

    # Nothing to store: the tokenizer is rebuilt from config.cfg.
    def to_bytes(self, **_: Any) -> bytes:
        return b""

    def from_bytes(self, _data: bytes, **_: Any) -> MixedTokenizer:
        return self

    def to_disk(self, _path: Any, **_: Any) -> None:
        return None

    def from_disk(self, _path: Any, **_: Any) -> MixedTokenizer:
        return self


@spacy.registry.tokenizers("mailbot.mixed_tokenizer.v1")
def create_mixed_tokenizer(segmenter: str = "char") -> Callable[[Any], MixedTokenizer]:
    def make(nlp: Any) -> MixedTokenizer:
        return MixedTokenizer(nlp.vocab, segmenter)

    return make


def blank_nlp(segmenter: str = "char") -> spacy.Language:
    """A pipeline with only the mixed tokenizer (used by the rules engine)."""
    config = {
        "nlp": {"tokenizer": {"@tokenizers": "mailbot.mixed_tokenizer.v1", "segmenter": segmenter}}
    }
    return spacy.blank("xx", config=config)
