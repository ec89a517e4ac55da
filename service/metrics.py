"""Prometheus metrics. Under gunicorn (PROMETHEUS_MULTIPROC_DIR set by
gunicorn.conf.py) every worker writes its own files and /metrics adds them up.

The request path updates them through children resolved once per label set
(``request_children``, ``stages``): ``labels()`` costs as much as the update.
The per-stage histograms follow KServe's model server: preprocess (read,
parse, validate and tokenize the body), predict (the Tagger: features, network,
decoding) and postprocess (the answer's dicts), in seconds, by route.
"""
from __future__ import annotations

import os
from typing import NamedTuple

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
STAGE_BUCKETS = (.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10)
MAX_CHILDREN = 1000  # label sets remembered; past that (odd methods on unknown paths) labels() each time


class StageTimes(NamedTuple):
    """One route's stage histograms."""
    preprocess: object
    predict: object
    postprocess: object


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("nametag_http_requests", "HTTP requests by route, method and status",
                                ["route", "method", "status"], registry=r)
        self.latency = Histogram("nametag_http_request_duration_seconds", "Request latency by route",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens = Counter("nametag_tokens_tagged", "Tokens run through the model", registry=r)
        self.inputs = Counter("nametag_inputs_tagged", "Inputs (texts or token lists) tagged", registry=r)
        self.redactions = Counter("nametag_redactions", "Names replaced by /redact, by operator",
                                  ["operator"], registry=r)
        self.restores = Counter("nametag_restores", "POST /restore requests by outcome: restored, or why the "
                                "token was refused (damaged, foreign_key, expired, no_key)",
                                ["outcome"], registry=r)
        self.model = Gauge("nametag_model_info", "The loaded model (always 1)",
                           ["name", "version", "head"], multiprocess_mode="max", registry=r)
        stage = {"labelnames": ["route"], "buckets": STAGE_BUCKETS, "registry": r}
        self.preprocess = Histogram("nametag_request_preprocess_seconds",
                                    "Reading, parsing, validating and tokenizing the body, by route", **stage)
        self.predict = Histogram("nametag_request_predict_seconds",
                                 "The model (features, network, decoding), by route", **stage)
        self.postprocess = Histogram("nametag_request_postprocess_seconds",
                                     "Building the answer from the model's output, by route", **stage)
        self.auth = Counter("nametag_auth_requests",
                            "Requests to the routes that need an API key (when keys are on), by key name "
                            "(anonymous: no key or a wrong one) and result (accepted, missing, refused)",
                            ["key", "result"], registry=r)
        self.rate_limited = Counter("nametag_rate_limited",
                                    "Requests refused with 429 by the rate limit, by key name "
                                    "(anonymous when keys are off)", ["key"], registry=r)
        self._children: dict = {}
        self._auth: dict = {}
        self._stages: dict = {}

    def request_children(self, route: str, method: str, status: int):
        """(the request counter, the latency histogram) of one label set."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (self.requests.labels(route, method, str(status)), self.latency.labels(route))
            if len(self._children) < MAX_CHILDREN:
                self._children[key] = children
        return children

    def auth_child(self, key: str, result: str):
        """The auth counter of one (key name, result); the names come from the keys file."""
        child = self._auth.get((key, result))
        if child is None:
            child = self._auth[key, result] = self.auth.labels(key, result)
        return child

    def stages(self, route: str) -> StageTimes:
        times = self._stages.get(route)
        if times is None:
            times = StageTimes(self.preprocess.labels(route), self.predict.labels(route),
                               self.postprocess.labels(route))
            if len(self._stages) < MAX_CHILDREN:
                self._stages[route] = times
        return times

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
