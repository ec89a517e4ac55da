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
    if args.json:
        print(json.dumps(s.to_json()))
    elif s.per_type is None:
        print(f"{corpus.types[0]} entities: precision {s.precision:.4f}  recall {s.recall:.4f}  F1 {s.f1:.4f}  "
              f"(gold {s.n_gold}, predicted {s.n_pred}, correct {s.n_correct})")
        print(f"{corpus.types[0]} tokens:   F1 {s.token_f1:.4f}")
    else:
        for typ, t in s.per_type.items():
            print(f"{typ:<6} precision {t['precision']:.4f}  recall {t['recall']:.4f}  F1 {t['f1']:.4f}  "
                  f"(gold {t['n_gold']}, predicted {t['n_pred']}, correct {t['n_correct']})")
        print(f"{'micro':<6} precision {s.precision:.4f}  recall {s.recall:.4f}  F1 {s.f1:.4f}  "
              f"(gold {s.n_gold}, predicted {s.n_pred}, correct {s.n_correct})")
        print(f"tokens in an entity: F1 {s.token_f1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
