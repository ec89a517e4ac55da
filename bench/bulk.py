"""Bulk tagging: the ``nametag`` command on a corpus of >= 1M tokens, against the
Tagger in process, against itself on a LocalCluster, and against POST /tag.

The corpus: every sentence of CoNLL-2003 and WNUT-17 (train, dev, test), tokens
joined by spaces, repeated until it holds at least 1M tokens of our tokenizer.
Two forms of it: ``corpus.jsonl`` (raw texts: the command tokenizes) and
``corpus.conll`` (tokens given; each repetition of a source file is one
-DOCSTART- document per original document).

Contenders, interleaved round by round (the per-round ratios are reported):

* ``tagger``: in this process, texts already in memory, tokenize + Tagger in
  chunks of the command's own size (for CoNLL: tag_sentences, tokens given);
* ``command``: ``nametag tag corpus.X -o out.X`` in one process; its tokens/s
  is its own clock (``--stats``), from the model loaded to the output renamed;
* ``workers2``: the same with ``--workers 2``; its clock starts when the cluster
  is up and each worker has loaded the model (the start-up is reported apart).

Then POST /tag with 64-input batches of the same texts (gunicorn, 2 workers,
4 client threads), and the CoNLL-2003 test file through the command (one
process, 2 workers) scored against the gold tags like ``model.evaluate``.
Outputs of the one-process and the 2-worker runs must be byte-identical, or the
bench fails.
"""
from __future__ import annotations

import http.client
import json
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bulk.formats import DOCSTART, text_doc
from bulk.tagging import CHUNK_TOKENS, chunks, tag_docs
from model.artifact import load
from model.data import read_conll
from model.scoring import score
from model.tagger import Tagger

from harness import DATA, DEFAULT_ARTIFACT as ARTIFACT, ROOT, Gunicorn

from .common import CONLL_TEST, PYTHON, BenchError, median, pinned_env

NAMETAG = str(Path(PYTHON).parent / "nametag")
SOURCES = [DATA / c / f"{s}.conll" for c in ("conll2003", "wnut17") for s in ("train", "dev", "test")]
BATCH = 64


def build_corpus(out: Path, min_tokens: int) -> dict:
    """corpus.jsonl and corpus.conll of at least min_tokens tokens; their sizes."""
    corpora = [read_conll(f) for f in SOURCES]
    texts, n_tok, reps = [], 0, 0
    with open(out / "corpus.conll", "w", encoding="utf-8") as conll:
        while n_tok < min_tokens:
            reps += 1
            for c in corpora:
                last = None
                for toks, doc in zip(c.sentences, c.docs):
                    if doc != last:
                        if n_tok >= min_tokens:
                            break
                        conll.write(f"{DOCSTART} -X- O O\n\n")
                        last = doc
                    conll.write("".join(f"{w} O\n" for w in toks) + "\n")
                    texts.append(" ".join(toks))
                    n_tok += len(toks)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts)
    return {"texts": texts, "repetitions": reps, "sentences": len(texts),
            "bytes": {f: (out / f"corpus.{f}").stat().st_size for f in ("jsonl", "conll")}}


def tagger_rate(tagger: Tagger, texts: list[str], conll: list | None) -> dict:
    """tokens/s of the Tagger in process: tokenize + tag in chunks of CHUNK_TOKENS
    (or, with conll=(sentences, docs), tag_sentences per chunk of documents)."""
    t0 = time.perf_counter()
    if conll is None:
        docs = [text_doc({}, t) for t in texts]
        n = 0
        for chunk in chunks(docs):
            tag_docs(tagger, chunk)
            n += sum(len(d.words) for d in chunk)
    else:
        sentences, doc_ids = conll
        n, start = 0, 0
        while start < len(sentences):  # whole documents, about CHUNK_TOKENS tokens a chunk
            end, k = start, 0
            while end < len(sentences) and (k < CHUNK_TOKENS or doc_ids[end] == doc_ids[end - 1]):
                k += len(sentences[end])
                end += 1
            tagger.tag_sentences(sentences[start:end], doc_ids[start:end])
            n, start = n + k, end
    secs = time.perf_counter() - t0
    return {"tokens": n, "seconds": secs, "tokens_per_s": n / secs}


def command(src: Path, out: Path, *extra: str, timeout: float = 900) -> dict:
    """One run of the command; its --stats plus the wall time of the whole process."""
    stats = out.with_suffix(".stats.json")
    t0 = time.perf_counter()
    p = subprocess.run([NAMETAG, "tag", str(src), "-o", str(out), "--quiet", "--stats", str(stats), *extra],
                       cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=pinned_env(1))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise BenchError(f"nametag {' '.join(extra)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
    s = json.loads(stats.read_text())
    return dict(s, wall_s=wall, tokens_per_s=s["tokens"] / s["seconds"], summary=p.stderr.strip().splitlines()[-1])


def http_rate(texts: list[str], threads: int = 4) -> dict:
    """tokens/s through POST /tag, 64 texts a request, `threads` keep-alive clients."""
    bodies = [json.dumps({"inputs": [{"text": t} for t in texts[i:i + BATCH]]}).encode()
              for i in range(0, len(texts), BATCH)]
    with Gunicorn(workers=2) as srv:
        srv.wait_ready(timeout=60)

        def send(part: list[bytes]) -> int:
            conn, n = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60), 0
            for body in part:
                conn.request("POST", "/tag", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise BenchError(f"POST /tag answered {resp.status}: {data[:200]!r}")
                n += sum(len(r["tokens"]) for r in json.loads(data)["results"])
            conn.close()
            return n
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            n = sum(pool.map(send, [bodies[i::threads] for i in range(threads)]))
        secs = time.perf_counter() - t0
    return {"tokens": n, "seconds": secs, "tokens_per_s": n / secs, "requests": len(bodies),
            "batch": BATCH, "client_threads": threads}


def conll_f1(tmp: Path, quick: bool) -> dict:
    """CoNLL-2003 test through the command, one process and 2 workers: PER F1 of each
    output against the gold tags, and model.evaluate's (tag_sentences, file's docs).
    Quick mode: the file's first 3,000 lines."""
    src = CONLL_TEST
    if quick:
        src = tmp / "test-head.conll"
        with open(CONLL_TEST, encoding="utf-8") as fh:
            src.write_text("".join(line for _, line in zip(range(3000), fh)), encoding="utf-8")
    gold = read_conll(src)
    ref = Tagger(load(ARTIFACT)).tag_sentences(gold.sentences, gold.docs)
    out = {"evaluate": score(gold.tags, [t.tags for t in ref]).f1}
    outputs = {}
    for name, extra in (("one process", ()), ("2 workers", ("--workers", "2", "--blocksize", "256KiB"))):
        path = tmp / f"test.{len(outputs)}.conll"
        command(src, path, *extra)
        pred = read_conll(path)
        if pred.sentences != gold.sentences or pred.docs != gold.docs:
            raise BenchError(f"CoNLL-2003 test through the command ({name}): sentences or documents changed")
        out[name] = score(gold.tags, pred.tags).f1
        outputs[name] = path.read_bytes()
    out["identical"] = len(set(outputs.values())) == 1
    return out


def run(quick: bool = False, log=print) -> dict:
    rounds, min_tokens = (1, 20_000) if quick else (2, 1_000_000)
    tagger = Tagger(load(ARTIFACT))
    res: dict = {"rounds": rounds, "chunk_tokens": CHUNK_TOKENS}
    with tempfile.TemporaryDirectory(prefix="nametag-bench-bulk-") as tmp:
        tmp = Path(tmp)
        corpus = build_corpus(tmp, min_tokens)
        texts = corpus.pop("texts")
        res["corpus"] = corpus
        conll = read_conll(tmp / "corpus.conll")
        runs: dict = {}
        for r in range(rounds):
            for fmt in ("jsonl", "conll"):
                src = tmp / f"corpus.{fmt}"
                cells = {"tagger": tagger_rate(tagger, texts, None if fmt == "jsonl" else
                                               (conll.sentences, conll.docs)),
                         "command": command(src, tmp / f"one.{fmt}"),
                         "workers2": command(src, tmp / f"two.{fmt}", "--workers", "2")}
                if (tmp / f"one.{fmt}").read_bytes() != (tmp / f"two.{fmt}").read_bytes():
                    raise BenchError(f"corpus.{fmt}: --workers 2 output differs from the one-process output")
                for k, v in cells.items():
                    runs.setdefault((fmt, k), []).append(v)
                log(f"  bulk round {r + 1}/{rounds} {fmt:5s}: tagger {cells['tagger']['tokens_per_s']:9,.0f}  "
                    f"command {cells['command']['tokens_per_s']:9,.0f}  --workers 2 "
                    f"{cells['workers2']['tokens_per_s']:9,.0f} tokens/s (start-up "
                    f"{cells['workers2']['startup_s']:.1f} s)")
        for fmt in ("jsonl", "conll"):
            t, c, w = (runs[(fmt, k)] for k in ("tagger", "command", "workers2"))
            res[fmt] = {
                "tagger": median([x["tokens_per_s"] for x in t]),
                "command": median([x["tokens_per_s"] for x in c]),
                "workers2": median([x["tokens_per_s"] for x in w]),
                "command_vs_tagger": median([b["tokens_per_s"] / a["tokens_per_s"] for a, b in zip(t, c)]),
                "workers2_vs_command": median([b["tokens_per_s"] / a["tokens_per_s"] for a, b in zip(c, w)]),
                "workers2_vs_command_wall": median([a["wall_s"] / b["wall_s"] for a, b in zip(c, w)]),
                "command_wall_s": median([x["wall_s"] for x in c]),
                "workers2_wall_s": median([x["wall_s"] for x in w]),
                "startup_s": median([x["startup_s"] for x in w]),
                "command_peak_rss_mib": max(x["peak_rss_mib"] for x in c),
                "workers2_client_peak_rss_mib": max(x["peak_rss_mib"] for x in w),
                "worker_peak_rss_mib": [max(col) for col in zip(*[x["workers_peak_rss_mib"] for x in w])],
                "tokens": c[0]["tokens"], "records": c[0]["records"], "summary": c[0]["summary"],
                "identical": True}
        log("  bulk: POST /tag, 64-text batches ...")
        res["http"] = http_rate(texts)
        res["http"]["vs_command"] = res["http"]["tokens_per_s"] / res["jsonl"]["command"]
        log("  bulk: CoNLL-2003 test through the command ...")
        res["conll_test"] = conll_f1(tmp, quick)
    return res
