"""Model speed in process: tokens/s of the network at batch 1 and 64, the
compute floor, the stages before and after the inference work, and PyTorch.

"The network" is everything from padded feature ids (T_x, m, K) and the
tokens' pretrained vectors g (T_x, m, n_g) to probabilities (T_x, m, n_y):
input lookup + W_ag g<t>, both recurrences, head, softmax. Every contender gets
the same dense g (gathered from the int8 table beforehand).
Featurizing and decoding are measured separately (``Tagger.predict_proba`` and
``tag_sentences``). Run with BLAS limited to one thread (``bench.__main__``
sets the environment before NumPy is imported); torch gets
``set_num_threads(1)``.

Contenders, interleaved round by round so that a noisy machine slows all of
them alike (the per-round ratios are what we report):

* ``before``: ``network.forward`` + ``network.probabilities``, the training
  path that ``Tagger.predict_proba`` called before ``model/inference.py``;
* ``ours``: ``model.inference.probabilities``, what the Tagger runs now;
* ``torch``: ``bench.torch_ref.TorchTagger`` (when torch is installed).

Last, the two shipped models side by side, end to end in the Tagger
(``tag_sentences`` on the CoNLL-2003 test sentences, 64 at a time, interleaved):
the person-name default, one network, and ``artifacts/conll4``, an ensemble whose
networks all run on every sentence (``model/ensemble.py``).
"""
from __future__ import annotations

import time

import numpy as np

from model import inference, layers as L, network
from model.artifact import load
from model.data import read_corpus
from model.features import K, document_sets, featurize, pad
from model.tagger import Tagger

from . import torch_ref
from harness import DEFAULT_ARTIFACT, ROOT

from .common import CONLL_TEST, BenchError, median, timed

TOL = 1e-5
CONLL4 = ROOT / "artifacts" / "conll4"  # the four-type model, an ensemble


def network_input(tagger: Tagger, feats, sentences):
    """(ids, lengths, g) of one batch, as Tagger.predict_proba builds it."""
    ids, lengths, _, _ = pad(feats)
    return ids, lengths, tagger.vectors_of(sentences, ids.shape[0])


def conll_batches(tagger: Tagger, quick: bool):
    """The CoNLL test set as the Tagger runs it: sorted by length, batches of 64."""
    corpus = read_corpus(CONLL_TEST)
    feats = featurize(tagger.tables, corpus.sentences,
                      document_sets(corpus.docs, corpus.sentences, tagger.tables.first_names))
    order = sorted(range(len(feats)), key=lambda i: len(feats[i]))
    batches = [network_input(tagger, [feats[i] for i in order[b:b + 64]],
                             [corpus.sentences[i] for i in order[b:b + 64]]) for b in range(0, len(order), 64)]
    if quick:
        batches = batches[::6]  # every 6th batch: all lengths, a sixth of the time
    return corpus, batches, one_sentence(corpus)


def one_sentence(corpus) -> list[str]:
    """Batch 1's sentence: the CoNLL test set's first of 25 tokens."""
    return next(s for s in corpus.sentences if len(s) == 25)


def gemm_rate(n: int, reps: int) -> float:
    """Multiply-adds per second of a float32 (n, n) @ (n, n), best of reps."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    a @ a
    best = min(timed(lambda: a @ a) for _ in range(reps))
    return n ** 3 / best


def step_gemm_rate(d: int, m: int, n_a: int, reps: int) -> float:
    """Multiply-adds per second of one recurrence step, (d, m, n_a) @ (d, n_a, n_a)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((d, m, n_a)).astype(np.float32)
    w = rng.standard_normal((d, n_a, n_a)).astype(np.float32)
    out = np.empty_like(a)
    calls = 2000 if m == 1 else 200

    def run():
        for _ in range(calls):
            np.matmul(a, w, out=out)
    best = min(timed(run) for _ in range(reps))
    return d * m * n_a * n_a * calls / best


def before_stages(params, cfg, ids, lengths, g=None):
    """network.forward split into its stages (the pre-inference.py path)."""
    t0 = time.perf_counter()
    zx, _ = L.input_forward(ids, params["W_ax"], params["b_a"])
    if cfg.n_g:
        zx += L.vector_forward(g, params["W_ag"])[0]
    if cfg.bidirectional:
        rev = L.reverse_index(lengths, ids.shape[0])
        zx_bw, _ = L.input_forward(L.time_gather(ids, rev), params["W_ax_bw"], params["b_a_bw"])
        if cfg.n_g:
            zx_bw += L.vector_forward(L.time_gather(g, rev), params["W_ag_bw"])[0]
    t1 = time.perf_counter()
    a, _ = L.rnn_forward(zx, params["W_aa"])
    if cfg.bidirectional:
        a_bw, _ = L.rnn_forward(zx_bw, params["W_aa_bw"])
    t2 = time.perf_counter()
    if cfg.bidirectional:
        a = np.concatenate([a, L.time_gather(a_bw, rev)], axis=-1)
    scores, _ = L.affine_forward(a, params["W_ya"], params["b_y"])
    network.probabilities(scores, cfg)
    t3 = time.perf_counter()
    return {"input lookup": t1 - t0, "recurrence": t2 - t1, "head + softmax": t3 - t2}


def after_stages(w, ids, lengths, g=None):
    """model.inference split into the same stages."""
    t0 = time.perf_counter()
    x = inference.input_projections(w, ids, np.asarray(lengths), g)
    t1 = time.perf_counter()
    a = L.rnn_recurrence(x, w.W_aaT)
    t2 = time.perf_counter()
    scores = inference.head(w, a)
    w.config.head_policy.probabilities(scores)
    t3 = time.perf_counter()
    return {"input lookup": t1 - t0, "recurrence": t2 - t1, "head + softmax": t3 - t2}


def max_diff(got, want, lengths) -> float:
    valid = np.arange(got.shape[0])[:, None] < np.asarray(lengths)[None, :]
    return float(np.abs(got - want)[valid].max())


def shipped_models(default: Tagger, sentences: list[list[str]], rounds: int) -> dict:
    """tokens/s of ``tag_sentences`` (64 sentences a call) for the default and conll4,
    alternating round by round; conll4's ÷ the default's is the median per-round ratio."""
    conll4 = Tagger(load(CONLL4))
    n_tok = sum(map(len, sentences))
    chunks = [sentences[i:i + 64] for i in range(0, len(sentences), 64)]
    taggers = {"default": default, "conll4": conll4}
    runs: dict[str, list[float]] = {name: [] for name in taggers}
    for _ in range(rounds):
        for name, t in taggers.items():
            t.tag_sentences(chunks[0])  # warm
            runs[name].append(n_tok / timed(lambda: [t.tag_sentences(c) for c in chunks]))
    return {name: {"networks": taggers[name].config.members, "types": list(taggers[name].config.types),
                   "tok_s": median(r)} for name, r in runs.items()} | {
        "conll4_over_default": median([c / d for c, d in zip(runs["conll4"], runs["default"])]),
        "sentences": len(sentences), "tokens": n_tok, "rounds": rounds}


def run(quick: bool = False, log=print) -> dict:
    art = load(DEFAULT_ARTIFACT)
    tagger = Tagger(art)
    params, cfg, w = tagger.params, tagger.config, tagger.weights
    corpus, batches, sentence = conll_batches(tagger, quick)
    one = network_input(tagger, featurize(tagger.tables, [sentence]), [sentence])
    len1 = one[1]
    n_tok64 = int(sum(int(b[1].sum()) for b in batches))
    d = 2 if cfg.bidirectional else 1
    rounds, calls1 = (2, 100) if quick else (7, 300)

    contenders = {
        "before": lambda ids, lens, g: network.probabilities(network.forward(params, ids, lens, cfg, g=g)[0], cfg),
        "ours": lambda ids, lens, g: inference.probabilities(w, ids, lens, g),
    }
    tv = torch_ref.version()
    torch_tagger = None
    if tv is not None:
        torch_tagger = torch_ref.TorchTagger(params, cfg, threads=1)
        contenders["torch"] = torch_tagger.probabilities

    # agreement first: a benchmark of a wrong answer is no benchmark
    agree = {}
    for name, fn in contenders.items():
        diffs = [max_diff(fn(*one), contenders["before"](*one), len1)]
        diffs += [max_diff(fn(*b), contenders["before"](*b), b[1]) for b in batches]
        agree[name] = max(diffs)
        if agree[name] >= TOL:
            raise BenchError(f"{name}: probabilities differ from network.forward by {agree[name]:.2e} >= {TOL}")

    per_round = {name: {"b1": [], "b64": []} for name in contenders}
    torch_ih = []
    for r in range(rounds):
        for name, fn in contenders.items():
            fn(*one)  # warm
            t = timed(lambda: [fn(*one) for _ in range(calls1)])
            per_round[name]["b1"].append(25 * calls1 / t)
            t = timed(lambda: [fn(*b) for b in batches])
            per_round[name]["b64"].append(n_tok64 / t)
        if torch_tagger is not None:
            torch_ih.append(timed(lambda: [torch_tagger.identity_input_gemm(b[0]) for b in batches]))
        log(f"  speed round {r + 1}/{rounds}: " + ", ".join(
            f"{n} {per_round[n]['b1'][-1]:,.0f} / {per_round[n]['b64'][-1]:,.0f} tok/s" for n in contenders))

    tok_s = {name: {k: median(v) for k, v in runs.items()} for name, runs in per_round.items()}
    ratios = {}
    for other in [n for n in contenders if n != "ours"]:
        ratios[other] = {k: median([o / b for o, b in zip(per_round["ours"][k], per_round[other][k])])
                         for k in ("b1", "b64")}
    torch_adjusted = None
    if torch_tagger is not None:  # torch's b64 time without its identity W_ih product
        t_torch = [n_tok64 / x for x in per_round["torch"]["b64"]]
        t_ours = [n_tok64 / x for x in per_round["ours"]["b64"]]
        torch_adjusted = median([(tt - ih) / to for tt, ih, to in zip(t_torch, torch_ih, t_ours)])

    # end to end in the Tagger: featurize (+ decoding)
    sents64 = corpus.sentences if not quick else corpus.sentences[::6]
    n_tok_e2e = sum(map(len, sents64))
    e2e = {"b1": {}, "b64": {}}
    for label, fn in (("predict_proba", tagger.predict_proba), ("tag_sentences", tagger.tag_sentences)):
        e2e["b1"][label] = median([25 * calls1 / timed(lambda: [fn([sentence]) for _ in range(calls1)])
                                   for _ in range(max(2, rounds // 2))])
        e2e["b64"][label] = median([n_tok_e2e / timed(lambda: fn(sents64)) for _ in range(max(2, rounds // 2))])

    # stages before/after, summed over the same work
    stages = {}
    for label, fn in (("before", lambda ids, lens, g: before_stages(params, cfg, ids, lens, g)),
                      ("ours", lambda ids, lens, g: after_stages(w, ids, lens, g))):
        b1 = [fn(*one) for _ in range(calls1)]
        stages[label] = {"b1": {k: 1e6 * median([s[k] for s in b1]) for k in b1[0]}}
        tot = {}
        for b in batches:
            for k, v in fn(*b).items():
                tot[k] = tot.get(k, 0.0) + v
        stages[label]["b64"] = {k: 1e6 * v / n_tok64 for k, v in tot.items()}  # µs per token

    # the compute floor
    macs = {"recurrence": d * cfg.n_a * cfg.n_a, "head": d * cfg.n_a * cfg.n_y, "lookup": K * d * cfg.n_a,
            "vectors": cfg.n_g * d * cfg.n_a}
    macs_per_token = sum(macs.values())
    rate = gemm_rate(512 if quick else 1024, 3 if quick else 5)
    step_rates = {str(m): step_gemm_rate(d, m, cfg.n_a, 3) for m in (1, 64)}
    floor = rate / macs_per_token
    shipped = shipped_models(tagger, sents64, max(2, rounds // 2))
    log(f"  shipped models: default {shipped['default']['tok_s']:,.0f} tok/s, conll4 "
        f"{shipped['conll4']['tok_s']:,.0f} tok/s ({shipped['conll4_over_default']:.2f}×)")
    return {
        "threads": 1, "torch": tv, "tol": TOL, "agree": agree,
        "sentence": " ".join(sentence), "n_batches": len(batches), "n_tokens_b64": n_tok64,
        "rounds": rounds, "calls_b1": calls1,
        "tok_s": tok_s, "ratios": ratios, "torch_adjusted_b64": torch_adjusted,
        "e2e": e2e, "stages": stages,
        "macs": macs, "macs_per_token": macs_per_token, "gemm_rate": rate, "step_rates": step_rates,
        "floor_tok_s": floor,
        "floor_frac": {k: tok_s["ours"][k] / floor for k in ("b1", "b64")},
        "shipped": shipped,
    }
