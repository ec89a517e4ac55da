"""How dev F1 grows with the vector vocabulary: the same trained weights, with
the vectors of the N most frequent GloVe words + every training word.

Every training token has its vector whatever N is, so N changes what the
model sees at inference only: a word outside the N + training words loses its
g<t> and falls back to its other features. (In training, only the names drawn
for mention replacement depend on N.) Needs the train extra (GloVe).

    python -m bench.vocab_curve --artifact DIR --train FILE [FILE ...] [--sizes 0 10000 ...]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys

from model.artifact import load
from model.data import read_corpus
from model.tagger import Tagger
from model.vectors import choose, read_glove

from harness import locate
from .quality import dev_file, recased, three_ways

SIZES = (0, 10_000, 25_000, 50_000, 100_000, 200_000, 400_000)


def curve(artifact, train_files, sizes=SIZES) -> list[dict]:
    art = load(artifact)
    glove_words, G = read_glove()
    train_sentences = [s for f in train_files for s in read_corpus(f).sentences]
    conll = read_corpus(locate(dev_file("conll2003", art.meta)))
    sets = {"conll_dev": conll, "conll_dev_lower": recased(conll, "lower"),
            "wnut_dev": read_corpus(locate(dev_file("wnut17", art.meta)))}
    rows = []
    for n in sizes:
        vec = choose(glove_words, G, train_sentences, n)
        tagger = Tagger(dataclasses.replace(art, vectors=vec))
        row = {"n_words": n, "vocabulary": len(vec.words), "bytes": vec.G_q.nbytes + vec.G_scale.nbytes
               + sum(len(w.encode()) + 4 for w in vec.words)}  # + the words in meta.json, quoted
        for name, c in sets.items():
            row[name] = three_ways(tagger, c, ("sentence",))["sentence"]["f1"]
        rows.append(row)
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--artifact", required=True)
    p.add_argument("--train", nargs="+", required=True, help="the training files the model was trained on")
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    args = p.parse_args(argv)
    print("| most frequent GloVe words kept | vocabulary (+ training words) | vectors in the artifact | "
          "CoNLL dev | CoNLL dev lower-cased | WNUT-17 dev |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in curve(args.artifact, args.train, args.sizes):
        print(f"| {r['n_words']:,} | {r['vocabulary']:,} | {r['bytes'] / 2**20:.1f} MB | {r['conll_dev']:.4f} | "
              f"{r['conll_dev_lower']:.4f} | {r['wnut_dev']:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
