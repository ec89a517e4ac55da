"""Prometheus metrics. Under gunicorn (PROMETHEUS_MULTIPROC_DIR set by
gunicorn.conf.py) every worker writes its own files and /metrics adds them up."""
from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import multiprocess

LATENCY_BUCKETS = (.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)


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
        self.model = Gauge("nametag_model_info", "The loaded model (always 1)",
                           ["name", "version", "head"], multiprocess_mode="max", registry=r)

    def exposition(self) -> bytes:
        if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
