"""Fine-tuning: grow a trained model to new data before training goes on from its weights.

    grow(artifact, sentences, docs, types, min_word, min_feature) -> Grown

* Feature values the new data has and the model's tables lack (new words, affixes,
  shapes) get new columns of W_ax, each a copy of its group's ``<unk>`` column: the
  grown model tags exactly as the old one did until training moves them.
* Words with a GloVe vector that the model's vocabulary lacks get their vector
  (when the vectors can be read: the train extra).
* Types the model lacks are added after its own: two new rows of W_ya and b_y each
  (B- and I-), small random weights and the bias of O minus a margin, so the new
  types start unlikely.

``replay`` draws the share of the model's own training data mixed into an epoch
(training draws anew every epoch), and training goes on at ``LR``, a tenth of
training's own rate, so fine-tuning does not forget it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .artifact import Artifact
from .data import Corpus
from .features import GROUPS, UNK, FeatureTables, build_tables, feature_key
from .network import Config
from .vectors import Vectors, key, quantize

NEW_TYPE_MARGIN = 4.0  # a new type's B/I bias starts this far below O's
REPLAY = 0.9  # the share of each epoch's sentences drawn from the artifact's own training data: the
#               best new-domain dev F1 within a point of CoNLL-2003 dev, on both of bench.finetune's domains
LR = 3e-4  # Adam's learning rate going on from an artifact: a tenth of training's own, so the
#            shipped weights move less and forget less (chosen on WikiGold and CoNLL-2003 dev: bench.finetune)


@dataclass
class Grown:
    params: dict[str, np.ndarray]
    config: Config
    tables: FeatureTables
    vectors: Vectors | None
    new_columns: int
    new_vectors: int
    new_types: tuple[str, ...]


def grow_tables(tables: FeatureTables, sentences, docs, min_word: int, min_feature: int) -> tuple[FeatureTables, list[str]]:
    """The tables plus the feature values of the new data kept by the usual thresholds
    (new ids after the old ones), and those new keys in id order."""
    seen = build_tables(sentences, docs, tables.first_names, tables.last_names, min_word, min_feature)
    new = sorted(k for k in seen.index if k not in tables.index)
    index = dict(tables.index)
    for k in new:
        index[k] = len(index) + 1
    return FeatureTables(index, tables.first_names, tables.last_names, tables.chars), new  # characters kept: W_cx's columns


def grow_vectors(vectors: Vectors | None, sentences) -> tuple[Vectors | None, int]:
    """The vectors plus GloVe's vector of every word of the new data they lack (when the
    GloVe package is installed; else as they are)."""
    if vectors is None:
        return None, 0
    try:
        from .vectors import read_glove
        glove_words, G = read_glove()
    except (ImportError, OSError, ValueError):
        return vectors, 0
    have = set(vectors.words)
    wanted = {key(w) for toks in sentences for w in toks} - have
    rows = [(r, w) for r, w in enumerate(glove_words) if w in wanted]
    if not rows:
        return vectors, 0
    q, scale = quantize(np.asarray(G[[r for r, _ in rows]], dtype=np.float32))
    return Vectors(vectors.words + tuple(w for _, w in rows), np.concatenate([vectors.G_q, q]),
                   np.concatenate([vectors.G_scale, scale])), len(rows)


def grow(art: Artifact, sentences, docs, types: tuple[str, ...], min_word: int, min_feature: int,
         rng: np.random.Generator) -> Grown:
    """The artifact's model grown to the new data and types (see the module)."""
    old = art.config
    new_types = tuple(t for t in types if t not in old.types)
    tables, new_keys = grow_tables(art.tables, sentences, docs, min_word, min_feature)
    vectors, n_vec = grow_vectors(art.vectors, sentences)
    cfg = replace(old, n_x=tables.n_x, types=old.types + new_types, n_g=vectors.n_g if vectors else 0)
    unk = {g: art.tables.index[feature_key(g, UNK)] for g in GROUPS if feature_key(g, UNK) in art.tables.index}
    src = np.array([unk.get(k.split("=", 1)[0], 0) for k in new_keys], dtype=np.int64)
    params = {}
    for name, p in art.params.items():
        if name.startswith("W_ax"):
            p = np.concatenate([p, p[:, src]], axis=1)  # (n_a, n_x): each new column its group's <unk>
        elif name in ("W_ya", "b_y") and new_types:
            extra = 2 * len(new_types)
            if name == "W_ya":
                p = np.concatenate([p, rng.normal(0.0, 0.01, (extra, p.shape[1])).astype(p.dtype)])
            else:
                p = np.concatenate([p, np.full((extra, 1), p[0, 0] - NEW_TYPE_MARGIN, dtype=p.dtype)])
        params[name] = p
    return Grown(params, cfg, tables, vectors, len(new_keys), n_vec, new_types)


def replay_size(n_original: int, n_new: int, share: float) -> int:
    """How many original sentences make `share` of the mixture: share / (1 - share) per
    new sentence, at most all of them."""
    return min(n_original, int(round(n_new * share / (1.0 - share)))) if share > 0 else 0


def replay(original: Corpus, n_new: int, share: float, rng: np.random.Generator) -> Corpus:
    """Sentences of the original training data to mix into one epoch: `share` of the
    mixture (``replay_size``), drawn without replacement, whole documents kept apart.
    Training draws them anew every epoch (``training.train``'s rehearse), so a run of
    twelve epochs rehearses up to twelve times as many of them."""
    n = replay_size(len(original), n_new, share)
    if not n:
        return Corpus(types=original.types)
    pick = np.sort(rng.choice(len(original), size=n, replace=False))
    return Corpus([original.sentences[i] for i in pick], [original.tags[i] for i in pick],
                  [original.docs[i] for i in pick], original.types)
