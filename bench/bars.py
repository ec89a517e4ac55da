"""The quality bars: what each one measures, and the record of them that an artifact
carries in its meta.json (``"bars"``): which artifact they were set for, each bar's
minimum, the figure that artifact measured, and why they are what they are.

    python -m bench.bars                                 # each bar on artifacts/default, against its record
    python -m bench.bars --set --why "retrained on ..."  # record them for this artifact (meta.json only)

``tests/test_quality_bars.py`` measures every bar and fails when a figure is under its
minimum, or when the artifact is not the one the bars were set for (it then says which
figures moved, and how to re-set them). train.py carries the record of the artifact it
replaces into the new one, unchanged, so a retrained model meets the bars of the old.
Re-setting rewrites meta.json alone (``model.artifact.update_meta``): the weights and
their checksum, the artifact's version, stay as they are.
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from harness import DATA, DEFAULT_ARTIFACT, ROOT
from model.artifact import Artifact, load, update_meta
from model.data import Corpus, read_corpus
from model.scoring import score
from model.tagger import Tagger

from .quality import by_document, by_evaluate, by_sentence, recased

BUSINESS = ROOT / "tests" / "data" / "names_in_business_text.jsonl"
HOW_TO_RESET = ("measure them with `python -m bench.bars`, decide whether the new figures are good enough "
                "to ship, then record them for this artifact with `python -m bench.bars --set --why "
                "\"<what changed and why these minimums>\"` (docs/development.md, Quality bars)")


@functools.cache
def corpus(name: str) -> Corpus:
    return {"conll": lambda: read_corpus(DATA / "conll2003" / "test.conll"),
            "wnut": lambda: read_corpus(DATA / "wnut17" / "test.conll"),
            "business": lambda: read_corpus(BUSINESS)}[name]()


# name -> (what is measured: PER entity F1, exact spans, ...; how, from a Tagger)
BARS = {
    "conll_test_by_sentence": ("CoNLL-2003 test, one sentence per input",
                               lambda t: by_sentence(t, corpus("conll")), lambda: corpus("conll")),
    "conll_test_by_document": ("CoNLL-2003 test, one document per input",
                               lambda t: by_document(t, corpus("conll")), lambda: corpus("conll")),
    "conll_test_by_evaluate": ("CoNLL-2003 test, as python -m model.evaluate",
                               lambda t: by_evaluate(t, corpus("conll")), lambda: corpus("conll")),
    "conll_test_lower": ("CoNLL-2003 test in lower case, one sentence per input",
                         lambda t: by_sentence(t, recased(corpus("conll"), "lower")),
                         lambda: recased(corpus("conll"), "lower")),
    "conll_test_upper": ("CoNLL-2003 test in upper case, one sentence per input",
                         lambda t: by_sentence(t, recased(corpus("conll"), "upper")),
                         lambda: recased(corpus("conll"), "upper")),
    "wnut17_test": ("WNUT-17 test, one post per input", lambda t: by_sentence(t, corpus("wnut")),
                    lambda: corpus("wnut")),
    "business_text": ("names in business text (tests/data/), one sentence per input",
                      lambda t: by_sentence(t, corpus("business")), lambda: corpus("business")),
}


def measure(name: str, tagger: Tagger) -> float:
    """The bar's figure for this tagger: PER entity F1, rounded to 4 places."""
    _, predict, gold = BARS[name]
    return round(score(gold().tags, predict(tagger)).f1, 4)


def identity(art: Artifact) -> dict:
    """What names an artifact: its name and version (the first 12 hex digits of its weights' sha256)."""
    return {"name": art.name, "version": art.version, "weights_sha256": art.meta["weights_sha256"]}


def verdict(art: Artifact, name: str, figure: float) -> str:
    """Why this figure does not pass bar `name` on this artifact ("" when it does)."""
    record = art.meta.get("bars")
    if not isinstance(record, dict) or name not in record.get("f1", {}):
        return (f"{art.name} {art.version} has no quality bar {name!r} in its meta.json (it measures "
                f"{figure:.4f}): {HOW_TO_RESET}")
    bar, was, set_for = record["f1"][name], record["f1"][name]["measured"], record["set_for"]
    if set_for["weights_sha256"] != art.meta["weights_sha256"]:
        moved = figure - was
        return (f"bar {name} ({BARS[name][0]}): the bars were set for {set_for['name']} {set_for['version']}, "
                f"which measured {was:.4f} (minimum {bar['min']}); this artifact, {art.name} {art.version}, "
                f"measures {figure:.4f}: {'moved by ' + format(moved, '+.4f') if moved else 'unchanged'}, "
                f"{'above' if figure >= bar['min'] else 'BELOW'} the minimum. The bars were set for another "
                f"model ({record.get('why', 'no reason recorded')}); a new artifact must have them re-set: "
                + HOW_TO_RESET)
    if figure < bar["min"]:
        return (f"bar {name} ({BARS[name][0]}): {figure:.4f} is below the minimum {bar['min']} "
                f"(set for this artifact, which measured {was:.4f} then: what changed is the code)")
    return ""


def record(art: Artifact, figures: dict[str, float], why: str, minimums: dict[str, float]) -> dict:
    """The "bars" entry of meta.json: set for this artifact, with these figures and minimums."""
    return {"set_for": identity(art), "why": why,
            "f1": {name: {"min": minimums[name], "measured": figures[name]} for name in BARS}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.bars", description=__doc__.split("\n")[0])
    ap.add_argument("--artifact", type=Path, default=DEFAULT_ARTIFACT)
    ap.add_argument("--set", action="store_true", help="record the bars for this artifact in its meta.json")
    ap.add_argument("--why", help="with --set: what changed, and why the minimums are what they are")
    ap.add_argument("--min", action="append", default=[], metavar="BAR=F1",
                    help="with --set: a new minimum for one bar (default: the recorded one)")
    args = ap.parse_args(argv)
    if args.set and not args.why:
        ap.error("--set needs --why")
    art = load(args.artifact)
    tagger = Tagger(art)
    figures = {name: measure(name, tagger) for name in BARS}
    old = art.meta.get("bars", {}).get("f1", {})
    for name, figure in figures.items():
        problem = verdict(art, name, figure)
        print(f"{name:24s} {figure:.4f}  min {old.get(name, {}).get('min', '-')}  "
              f"{'ok' if not problem else 'NOT OK'}")
    if args.set:
        minimums = _minimums(ap, {name: b["min"] for name, b in old.items()}, args.min)
        update_meta(args.artifact, {"bars": record(art, figures, args.why, minimums)})
        print(f"recorded the bars for {art.name} {art.version} in {args.artifact / 'meta.json'}")
        return 0
    return int(any(verdict(art, name, f) for name, f in figures.items()))


def _minimums(ap: argparse.ArgumentParser, recorded: dict[str, float], given: list[str]) -> dict[str, float]:
    """Each bar's minimum: the recorded one, or the one given as --min NAME=F1; an
    argparse error for an unknown bar or a bar with neither."""
    minimums = dict(recorded)
    for m in given:
        name, _, value = m.partition("=")
        if name not in BARS:
            ap.error(f"--min: no bar {name!r} (bars: {', '.join(BARS)})")
        minimums[name] = float(value)
    missing = [name for name in BARS if name not in minimums]
    if missing:
        ap.error(f"no minimum recorded for {', '.join(missing)}: give --min NAME=F1")
    return minimums


if __name__ == "__main__":
    sys.exit(main())
