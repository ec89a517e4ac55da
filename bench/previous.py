"""The shipped model against the one it replaces: speed and size side by side, as ratios.

``python -m bench.previous [--quick]`` prints a table; ``python -m bench --only previous``
writes it into the results (key "previous") and the benchmarks page.

"new" is ``artifacts/default``; "previous" is that directory at PREVIOUS_COMMIT, taken
from git once into ``artifacts/.previous-<commit>/`` (ignored by git; written to a
temporary directory, then renamed) and reused from there.

* In process, one BLAS thread, both models loaded here (``model.artifact.load`` +
  ``Tagger``) and measured alternately for 7 rounds (2 with --quick; the first contender
  swapping each round), the ratios new ÷ previous the median of the per-round ratios:
  one 25-token CoNLL-2003 test sentence through ``Tagger.tag_documents([tokens])`` (the
  call ``POST /tag`` makes), the p50 of 500 calls (50) per round; and the CoNLL-2003 test set in
  batches of 64, one document per sentence, in file order, tokens/s. Both are warm:
  every form the calls see has been featurized before (the caches of a running worker).
* Over a real gunicorn on loopback (``service/gunicorn.conf.py``, one worker per core),
  each model alone: a worker's PSS after a short load of both payloads, and the cold
  start (process start to the first 200 on /readyz; the two models alternating).
* The artifact's size: the files the service loads (weights.npz + meta.json), MB = 10^6 bytes.
"""
from __future__ import annotations

from model.threads import pin_threads

if __name__ == "__main__":  # python -m bench.previous: one BLAS thread, pinned before NumPy loads
    pin_threads(1, override=True)

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from harness import DEFAULT_ARTIFACT, ROOT, Gunicorn, Load, wait_workers  # noqa: E402

from .common import BenchError, median  # noqa: E402

# The commit whose artifacts/default is "previous": the fork point of the character cell's
# branch and the scoring change on main; its model (bb3fc7af7860) is the one shipped when
# the speed and size bars of the model that replaces it were set ("today's").
PREVIOUS_COMMIT = "fe525c3"
PREVIOUS_DIR = ROOT / "artifacts" / f".previous-{PREVIOUS_COMMIT}"
CONTENDERS = ("new", "previous")
# The bars the shipped model must meet against the previous one and on its own.
BARS = {"p50_1": 1.25,  # one sentence, concurrency 1: p50 new ÷ previous, at most
        "tok_s_64": 0.8,  # 64-sentence batches: tokens/s new ÷ previous, at least
        "size_mb": 45.0,  # weights.npz + meta.json, MB, at most
        "pss_mib": 110.0,  # a gunicorn worker's PSS, MiB, at most
        "cold_start_s": 1.0}  # gunicorn start to the first 200 on /readyz, below


def _git(*args: str) -> bytes:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, check=True,
                              timeout=120).stdout
    except (OSError, subprocess.SubprocessError) as e:
        raise BenchError(f"git {' '.join(args)}: {getattr(e, 'stderr', b'') or e!r}") from None


def previous_artifact() -> Path:
    """artifacts/default as of PREVIOUS_COMMIT, every file of it, in PREVIOUS_DIR (made once)."""
    if PREVIOUS_DIR.is_dir():
        return PREVIOUS_DIR
    names = _git("ls-tree", "--name-only", f"{PREVIOUS_COMMIT}:artifacts/default").decode().split()
    if not names:
        raise BenchError(f"no files in artifacts/default at {PREVIOUS_COMMIT}")
    tmp = Path(tempfile.mkdtemp(prefix=f".previous-{PREVIOUS_COMMIT}-tmp-", dir=PREVIOUS_DIR.parent))
    try:
        tmp.chmod(0o755)  # as artifacts/default (mkdtemp makes it 0700)
        for name in names:
            (tmp / name).write_bytes(_git("show", f"{PREVIOUS_COMMIT}:artifacts/default/{name}"))
        try:
            tmp.rename(PREVIOUS_DIR)
        except OSError:  # made meanwhile by another run: keep that one
            if not PREVIOUS_DIR.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return PREVIOUS_DIR


def artifact_size(art_dir: Path) -> dict:
    """The bytes of the files the service loads, and their sum in MB."""
    from model.artifact import META, WEIGHTS

    files = {name: (art_dir / name).stat().st_size for name in (WEIGHTS, META)}
    return {"files": files, "size_mb": sum(files.values()) / 1e6}


def in_process(artifacts: dict[str, Path], quick: bool, log) -> dict:
    """One sentence (p50 of `calls`) and 64-sentence batches (tokens/s) for each model,
    alternating for `rounds` rounds."""
    from model.artifact import load
    from model.data import read_corpus
    from model.tagger import Tagger

    from .common import CONLL_TEST
    from .speed import one_sentence

    rounds, calls = (2, 50) if quick else (7, 500)
    taggers = {name: Tagger(load(path)) for name, path in artifacts.items()}
    corpus = read_corpus(CONLL_TEST)
    sentence = one_sentence(corpus)
    batches = [corpus.sentences[b:b + 64] for b in range(0, len(corpus.sentences), 64)]
    if quick:
        batches = batches[::6]  # every 6th batch, a sixth of the time
    n_tokens = sum(len(s) for b in batches for s in b)
    for tagger in taggers.values():  # warm: every form featurized once, as in a running worker
        tagger.tag_documents([sentence])
        for b in batches:
            tagger.tag_documents(b)

    def p50_ms(tagger) -> float:
        times = []
        for _ in range(calls):
            t0 = time.perf_counter()
            tagger.tag_documents([sentence])
            times.append(time.perf_counter() - t0)
        return 1e3 * median(times)

    def tok_s(tagger) -> float:
        t0 = time.perf_counter()
        for b in batches:
            tagger.tag_documents(b)
        return n_tokens / (time.perf_counter() - t0)

    runs = {name: {"p50_ms": [], "tok_s": []} for name in taggers}
    for r in range(rounds):
        for name in (CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]):
            runs[name]["p50_ms"].append(p50_ms(taggers[name]))
            runs[name]["tok_s"].append(tok_s(taggers[name]))
        log(f"  previous round {r + 1}/{rounds}: " + ", ".join(
            f"{n} p50 {runs[n]['p50_ms'][-1]:.3f} ms / {runs[n]['tok_s'][-1]:,.0f} tok/s" for n in CONTENDERS))
    per_round = {"p50_1": [a / b for a, b in zip(runs["new"]["p50_ms"], runs["previous"]["p50_ms"])],
                 "tok_s_64": [a / b for a, b in zip(runs["new"]["tok_s"], runs["previous"]["tok_s"])]}
    return {"rounds": rounds, "calls": calls, "sentence": " ".join(sentence), "sentence_tokens": len(sentence),
            "n_batches": len(batches), "n_tokens_b64": n_tokens,
            **{name: {k: median(v) for k, v in rs.items()} | {"runs": rs} for name, rs in runs.items()},
            "per_round": per_round, "ratios": {k: median(v) for k, v in per_round.items()}}


def worker_memory(artifact: Path, seconds: float) -> dict:
    """A gunicorn on `artifact`, alone: its memory (``serving.worker_cost``) after
    `seconds` of load (4 kept-alive clients, one sentence, then 64 sentences)."""
    from .serving import PAYLOADS, worker_cost

    with Gunicorn(env={"NAMETAG_ARTIFACT": str(artifact)}) as srv:
        srv.wait_ready("/readyz", timeout=60)
        workers = wait_workers(srv.pid, len(os.sched_getaffinity(0)), timeout=30)
        for payload in PAYLOADS.values():
            with Load(srv.port, json.dumps(payload), clients=4) as load:
                time.sleep(seconds / len(PAYLOADS))
            if load.failures() or not load.answers:
                raise BenchError(f"gunicorn on {artifact}: {len(load.answers)} answers, "
                                 f"not 200: {sorted(set(load.failures()))}")
        cost = worker_cost(srv.pid, workers)
    cost["pss_mib"] = max(w["Pss"] for w in cost["per_worker"])
    return cost


def run(quick: bool = False, log=print) -> dict:
    from model.artifact import ArtifactError, load

    from .serving import cold_starts

    artifacts = {"new": DEFAULT_ARTIFACT, "previous": previous_artifact()}
    try:
        versions = {name: load(path).version for name, path in artifacts.items()}
    except ArtifactError as e:
        raise BenchError(f"{e} (a damaged {PREVIOUS_DIR.name}? remove it: the bench makes it again)") from None
    out = {"commit": PREVIOUS_COMMIT, "bars": BARS,
           "artifacts": {name: {"path": str(path.relative_to(ROOT)), "version": versions[name],
                                **artifact_size(path)} for name, path in artifacts.items()}}
    out["in_process"] = in_process(artifacts, quick, log)
    service = {name: worker_memory(path, 1.0 if quick else 4.0) for name, path in artifacts.items()}
    starts = {name: [] for name in artifacts}
    for r in range(1 if quick else 5):  # alternating, as the in-process rounds
        for name in (CONTENDERS if r % 2 == 0 else CONTENDERS[::-1]):
            starts[name] += cold_starts(1, artifacts[name], apps=("ours",))["ours"]["runs"]
    for name in artifacts:
        service[name]["cold_start"] = {"median_s": median(starts[name]), "runs": starts[name]}
        log(f"  previous, gunicorn {name}: worker PSS {service[name]['pss_mib']:.1f} MiB, "
            f"cold start {service[name]['cold_start']['median_s']:.2f} s ({len(starts[name])} starts)")
    out["service"] = service
    new = {"size_mb": out["artifacts"]["new"]["size_mb"], "pss_mib": service["new"]["pss_mib"],
           "cold_start_s": service["new"]["cold_start"]["median_s"]}
    old = {"size_mb": out["artifacts"]["previous"]["size_mb"], "pss_mib": service["previous"]["pss_mib"],
           "cold_start_s": service["previous"]["cold_start"]["median_s"]}
    out["ratios"] = {**out["in_process"]["ratios"], **{k: new[k] / old[k] for k in new}}
    out["new"], out["previous"] = new, old
    out["passed"] = {"p50_1": out["ratios"]["p50_1"] <= BARS["p50_1"],
                     "tok_s_64": out["ratios"]["tok_s_64"] >= BARS["tok_s_64"],
                     "size_mb": new["size_mb"] <= BARS["size_mb"],
                     "pss_mib": new["pss_mib"] <= BARS["pss_mib"],
                     "cold_start_s": new["cold_start_s"] < BARS["cold_start_s"]}
    return out


ROWS = (  # key, what, unit (format), bar
    ("p50_1", "one sentence, concurrency 1: p50 of `tag_documents`", "{:.3f} ms", "new ≤ 1.25 × previous"),
    ("tok_s_64", "64-sentence batches: tokens/s", "{:,.0f}", "new ≥ 0.8 × previous"),
    ("size_mb", "artifact: weights.npz + meta.json", "{:.1f} MB", "≤ 45 MB"),
    ("pss_mib", "a gunicorn worker's PSS", "{:.1f} MiB", "≤ 110 MiB"),
    ("cold_start_s", "cold start: gunicorn start to the first 200 on /readyz", "{:.2f} s", "< 1 s"),
)


def table(p: dict, passed=lambda ok: "pass" if ok else "FAIL") -> list[str]:
    """The five bars as a markdown table: each figure for both models, the ratio, pass/fail."""
    ip = p["in_process"]
    values = {"p50_1": (ip["new"]["p50_ms"], ip["previous"]["p50_ms"]),
              "tok_s_64": (ip["new"]["tok_s"], ip["previous"]["tok_s"]),
              **{k: (p["new"][k], p["previous"][k]) for k in ("size_mb", "pss_mib", "cold_start_s")}}
    out = [f"| | new ({p['artifacts']['new']['version']}) | previous ({p['artifacts']['previous']['version']}, "
           f"{p['commit']}) | new ÷ previous | bar | |", "|---|---:|---:|---:|---|---|"]
    for key, what, fmt, bar in ROWS:
        new, old = values[key]
        out.append(f"| {what} | {fmt.format(new)} | {fmt.format(old)} | **{p['ratios'][key]:.2f}×** | {bar} | "
                   f"{passed(p['passed'][key])} |")
    return out


def render(r: dict, passed) -> list[str]:
    p = r["previous"]
    ip = p["in_process"]
    rounds = ip["per_round"]
    return ["## The shipped model against the previous one", "",
            f"`artifacts/default` (new) against `artifacts/default` at commit {p['commit']} (previous), "
            "side by side in one run (`bench/previous.py`). In process, one BLAS thread, the two alternating "
            f"for {ip['rounds']} rounds, both warm: one {ip['sentence_tokens']}-token CoNLL-2003 test sentence "
            f"through `Tagger.tag_documents` as `POST /tag` calls it (p50 of {ip['calls']} calls per round), and "
            f"the CoNLL-2003 test set in {ip['n_batches']} batches of 64, one document per sentence "
            f"({ip['n_tokens_b64']:,} tokens per round); medians of the rounds, the ratios the median of the "
            "per-round ratios (p50: " + ", ".join(f"{x:.2f}" for x in rounds["p50_1"]) + "; tokens/s: "
            + ", ".join(f"{x:.2f}" for x in rounds["tok_s_64"]) + "). Over HTTP, a real gunicorn "
            "(`service/gunicorn.conf.py`) on each model alone: the largest worker PSS after a short load, and "
            f"the cold start (median of {len(p['service']['new']['cold_start']['runs'])}, the two alternating).", "",
            *table(p, passed), ""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.previous", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small samples (a smoke run)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    args = ap.parse_args(argv)
    try:
        p = run(args.quick, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    except BenchError as e:
        print(f"bench.previous: FAILED: {e}", file=sys.stderr)
        return 1
    print(json.dumps(p, indent=1) if args.json else "\n".join(table(p)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
