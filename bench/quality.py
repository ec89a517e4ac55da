"""Quality of a model, three ways: entity P/R/F1 (conlleval's and seqeval's rules, exact
spans and types; a model of several types gets each type's scores and their micro-average).

* **sentence**: one sentence per input, through ``Tagger.tag_documents`` exactly
  as ``POST /tag`` calls it with one input per sentence (no document around it);
* **document**: one document per input: the document's tokens as one list,
  split into sentences by the tagger as ``POST /tag`` splits a text;
* **evaluate**: ``python -m model.evaluate``: gold sentences, grouped into the
  file's documents (``Tagger.tag_sentences``).

On CoNLL-2003 test as it is, lower-cased and upper-cased, and WNUT-17 test (a
post is a sentence and a document: its three ways differ only for ``evaluate``,
which reads the file as one document). ``--split dev`` scores the dev files
instead (model selection): of a corpus whose dev file the model was trained on half
of, the other half, the one its epoch was chosen on (``dev_file``); test is for
reporting.

    python -m bench.quality [--artifact DIR] [--split dev|test] [--json]
"""
from __future__ import annotations

import json
import sys

from model.artifact import load
from model.augment import recase
from model.data import Corpus, read_corpus
from model.scoring import score
from model.split import recorded_names
from model.tagger import Tagger

from harness import DEFAULT_ARTIFACT, SEED_LABELS, SEED_TOKENS, locate

from .common import parser

WAYS = ("sentence", "document", "evaluate")


# WNUT-17's types as a CoNLL-style model names them (for a model of several types)
WNUT_LABEL_MAP = {"LOCATION": "LOC", "CORPORATION": "ORG", "GROUP": "ORG", "PRODUCT": "MISC",
                  "CREATIVE-WORK": "MISC"}


def _head(corpus: Corpus, n: int | None) -> Corpus:
    if n is None:
        return corpus
    return Corpus(corpus.sentences[:n], corpus.tags[:n], corpus.docs[:n], corpus.types)


def recased(corpus: Corpus, mode: str) -> Corpus:
    return Corpus([recase(s, mode) for s in corpus.sentences], corpus.tags, corpus.docs, corpus.types)


def by_sentence(tagger: Tagger, corpus: Corpus) -> list[list[int]]:
    """Each gold sentence its own input, as POST /tag gets it."""
    return [t.tags for t in tagger.tag_documents(corpus.sentences)]


def by_document(tagger: Tagger, corpus: Corpus) -> list[list[int]]:
    """Each document one input (its sentences' tokens joined), as POST /tag gets an
    article; the tags are cut back at the gold sentence boundaries for scoring."""
    groups: dict[int, list[int]] = {}
    for i, d in enumerate(corpus.docs):
        groups.setdefault(d, []).append(i)
    docs = list(groups.values())
    tagged = tagger.tag_documents([[w for i in idx for w in corpus.sentences[i]] for idx in docs])
    out: list[list[int]] = [[] for _ in corpus.sentences]
    for idx, t in zip(docs, tagged):
        pos = 0
        for i in idx:
            out[i] = t.tags[pos:pos + len(corpus.sentences[i])]
            pos += len(corpus.sentences[i])
    return out


def by_evaluate(tagger: Tagger, corpus: Corpus) -> list[list[int]]:
    """As python -m model.evaluate: gold sentences, the file's documents."""
    return [t.tags for t in tagger.tag_sentences(corpus.sentences, corpus.docs)]


def three_ways(tagger: Tagger, corpus: Corpus, ways=WAYS) -> dict:
    fns = {"sentence": by_sentence, "document": by_document, "evaluate": by_evaluate}
    out = {"sentences": len(corpus), "tokens": corpus.n_tokens}
    for w in ways:
        out[w] = score(corpus.tags, fns[w](tagger, corpus), corpus.types).to_json()
    return out


def dev_file(corpus: str, meta: dict) -> str:
    """The dev file of `corpus` ("wnut17") to choose on: the half of it the model stopped on
    when it trained on the other half ("wnut17/dev-b.conll"), else the whole file."""
    recorded = recorded_names(meta.get("training", {}).get("dev_file", ""))
    return next((f for f in recorded if f.startswith(f"{corpus}/dev-")), f"{corpus}/dev.conll")


def set_file(corpus: str, split: str, meta: dict) -> str:
    """The file ("conll2003/test.conll") a split of a corpus is scored on, for this model."""
    return dev_file(corpus, meta) if split == "dev" else f"{corpus}/{split}.conll"


def sets(split: str, n: int | None = None, types: tuple[str, ...] = ("PER",),
         meta: dict | None = None) -> dict[str, tuple[Corpus, tuple[str, ...]]]:
    """name -> (corpus, the ways worth measuring on it), read for the model's types."""
    conll = _head(read_corpus(locate(set_file("conll2003", split, meta or {})), types=types), n)
    wnut = _head(read_corpus(locate(set_file("wnut17", split, meta or {})), types=types, label_map=WNUT_LABEL_MAP), n)
    return {
        f"conll_{split}": (conll, WAYS),
        f"conll_{split}_lower": (recased(conll, "lower"), WAYS),
        f"conll_{split}_upper": (recased(conll, "upper"), WAYS),
        # a post is a sentence and a document; evaluate reads the file as one document
        f"wnut_{split}": (wnut, ("sentence", "evaluate")),
    }


def run(quick: bool = False, artifact=DEFAULT_ARTIFACT, split: str = "test") -> dict:
    tagger = Tagger(load(artifact))
    n = 400 if quick else None
    seed = tagger.tag_documents([SEED_TOKENS])[0]
    out = {
        "subset": n,
        "split": split,
        "dev_f1": tagger.artifact.meta.get("metrics", {}).get("dev", {}).get("f1"),
        "seed": {"tokens": SEED_TOKENS, "want": SEED_LABELS, "got": seed.labels, "ok": seed.labels == SEED_LABELS},
    }
    out["types"] = list(tagger.config.types)
    meta = tagger.artifact.meta
    out["files"] = {c: set_file(c, split, meta) for c in ("conll2003", "wnut17")}
    for name, (corpus, ways) in sets(split, n, tagger.config.types, meta).items():
        out[name] = three_ways(tagger, corpus, ways)
    return out


def table(q: dict) -> list[str]:
    """The markdown table: one row per set, F1 (P / R) for each way."""
    split = q["split"]
    half = {c: " (half B)" if f.endswith("-b.conll") else "" for c, f in q.get("files", {}).items()}
    conll, wnut = f"CoNLL-2003 {split}{half.get('conll2003', '')}", f"WNUT-17 {split}{half.get('wnut17', '')}"
    names = {f"conll_{split}": conll, f"conll_{split}_lower": f"{conll}, lower-cased",
             f"conll_{split}_upper": f"{conll}, upper-cased", f"wnut_{split}": wnut}
    out = ["| set | one sentence per input | one document per input | `model.evaluate` |", "|---|---:|---:|---:|"]
    for key, label in names.items():
        cells = []
        for w in WAYS:
            s = q[key].get(w)
            cells.append("–" if s is None else f"**{s['f1']:.4f}** ({s['precision']:.3f} / {s['recall']:.3f})")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
        for typ in (q[key].get("sentence") or {}).get("per_type") or {}:  # several types: each its own row
            cells = []
            for w in WAYS:
                s = (q[key].get(w) or {}).get("per_type", {}).get(typ)
                cells.append("–" if s is None else f"{s['f1']:.4f} ({s['precision']:.3f} / {s['recall']:.3f})")
            out.append(f"| &nbsp;&nbsp;{typ} | " + " | ".join(cells) + " |")
    return out


def main(argv=None) -> int:
    p = parser(__doc__)
    p.add_argument("--split", choices=("dev", "test"), default="test")
    args = p.parse_args(argv)
    q = run(artifact=args.artifact, split=args.split)
    if args.json:
        print(json.dumps(q))
    else:
        print("\n".join(table(q)))
        print(f"seed example exact: {q['seed']['ok']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
