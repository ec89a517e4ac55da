"""The loaded model, KServe style: ``load`` fails loudly (``ArtifactError``);
``tag`` and ``redact`` are preprocess (done by ``service.inputs``) -> predict
-> postprocess (``model.answer``)."""
from __future__ import annotations

import time
from pathlib import Path

from model import answer
from model.artifact import Artifact, load
from model.names import Span, names
from model.redact import Operator, redact
from model.restore import Book, extend, pseudonyms
from model.tagger import Tagged, Tagger
from model.units import unit_bounds

from .config import Limits
from .inputs import Input, TagRequest


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

    def find(self, req: TagRequest, mentions: bool = False, times=None) -> list[tuple[Input, Tagged, list[Span]]]:
        """Each input, its tags and the names to report: the model's (plus the later mentions
        of the names found, when redacting), after the allow and deny lists asked for.
        An input is cut into units at sentence ends and line breaks (``model.units``);
        all inputs go through the network as one batch. `times` (a metrics.StageTimes),
        when given, observes the predict seconds."""
        t0 = time.perf_counter()
        tagged = self.tagger.tag_documents([[t.text for t in inp.tokens] for inp in req.inputs], req.threshold,
                                           [unit_bounds(inp.text, inp.tokens) for inp in req.inputs])
        if times is not None:
            times.predict.observe(time.perf_counter() - t0)
        return [(inp, t, names(inp.text, inp.tokens, t, req.allow_list, req.deny_list, mentions, req.entities))
                for inp, t in zip(req.inputs, tagged)]

    def tag(self, req: TagRequest, times=None) -> list[dict]:
        """One /tag result per input, in order."""
        found = self.find(req, times=times)
        t1 = time.perf_counter()
        results = [answer.result(inp.text, inp.tokens, t, spans, req.offsets, self._ref) for inp, t, spans in found]
        if times is not None:
            times.postprocess.observe(time.perf_counter() - t1)
        return results

    def redact(self, req: TagRequest, op: Operator, times=None, book: Book | None = None,
               restorable: bool = False) -> tuple[list[dict], Book | None]:
        """One /redact result per input, in order; pseudonyms consistent across all of them
        (one Pseudonyms per call, going on from `book` when given). With `restorable`, also
        the book of every pseudonym's name (``model.restore``), else None."""
        found = self.find(req, mentions=True, times=times)
        t1 = time.perf_counter()
        ps = pseudonyms(book)
        redacted = [(inp.text, redact(inp.text, spans, op, ps)) for inp, _, spans in found]
        results = [answer.redaction(text, red, req.offsets, self._ref) for text, red in redacted]
        new_book = extend(book, ps, redacted) if restorable else None
        if times is not None:
            times.postprocess.observe(time.perf_counter() - t1)
        return results, new_book

    def info(self, limits: Limits) -> dict:
        meta, cfg = self.artifact.meta, self.artifact.config
        training, calibration = meta.get("training", {}), meta.get("calibration")
        return {
            "name": self.artifact.name, "version": self.artifact.version, "head": cfg.head,
            "types": list(cfg.types),
            "n_x": cfg.n_x, "n_a": cfg.n_a, "n_y": cfg.n_y, "bidirectional": cfg.bidirectional,
            "networks": cfg.members,
            "labels": meta.get("labels", []),
            "limits": limits.to_json(),
            "training": {k: training[k] for k in ("flags", "train_file", "train_sha256",
                                                  "dev_file", "dev_sha256") if k in training},
            "metrics": meta.get("metrics", {}),
            "calibration": calibration and {k: calibration.get(k) for k in ("fitted_on", "ece_dev")},
            "operating_table": meta.get("operating_table"),
        }
