"""``python -m bench [--quick] [--out DIR]``: quality, speed and cost side by side, in one run.

Writes bench/results.json and docs/benchmarks.md (rendered from it by ``bench.report``);
with --quick or --out DIR: DIR/results.json and DIR/benchmarks.md (default DIR with
--quick: bench/out/). Exits non-zero, and writes no results, when any part fails:
an HTTP error during a load run, two forward passes that disagree, a training
run that does not finish.
"""
from __future__ import annotations

import os

from model.threads import pin_threads

# The in-process speed measurements run on one BLAS thread: pin before NumPy loads.
pin_threads(1, override=True)

import argparse  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from . import auth, bulk, finetune, previous, quality, redaction, reliability, report, serving, speed, training  # noqa: E402
from harness import ROOT, ServerError  # noqa: E402

from .common import BenchError  # noqa: E402

PARTS = ("quality", "speed", "http", "cost", "training", "bulk", "redaction", "auth", "reliability", "previous",
         "finetune")
NAMED_ONLY = ("finetune",)  # long (thirteen training runs): run only when named in --only


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="CI smoke run: small samples, under 2 minutes")
    ap.add_argument("--out", default=None, help="directory for results.json and benchmarks.md (default: bench/ and docs/)")
    ap.add_argument("--only", nargs="+", choices=PARTS,
                    help="run only these parts: into bench/ they replace those parts of the committed run, "
                         "and the page says which were re-run, when (finetune, thirteen training runs, runs only "
                         "when named here; a full run keeps its committed results)")
    ap.add_argument("--finetune-domains", nargs="+", choices=list(finetune.DOMAINS), default=list(finetune.DOMAINS),
                    metavar="DOMAIN", help="the finetune part's new domains: "
                    f"{', '.join(finetune.DOMAINS)} (default: all)")
    args = ap.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every server, load client and training run we started is stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    out = Path(args.out) if args.out else ROOT / "bench" / ("out" if args.quick else "")
    out.mkdir(parents=True, exist_ok=True)
    parts = args.only or [p for p in PARTS if p not in NAMED_ONLY]

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    results = {"env": report.environment(), "quick": args.quick, "parts": parts}
    t0 = time.perf_counter()
    try:
        steps = {  # part -> (what the log says, how to run it), in the order they run
            "quality": ("quality", lambda: quality.run(args.quick)),
            "speed": ("model speed (in process, 1 thread)", lambda: speed.run(args.quick, log)),
            "http": ("service speed (gunicorn on loopback)", lambda: serving.run(args.quick, log)),
            "cost": ("cost: cold start, image size",
                     lambda: {"cold_start": serving.cold_starts(1 if args.quick else 3),
                              "image": serving.image_size(args.quick)}),
            "training": ("training", lambda: training.run(args.quick, log)),
            "bulk": ("bulk tagging (the nametag command)", lambda: bulk.run(args.quick, log)),
            "redaction": ("redaction: calibration, /redact against /tag", lambda: redaction.run(args.quick, log)),
            "auth": ("API keys: /tag with keys on against keys off", lambda: auth.run(args.quick, log)),
            "reliability": ("reliability: busy workers, worker death, slow clients",
                            lambda: reliability.run(args.quick, log)),
            "previous": (f"the shipped model against the previous one ({previous.PREVIOUS_COMMIT})",
                         lambda: previous.run(args.quick, log)),
            "finetune": ("fine-tuning on new domains (bench.finetune)",
                         lambda: finetune.run(args.quick, log, args.finetune_domains)),
        }
        for part, (what, run) in steps.items():
            if part in parts:
                log(f"{what} ...")
                results[part] = run()
        if report.artifact_version() != results["env"]["artifact"]:
            raise BenchError("artifacts/default changed during the run (retrained?): run the bench again")
    except (BenchError, ServerError) as e:
        log(f"bench: FAILED: {e}")
        return 1
    results["wall_s"] = time.perf_counter() - t0
    results["load_avg_at_end"] = os.getloadavg()
    if args.only and not args.quick and args.out is None:
        results = update(out / "results.json", results)
    elif not args.quick and args.out is None:
        results = keep_named_only(out / "results.json", results)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    page = out / "benchmarks.md" if args.quick or args.out else report.PAGE
    page.write_text(report.render(results))
    log(f"wrote {out / 'results.json'} and {page} in {results['wall_s']:.0f} s")
    return 0


def committed(path: Path) -> dict | None:
    """The results written at path before this run, or None (none, or unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def keep_named_only(path: Path, new: dict) -> dict:
    """A full run into bench/ keeps the committed results of the parts it runs only when
    named (NAMED_ONLY), with the note of when they were run."""
    old = committed(path)
    if old is None:
        return new
    kept = [p for p in NAMED_ONLY if p in old and p not in new]
    if not kept or old.get("quick"):
        return new
    merged = dict(new, **{p: old[p] for p in kept})
    merged["updates"] = [u for u in old.get("updates", []) if set(u["parts"]) <= set(kept)]
    return merged


def update(path: Path, new: dict) -> dict:
    """A part run alone (`--only`) into bench/: replaces those parts of the committed full
    run's results, which keep the rest; the page says which parts were re-run, when."""
    old = committed(path)
    if old is None:
        return new
    if old.get("quick") or not isinstance(old.get("env"), dict):
        return new
    merged = dict(old)
    for part in new["parts"]:
        merged[part] = new[part]
    merged["updates"] = [u for u in old.get("updates", []) if set(u["parts"]) - set(new["parts"])]
    merged["updates"].append({"parts": new["parts"], "env": new["env"], "wall_s": new["wall_s"],
                              "load_avg_at_end": new["load_avg_at_end"]})
    return merged


if __name__ == "__main__":
    sys.exit(main())
