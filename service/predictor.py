"""The loaded model, KServe style: ``load`` fails loudly (``ArtifactError``);
``predict`` is preprocess (done by ``service.inputs``) -> tag -> postprocess."""
from __future__ import annotations

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

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """The model of the artifact at path; raises ArtifactError naming what is wrong."""
        return cls(load(path))

    @property
    def ref(self) -> dict:
        return {"name": self.artifact.name, "version": self.artifact.version}

    def predict(self, inputs: list[Input], threshold: float | None = None) -> list[dict]:
        """One result dict per input, in order; all inputs go through the network as one batch."""
        tagged = self.tagger.tag_documents([[t.text for t in inp.tokens] for inp in inputs], threshold)
        ref = self.ref
        return [dict(response.result(inp.text, inp.tokens, t), model=ref)
                for inp, t in zip(inputs, tagged)]

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
