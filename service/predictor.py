"""The loaded model, KServe style: ``load`` fails loudly (``ArtifactError``);
``predict`` is preprocess (done by ``service.inputs``) -> tag -> postprocess."""
from __future__ import annotations

import time
from pathlib import Path

from model.artifact import Artifact, load
from model.tagger import Tagger

from . import response
from .config import Limits
from .inputs import Input


class Predictor:
    def __init__(self, artifact: Artifact):
        self.artifact = artifact
        self.tagger = Tagger(artifact)
        self._ref = {"name": artifact.name, "version": artifact.version}  # shared by every answer

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """The model of the artifact at path; raises ArtifactError naming what is wrong."""
        return cls(load(path))

    @property
    def ref(self) -> dict:
        return dict(self._ref)

    def predict(self, inputs: list[Input], threshold: float | None = None, times=None) -> list[dict]:
        """One result dict per input, in order; all inputs go through the network as one batch.
        `times` (a metrics.StageTimes), when given, observes the predict and postprocess seconds."""
        t0 = time.perf_counter()
        tagged = self.tagger.tag_documents([[t.text for t in inp.tokens] for inp in inputs], threshold)
        t1 = time.perf_counter()
        results = [response.result(inp.text, inp.tokens, t, self._ref) for inp, t in zip(inputs, tagged)]
        if times is not None:
            times.predict.observe(t1 - t0)
            times.postprocess.observe(time.perf_counter() - t1)
        return results

    def info(self, limits: Limits) -> dict:
        meta, cfg = self.artifact.meta, self.artifact.config
        training = meta.get("training", {})
        return {
            "name": self.artifact.name, "version": self.artifact.version, "head": cfg.head,
            "n_x": cfg.n_x, "n_a": cfg.n_a, "n_y": cfg.n_y, "bidirectional": cfg.bidirectional,
            "labels": meta.get("labels", []),
            "limits": limits.to_json(),
            "training": {k: training[k] for k in ("flags", "train_file", "train_sha256",
                                                  "dev_file", "dev_sha256") if k in training},
            "metrics": meta.get("metrics", {}),
        }
