"""The README and docs/ cannot go stale: every figure they quote equals the file it
comes from, every example answers as shown, every link resolves.

Figures: a figure in README.md or docs/*.md is followed by ``<!--fig:KEY-->``, and
``FIGURES`` below says how KEY is computed from its source file (bench/results.json,
artifacts/default/meta.json and weights.npz, the lock files) and formatted; the text
right before the marker must be exactly that. docs/benchmarks.md is generated whole
(``python -m bench.report``) and must equal the rendering of bench/results.json. A
4-decimal score or a "×" ratio outside code blocks must carry a marker, unless it sits
between ``<!-- unchecked: why -->`` and ``<!-- /unchecked -->`` (tables of runs whose
outputs were not kept).

Examples: every ``curl`` in a console block of README.md and docs/api.md is sent to the
app and must get the answer shown, byte for byte; the README's bulk example is run.
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from harness import DEFAULT_ARTIFACT, ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
WRITTEN = [p for p in PAGES if p.name != "benchmarks.md"]  # written by hand, figures marked
RESULTS_JSON = ROOT / "bench" / "results.json"
MAX_README_LINES = 320
REDACT_KEY = "correct-horse-battery-staple"  # docs/api.md starts the service with it


# --- the sources ------------------------------------------------------------------

@cache
def results() -> dict:
    return json.loads(RESULTS_JSON.read_text(encoding="utf-8"))


@cache
def meta() -> dict:
    return json.loads((DEFAULT_ARTIFACT / "meta.json").read_text(encoding="utf-8"))


@cache
def weights() -> dict:
    with np.load(DEFAULT_ARTIFACT / "weights.npz", allow_pickle=False) as w:
        return {k: w[k].nbytes for k in w.files}


def file_bytes(*names: str) -> int:
    files = [DEFAULT_ARTIFACT / n for n in names] if names else [p for p in DEFAULT_ARTIFACT.iterdir() if p.is_file()]
    return sum(p.stat().st_size for p in files)


def pins() -> int:
    """Exact pins in both lock files (the dev lock includes the runtime one by -r)."""
    lines = [line.strip() for lock in ("requirements.lock", "requirements-dev.lock")
             for line in (ROOT / lock).read_text().splitlines()]
    return sum(1 for line in lines if line and not line.startswith(("#", "-r ")) and "==" in line)


@cache
def business() -> dict:
    """PER F1 on tests/data's business sentences, one sentence per input (as tests/test_quality_bars.py)."""
    from bench.quality import by_sentence
    from model.artifact import load
    from model.data import read_corpus
    from model.scoring import score
    from model.tagger import Tagger

    corpus = read_corpus(ROOT / "tests" / "data" / "names_in_business_text.jsonl")
    s = score(corpus.tags, by_sentence(Tagger(load(DEFAULT_ARTIFACT)), corpus))
    return {"f1": s.f1, "precision": s.precision, "recall": s.recall}


@cache
def shapes() -> dict:
    """PER P/R/F1 on the hand-written set's two parts, as python -m bench.shapes gives them."""
    from bench.shapes import RULE, run
    return {part: r[RULE]["all"] for part, r in run().items()}


# --- the figures: key -> the text the page must show ---------------------------------

def decimals(n: int):
    """x with n digits after the point."""
    return lambda x: f"{x:.{n}f}"


f4, f3, f2, f1 = decimals(4), decimals(3), decimals(2), decimals(1)
def times(x): return f"{x:.2f}×"
def thousands(x): return f"{x:,.0f}"
def kilo(x): return f"{x / 1000:.0f}k"
def mb(x): return f"{x / 1e6:.1f}"


def _http(cell: str) -> dict:
    return results()["http"]["cells"][f"ours|{cell}"]


def _restore_cost() -> dict:
    return results()["redaction"]["cost"]["restorable_cost"]


def _bulk_jsonl() -> dict:
    return results()["bulk"]["jsonl"]


def _training_row() -> dict:
    return next(r for r in results()["training"]["rows"] if r["n_a"] == meta()["config"]["n_a"])


def _finetune(domain: str, size: str) -> dict:
    """bench.finetune's run on `size` sentences of a domain, or the shipped model's scores ("before")."""
    f = results()["finetune"]["domains"][domain]
    return f["before"] if size == "before" else next(r for r in f["runs"] if r["size"] == int(size))


FIGURES = {
    # the artifact: meta.json, weights.npz and the files' sizes
    "meta.version": lambda: meta()["weights_sha256"][:12],
    "meta.n_a": lambda: str(meta()["config"]["n_a"]),
    "meta.entity_bias": lambda: f"{meta()['config'].get('entity_bias', 0.0):g}",
    "meta.n_x": lambda: thousands(meta()["config"]["n_x"]),
    "meta.vocabulary": lambda: thousands(len(meta()["vectors"]["words"])),
    "meta.best_epoch": lambda: str(meta()["metrics"]["best_epoch"]),
    "meta.dev_f1": lambda: f4(meta()["metrics"]["dev"]["f1"]),
    "meta.blas_version": lambda: ".".join(meta()["training"]["blas"][0]["version"].split(".")[:3]),
    "meta.blas_kernel": lambda: meta()["training"]["blas"][0]["architecture"],
    "artifact.mb": lambda: mb(file_bytes()),  # what the image's COPY layer holds
    "artifact.weights_mb": lambda: mb(file_bytes("weights.npz")),
    "artifact.meta_mb": lambda: mb(file_bytes("meta.json")),
    "weights.vectors_mb": lambda: mb(weights()["G_q"] + weights()["G_scale"]),
    "weights.w_ax_mb": lambda: mb(weights()["W_ax"] + weights()["W_ax_bw"]),
    # bench/results.json
    "results.training.epoch_s": lambda: f1(_training_row()["per_epoch_s"]),
    "results.speed.ours.b1": lambda: kilo(results()["speed"]["tok_s"]["ours"]["b1"]),
    "results.speed.ours.b64": lambda: kilo(results()["speed"]["tok_s"]["ours"]["b64"]),
    "results.speed.torch.b1": lambda: times(results()["speed"]["ratios"]["torch"]["b1"]),
    "results.speed.torch.b64": lambda: times(results()["speed"]["ratios"]["torch"]["b64"]),
    "results.speed.shipped.conll4_over_default": lambda: times(results()["speed"]["shipped"]["conll4_over_default"]),
    "results.http.c1.p50": lambda: f2(_http("1 sentence|1")["p50_ms"]),
    "results.http.c16.rps": lambda: thousands(_http("1 sentence|16")["rps"]),
    "results.http.batch_tokens": lambda: thousands(results()["http"]["batch_http_tokens_per_s"]),
    "results.bulk.jsonl.command": lambda: thousands(_bulk_jsonl()["command"]),
    "results.bulk.jsonl.workers2": lambda: thousands(_bulk_jsonl()["workers2"]),
    "results.bulk.jsonl.vs_tagger": lambda: f"{_bulk_jsonl()['command_vs_tagger']:.0%}",
    "results.bulk.jsonl.x_workers": lambda: times(_bulk_jsonl()["workers2_vs_command"]),
    "results.bulk.jsonl.startup": lambda: f1(_bulk_jsonl()["startup_s"]),
    "results.cost.pss": lambda: f"{max(w['Pss'] for w in results()['http']['cost']['per_worker']):.0f}",
    "results.cost.hwm": lambda: f"{max(w['VmHWM'] for w in results()['http']['cost']['per_worker']):.0f}",
    "results.cost.cold_start": lambda: f2(results()["cost"]["cold_start"]["ours"]["median_s"]),
    "results.cost.cold_start_floor": lambda: f2(results()["cost"]["cold_start"]["floor"]["median_s"]),
    "results.cost.image_mb": lambda: f"{results()['cost']['image']['size'] / 1e6:.0f}",
    "results.restore.cost": lambda: f"{_restore_cost()['ratio']:.3f}×",
    "results.restore.p50_plain": lambda: f3(_restore_cost()["interleaved"]["pseudonym"]["p50_ms"]),
    "results.restore.p50_restorable": lambda: f3(_restore_cost()["interleaved"]["restorable"]["p50_ms"]),
    "results.restore.per_name": lambda: f"{results()['redaction']['token']['per_name']:.0f}",
    "results.restore.mean_name": lambda: f1(results()["redaction"]["token"]["mean_name_chars"]),
    # the lock files
    "locks.pins": lambda: str(pins()),
}

ECE_FIELDS = {"entities": lambda r: thousands(r["after"]["entities"]),
              "accuracy": lambda r: f4(r["after"]["accuracy"]),
              "mean_before": lambda r: f4(r["before"]["mean_score"]),
              "mean_after": lambda r: f4(r["after"]["mean_score"]),
              "before": lambda r: f4(r["before"]["ece"]), "after": lambda r: f4(r["after"]["ece"])}
DEV_SETS = {"conll": "conll2003/dev.conll", "wnut": "wnut17/dev.conll"}


def _operating(threshold: str, metric: str) -> str:
    want = None if threshold == "default" else float(threshold)
    row = next(r for r in meta()["operating_table"]["rows"] if r["threshold"] == want)
    return f4(row[metric])


# Families of keys, (pattern, figure from the match's groups).
PATTERNS = [
    (r"quality\.(conll_test|conll_test_lower|conll_test_upper|wnut_test)\.(sentence|document|evaluate)"
     r"\.(f1|precision|recall)",
     lambda s, way, m: (f4 if m == "f1" else f3)(results()["quality"][s][way][m])),
    (r"results\.ece\.(conll_test|wnut_test)\.(\w+)",
     lambda s, field: ECE_FIELDS[field](results()["redaction"]["calibration"][s])),
    (r"meta\.ece_dev\.(conll|wnut)\.(before|after)",
     lambda s, when: f4(meta()["calibration"]["ece_dev"][DEV_SETS[s]][when])),
    (r"meta\.operating\.(default|[\d.]+)\.(precision|recall|f1)", _operating),
    (r"business\.(f1|precision|recall)", lambda m: (f4 if m == "f1" else f3)(business()[m])),
    (r"shapes\.(dev|report)\.(f1|precision|recall)", lambda part, m: (f4 if m == "f1" else f3)(shapes()[part][m])),
    (r"results\.finetune\.(\w+)\.(before|\d+)\.(domain_test|conll_test)\.(f1|precision|recall)",
     lambda d, size, s, m: (f4 if m == "f1" else f3)(_finetune(d, size)[s][m])),
    (r"results\.finetune\.(\w+)\.(\d+)\.(gain_points|conll_drop_points)", lambda d, size, k: f2(_finetune(d, size)[k])),
    (r"results\.finetune\.(\w+)\.replay", lambda d: f"{results()['finetune']['domains'][d]['replay']['chosen']:g}"),
]


def figure(key: str) -> str:
    if key in FIGURES:
        return FIGURES[key]()
    for pattern, compute in PATTERNS:
        m = re.fullmatch(pattern, key)
        if m:
            return compute(*m.groups())
    raise KeyError(f"unknown figure {key!r}: add it to FIGURES in tests/test_docs.py")


MARK = re.compile(r"<!--fig:([\w.\-]+)-->")


def shown_before(text: str, end: int, expected: str) -> bool:
    """Whether `expected` is the whole figure that ends at `end` (bold and code marks aside)."""
    before = text[:end].rstrip("*`")
    if not before.endswith(expected):
        return False
    prev = before[:len(before) - len(expected)][-1:]
    return not (prev.isalnum() or prev in ".,")


@pytest.mark.parametrize("page", WRITTEN, ids=lambda p: p.name)
def test_every_marked_figure_equals_its_source(page):
    text = page.read_text(encoding="utf-8")
    wrong = []
    for m in MARK.finditer(text):
        expected = figure(m.group(1))
        if not shown_before(text, m.start(), expected):
            line = text.count("\n", 0, m.start()) + 1
            wrong.append(f"{page.name}:{line}: {m.group(1)} is {expected!r}, the page shows "
                         f"{text[max(0, m.start() - 20):m.start()]!r}")
    assert wrong == []


def test_every_figure_key_is_used():
    used = {m.group(1) for page in WRITTEN for m in MARK.finditer(page.read_text(encoding="utf-8"))}
    assert set(FIGURES) - used == set()


def prose(text: str) -> str:
    """The text outside fenced code blocks and unchecked regions."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"<!-- unchecked:.*?<!-- /unchecked -->", "", text, flags=re.S)


def test_the_unmarked_figure_check_sees_a_score_and_a_ratio():
    assert [m.group(0) for m in UNMARKED.finditer(prose("F1 0.9206 and 2.65× vs 0.9206<!--fig:x-->"))] == \
        ["0.9206", "2.65×"]
    assert not UNMARKED.search(prose("```\n0.9206\n```\n<!-- unchecked: a -->\n0.1234\n<!-- /unchecked -->"))


UNMARKED = re.compile(r"(?<![\w.])(?:\d\.\d{4}|\d+(?:\.\d+)?×)(?![\w.])(?!\**<!--fig:)")


@pytest.mark.parametrize("page", WRITTEN, ids=lambda p: p.name)
def test_no_score_or_ratio_without_its_source(page):
    """A 4-decimal score or a speed ratio is either marked (and so checked) or inside a
    region that says why it cannot be."""
    assert [m.group(0) for m in UNMARKED.finditer(prose(page.read_text(encoding="utf-8")))] == []


def test_benchmarks_page_is_the_rendering_of_the_results():
    from bench.report import PAGE, RESULTS, render

    assert RESULTS == RESULTS_JSON and PAGE == DOCS / "benchmarks.md"
    assert PAGE.read_text(encoding="utf-8") == render(results()), \
        "docs/benchmarks.md differs from bench/results.json: run .venv/bin/python -m bench.report"


# --- the README as a front door --------------------------------------------------

def test_readme_is_short():
    assert len(README.read_text(encoding="utf-8").splitlines()) <= MAX_README_LINES


def test_readme_links_every_file_in_docs():
    text = README.read_text(encoding="utf-8")
    files = sorted(p.name for p in DOCS.iterdir() if p.is_file() and not p.name.startswith("."))
    assert "page.png" in files and "model.md" in files
    assert [f for f in files if f"](docs/{f})" not in text and f"](docs/{f}#" not in text] == []


INTERNAL = [r"issue\s*#?\d", r"issue\s*#", r"(?<![\w&#/])#\d{1,3}\b", r"the seed's",
            r"where the issue is silent", r"\bother jobs\b", r"\bagents\b"]


def test_the_internal_words_check_catches_them():
    found = [w for w in INTERNAL if re.search(w, "as issue #13's bars; the seed's cell; see #7", re.I)]
    assert found and not [w for w in INTERNAL if re.search(w, "see [x](model.md#seed-spread), &#39;", re.I)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_project_internal_words(page):
    text = page.read_text(encoding="utf-8")
    assert [(w, m.group(0)) for w in INTERNAL for m in re.finditer(w, text, re.I)] == []


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_slug_is_githubs():
    assert slug("Bulk tagging (`nametag tag`)") == "bulk-tagging-nametag-tag"
    assert slug("POST /redact") == "post-redact" and slug("Service speed, over HTTP") == "service-speed-over-http"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    broken = []
    for m in LINK.finditer(page.read_text(encoding="utf-8")):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    assert broken == []


# --- what the docs say of the code -------------------------------------------------

def test_readme_configuration_table_has_every_setting_and_its_default():
    from service.config import PREFIX, SETTINGS

    rows = dict(re.findall(r"^\| `(NAMETAG_\w+)` \| ([^|]+) \|", README.read_text(encoding="utf-8"), re.M))
    for key, (default, _) in SETTINGS.items():
        cell = rows.get(f"{PREFIX}_{key}")
        assert cell is not None, f"{PREFIX}_{key} is missing from the README's configuration table"
        want = "none" if default is None else "artifacts/default" if key == "ARTIFACT" else f"`{default}`"
        assert want in cell, (key, cell)


def makefile_train_flags() -> list[tuple[str, str]]:
    """The (flag, value) pairs of the Makefile's train recipe's train.py command, data paths
    and output aside (a recipe may prepare its data first)."""
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^train:.*\n((?:\t.*\n)+)", text, re.M).group(1).replace("\\\n", " ")
    recipe = recipe[recipe.index("train.py"):]
    words = recipe.split()
    return [(w[2:], words[i + 1]) for i, w in enumerate(words[:-1])
            if w.startswith("--") and w[2:] not in ("train", "dev", "out", "name") and not words[i + 1].startswith("--")]


def test_the_training_flags_are_the_makefiles_and_the_shipped_models():
    flags = makefile_train_flags()
    assert len(flags) >= 6
    training = meta()["training"]
    recorded = {**training["flags"], "synth_share": training.get("synth", {}).get("share", 0.0)}

    def value(v):
        try:
            return float(v)
        except ValueError:
            return v
    assert {k: value(v) for k, v in flags} == {k: value(recorded[k.replace("-", "_")]) for k, _ in flags}
    card = (DOCS / "model.md").read_text(encoding="utf-8")
    assert [f"--{k} {v}" for k, v in flags if f"--{k} {v}" not in card] == []


def test_the_training_bench_reruns_the_makefiles_flags():
    """bench.training re-runs the shipped model from what its meta.json records: every flag
    of the Makefile's recipe, the bare ones too, and the same values."""
    from bench.training import shipped_flags

    bench = shipped_flags(meta())
    given = {w[2:]: (bench[i + 1] if i + 1 < len(bench) and not bench[i + 1].startswith("--") else True)
             for i, w in enumerate(bench) if w.startswith("--")}

    def value(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return v
    want = {k: v for k, v in makefile_train_flags() if k not in ("n-a", "epochs")}
    assert {k: value(given.get(k)) for k in want} == {k: value(v) for k, v in want.items()}
    recipe = (ROOT / "Makefile").read_text().split("\ntrain:", 1)[1].split("\n\n", 1)[0]
    bare = [w[2:] for w in re.findall(r"--[\w-]+(?= --| \\|$)", recipe, re.M)]
    assert bare and all(given.get(k) is True for k in bare), (bare, given)


def test_every_module_is_listed_in_the_layout():
    dev = (DOCS / "development.md").read_text(encoding="utf-8")
    missing = []
    for pkg in ("model", "service", "bulk"):
        section = dev.split(f"### `{pkg}/`", 1)[1].split("\n### ", 1)[0]
        missing += [f"{pkg}/{p.name}" for p in sorted((ROOT / pkg).glob("*.py"))
                    if f"`{p.name}`" not in section and p.stat().st_size]
    for pkg in ("harness", "bench"):
        missing += [f"{pkg}/{p.name}" for p in sorted((ROOT / pkg).glob("*.py"))
                    if p.name != "__init__.py" and f"`{pkg}/{p.name}`" not in dev]
    assert missing == []


# --- the examples -----------------------------------------------------------------

def console_blocks(page: Path) -> list[list[str]]:
    return [b.splitlines() for b in re.findall(r"^```console\n(.*?)^```", page.read_text(encoding="utf-8"),
                                               re.M | re.S)]


def commands(block: list[str]):
    """(command words, the lines it printed) of each `$ ` command of a console block."""
    i = 0
    while i < len(block):
        line = block[i][2:]
        while line.endswith("\\"):
            i += 1
            line = line[:-1] + " " + block[i].strip()
        i += 1
        out = []
        while i < len(block) and not block[i].startswith("$ "):
            out.append(block[i])
            i += 1
        yield shlex.split(line), out


def curl_examples():
    out = []
    for page in (README, DOCS / "api.md"):
        for block in console_blocks(page):
            for words, printed in commands(block):
                if words[0] == "curl":
                    out.append(pytest.param(words, printed, id=f"{page.name}:{words[2]}:{len(out)}"))
    return out


@pytest.fixture(scope="module")
def served():
    from service import create_app

    return create_app({"TESTING": True, "REDACT_KEY": REDACT_KEY}).test_client()


def test_the_examples_say_how_the_service_was_started():
    assert f"NAMETAG_REDACT_KEY={REDACT_KEY} make serve" in (DOCS / "api.md").read_text(encoding="utf-8")
    assert len(curl_examples()) >= 15


@pytest.mark.parametrize("words,printed", curl_examples())
def test_curl_example_answers_as_shown(served, words, printed):
    """`curl -s URL [-H header] [-d body] [-X method]`, sent to the app as curl sends it."""
    url, headers, data, method = None, {}, None, None
    args = iter(words[1:])
    for w in args:
        if w == "-s":
            continue
        if w == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif w == "-d":
            data = next(args).encode("utf-8")
        elif w == "-X":
            method = next(args)
        else:
            assert url is None, f"unexpected curl argument {w!r}"
            url = w
    assert url.startswith("localhost:8000/")
    if data is not None:
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")  # curl's default for -d
    res = served.open(url.removeprefix("localhost:8000"), method=method or ("POST" if data is not None else "GET"),
                      data=data, headers=headers)
    assert res.get_data(as_text=True).splitlines() == printed


def test_bulk_example_writes_what_the_readme_shows(tmp_path):
    block = next(b for b in console_blocks(README) if "$ cat tickets.jsonl" in b)
    steps = list(commands(block))
    (cat_in, tickets), (run, said), (cat_out, tagged) = steps
    assert cat_in == ["cat", "tickets.jsonl"] and cat_out == ["cat", "tagged.jsonl"]
    assert run[0] == ".venv/bin/nametag"
    (tmp_path / "tickets.jsonl").write_text("\n".join(tickets) + "\n", encoding="utf-8")
    p = subprocess.run([sys.executable, "-m", "bulk", *run[1:]], cwd=tmp_path, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stderr.splitlines()[:len(said)] == said
    assert re.match(r"nametag: 2 records, ", p.stderr.splitlines()[len(said)])  # then the summary line
    assert (tmp_path / "tagged.jsonl").read_text(encoding="utf-8").splitlines() == tagged
