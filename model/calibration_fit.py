"""Fit an artifact's score calibration and operating table on dev sets, and store them.

    python -m model.calibration_fit --artifact artifacts/NAME --dev DEV.conll [OTHER_DEV.conll]

One dev set per domain (at most two; the first is the model's own, e.g.
CoNLL-2003 dev, fitted as written, lower-cased and upper-cased; the second
another domain, e.g. WNUT-17 dev). Never a test set.
Every sentence is tagged on its own (one sentence per input, as a one-sentence
request is). The artifact's meta.json gains "calibration" (``model.calibration``)
and "operating_table" (entity precision and recall on the first dev set for
each threshold of ``THRESHOLDS`` and for the default decoding), written through
``artifact.update_meta``: atomically, weights untouched, verified on reload.
``train.py`` fits the same (``fit_artifact``) before it writes a new artifact.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
from pathlib import Path

import numpy as np

from . import artifact as artifact_io
from .artifact import ArtifactError
from .augment import recase
from .calibration import (Calibration, SentenceBatch, ece, fit_logistic, typed_outcomes)
from .data import Corpus, DataError, read_corpus
from .decode import typed_spans
from .scoring import score
from .tagger import Tagger

THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
# Chosen by 5-fold cross-validation of the entity ECE on the dev sets (never on test):
L2 = 0.3  # pulls each calibrator towards the identity: a small dev set moves it little
L2_DOMAIN = 0.1  # the domain model over hashed words (HASH_BUCKETS weights)
MAX_DOMAINS = 2


class _Domain:
    """The raw material of one dev set: features and outcomes of its tokens and entities."""

    def __init__(self, tagger: Tagger, corpus: Corpus):
        head = tagger.config.head_policy
        probs = tagger.predict_proba(corpus.sentences)
        batch = SentenceBatch(corpus.sentences, tagger.word_facts)  # every sentence on its own, side by side
        cuts = batch.bounds.tolist()  # m + 1: sentence i is tokens cuts[i]:cuts[i + 1]
        flat = np.concatenate(probs) if probs else np.zeros((0, head.n_y))
        raw = head.name_scores(head.posteriors(flat, cuts))
        self.tok_X = batch.token_features(raw)[:, :-1]  # fit_logistic adds the bias
        self.tok_y = np.array([t > 0 for tags in corpus.tags for t in tags], dtype=bool)
        spans_at, self.ent_y, kinds = [], [], []
        for start, gold, tags in zip(cuts, corpus.tags, head.decode_many(flat, cuts)):
            for s, e, k, ok in typed_outcomes(tags, gold):
                spans_at.append((start + s, start + e))
                self.ent_y.append(ok)
                kinds.append(k)
        self.ent_kind = np.array(kinds, dtype=np.int64)
        self.ent_X = batch.entity_features(raw, np.array(spans_at, dtype=np.int64).reshape(-1, 2))[:, :-1]
        self.ent_y = np.array(self.ent_y, dtype=bool)
        self.sentence_X = batch.domain_features()

    def token_data(self):
        return self.tok_X, self.tok_y.astype(np.float64)

    def entity_data(self, k: int | None = None):
        """The entities' features and outcomes; k: of type k only."""
        at = slice(None) if k is None else self.ent_kind == k
        return self.ent_X[at], self.ent_y[at].astype(np.float64)


def in_every_case(corpus: Corpus) -> Corpus:
    """The corpus as written, then lower-cased, then upper-cased: the first domain's
    calibrator learns from all three, since people send text in any case (fitted on
    the cased dev set alone, it scores lower-case names down, and decoding on the
    scores then misses them). Chosen on dev per model (``--every-case``): it helps a
    model trained for any case and a second domain, and costs a news-only model of
    four types precision."""
    modes = ("keep", "lower", "upper")
    return Corpus([recase(s, m) for m in modes for s in corpus.sentences], corpus.tags * 3,
                  [d for m in modes for d in corpus.docs], corpus.types)


def fit(tagger: Tagger, corpora: list[Corpus], names: list[str], every_case: bool = False) -> Calibration:
    """The calibration of tagger's model on one or two dev corpora (one per domain);
    every_case: the first one as written, lower-cased and upper-cased (``in_every_case``)."""
    if not 1 <= len(corpora) <= MAX_DOMAINS:
        raise ValueError(f"give one or {MAX_DOMAINS} dev sets, not {len(corpora)}")
    first = in_every_case(corpora[0]) if every_case else corpora[0]
    domains = [_Domain(tagger, c) for c in [first, *corpora[1:]]]
    token = np.stack([fit_logistic(*d.token_data(), l2=L2) for d in domains])
    entity = np.stack([fit_logistic(*d.entity_data(), l2=L2) for d in domains])
    domain = None
    if len(domains) == 2:
        X = np.concatenate([d.sentence_X for d in domains])
        y = np.concatenate([np.zeros(len(domains[0].sentence_X)), np.ones(len(domains[1].sentence_X))])
        domain = fit_logistic(X, y, l2=L2_DOMAIN, identity_first=False)
    types = tagger.config.types
    by_type = None
    if len(types) > 1:  # each type its own entity calibrator
        by_type = np.stack([np.stack([fit_logistic(*d.entity_data(k), l2=L2) for d in domains])
                            for k in range(len(types))])
    return Calibration(domain, token, entity, tuple(names), by_type, types if by_type is not None else ())


def entity_scores(tagger: Tagger, corpus: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """Each predicted entity's score and whether it is exactly right, one sentence per input."""
    conf, right = [], []
    for tokens, gold, t in zip(corpus.sentences, corpus.tags, tagger.tag_sentences(corpus.sentences)):
        gold_spans = set(typed_spans(gold))
        conf += t.entity_scores
        right += [s in gold_spans for s in typed_spans(t.tags)]
    return np.array(conf), np.array(right, dtype=bool)


def operating_table(tagger: Tagger, corpus: Corpus) -> list[dict]:
    """Entity precision and recall for each threshold, then for the default decoding."""
    rows = []
    for threshold in THRESHOLDS + (None,):
        pred = [t.tags for t in tagger.tag_sentences(corpus.sentences, threshold=threshold)]
        s = score(corpus.tags, pred, corpus.types)
        row = {"threshold": threshold, "precision": round(s.precision, 4), "recall": round(s.recall, 4),
               "f1": round(s.f1, 4)}
        if s.per_type is not None:  # several types: each type's own, beside the micro-average
            row["per_type"] = {t: {k: round(v[k], 4) for k in ("precision", "recall", "f1")}
                               for t, v in s.per_type.items()}
        rows.append(row)
    return rows


def fit_artifact(art: artifact_io.Artifact, dev_files: list[str | Path], log=lambda s: None,
                 label_map: dict[str, str] | None = None, corpora: list[Corpus] | None = None,
                 names: list[str] | None = None, sha256: str | None = None, every_case: bool = False) -> dict:
    """The meta.json entries "calibration" and "operating_table" of a model (loaded, or
    just trained and not yet written) fitted on the dev files (read for the model's types),
    or on dev corpora already read (`corpora`, with their `names` and the first one's `sha256`)."""
    if corpora is None:
        corpora = [read_corpus(f, types=art.config.types, label_map=label_map) for f in dev_files]
        names = [Path(f).parent.name + "/" + Path(f).name for f in dev_files]
        sha256 = hashlib.sha256(Path(dev_files[0]).read_bytes()).hexdigest()
    raw_tagger = Tagger(art, calibrated=False)
    cal = fit(raw_tagger, corpora, names, every_case)
    tagger = Tagger(dataclasses.replace(art, calibration=cal))
    ece_dev = {}
    for name, corpus in zip(names, corpora):
        before, after = entity_scores(raw_tagger, corpus), entity_scores(tagger, corpus)
        ece_dev[name] = {"before": round(ece(*before), 4), "after": round(ece(*after), 4)}
        log(f"calibrate: {name}: entity ECE {ece_dev[name]['before']:.4f} -> {ece_dev[name]['after']:.4f}")
    table = {"data": names[0], "sha256": sha256,
             "rows": operating_table(tagger, corpora[0])}
    return {"calibration": dict(cal.to_json(), ece_dev=ece_dev, every_case=every_case), "operating_table": table}


def calibrate(art_dir: str | Path, dev_files: list[str | Path], log=lambda s: None,
              every_case: bool = False) -> artifact_io.Artifact:
    """Fit on the dev files and store the calibration and operating table in the artifact
    (meta.json replaced atomically, weights untouched)."""
    fitted = fit_artifact(artifact_io.load(art_dir), dev_files, log, every_case=every_case)
    return artifact_io.update_meta(art_dir, fitted)


def operating_lines(rows: list[dict]) -> list[str]:
    """The operating table as printed: dev precision and recall per threshold."""
    return [f"threshold {_threshold(row['threshold']):>7}: precision {row['precision']:.4f}  "
            f"recall {row['recall']:.4f}" for row in rows]


def _threshold(t: float | None) -> str:
    return "default" if t is None else f"{t:.2f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True, help="artifact directory (meta.json is rewritten)")
    p.add_argument("--dev", required=True, nargs="+", help=f"dev corpora, one per domain (at most {MAX_DOMAINS})")
    p.add_argument("--every-case", action="store_true",
                   help="fit the first domain on its dev set as written, lower-cased and upper-cased")
    args = p.parse_args(argv)
    if len(args.dev) > MAX_DOMAINS:
        p.error(f"at most {MAX_DOMAINS} dev sets")
    try:
        art = calibrate(args.artifact, args.dev, log=lambda s: print(s, file=sys.stderr), every_case=args.every_case)
    except (ArtifactError, DataError, OSError) as e:
        print(f"calibrate: error: {e}", file=sys.stderr)
        return 2
    print("\n".join(operating_lines(art.meta["operating_table"]["rows"])), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
