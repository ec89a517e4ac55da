"""Names in text as people send it: the hand-written set in tests/data/shapes_*.jsonl
(greetings, sign-offs, signatures, addresses, forms, chat, tickets, CRM notes, lists,
titles, names of many cultures, hard negatives), scored through the path
``POST /tag`` takes: the tokenizer, the units of ``model.units``, the tagger over
the whole text, then ``model.names`` (the entities /tag reports).

PER entity precision, recall and F1 on exact character spans, over the ``dev`` part
(tune on it) or the ``report`` part (report only), with a row per shape.

    python -m bench.shapes [--artifact DIR] [--part dev|report|both] [--rule RULE ...] [--json]

A record: {"id": "...", "shape": "...", "text": "...",
           "spans": [{"start": 0, "end": 5, "label": "PER"}, ...]}
(code-point offsets, end exclusive, as Prodigy writes them).
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

from model.artifact import load
from model.names import names
from model.tagger import Tagger
from model.tokenizer import tokenize
from model.units import RULE, RULES, unit_bounds

from harness import DEFAULT_ARTIFACT, ROOT

from .common import parser

PARTS = ("dev", "report")
LABEL = "PER"
_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)


def part_path(part: str) -> Path:
    return ROOT / "tests" / "data" / f"shapes_{part}.jsonl"


class Example(NamedTuple):
    id: str
    shape: str
    text: str
    spans: list[tuple[int, int]]  # gold PER spans, code-point offsets


def marked(source: str) -> tuple[str, list[tuple[int, int]]]:
    """The text and name spans of a text with its names in double brackets:
    "Hi [[Priya]]," -> ("Hi Priya,", [(3, 8)])."""
    out, spans, pos = [], [], 0
    for m in _MARK.finditer(source):
        out.append(source[pos:m.start()])
        start = sum(map(len, out))
        out.append(m.group(1))
        spans.append((start, start + len(m.group(1))))
        pos = m.end()
    out.append(source[pos:])
    return "".join(out), spans


def read(path: Path) -> list[Example]:
    """The examples of one part; ValueError naming the line if a record is malformed."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        r = json.loads(line)
        spans = [(s["start"], s["end"]) for s in r["spans"] if s["label"] == LABEL]
        if not all(0 <= s < e <= len(r["text"]) for s, e in spans):
            raise ValueError(f"{path}:{n}: a span outside the text")
        out.append(Example(r["id"], r["shape"], r["text"], sorted(spans)))
    return out


def predict(tagger: Tagger, texts: list[str], rule: str = RULE) -> list[list[tuple[int, int]]]:
    """The entities /tag reports for each text, as (start, end) code-point spans: each
    text one input, cut into units by `rule`, all inputs one batch."""
    tokens = [tokenize(t) for t in texts]
    tagged = tagger.tag_documents([[t.text for t in tk] for tk in tokens],
                                  bounds=[unit_bounds(t, tk, rule) for t, tk in zip(texts, tokens)])
    return [[(s.start, s.end) for s in names(t, tk, tg)] for t, tk, tg in zip(texts, tokens, tagged)]


class Counts(NamedTuple):
    tp: int
    n_pred: int
    n_gold: int

    def to_json(self) -> dict:
        p = self.tp / self.n_pred if self.n_pred else 0.0
        r = self.tp / self.n_gold if self.n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4),
                "tp": self.tp, "predicted": self.n_pred, "gold": self.n_gold}


def counts(gold: list[list[tuple[int, int]]], pred: list[list[tuple[int, int]]]) -> Counts:
    """Exact-span matches: a predicted span counts only if a gold span has its offsets."""
    return Counts(sum(len(set(g) & set(p)) for g, p in zip(gold, pred)),
                  sum(map(len, pred)), sum(map(len, gold)))


def evaluate(tagger: Tagger, examples: list[Example], rule: str = RULE) -> dict:
    """Overall and per-shape P/R/F1, plus the misses and false alarms (for reading)."""
    pred = predict(tagger, [x.text for x in examples], rule)
    by_shape = defaultdict(list)
    for i, x in enumerate(examples):
        by_shape[x.shape].append(i)
    errors = []
    for x, p in zip(examples, pred):
        missed = [x.text[s:e] for s, e in x.spans if (s, e) not in p]
        wrong = [x.text[s:e] for s, e in p if (s, e) not in x.spans]
        if missed or wrong:
            errors.append({"id": x.id, "missed": missed, "wrong": wrong})
    return {
        "rule": rule, "documents": len(examples),
        "all": counts([x.spans for x in examples], pred).to_json(),
        "shapes": {k: counts([examples[i].spans for i in idx], [pred[i] for i in idx]).to_json()
                   for k, idx in sorted(by_shape.items())},
        "errors": errors,
    }


def run(artifact=DEFAULT_ARTIFACT, parts=PARTS, rules=(RULE,)) -> dict:
    tagger = Tagger(load(artifact))
    return {part: {rule: evaluate(tagger, read(part_path(part)), rule) for rule in rules} for part in parts}


def table(results: dict) -> list[str]:
    """One row per part and rule: F1 (P / R) overall."""
    out = ["| part | unit rule | documents | names | F1 (P / R) |", "|---|---|---:|---:|---:|"]
    for part, by_rule in results.items():
        for rule, r in by_rule.items():
            a = r["all"]
            out.append(f"| {part} | {rule} | {r['documents']} | {a['gold']} | "
                       f"**{a['f1']:.4f}** ({a['precision']:.3f} / {a['recall']:.3f}) |")
    return out


def details(results: dict, shapes: bool, errors: bool) -> list[str]:
    """With `shapes`, F1 per shape; with `errors`, every miss and false alarm; per part and rule."""
    out = []
    for part, by_rule in results.items():
        for rule, r in by_rule.items():
            if shapes:
                out.append(f"\n{part}, {rule}: " + ", ".join(
                    f"{k} {v['f1']:.2f}" if v["gold"] else f"{k} ({v['predicted']} false alarms)"
                    for k, v in r["shapes"].items()))
            if errors:
                out += [f"  {e['id']}: missed {e['missed']} wrong {e['wrong']}" for e in r["errors"]]
    return out


def main(argv=None) -> int:
    p = parser(__doc__)
    p.add_argument("--part", choices=(*PARTS, "both"), default="dev")
    p.add_argument("--rule", choices=RULES, nargs="+", default=[RULE], help="unit rules to score")
    p.add_argument("--shapes", action="store_true", help="also print F1 per shape")
    p.add_argument("--errors", action="store_true", help="also print every miss and false alarm")
    args = p.parse_args(argv)
    parts = PARTS if args.part == "both" else (args.part,)
    results = run(args.artifact, parts, tuple(args.rule))
    if args.json:
        print(json.dumps(results, ensure_ascii=False))
        return 0
    print("\n".join(table(results) + details(results, args.shapes, args.errors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
