"""Score an artifact on a labelled corpus: entity-level PER P/R/F1 and token F1.

    python -m model.evaluate --artifact artifacts/NAME --data FILE [--errors] [--json]

Predictions go through ``Tagger.tag_sentences``, the code path the service uses.
"""
from __future__ import annotations

import argparse
import json
import sys

from .artifact import ArtifactError, load
from .data import DataError, read_corpus
from .decode import spans
from .scoring import score
from .tagger import Tagger


def errors(corpus, pred) -> list[str]:
    """One line per missed or spurious name: kind, sentence number, span text, sentence."""
    lines = []
    for n, (toks, g, p) in enumerate(zip(corpus.sentences, corpus.tags, pred), 1):
        gs, ps = set(spans(g)), set(spans(p))
        for kind, bad in (("MISS", gs - ps), ("FALSE", ps - gs)):
            for s, e in sorted(bad):
                lines.append(f"{kind}\t{n}\t{' '.join(toks[s:e])}\t{' '.join(toks)}")
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True, help="artifact directory")
    p.add_argument("--data", required=True, help="labelled corpus (CoNLL columns or .jsonl)")
    p.add_argument("--errors", action="store_true", help="list missed (MISS) and spurious (FALSE) names")
    p.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    args = p.parse_args(argv)
    try:
        tagger = Tagger(load(args.artifact))
        corpus = read_corpus(args.data)
    except (ArtifactError, DataError) as e:
        print(f"evaluate: error: {e}", file=sys.stderr)
        return 2
    pred = [t.tags for t in tagger.tag_sentences(corpus.sentences, corpus.docs)]
    s = score(corpus.tags, pred)
    if args.errors:
        print("\n".join(errors(corpus, pred)))
    if args.json:
        print(json.dumps(s.to_json()))
    else:
        print(f"PER entities: precision {s.precision:.4f}  recall {s.recall:.4f}  F1 {s.f1:.4f}  "
              f"(gold {s.n_gold}, predicted {s.n_pred}, correct {s.n_correct})")
        print(f"PER tokens:   F1 {s.token_f1:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
