"""Score an artifact on a labelled corpus: entity-level P/R/F1 of each of its types and
their micro-average (seqeval's default rules: exact span and type), and token F1.

    python -m model.evaluate --artifact artifacts/NAME --data FILE [--errors] [--json]

Predictions go through ``Tagger.tag_sentences``, the code path the service uses.
"""
from __future__ import annotations

import argparse
import json
import sys

from .artifact import ArtifactError, load
from .data import DataError, read_corpus
from .decode import typed_spans
from .scoring import score
from .tagger import Tagger


def errors(corpus, pred) -> list[str]:
    """One line per missed or spurious entity: kind, sentence number, span text, sentence
    (and, for a model of several types, the type)."""
    lines = []
    for n, (toks, g, p) in enumerate(zip(corpus.sentences, corpus.tags, pred), 1):
        gs, ps = set(typed_spans(g)), set(typed_spans(p))
        for kind, bad in (("MISS", gs - ps), ("FALSE", ps - gs)):
            for s, e, k in sorted(bad):
                typ = "" if len(corpus.types) == 1 else f"{corpus.types[k]}\t"
                lines.append(f"{kind}\t{n}\t{typ}{' '.join(toks[s:e])}\t{' '.join(toks)}")
    return lines


def _prf(precision, recall, f1, gold, predicted, correct) -> str:
    return (f"precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}  "
            f"(gold {gold}, predicted {predicted}, correct {correct})")


def score_lines(s, types: tuple[str, ...]) -> list[str]:
    """The scores as printed: the one type's, or each type's and their micro-average."""
    micro = _prf(s.precision, s.recall, s.f1, s.n_gold, s.n_pred, s.n_correct)
    if s.per_type is None:
        return [f"{types[0]} entities: {micro}", f"{types[0]} tokens:   F1 {s.token_f1:.4f}"]
    rows = [f"{typ:<6} " + _prf(t["precision"], t["recall"], t["f1"], t["n_gold"], t["n_pred"], t["n_correct"])
            for typ, t in s.per_type.items()]
    return rows + [f"{'micro':<6} {micro}", f"tokens in an entity: F1 {s.token_f1:.4f}"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True, help="artifact directory")
    p.add_argument("--data", required=True, help="labelled corpus (CoNLL columns or .jsonl)")
    p.add_argument("--errors", action="store_true", help="list missed (MISS) and spurious (FALSE) names")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    p.add_argument("--label-map", nargs="+", default=[], metavar="OLD=NEW",
                   help="rename the corpus's types as it is read, e.g. PERSON=PER")
    args = p.parse_args(argv)
    try:
        tagger = Tagger(load(args.artifact))
        label_map = dict(m.upper().split("=", 1) for m in args.label_map if "=" in m)
        corpus = read_corpus(args.data, types=tagger.config.types, label_map=label_map)
    except (ArtifactError, DataError) as e:
        print(f"evaluate: error: {e}", file=sys.stderr)
        return 2
    pred = [t.tags for t in tagger.tag_sentences(corpus.sentences, corpus.docs)]
    s = score(corpus.tags, pred, corpus.types)
    if args.errors:
        print("\n".join(errors(corpus, pred)))
    print(json.dumps(s.to_json()) if args.json else "\n".join(score_lines(s, corpus.types)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
