"""Training by backpropagation through time: minibatches, Adam, clipping, word
dropout, early stopping on dev entity F1 (micro-averaged over the types).

Everything random comes from one ``np.random.Generator`` seeded by the caller,
so the same data, seed and flags give the same weights, bit for bit.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

from . import layers as L, network, optim
from .artifact import Artifact
from .augment import NamePool, augment, combine
from .data import Corpus
from .features import GROUPS, UNK, FeatureTables, char_batch, doc_names, document_sets, featurize, pad
from .network import Config
from .scoring import score
from .tagger import Tagger
from .vectors import NO_VECTOR, Vectors, pad_rows, retuned


@dataclass(frozen=True)
class TrainConfig:
    """One training run: the network to train (n_x is the feature tables'), the
    tables' count thresholds and the optimisation. ``train.py`` has one flag per
    field of this and of ``network.Config`` (``--n-a`` for ``n_a``)."""

    network: Config
    min_word: int = 2  # keep words seen at least this often
    min_feature: int = 3  # keep other feature values seen at least this often
    epochs: int = 12
    batch_size: int = 32
    lr: float = 0.003
    lr_decay: float = 0.9  # learning rate multiplied by this after every epoch
    clip: float = 5.0
    word_dropout: float = 0.25
    dropout: float = 0.4
    patience: int = 4
    ema: float = 0.999  # decay of an exponential moving average of the weights; 0 = off
    seed: int = 1
    vectors: int = 0  # most frequent GloVe words kept (+ every training word); 0 = no vectors
    vector_dropout: float = 0.0  # probability of hiding a token's vector (g<t> = 0)
    tune_vectors: bool = False  # fine-tune the vectors of the words training sees (else frozen)
    serve_vectors: int = 0  # after training, add the vectors of this many most frequent GloVe words (0 = none)
    p_lower: float = 0.0  # share of training sentences lower-cased, drawn anew every epoch
    p_upper: float = 0.0  # share upper-cased
    case_by_document: bool = True  # draw the case per document (else per sentence)
    p_lower_names: float = 0.0  # share of documents kept as written whose person tokens are lower-cased
    p_replace: float = 0.0  # share of documents whose person names are swapped for list names
    p_solo: float = 0.0  # share of sentences featurized as their own document (no document memory)
    distill: float = 0.0  # weight of the loss against the teachers' ŷ (1 - distill: the gold tags')
    loss: str = "token"  # the gold tags' loss: "token" (cross-entropy per token) or "path" (decode.path_loss)

    def to_json(self) -> dict:
        """The flags meta.json records (format 1): the network's fields but n_x and the
        optimisation's; min_word and min_feature are recorded beside them."""
        net = {k: v for k, v in self.network.to_json().items() if k not in ("n_x", "n_g", "n_ch")}  # from the data
        own = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("network", "min_word", "min_feature")}
        for name in ("distill", "p_lower_names"):  # recorded only when used: artifacts trained
            if not own[name]:                      # without them keep their bytes
                del own[name]
        if self.loss == "token":
            del own["loss"]
        if not self.serve_vectors:
            del own["serve_vectors"]
        return {**net, **own}


def batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of sentences of similar length (little padding)."""
    order = np.argsort(lengths + rng.random(len(lengths)), kind="stable")  # random among equal lengths
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    return [chunks[i] for i in rng.permutation(len(chunks))]


def drop_words(ids: np.ndarray, unk: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Word dropout: replace the word id by <unk> with probability p, so
    the model learns to find names from shape, affixes and name lists as well
    (the word table otherwise memorises the training set in a few epochs)."""
    ids = ids.copy()
    word = ids[..., GROUPS.index("word")]  # (T_x, m), a view
    hit = (rng.random(ids.shape[:2]) < p) & (word != 0)
    word[hit] = unk
    return ids


def drop_vectors(rows: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Hide a token's pretrained vector with probability p, so the model also
    learns to do without one (words outside the vocabulary)."""
    if p <= 0.0:
        return rows
    return np.where(rng.random(rows.shape) < p, NO_VECTOR, rows)


def epoch_inputs(train: Corpus, tables: FeatureTables, vectors: Vectors | None, tc: TrainConfig,
                 pool: NamePool | None, rng: np.random.Generator):
    """The (augmented) training corpus of one epoch, its feature ids and vector rows."""
    if tc.p_lower or tc.p_upper or tc.p_replace or tc.p_lower_names:
        train = augment(train, pool, tc.p_replace, tc.p_lower, tc.p_upper, rng, tc.case_by_document,
                        tc.p_lower_names)
    doc_sets = document_sets(train.docs, train.sentences, tables.first_names)
    if tc.p_solo:
        solo = rng.random(len(train)) < tc.p_solo
        doc_sets = [doc_names([s], tables.first_names) if o else d
                    for s, d, o in zip(train.sentences, doc_sets, solo)]
    feats = featurize(tables, train.sentences, doc_sets)
    rows = [vectors.rows(s) for s in train.sentences] if vectors is not None else None
    return train, feats, rows


def check_teachers(teachers: list[Tagger], cfg: Config) -> None:
    """ValueError unless every teacher finds the network's types with its head."""
    for t in teachers:
        if (t.config.types, t.config.head) != (cfg.types, cfg.head):
            raise ValueError(f"a teacher finds {', '.join(t.config.types)} with the {t.config.head} head; "
                             f"the network {', '.join(cfg.types)} with the {cfg.head} head")


def teacher_probs(teachers: list[Tagger], corpus: Corpus) -> list[np.ndarray]:
    """The mean ŷ (T_i, n_y) of the teachers on each sentence of an epoch's corpus, each
    teacher reading it with its own tables and document memory (uncalibrated: the
    network's own output)."""
    total = None
    for t in teachers:
        probs = t.predict_proba(corpus.sentences, document_sets(corpus.docs, corpus.sentences, t.tables.first_names))
        total = probs if total is None else [a + b for a, b in zip(total, probs)]
    return [(p / len(teachers)).astype(np.float32) for p in total]


def batch_loss(head, scores: np.ndarray, y: np.ndarray, mask: np.ndarray, tc: "TrainConfig",
               soft: list[np.ndarray] | None):
    """J and dscores of one batch: the gold tags' loss (per token, or per path with
    tc.loss "path"), mixed at weight tc.distill with the cross-entropy against the
    teachers' ŷ (soft: one (T_i, n_y) per sentence of the batch)."""
    J, d = head.path_loss(scores, y, mask) if tc.loss == "path" else head.loss(scores, y, mask)
    if soft is None:
        return J, d
    q = np.zeros(scores.shape, dtype=np.float32)
    for j, p in enumerate(soft):
        q[: len(p), j] = p
    J_t, d_t = head.soft_loss(scores, q, mask)
    w = tc.distill
    return (1.0 - w) * J + w * J_t, (1.0 - w) * d + w * d_t


def evaluate(tagger: Tagger, corpus: Corpus):
    """Entity-level scores of a tagger on a corpus (the service's decode path)."""
    pred = tagger.tag_sentences(corpus.sentences, corpus.docs)
    return score(corpus.tags, [t.tags for t in pred], corpus.types)


def without_table(params: dict) -> dict:
    """The network's parameters: params without the fine-tuned vectors' table G."""
    return {k: v for k, v in params.items() if k != "G"}


def table_grads(dg, look: L.TableCache) -> dict:
    """{"G": (cols, dcols)}: dg scatter-added into the table's columns, but for column 0
    (no vector: words outside the vocabulary, padding), which stays zero."""
    cols, dcols = L.table_backward(dg, look, sparse=True)["G"]
    keep = cols != NO_VECTOR
    return {"G": (cols[keep], dcols[:, keep])}


def train(train: Corpus, dev: Corpus, tables: FeatureTables, tc: TrainConfig,
          progress: bool = True, log=print, vectors: Vectors | None = None, pool: NamePool | None = None,
          init: dict[str, np.ndarray] | None = None, teachers: list[Tagger] | None = None,
          rehearse: Callable[[np.random.Generator], Corpus] | None = None):
    """Train; returns (best params, network config, per-epoch history, best vectors).

    vectors: the pretrained vectors (g<t>; tc.network.n_g must be their size), or
    None. They come back as given (frozen) or, with tc.tune_vectors, with the rows
    training updated fine-tuned and re-quantized.  pool: names for mention
    replacement (tc.p_replace).  init: parameters to start from instead of random
    ones (fine-tuning; same shapes as ``network.param_shapes(tc.network)``).  teachers:
    taggers of the same types and head whose mean ŷ on each epoch's (augmented)
    sentences joins the gold tags in the targets, at weight tc.distill (distillation
    of an ensemble into one network of the usual size).  rehearse(rng): sentences of
    the starting model's own training data joined to `train` for one epoch, drawn anew
    every epoch (fine-tuning's replay: model.finetune.replay), so a run rehearses many
    of them, not the same few again and again."""
    cfg = tc.network
    if cfg.n_x != tables.n_x:
        raise ValueError(f"the network has n_x={cfg.n_x}, the feature tables {tables.n_x}")
    if cfg.n_g != (vectors.n_g if vectors is not None else 0):
        raise ValueError(f"the network has n_g={cfg.n_g}, the vectors {vectors.n_g if vectors else 0}")
    if cfg.n_ch != tables.n_ch:
        raise ValueError(f"the network has n_ch={cfg.n_ch}, the feature tables {tables.n_ch} characters")
    if tc.tune_vectors and vectors is None:
        raise ValueError("tune_vectors needs vectors")
    if cfg.types != train.types or cfg.types != dev.types:
        raise ValueError(f"the network has types {cfg.types}, the corpora {train.types} and {dev.types}")
    if tc.distill and not teachers:
        raise ValueError("distill needs teachers")
    check_teachers(teachers or [], cfg)
    rng = np.random.default_rng(tc.seed)
    params = network.init_params(cfg, rng)
    if init is not None:  # fine-tuning: start from these weights (model.finetune)
        for k, p in params.items():
            p[...] = init[k]  # into the fresh arrays: their memory layout is training's
    table = vectors.table() if vectors is not None else None  # (n_g, V + 1)
    if tc.tune_vectors:
        params["G"] = table  # trained in place, column by column (lazy Adam)
    state = optim.adam_init(params)
    unk = tables.id("word", UNK)
    avg = {k: v.copy() for k, v in params.items()} if tc.ema else params
    if tc.ema and tc.tune_vectors:
        avg["G"] = table.copy(order="F")  # G's layout: averaging across layouts is 5x slower
    best, best_vectors, best_f1, history, bad, step = None, vectors, -1.0, [], 0, 0
    for epoch in range(1, tc.epochs + 1):
        t0, lr = time.perf_counter(), tc.lr * tc.lr_decay ** (epoch - 1)
        total, n_tok = 0.0, 0
        corpus = train if rehearse is None else combine([train, rehearse(rng)], [False, False])
        epoch_train, feats, rows = epoch_inputs(corpus, tables, vectors, tc, pool, rng)
        lengths = np.array([len(s) for s in corpus.sentences])
        soft = teacher_probs(teachers, epoch_train) if tc.distill else None
        order = batches(lengths, tc.batch_size, rng)
        bar = _bar(len(order), epoch, tc.epochs, progress)
        for idx in order:
            ids, lens, mask, y = pad([feats[i] for i in idx], [corpus.tags[i] for i in idx])
            ids = drop_words(ids, unk, tc.word_dropout, rng)
            g = None
            if vectors is not None:
                g, look = L.table_forward(drop_vectors(pad_rows([rows[i] for i in idx], ids.shape[0]),
                                                       tc.vector_dropout, rng), table)  # (T_x, m, n_g)
            chars = char_batch(tables, [epoch_train.sentences[i] for i in idx], ids.shape[0]) if cfg.n_c else None
            scores, cache = network.forward(params, ids, lens, cfg, tc.dropout, rng, g, chars)
            J, dscores = batch_loss(cfg.head_policy, scores, y, mask, tc,
                                    None if soft is None else [soft[i] for i in idx])
            grads = network.backward(dscores, cache, cfg, sparse=True, dg=tc.tune_vectors)
            if tc.tune_vectors:
                grads.update(table_grads(grads.pop("g"), look))
            grads, _ = optim.clip(grads, tc.clip)
            optim.adam_step(params, grads, state, lr)
            if tc.ema:
                optim.ema_update(avg, params, tc.ema, step)
                step += 1
            total, n_tok = total + J * len(idx), n_tok + int(lens.sum())
            if bar is not None:
                bar.set_postfix(loss=f"{total / n_tok:.4f}", refresh=False)
                bar.update()
        vec = vectors
        if tc.tune_vectors:  # evaluated as exported: the updated rows re-quantized
            vec = retuned(vectors, avg["G"], np.flatnonzero(state["t"]["G"]))
        dev_scores = evaluate(Tagger(Artifact(without_table(avg), cfg, tables, {}, vec)), dev)
        history.append({"epoch": epoch, "loss_per_token": round(float(total / n_tok), 6), "lr": lr,
                        "dev": dev_scores.to_json()})
        if bar is not None:  # the bar stays on screen with the epoch's loss and dev F1
            bar.set_postfix(loss=f"{total / n_tok:.4f}", dev_f1=f"{dev_scores.f1:.4f}")
            bar.close()
        else:
            log(f"epoch {epoch}: loss/token {total / n_tok:.4f}  dev P {dev_scores.precision:.4f} "
                f"R {dev_scores.recall:.4f} F1 {dev_scores.f1:.4f}  ({time.perf_counter() - t0:.0f}s)")
        if dev_scores.f1 > best_f1:
            best = {k: v.copy() for k, v in without_table(avg).items()}
            best_f1, best_vectors, bad = dev_scores.f1, vec, 0
            history[-1]["best"] = True
        else:
            bad += 1
            if bad >= tc.patience:
                log(f"early stop: dev F1 has not improved for {tc.patience} epochs")
                break
    return best, cfg, history, best_vectors


def _bar(n_batches: int, epoch: int, epochs: int, progress: bool):
    """A tqdm bar for one epoch, or None without progress output."""
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=n_batches, desc=f"epoch {epoch}/{epochs}", unit="batch")
