"""Join trained artifacts into one ensemble artifact: their networks tag together.

    python -m model.ensemble artifacts/.conll4-networks/seed1 artifacts/.conll4-networks/seed2 \\
        artifacts/.conll4-networks/seed3 --dev ../shared/data/conll2003/dev.conll --out artifacts/conll4

(the last step of ``make train-conll4``, after it has trained the three seeds).

The networks must be the same model trained with other seeds: the same config,
feature tables, entity types and vector words (their fine-tuned vectors may
differ). The tagger averages their ŷ<t> before decoding (``Tagger.predict_proba``),
so tagging costs one network's time per member; the scores are calibrated again
on the dev files, for the average. The artifact is the usual two files
(``model/artifact.py``: networks 2..K under "m<k>_" names), written atomically,
with each network's sparse-feature columns in float16 (``artifact.HALF``): K
networks take about K/2 of one network's bytes there, and the tags on CoNLL-2003
dev do not change.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from . import artifact as artifact_io
from .artifact import Artifact, ArtifactError, Network, halved
from .calibration_fit import fit_artifact
from .data import DataError, read_corpus
from .tagger import Tagger
from .training import evaluate


class EnsembleError(ValueError):
    """Artifacts that cannot be joined; the message says which and why."""


def check_joinable(arts: list[Artifact], names: list[str]) -> None:
    """EnsembleError unless the artifacts are one network each of the same model."""
    if len(arts) < 2:
        raise EnsembleError("an ensemble joins two artifacts or more")
    first = arts[0]
    for art, name in zip(arts, names):
        if art.config.members > 1:
            raise EnsembleError(f"{name}: already an ensemble of {art.config.members} networks")
        if art.config.n_c:
            raise EnsembleError(f"{name}: has the character cell, which an ensemble does not support")
        if art.tables.to_json() != first.tables.to_json():
            raise EnsembleError(f"{name}: its feature tables differ from {names[0]}'s (other training data "
                                f"or flags)")
        if art.config != first.config:
            differ = ", ".join(f"{f.name} {getattr(art.config, f.name)!r} (not {getattr(first.config, f.name)!r})"
                               for f in dataclasses.fields(art.config)
                               if getattr(art.config, f.name) != getattr(first.config, f.name))
            raise EnsembleError(f"{name}: its network differs from {names[0]}'s: {differ}")
        if (art.vectors is None) != (first.vectors is None) or (
                art.vectors is not None and art.vectors.words != first.vectors.words):
            raise EnsembleError(f"{name}: its vectors' words differ from {names[0]}'s")


def join(arts: list[Artifact], names: list[str], name: str) -> Artifact:
    """The ensemble of the artifacts (not yet calibrated), its meta naming each member."""
    check_joinable(arts, names)
    first = arts[0]
    cfg = dataclasses.replace(first.config, members=len(arts))
    members = [{"artifact": n, "name": a.name, "version": a.version,
                "seed": a.meta.get("training", {}).get("flags", {}).get("seed"),
                "metrics": a.meta.get("metrics", {})} for a, n in zip(arts, names)]
    training = dict(first.meta.get("training", {}), members=members)
    meta = {"name": name, "training": training}
    return Artifact(halved(first.params), cfg, first.tables, meta, first.vectors, None,
                    tuple(Network(halved(a.params), a.vectors) for a in arts[1:]))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m model.ensemble", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                usage="%(prog)s ARTIFACT ARTIFACT [ARTIFACT ...] --dev FILE [FILE] --out DIR "
                                      "[--name NAME] [--calibrate-every-case]")
    p.add_argument("artifacts", nargs="+", metavar="ARTIFACT", help="trained artifacts, one network each")
    p.add_argument("--out", required=True, help="the ensemble artifact to write (replaced atomically)")
    p.add_argument("--name", help="model name recorded in the artifact (default: --out's name)")
    p.add_argument("--dev", nargs="+", required=True, metavar="FILE",
                   help="dev files: the ensemble's dev F1 (on the first) and its calibration, one per "
                        "domain, at most two (never a test set)")
    p.add_argument("--calibrate-every-case", action="store_true",
                   help="calibrate on the first dev set as written, lower-cased and upper-cased")
    args = p.parse_args(argv)
    if len(args.dev) > 2:
        p.error("calibration takes one or two dev files (one per domain)")
    try:
        arts = [artifact_io.load(a) for a in args.artifacts]
        ens = join(arts, args.artifacts, args.name or Path(args.out).name)
        dev = read_corpus(args.dev[0], types=ens.config.types)
        print(f"ensemble: {len(arts)} networks; dev {args.dev[0]}: {len(dev)} sentences", file=sys.stderr)
        s = evaluate(Tagger(ens, calibrated=False), dev).to_json()  # as training scores its epochs
        ens.meta["metrics"] = {"dev": s}
        ens.meta.update(fit_artifact(ens, args.dev, log=lambda m: print(m, file=sys.stderr),
                                     every_case=args.calibrate_every_case))
    except (ArtifactError, EnsembleError, DataError, OSError) as e:
        print(f"python -m model.ensemble: error: {e}", file=sys.stderr)
        return 2
    artifact_io.save(args.out, ens.params, ens.config, ens.tables, ens.meta, vectors=ens.vectors,
                     members=ens.members, half=True)
    print(f"wrote {args.out} ({len(arts)} networks; dev F1 {s['f1']:.4f}, each alone "
          + ", ".join(f"{m['metrics'].get('dev', {}).get('f1', float('nan')):.4f}"
                      for m in ens.meta["training"]["members"]) + ")", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
