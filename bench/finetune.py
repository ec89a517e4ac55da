"""Fine-tuning the shipped model on new domains: 100, 300 and 1,000 sentences of each
(as many as its training part has).

The domains (neither is in the shipped model's training data):

* **WikiGold** (Wikipedia articles; Balasuriya et al. 2009, CC BY 4.0): names written as
  in CoNLL-2003's news. It has no splits: its 145 documents are shuffled with seed 0 and
  dealt whole, in that order, to test until it holds at least 400 sentences, then to dev
  until at least 250 (each part also at least 50 names); the rest, in the shuffled order,
  is train.
* **SEC filings** (loan agreements filed with the US SEC; Salinas Alvarado et al. 2015,
  CC BY 3.0): the published split, FIN5 for training and FIN3 for test; FIN5's documents
  are shuffled with seed 0 and dealt whole to dev until it holds at least 250 sentences
  and 50 names, the rest is train. Its annotators' convention differs from CoNLL-2003's: a party to
  the contract named by its role ("the Borrower", "the Lender") is a PER.

The first N sentences of a domain's train part are the N-sentence run. What is measured
(PER F1, exact spans, one sentence per input as ``POST /tag`` gets it):

* **before**: ``artifacts/default`` on the domain's test part and CoNLL-2003 test;
* **replay**: ``train.py --from artifacts/default --replay R`` on 300 sentences for R in
  0, 0.25, 0.5, 0.75, 0.9; R is chosen on the dev sets only: the best domain dev F1 among the
  shares whose CoNLL-2003 dev PER F1 is at most one point below the shipped model's (else
  the share that loses least);
* **after**: with that share, each size: the domain's test F1 (the gain) and CoNLL-2003
  test (what is forgotten).

Each run is ``train.py``'s defaults with ``--from``, ``--replay``, the domain's dev part
for early stopping (and calibration), one at a time, one BLAS thread, under ``nice``. The
splits are written once, as CoNLL files, into ``artifacts/.ft-bench/DOMAIN/`` (ignored by
git), next to the fine-tuned models.

    python -m bench.finetune [--domains wikigold sec] [--quick]

writes the ``finetune`` part of bench/results.json (as ``python -m bench --only finetune``).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
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

DATA_DIR = ROOT / "bench" / "data"  # the domains' files, with their READMEs (licences, sources)
WORK = ROOT / "artifacts" / ".ft-bench"
SIZES = (100, 300, 1000)
REPLAYS = (0.0, 0.25, 0.5, 0.75, 0.9)
SWEEP_SIZE = 300
SPLIT_SEED = 0
TEST_MIN, DEV_MIN = 400, 250  # sentences
NAMES_MIN = 50  # PER names a test or dev part needs too (a dev part without names stops nothing)
MAX_DROP = 1.0  # points of CoNLL-2003 PER F1 a replay share may lose on dev
BAR_GAIN, BAR_DROP = 5.0, 1.0  # the bar at 300 sentences: >= 5 points gained, <= 1 point lost (test)
TIMEOUT_S = 1800.0  # one fine-tuning run


def split_documents(corpus: Corpus, seed: int = SPLIT_SEED, test_min: int = TEST_MIN,
                    dev_min: int = DEV_MIN, names_min: int = NAMES_MIN) -> tuple[Corpus, Corpus, Corpus]:
    """(train, dev, test): the documents shuffled with `seed`, dealt whole to test until it
    has `test_min` sentences and `names_min` PER names (none with test_min 0), then to dev
    until `dev_min` sentences and `names_min` names, the rest to train (shuffled order)."""
    by_doc: dict[int, list[int]] = {}
    for i, d in enumerate(corpus.docs):
        by_doc.setdefault(d, []).append(i)
    names = [t.count(1) for t in per_only(corpus).tags] if "PER" in corpus.types else [0] * len(corpus)
    docs = list(by_doc)
    order = [docs[j] for j in np.random.default_rng(seed).permutation(len(docs))]
    parts: list[list[int]] = [[], [], []]  # test, dev, train
    need = [(test_min, names_min if test_min else 0), (dev_min, names_min)]

    def short(k: int) -> bool:
        return len(parts[k]) < need[k][0] or sum(names[i] for i in parts[k]) < need[k][1]

    for d in order:
        k = 0 if short(0) else 1 if short(1) else 2
        parts[k].extend(by_doc[d])
    test, dev, train = (subset(corpus, idx) for idx in parts)
    return train, dev, test


def subset(corpus: Corpus, idx: list[int]) -> Corpus:
    return Corpus([corpus.sentences[i] for i in idx], [corpus.tags[i] for i in idx],
                  [corpus.docs[i] for i in idx], corpus.types)


@dataclass(frozen=True)
class Domain:
    """A new domain: its files under bench/data/ and how they split into (train, dev, test)."""

    key: str  # the --domains name and the results' key
    name: str
    about: str  # what its text is, for the page
    licence: str
    files: tuple[str, ...]  # under DATA_DIR
    published_test: bool  # the last file is the published test part (else: dealt from one file)

    def paths(self) -> list[Path]:
        return [DATA_DIR / f for f in self.files]

    def splits(self) -> tuple[Corpus, Corpus, Corpus]:
        """(train, dev, test): whole documents, seeded (see the module's docstring)."""
        corpora = [read_conll(p, types=None) for p in self.paths()]
        if not self.published_test:
            return split_documents(corpora[0])
        train, dev, _ = split_documents(corpora[0], test_min=0)
        return train, dev, corpora[1]


DOMAINS = {d.key: d for d in (
    Domain("wikigold", "WikiGold", "Wikipedia articles", "CC BY 4.0", ("wikigold/wikigold.conll.txt",), False),
    Domain("sec", "SEC filings", "loan agreements filed with the US SEC", "CC BY 3.0",
           ("sec-filings/FIN5.txt", "sec-filings/FIN3.txt"), True),
)}


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
    """The share with the best new-domain dev F1 among those losing at most MAX_DROP points
    of CoNLL-2003 dev PER F1; if none, the share that loses least."""
    def drop(r):
        return 100 * (conll_dev_before - r["conll_dev"]["f1"])
    ok = [r for r in sweep if drop(r) <= MAX_DROP]
    best = max(ok, key=lambda r: r["domain_dev"]["f1"]) if ok else min(sweep, key=drop)
    return best["replay"]


def run(quick: bool = False, log=print, domains=tuple(DOMAINS)) -> dict:
    """Every named domain in turn; the shipped model's CoNLL-2003 scores are measured once."""
    for key in domains:
        if key not in DOMAINS:
            raise BenchError(f"{key}: no such domain (choose from {', '.join(DOMAINS)})")
        for p in DOMAINS[key].paths():
            if not p.exists():
                raise BenchError(f"{p}: {DOMAINS[key].name} is not there (see the README beside it)")
    conll = {"conll_dev": read_corpus(DATA / "conll2003" / "dev.conll"),
             "conll_test": read_corpus(DATA / "conll2003" / "test.conll")}
    if quick:
        conll = {k: head(v, 200) for k, v in conll.items()}
    log("  the shipped model on CoNLL-2003 ...")
    shipped = Tagger(load(DEFAULT_ARTIFACT))
    before = {k: per_f1(shipped, v) for k, v in conll.items()}
    out = {"quick": quick, "domains": {}}
    for key in domains:
        log(f"  {DOMAINS[key].name}:")
        out["domains"][key] = run_domain(DOMAINS[key], conll, before, shipped, quick, log)
    return out


def run_domain(domain: Domain, conll: dict, conll_before: dict, shipped: Tagger, quick: bool, log) -> dict:
    """The replay sweep, then each size with the chosen share, on one domain."""
    train, dev, test = domain.splits()
    sizes = (20, 60) if quick else tuple(n for n in SIZES if n <= len(train))
    replays = (0.0, 0.5) if quick else REPLAYS
    sweep_size = sizes[-1] if quick else SWEEP_SIZE
    if len(train) < sweep_size:
        raise BenchError(f"{domain.name} train has {len(train)} sentences, fewer than {sweep_size}")
    work = WORK / domain.key
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dev_file, _ = write_conll(dev, work / "dev.conll"), write_conll(test, work / "test.conll")
    train_files = {n: write_conll(head(train, n), work / f"train{n}.conll") for n in sizes}
    sets = {"domain_dev": per_only(dev), "domain_test": per_only(test), **conll}
    if quick:
        sets = {k: head(v, 200) for k, v in sets.items()}

    def scores(tagger: Tagger, names) -> dict:
        return {k: per_f1(tagger, sets[k]) for k in names}

    out = {"data": {
        "name": domain.name, "about": domain.about, "licence": domain.licence,
        "files": {f: hashlib.sha256(p.read_bytes()).hexdigest() for f, p in zip(domain.files, domain.paths())},
        "published_test": domain.published_test, "split_seed": SPLIT_SEED, "test_min": TEST_MIN, "dev_min": DEV_MIN,
        "names_min": NAMES_MIN,
        "train": stats(train), "dev": stats(dev), "test": stats(test)}}
    out["before"] = {**scores(shipped, ("domain_dev", "domain_test")), **conll_before}
    sweep = []
    for r in replays:
        log(f"    fine-tuning on {sweep_size} sentences, --replay {r:g} ...")
        model = work / f"ft{sweep_size}-replay{r:g}"
        row = {"replay": r, "size": sweep_size, **finetune(train_files[sweep_size], dev_file, model, r, quick)}
        row.update(scores(Tagger(load(model)), ("domain_dev", "conll_dev")))
        log(f"      {domain.name} dev F1 {row['domain_dev']['f1']:.4f}, CoNLL-2003 dev {row['conll_dev']['f1']:.4f} "
            f"({row['train_s']:.0f} s)")
        sweep.append(row)
    chosen = choose_replay(sweep, out["before"]["conll_dev"]["f1"])
    out["replay"] = {"size": sweep_size, "max_conll_dev_drop_points": MAX_DROP, "runs": sweep, "chosen": chosen}
    log(f"    replay share chosen on dev: {chosen:g}")
    runs = []
    for n in sizes:
        model = work / f"ft{n}-replay{chosen:g}"
        row = {"size": n, "replay": chosen}
        if n == sweep_size:  # the sweep's run: the same command, not run twice
            row.update({k: v for k, v in next(s for s in sweep if s["replay"] == chosen).items()
                        if k in ("train_s", "best_epoch", "epochs_run", "replay_sentences")})
        else:
            log(f"    fine-tuning on {n} sentences, --replay {chosen:g} ...")
            row.update(finetune(train_files[n], dev_file, model, chosen, quick))
        row.update(scores(Tagger(load(model)), ("domain_test", "conll_test")))
        row["gain_points"] = round(100 * (row["domain_test"]["f1"] - out["before"]["domain_test"]["f1"]), 2)
        row["conll_drop_points"] = round(100 * (out["before"]["conll_test"]["f1"] - row["conll_test"]["f1"]), 2)
        log(f"      {domain.name} test F1 {row['domain_test']['f1']:.4f} ({row['gain_points']:+.2f} points), "
            f"CoNLL-2003 test {row['conll_test']['f1']:.4f} ({-row['conll_drop_points']:+.2f})")
        runs.append(row)
    out["runs"] = runs
    at = next(r for r in runs if r["size"] == sweep_size)
    out["bar"] = {"size": sweep_size, "min_gain_points": BAR_GAIN, "max_conll_drop_points": BAR_DROP,
                  "gain_points": at["gain_points"], "conll_drop_points": at["conll_drop_points"],
                  "met": at["gain_points"] >= BAR_GAIN and at["conll_drop_points"] <= BAR_DROP}
    return out


def render(r: dict, passed) -> list[str]:
    """The benchmarks page's section (``passed``: the page's pass/fail mark)."""
    f = r["finetune"]
    out = ["## Fine-tuning on a new domain", "",
           ("`train.py --from artifacts/default` on the first N sentences of a domain's training part, its "
            "dev part for early stopping, the trainer's defaults otherwise; one run at a time, one BLAS "
            "thread. PER F1, exact spans, one sentence per input (`python -m bench.finetune`). Neither "
            "domain is in the shipped model's training data." if not f["quick"] else
            "**Quick mode**: 20 and 60 sentences, one epoch, 200-sentence test subsets — a smoke test only."), ""]
    for dom in f["domains"].values():
        out += render_domain(dom, passed)
    return out


def render_domain(f: dict, passed) -> list[str]:
    d, b = f["data"], f["before"]
    n = d["name"]
    split = (f"FIN5 for training, FIN3 for test (the published split); FIN5's documents shuffled with seed "
             f"{d['split_seed']} and dealt whole to dev (≥ {d['dev_min']} sentences and {d['names_min']} names), "
             "the rest to train"
             if d["published_test"] else
             f"no published split: its documents shuffled with seed {d['split_seed']} and dealt whole to test "
             f"(≥ {d['test_min']} sentences), dev (≥ {d['dev_min']}; each ≥ {d['names_min']} names) and train")
    out = [f"### {n}", "",
           f"{d['about'][:1].upper() + d['about'][1:]} ({d['licence']}); {split}: {d['train']['sentences']} / "
           f"{d['dev']['sentences']} / {d['test']['sentences']} sentences, {d['train']['per_names']} / "
           f"{d['dev']['per_names']} / {d['test']['per_names']} names.", "",
           "Replay share (`--replay`: that share of each epoch's sentences comes from the shipped model's own "
           f"training files, drawn anew every epoch), chosen on the dev sets at {f['replay']['size']} sentences: the best {n} dev F1 "
           f"among the shares losing at most {f['replay']['max_conll_dev_drop_points']:g} point of CoNLL-2003 dev "
           f"PER F1 (shipped: {b['conll_dev']['f1']:.4f}; on {n} dev: {b['domain_dev']['f1']:.4f}).", "",
           f"| --replay | {n} dev F1 | CoNLL-2003 dev F1 | epochs (best) | training |", "|---:|---:|---:|---:|---:|"]
    for s in f["replay"]["runs"]:
        mark = " (chosen)" if s["replay"] == f["replay"]["chosen"] else ""
        out.append(f"| {s['replay']:g}{mark} | {s['domain_dev']['f1']:.4f} | {s['conll_dev']['f1']:.4f} | "
                   f"{s['epochs_run']} ({s['best_epoch']}) | {s['train_s']:.0f} s |")
    out += ["", f"With --replay {f['replay']['chosen']:g}, test sets:", "",
            f"| {n} sentences | {n} test F1 (P / R) | gain | CoNLL-2003 test F1 | lost | training |",
            "|---:|---:|---:|---:|---:|---:|",
            f"| 0 (shipped) | {b['domain_test']['f1']:.4f} ({b['domain_test']['precision']:.3f} / "
            f"{b['domain_test']['recall']:.3f}) | – | {b['conll_test']['f1']:.4f} | – | – |"]
    for row in f["runs"]:
        w = row["domain_test"]
        out.append(f"| {row['size']} | **{w['f1']:.4f}** ({w['precision']:.3f} / {w['recall']:.3f}) | "
                   f"{row['gain_points']:+.2f} | {row['conll_test']['f1']:.4f} | "
                   f"{row['conll_drop_points']:.2f} | {row['train_s']:.0f} s |")
    bar = f["bar"]
    out += ["", f"Bar at {bar['size']} sentences: {n} test F1 up ≥ {bar['min_gain_points']:g} points "
            f"({bar['gain_points']:+.2f}) and CoNLL-2003 test PER F1 down ≤ {bar['max_conll_drop_points']:g} "
            f"({bar['conll_drop_points']:.2f}): {passed(bar['met'])}", ""]
    return out


def main(argv=None) -> int:
    import argparse

    from . import __main__ as bench

    p = argparse.ArgumentParser(prog="python -m bench.finetune", description=__doc__.split("\n")[0])
    p.add_argument("--domains", nargs="+", choices=list(DOMAINS), default=list(DOMAINS),
                   help="the new domains to fine-tune on (default: all)")
    p.add_argument("--quick", action="store_true", help="smoke run: 20 and 60 sentences, one epoch")
    args = p.parse_args(argv)
    return bench.main(["--only", "finetune", "--finetune-domains", *args.domains] + (["--quick"] if args.quick else []))


if __name__ == "__main__":
    sys.exit(main())
