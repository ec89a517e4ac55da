"""Concurrent requests give exactly the answers sequential ones give: the forward
pass shares no mutable state between threads (gthread workers run several
requests at once in one process, on one Tagger)."""
from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from model.tokenizer import tokenize
from http_load import Load, Req, figures, send

WORDS = ("Anna Smith met Boris Novak and Greta Weber in Paris , said John Brown of Reuters . "
         "The U.S. deal , signed on 1996-08-22 by O'Brien , fell apart . Ms. Rowling wrote it .").split()


def documents(n: int = 48, seed: int = 0) -> list[list[str]]:
    """n token lists of very different lengths (so batches pad differently)."""
    rng = random.Random(seed)
    return [[rng.choice(WORDS) for _ in range(rng.choice([1, 3, 12, 40, 150, 600]))] for _ in range(n)]


def same(a, b) -> bool:
    return a.tags == b.tags and a.scores == b.scores  # exact: float equality, not approx


def test_tagger_threads_match_sequential(app):
    tagger = app.extensions["nametag"].tagger
    docs = documents()
    alone = [tagger.tag_documents([d])[0] for d in docs]
    batched = tagger.tag_documents(docs)
    jobs = [("one", i) for i in range(len(docs))] * 3 + [("batch", None)] * 6
    random.Random(1).shuffle(jobs)

    def run(job):
        kind, i = job
        return kind, i, tagger.tag_documents([docs[i]])[0] if kind == "one" else tagger.tag_documents(docs)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, jobs))
    for kind, i, got in results:
        if kind == "one":
            assert same(got, alone[i]), i
        else:
            assert all(same(g, b) for g, b in zip(got, batched))


@pytest.mark.slow
def test_gthread_concurrent_answers_are_the_sequential_ones(start_gunicorn):
    """One worker with 8 threads; 16 clients at once; every body byte-identical to
    the answer the same request got alone."""
    server = start_gunicorn({"WEB_CONCURRENCY": "1", "GUNICORN_CMD_ARGS": "--threads 8"})
    server.wait_ready()
    texts = [" ".join(d) for d in documents(40, seed=2)]
    mix = [Req.post(f"text {i}", {"text": t}) for i, t in enumerate(texts)]
    mix += [Req.post("batch", {"inputs": [{"text": t} for t in texts[:16]]}),
            Req.post("tokens", {"tokens": [t.text for t in tokenize(texts[5])]})]
    alone = {req: send(server.port, req).digest for req in mix}
    results = Load(server.port, mix, concurrency=16, duration=15, max_requests=len(mix) * 6).run()
    figures("gthread concurrency", requests=len(results), threads=8, clients=16,
            mismatches=sum(r.digest != alone[r.req] for r in results))
    assert len(results) == len(mix) * 6
    assert all(r.status == 200 for r in results)
    assert all(r.digest == alone[r.req] for r in results)
    assert server.stop() == 0
