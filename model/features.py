"""x<t> as a multi-hot vector: the active feature ids of each token.

Every token gets exactly K ids, one per feature group, in a single id space of
size n_x (id 0 is padding and never trained):

    word   the lower-cased word, digits folded to 0 (unknown -> "word=<unk>")
    shape  compressed character shape ("Xx", "X.", "Xx-Xx", "d", ...)
    p1-p3, s1-s4   prefixes and suffixes: what transfers to unseen names
    case   capitalisation class joined with "first token of the sentence?"
    fn, ln   frequency bins of the token in the first-name (US SSA) and
             surname (US Census 1990) lists
    doc    document memory for a capitalised token: "name" if it follows a known
           first name elsewhere in the same document (surname re-mentions, also
           upper-case headlines), "lower" if the document also uses it in lower
           case (a common word), else "no"

A feature value never seen often enough in training maps to its group's
"<unk>" id, so unseen words still light up their shape, affix and name-list
features. All tables live in the artifact (``FeatureTables``); nothing is read
from disk at inference.
"""
from __future__ import annotations

import functools
import gzip
import math
import operator
import re
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .tokenizer import INVISIBLE

GROUPS = ("word", "shape", "p1", "p2", "p3", "s1", "s2", "s3", "s4", "case", "fn", "ln", "doc")  # id columns
CONTEXT_GROUPS = ("case", "doc")  # depend on the sentence or document too (see sentence_rows)
WORD_GROUPS = tuple(g for g in GROUPS if g not in CONTEXT_GROUPS)  # on the word form alone
K = len(GROUPS)
PAD = 0
UNK = "<unk>"  # the value of every group for what training saw too rarely
MAX_CHARS = 20  # the character cell reads a word's first 20 characters
CHAR_UNK = 1  # the id of a character training saw too rarely (0 is padding)
_DIGITS = re.compile(r"[0-9]")
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


# The pure per-token functions below run for every token of every request; real
# text repeats its word forms, so each remembers its recent answers (bounded, so a
# stream of unseen words cannot grow memory; thread-safe in CPython).
_per_form = functools.lru_cache(maxsize=1 << 15)


@_per_form
def visible(word: str) -> str:
    """The token without invisible format characters (zero-width space, soft hyphen,
    bidi controls...), which would otherwise make a known name look unseen."""
    return _INVISIBLE.sub("", word) or word


def normalise(word: str) -> str:
    """The word-feature form of a token: lower case, every digit folded to 0."""
    return _DIGITS.sub("0", word.lower())


def shape(word: str) -> str:
    """Character classes with runs collapsed: "McDonald" -> "XxXx", "U.S." -> "X.X."."""
    out = []
    for ch in word[:12]:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if not out or out[-1] != c:
            out.append(c)
    return "".join(out)


@_per_form
def case_class(word: str, first: bool) -> str:
    """Capitalisation class, joined with sentence position (a capital after a full
    stop says little; one in mid-sentence says a lot)."""
    if word.isupper() and any(c.isalpha() for c in word):
        c = "upper"
    elif word[:1].isupper():
        c = "title"
    elif any(c.isupper() for c in word):
        c = "mixed"
    elif any(c.isalpha() for c in word):
        c = "lower"
    else:
        c = "none"
    return f"{c}|{'first' if first else 'mid'}"


@_per_form
def name_key(word: str) -> str:
    """The key used in the name lists: upper case, letters only."""
    return "".join(c for c in word.upper() if c.isalpha())


def feature_key(group: str, value: str) -> str:
    """The key of a feature value in the tables: "group=value"."""
    return group + "=" + value


def word_values(w: str, first_names: dict[str, int], last_names: dict[str, int]) -> dict[str, str]:
    """The values of the WORD_GROUPS, which depend on the word form alone."""
    low, key = w.lower(), name_key(w)
    return {"word": normalise(w), "shape": shape(w),
            "p1": low[:1], "p2": low[:2], "p3": low[:3],
            "s1": low[-1:], "s2": low[-2:], "s3": low[-3:], "s4": low[-4:],
            "fn": str(first_names.get(key, "none")), "ln": str(last_names.get(key, "none"))}


# A row is assembled as (word part + context part), then put in GROUPS order.
_IN_GROUPS_ORDER = operator.itemgetter(*[(WORD_GROUPS + CONTEXT_GROUPS).index(g) for g in GROUPS])


def sentence_rows(tokens: list[str], doc_names: set[str], word_part, encode) -> list[tuple]:
    """The K features of each token of one sentence, in GROUPS order: the one row
    builder behind both ``build_tables`` (feature keys) and ``featurize`` (ids).

    word_part(w) : the WORD_GROUPS entries of word form w, in that order
                   (featurize passes the per-form cache ``FeatureTables.word_ids``).
    encode(group, value) : the entry of one context feature.
    """
    rows = []
    for i, w in enumerate(map(visible, tokens)):
        context = (encode("case", case_class(w, i == 0)), encode("doc", doc_value(w, doc_names)))
        rows.append(_IN_GROUPS_ORDER(word_part(w) + context))
    return rows


@dataclass
class FeatureTables:
    """Everything needed to turn tokens into ids: the artifact stores it in meta.json."""

    index: dict[str, int]  # "group=value" -> id in 1..n_x-1
    first_names: dict[str, int]  # NAME -> frequency bin
    last_names: dict[str, int]  # NAME -> frequency bin
    chars: tuple[str, ...] = ()  # the character cell's vocabulary (ids 2..), empty without one

    def __post_init__(self):
        self._unk = {g: self.index.get(feature_key(g, UNK), PAD) for g in GROUPS}
        # The word-only features of a word form never change: compute them once per form.
        # Bounded, so a stream of unseen words cannot grow memory; thread-safe in CPython.
        self.word_ids = functools.lru_cache(maxsize=1 << 15)(self._word_ids)
        self._char_index = {c: i + 2 for i, c in enumerate(self.chars)}
        self.char_ids = functools.lru_cache(maxsize=1 << 15)(self._char_ids)

    @property
    def n_x(self) -> int:
        return len(self.index) + 1  # + PAD

    @property
    def n_ch(self) -> int:
        """Size of the character vocabulary: padding, <unk> and the kept characters (0: none)."""
        return len(self.chars) + 2 if self.chars else 0

    def _char_ids(self, w: str) -> tuple[int, ...]:
        """The ids of the first MAX_CHARS characters of word form w."""
        return tuple(self._char_index.get(c, CHAR_UNK) for c in visible(w)[:MAX_CHARS])

    def id(self, group: str, value: str) -> int:
        """The id of "group=value", or of the group's <unk>."""
        return self.index.get(feature_key(group, value)) or self._unk[group]

    def _word_ids(self, w: str) -> tuple[int, ...]:
        """The ids of the WORD_GROUPS of word form w, in that order."""
        vals = word_values(w, self.first_names, self.last_names)
        return tuple(self.id(g, vals[g]) for g in WORD_GROUPS)

    def group_ids(self) -> list[np.ndarray]:
        """The ids of each feature group, in GROUPS order (column k of featurize's ids
        holds group k's ids or PAD)."""
        ids: dict[str, list[int]] = {g: [] for g in GROUPS}
        for key, i in self.index.items():
            ids[key.split("=", 1)[0]].append(i)
        return [np.array(sorted(ids[g]), dtype=np.int64) for g in GROUPS]

    def to_json(self) -> dict:
        out = {"index": sorted(self.index, key=self.index.get),
               "first_names": self.first_names, "last_names": self.last_names}
        if self.chars:  # only a model with the character cell has them
            out["chars"] = list(self.chars)
        return out

    @classmethod
    def from_json(cls, obj: dict) -> "FeatureTables":
        chars = obj.get("chars", [])
        if not isinstance(chars, list) or not all(isinstance(c, str) and len(c) == 1 for c in chars) \
                or len(set(chars)) != len(chars):
            raise ValueError("chars must be a list of distinct single characters")
        return cls(index={f: i + 1 for i, f in enumerate(obj["index"])},
                   first_names=dict(obj["first_names"]), last_names=dict(obj["last_names"]),
                   chars=tuple(chars))


def doc_names(sentences: list[list[str]], first_names: dict[str, int]) -> set[str]:
    """Name keys of capitalised tokens that follow a known first name somewhere in
    the document ("Bill Clinton" -> CLINTON), so that later bare or upper-case
    mentions ("Clinton", "CLINTON") carry the earlier evidence over; plus
    "lower:" + the lower-cased form of every lower-case word in the document.
    """
    seen = set()
    for toks in sentences:
        toks = [visible(w) for w in toks]
        for prev, w in zip([""] + toks, toks):
            if w.islower():
                seen.add("lower:" + w)
            elif (w[:1].isupper() and len(w) > 1 and prev[:1].isupper() and not prev.isupper()
                    and first_names.get(name_key(prev), 0) >= 3):
                seen.add(name_key(w))
    return seen


def doc_value(w: str, names: set[str]) -> str:
    """The doc feature of token w, given its document's doc_names() set."""
    if not w[:1].isupper():
        return "no"
    if name_key(w) in names:
        return "name"
    return "lower" if "lower:" + w.lower() in names else "no"


def featurize(tables: FeatureTables, sentences: list[list[str]], doc_sets: list[set[str]] | None = None):
    """Feature ids of each sentence: a list of int32 arrays (T_x, K), the rows of
    sentence_rows() as ids (word-only ids from the per-form cache).

    doc_sets gives, per sentence, its document's doc_names() set (None: each
    sentence is its own document).
    """
    out = []
    for j, toks in enumerate(sentences):
        names = doc_sets[j] if doc_sets is not None else doc_names([toks], tables.first_names)
        rows = sentence_rows(toks, names, tables.word_ids, tables.id)
        out.append(np.array(rows, dtype=np.int32).reshape(len(toks), K))
    return out


def document_sets(docs: list[int], sentences: list[list[str]], first_names: dict[str, int]) -> list[set[str]]:
    """Per sentence, the doc_names() set of the document it belongs to."""
    by_doc: dict[int, list[list[str]]] = {}
    for d, toks in zip(docs, sentences):
        by_doc.setdefault(d, []).append(toks)
    sets = {d: doc_names(s, first_names) for d, s in by_doc.items()}
    return [sets[d] for d in docs]


# --- building the tables from training data -----------------------------------

def _bin(count: float) -> int:
    return max(0, min(6, int(math.log10(max(count, 1.0)))))


def load_name_lists(names_dir: str | Path) -> tuple[dict[str, int], dict[str, int]]:
    """First-name and surname frequency bins from the US SSA and Census 1990 lists.

    First names: log10 of the total SSA count (1880-2023), names seen >= 100 times.
    Surnames: 1 for the Census top 1,000, 2 for the top 10,000, 3 for the rest.
    """
    names_dir = Path(names_dir)
    counts: Counter = Counter()
    for f in sorted((names_dir / "ssa").glob("yob*.txt.gz")):
        with gzip.open(f, "rt", encoding="ascii") as fh:
            for line in fh:
                name, _, n = line.strip().split(",")
                counts[name.upper()] += int(n)
    first = {n: _bin(c) for n, c in counts.items() if c >= 100}
    last = {}
    with open(names_dir / "census1990" / "dist.all.last", encoding="ascii") as fh:
        for line in fh:
            name, rank = line[:15].strip(), int(line.split()[-1])
            last[name] = 1 if rank <= 1000 else 2 if rank <= 10000 else 3
    return first, last


def build_tables(sentences: list[list[str]], docs: list[int], first_names, last_names,
                 min_word: int, min_feature: int) -> FeatureTables:
    """Feature index from the training sentences: words seen >= min_word times,
    other values seen >= min_feature times, plus one "<unk>" per group."""
    def word_keys(w: str) -> tuple[str, ...]:
        vals = word_values(w, first_names, last_names)
        return tuple(feature_key(g, vals[g]) for g in WORD_GROUPS)

    doc_sets = document_sets(docs, sentences, first_names)
    counts: Counter = Counter()
    for toks, names in zip(sentences, doc_sets):
        for row in sentence_rows(toks, names, word_keys, feature_key):
            counts.update(row)
    keep = [v for v, c in counts.items() if c >= (min_word if v.startswith(feature_key("word", "")) else min_feature)]
    keep = sorted(keep) + [feature_key(g, UNK) for g in GROUPS]
    return FeatureTables({v: i + 1 for i, v in enumerate(keep)}, first_names, last_names)


def with_chars(tables: FeatureTables, sentences: list[list[str]], min_count: int) -> FeatureTables:
    """The tables plus a character vocabulary: the characters of the training words
    (their first MAX_CHARS) seen at least min_count times, sorted."""
    counts: Counter = Counter()
    for toks in sentences:
        for w in toks:
            counts.update(visible(w)[:MAX_CHARS])
    return replace(tables, chars=tuple(sorted(c for c, n in counts.items() if n >= min_count)))


class CharBatch(NamedTuple):
    """The characters of a batch, once per distinct word form (form 0: padding, no characters)."""
    ids: np.ndarray  # int (L, U): each form's character ids, time-major, padded with 0
    lengths: np.ndarray  # (U,)
    index: np.ndarray  # int (T_x, m): each token's form, 0 on padding


def form_index(sentences: list[list[str]], T_x: int) -> tuple[list[str], np.ndarray]:
    """The distinct word forms of a batch ("" first: padding) and each token's form (T_x, m)."""
    forms = {"": 0}
    index = np.zeros((T_x, len(sentences)), dtype=np.int64)
    for i, toks in enumerate(sentences):
        index[: len(toks), i] = [forms.setdefault(w, len(forms)) for w in toks]
    return list(forms), index


def char_ids(tables: FeatureTables, forms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The character ids of word forms, time-major (L, U) padded with 0, and their lengths (U,)."""
    seqs = [tables.char_ids(w) for w in forms]
    lengths = np.array([len(c) for c in seqs], dtype=np.int64)
    ids = np.zeros((max(1, int(lengths.max(initial=0))), len(seqs)), dtype=np.int32)
    for u, c in enumerate(seqs):
        ids[: len(c), u] = c
    return ids, lengths


def char_batch(tables: FeatureTables, sentences: list[list[str]], T_x: int) -> CharBatch:
    """The CharBatch of a padded batch of T_x steps."""
    forms, index = form_index(sentences, T_x)
    return CharBatch(*char_ids(tables, forms), index)


def pad(feats: list[np.ndarray], tags: list[list[int]] | None = None):
    """Time-major batch: ids (T_x, m, K) padded with 0, lengths (m,), mask (T_x, m),
    and y (T_x, m) when tags are given."""
    lengths = np.array([len(f) for f in feats], dtype=np.int64)
    T_x, m = int(lengths.max()), len(feats)
    ids = np.zeros((T_x, m, K), dtype=np.int32)
    y = np.zeros((T_x, m), dtype=np.int64)
    for i, f in enumerate(feats):
        ids[: len(f), i] = f
        if tags is not None:
            y[: len(f), i] = tags[i]
    mask = (np.arange(T_x)[:, None] < lengths[None, :]).astype(np.float32)
    return ids, lengths, mask, (y if tags is not None else None)
