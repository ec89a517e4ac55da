"""The loaded model, KServe style: ``load`` fails loudly and sets readiness;
``predict`` is preprocess (done by the schemas) -> tag -> postprocess."""
from __future__ import annotations

import sys
from pathlib import Path

from model.artifact import Artifact, ArtifactError, load
from model.tagger import Tagger

from . import response
from .schemas import Input, Limits

DEFAULT_ARTIFACT = Path(__file__).resolve().parent.parent / "artifacts" / "default"
EXIT_CANNOT_START = 3  # gunicorn's WORKER_BOOT_ERROR: without preload the arbiter also gives up


class Predictor:
    def __init__(self, limits: Limits):
        self.limits = limits
        self.artifact: Artifact | None = None
        self.tagger: Tagger | None = None

    @property
    def ready(self) -> bool:
        return self.tagger is not None

    def load(self, path: str | Path) -> None:
        """Load the artifact; on failure print one line naming it and why, and exit."""
        try:
            artifact = load(path)
        except ArtifactError as e:
            reason = " ".join(str(e).split())  # one line, whatever the message
            where = "" if reason.startswith(str(path)) else f" {path}"
            print(f"nametag: cannot load artifact{where}: {reason}", file=sys.stderr, flush=True)
            raise SystemExit(EXIT_CANNOT_START) from None
        self.artifact, self.tagger = artifact, Tagger(artifact)

    @property
    def ref(self) -> dict:
        return {"name": self.artifact.name, "version": self.artifact.version}

    def predict(self, inputs: list[Input], threshold: float | None = None) -> list[dict]:
        """One result dict per input, in order; all inputs go through the network as one batch."""
        tagged = self.tagger.tag_documents([[t.text for t in inp.tokens] for inp in inputs], threshold)
        ref = self.ref
        return [dict(response.result(inp.text, inp.tokens, t), model=ref)
                for inp, t in zip(inputs, tagged)]

    def info(self) -> dict:
        meta, cfg = self.artifact.meta, self.artifact.config
        training = meta.get("training", {})
        return {
            "name": self.artifact.name, "version": self.artifact.version, "head": cfg.head,
            "n_x": cfg.n_x, "n_a": cfg.n_a, "n_y": cfg.n_y, "bidirectional": cfg.bidirectional,
            "labels": meta.get("labels", []),
            "limits": self.limits.to_json(),
            "training": {k: training[k] for k in ("flags", "train_file", "train_sha256",
                                                  "dev_file", "dev_sha256") if k in training},
            "metrics": meta.get("metrics", {}),
        }
