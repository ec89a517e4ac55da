"""The environment a run happened in, and the benchmarks page from the results dict.

``python -m bench`` writes bench/results.json and docs/benchmarks.md (its ``--out DIR``
and ``--quick`` runs: DIR/results.json and DIR/benchmarks.md). ``python -m bench.report``
renders docs/benchmarks.md again from bench/results.json, without running anything;
tests/test_docs.py checks that the committed page is exactly that rendering."""
from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from harness import DEFAULT_ARTIFACT, ROOT

from . import auth, finetune, previous, redaction, reliability

RESULTS = ROOT / "bench" / "results.json"  # the committed run
PAGE = ROOT / "docs" / "benchmarks.md"  # rendered from it
PACKAGES = ("numpy", "torch", "flask", "werkzeug", "gunicorn", "marshmallow")


def _version(pkg: str) -> str:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _blas() -> str:
    try:
        import numpy as np
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas['version']}"
    except (AttributeError, KeyError, TypeError):
        return "unknown"


def _git() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def artifact_version() -> str:
    """Name and weights checksum of the shipped artifact, from its meta.json."""
    import json

    meta = json.loads((DEFAULT_ARTIFACT / "meta.json").read_text(encoding="utf-8"))
    return f"{meta.get('name', '?')} {meta['weights_sha256'][:12]}"


def environment() -> dict:
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": len(os.sched_getaffinity(0)), "cpu": _cpu_model(), "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(), "blas": _blas(), "git": _git(), "artifact": artifact_version(),
        "versions": {p: _version(p) for p in PACKAGES},
        "load_avg_at_start": os.getloadavg(),
    }


# --- rendering -----------------------------------------------------------------

def _shipped_models(m: dict | None) -> list[str]:
    """The two shipped models side by side, end to end (bench/speed.py ``shipped_models``)."""
    if not m:
        return []
    return ["", f"**The two shipped models**, `tag_sentences` on the {m['sentences']:,} CoNLL-2003 test "
            f"sentences, 64 a call, {m['rounds']} alternating rounds: the default (PER, "
            f"{m['default']['networks']} network) {_n(m['default']['tok_s'])} tokens/s; `artifacts/conll4` "
            f"({'/'.join(m['conll4']['types'])}, an ensemble of {m['conll4']['networks']} networks) "
            f"{_n(m['conll4']['tok_s'])} tokens/s: **{m['conll4_over_default']:.2f}×** the default's "
            f"speed."]


def _n(x, nd=0) -> str:
    return "–" if x is None else f"{x:,.{nd}f}"


def _pass(ok: bool) -> str:
    return "**pass**" if ok else "**FAIL**"


def render(r: dict) -> str:
    env = r["env"]
    lines = [
        "# nametag benchmarks",
        "",
        f"Written by `python -m bench{' --quick' if r['quick'] else ''}` (`make bench"
        f"{'-quick' if r['quick'] else ''}`) on {env['date']}, in {r['wall_s']:.0f} s. "
        + ("**Quick mode: small samples, a CI smoke run — do not quote these numbers.**" if r["quick"] else
           "Every figure below is in `bench/results.json`; `python -m bench.report` renders this page from "
           "it again without running anything."),
        "",
        f"Machine: {env['cores']} cores ({env['cpu']}), {env['memory_gib']} GiB; "
        f"{_load_averages(env['load_avg_at_start'], r.get('load_avg_at_end', []))} (read the ratios, measured side by "
        "side, before the absolute figures). "
        f"Python {env['python']}, {env['blas']}; "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items()) + f". Commit {env['git']}; "
        f"model `artifacts/default` = {env['artifact']}.",
        "",
    ]
    for update in r.get("updates", []):
        lines += [_rerun(update), ""]
    for part, fn in (("quality", _quality), ("speed", _speed), ("http", _http), ("cost", _cost),
                     ("training", _training), ("bulk", _bulk),
                     ("redaction", lambda r: redaction.render(r, _pass)),
                     ("auth", lambda r: auth.render(r, _pass)),
                     ("reliability", lambda r: reliability.render(r, _pass)),
                     ("previous", lambda r: previous.render(r, _pass))):
        if part in r:
            lines += fn(r)
        elif part != "previous":  # not run: no section (the committed run predates this part)
            lines += [f"## {'API keys' if part == 'auth' else part.capitalize()}", "", "not run (`--only`)", ""]
    if "finetune" in r:  # run only when named (`--only finetune`, `python -m bench.finetune`)
        lines += finetune.render(r, _pass)
    return "\n".join(lines) + "\n"


def _rerun(update: dict) -> str:
    """The paragraph on parts re-run alone since the run above (`python -m bench --only`)."""
    parts, env = update["parts"], update["env"]
    return (f"Re-run alone since (`python -m bench --only {' '.join(parts)}`): **{', '.join(parts)}** "
            f"on {env['date']}, in {update['wall_s']:.0f} s; "
            f"{_load_averages(env['load_avg_at_start'], update['load_avg_at_end'])}; commit {env['git']}; "
            f"model {env['artifact']}. Those sections come from that run, the others from the run above.")


def _load_averages(start, end) -> str:
    """The machine's load averages (1, 5, 15 min) at the start and at the end of a run."""
    return (f"load average at start {', '.join(f'{x:.1f}' for x in start)}, "
            f"at the end {', '.join(f'{x:.1f}' for x in end)}")


def _quality(r: dict) -> list[str]:
    from .quality import table

    q = r["quality"]
    out = ["## Quality", "",
           "Person names, entity level (exact spans, conlleval rules): F1 (precision / recall), three ways "
           "(`bench/quality.py`): one sentence per input and one document per input through "
           "`Tagger.tag_documents` as `POST /tag` calls it, and `model.evaluate` (gold sentences in the "
           "file's documents; WNUT-17's file is one document there)"
           + (f"; **first {q['subset']} sentences only**" if q["subset"] else "")
           + f". Shipped model's dev F1 (selection): {q['dev_f1']}.", ""]
    out += table(q)
    seed = q["seed"]
    out += ["", f"Example sentence `{' '.join(seed['tokens'])}`: labels {seed['got']} "
            f"(want {seed['want']}) — {_pass(seed['ok'])}.", ""]
    return out


STAGE_NAMES = ("input lookup", "recurrence", "head + softmax")


def _speed(r: dict) -> list[str]:
    s = r["speed"]
    t, rat = s["tok_s"], s["ratios"]
    has_torch = "torch" in t
    out = ["## Model speed, in process", "",
           "Tokens per second of **the network**: from padded feature ids (T_x, m, K) to probabilities "
           "(T_x, m, n_y) — input lookup, both recurrences, head, softmax. Featurizing and decoding are "
           "not in it (see the Tagger rows below). One BLAS thread (`OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1`), "
           "torch `set_num_threads(1)`. Batch 1: one 25-token CoNLL test sentence "
           f"({s['calls_b1']} calls per round). Batch 64: {s['n_batches']} batches, the CoNLL test set sorted by "
           f"length as the Tagger does ({s['n_tokens_b64']:,} tokens per round). The contenders alternate, "
           f"{s['rounds']} rounds; medians of the rounds, and the median of the per-round ratios.", "",
           "| network | batch 1, tokens/s | batch 64, tokens/s |", "|---|---:|---:|",
           f"| **ours** (`model/inference.py`, what the Tagger runs) | **{_n(t['ours']['b1'])}** | "
           f"**{_n(t['ours']['b64'])}** |",
           f"| before (`network.forward` + `probabilities`, the training path, which the Tagger ran before) | "
           f"{_n(t['before']['b1'])} | {_n(t['before']['b64'])} |"]
    if has_torch:
        out.append(f"| torch {s['torch']} (`nn.EmbeddingBag` + 2 × `nn.RNN` + `nn.Linear`) | "
                   f"{_n(t['torch']['b1'])} | {_n(t['torch']['b64'])} |")
    out.append(f"| ours / before | {rat['before']['b1']:.2f}× | {rat['before']['b64']:.2f}× |")
    if has_torch:
        out.append(f"| **ours / torch** (bar: ≥ 2× at batch 1, ≥ 1.5× at batch 64) | "
                   f"**{rat['torch']['b1']:.2f}×** {_pass(rat['torch']['b1'] >= 2)} | "
                   f"**{rat['torch']['b64']:.2f}×** {_pass(rat['torch']['b64'] >= 1.5)} |")
    out.append(f"| compute floor (below) | {_n(s['floor_tok_s'])} | {_n(s['floor_tok_s'])} |")
    out.append(f"| ours / floor | {s['floor_frac']['b1']:.1%} | {s['floor_frac']['b64']:.1%} |")
    out.append("")
    agree = ", ".join(f"{k} {v:.1e}" for k, v in s["agree"].items())
    out.append(f"All contenders agree with `network.forward` on every batch measured: max |Δp| {agree} "
               f"(required < {s['tol']:.0e}).")
    if has_torch:
        out += ["", "What torch computes: the same ids go through `nn.EmbeddingBag(mode='sum')` over the "
                "same (n_x, 2 n_a) table, + b_a on real tokens; each direction is an `nn.RNN(n_a, n_a, "
                "nonlinearity='tanh')` with `weight_hh = W_aa`; the backward one reads the batch flipped in "
                "time, padding first with zero input (state exactly 0 until each sentence's end, as with "
                "`pack_padded_sequence`); `nn.Linear` + softmax. nn.RNN always applies `weight_ih` to its "
                "input, here the identity: one (T_x m, n_a) @ (n_a, n_a) product per direction that our "
                "side does not do. Without that product's time (measured alone), ours / torch at batch 64 "
                f"would be {s['torch_adjusted_b64']:.2f}×."]
    else:
        out += ["", "PyTorch: **torch not installed** — `pip install torch==2.13.0` "
                "(the CPU wheel; an optional bench extra, never a runtime dependency) to compare."]
    mp = s["macs"]
    out += ["", "**Compute floor.** Multiply-adds per token: recurrence d·n_a² = "
            f"{mp['recurrence']:,}, head d·n_a·n_y = {mp['head']:,}, lookup additions K·d·n_a = "
            f"{mp['lookup']:,}: {s['macs_per_token']:,} in all. NumPy's float32 matrix product reaches "
            f"{s['gemm_rate'] / 1e9:.1f} G multiply-adds/s on one thread here (square 1024 sgemm, measured in "
            f"this run), so the floor is {_n(s['floor_tok_s'])} tokens/s. The recurrence's own step shape "
            f"(2, m, n_a) @ (2, n_a, n_a) reaches {s['step_rates']['1'] / 1e9:.1f} G/s at m = 1 and "
            f"{s['step_rates']['64'] / 1e9:.1f} G/s at m = 64.", "",
            "**Tagger, end to end** (featurize + network; `tag_sentences` adds decoding; from the second call "
            "on, featurize's per-word-form cache is warm), tokens/s: "
            f"batch 1 `predict_proba` {_n(s['e2e']['b1']['predict_proba'])}, `tag_sentences` "
            f"{_n(s['e2e']['b1']['tag_sentences'])}; whole CoNLL test set `predict_proba` "
            f"{_n(s['e2e']['b64']['predict_proba'])}, `tag_sentences` {_n(s['e2e']['b64']['tag_sentences'])}.",
            *_shipped_models(s.get("shipped")),
            "", "### Profile of the forward pass, before and after", "",
            "| stage | before, batch 1 (µs/call) | after, batch 1 (µs/call) | before, batch 64 (µs/token) | "
            "after, batch 64 (µs/token) |", "|---|---:|---:|---:|---:|"]
    st = s["stages"]
    for k in STAGE_NAMES:
        out.append(f"| {k} | {st['before']['b1'][k]:.1f} | {st['ours']['b1'][k]:.1f} | "
                   f"{st['before']['b64'][k]:.3f} | {st['ours']['b64'][k]:.3f} |")
    out += ["", "What changed (`model/inference.py`): the weights are laid out once per Tagger — the "
            "shipped `W_ax` loads row-major, so `W_ax.T[ids]` gathered strided columns on every call; now "
            "one C-contiguous (n_x, 2 n_a) table serves both directions in one lookup, summed "
            "128 tokens at a time while the gathered rows are in cache. The backward direction reads the "
            "time-flipped batch with zeroed padding instead of per-sentence gathers of ids and states. Both "
            "directions advance in one stacked (2, m, n_a) @ (2, n_a, n_a) product per step, added and "
            "tanh'ed in place in preallocated arrays: 3 NumPy calls per step instead of 6.", ""]
    return out


STAGE_ROWS = ("body read", "JSON parse", "validation", "tokenizing", "features", "network", "decoding",
              "Tagger's own glue", "building the response", "JSON encoding", "metrics", "log",
              "Flask and Werkzeug (the rest)")


def _http(r: dict) -> list[str]:
    h = r["http"]
    c, bars, ok = h["cells"], h["bars"], h["passed"]
    floors = sorted({k.split("|")[0] for k in c if k.startswith("floor")})
    memo_name = next((k.split("|")[0] for k in c if k.startswith("ours, model")), None)
    out = ["## Service speed, over HTTP", "",
           "Ours: `service:create_app()` (default model, info-level request log) under "
           "`service/gunicorn.conf.py` (one gthread worker per core, 2 threads, keep-alive; a worker with every thread "
           "busy leaves a new connection 2 ms to the others: `service/worker.py`). The floor: a "
           "bare Flask app echoing the JSON body (`bench/floor_app.py`) under our config, `sync × 2` and "
           "`gthread 2 × 4`; per round the best of the three counts. Also measured, for information: ours "
           "with the model memoized (below). All servers up at once on 127.0.0.1. "
           f"Load from wrk (C, one thread, keep-alive connections; `bench/wrk.py`), {h['rounds']} round(s) of "
           f"{h['seconds']:g} s per cell and server, the servers' order rotating from round to round; "
           "medians over the rounds, and each bar the median of its per-round ratios. A single non-200 "
           "answer or connection error fails the run. Payloads: one 25-token sentence `{\"text\": ...}`, "
           "and 64 copies of it as `{\"inputs\": [...]}` (featurize's per-word-form cache always hits, as "
           "it does for the frequent words of real text). \"CPU/request\" is the gunicorn workers' CPU time "
           "divided by the requests answered; \"workers\" each worker's CPU use in cores (keep-alive "
           "connections stay with the worker that accepted them); \"wrk\" the load generator's.", "",
           "| server | payload | concurrency | req/s | p50 / p99 ms | CPU/request µs | workers, cores | wrk, cores |",
           "|---|---|---:|---:|---:|---:|---|---:|"]
    for payload, conc in (("1 sentence", 1), ("1 sentence", 16), ("64 sentences", 16)):
        for name in ["ours", *([memo_name] if memo_name else []), *floors]:
            x = c[f"{name}|{payload}|{conc}"]
            label = f"**{name}**" if name == "ours" else name
            out.append(f"| {label} | {payload} | {conc} | {x['rps']:,.0f} | {x['p50_ms']:.2f} / {x['p99_ms']:.1f} | "
                       f"{x['worker_cpu_us_per_request']:,.0f} | "
                       f"{' + '.join(f'{w:.2f}' for w in x['worker_cores'])} | {x['client_cpu_share']:.2f} |")
    rounds = h["bar_rounds"]

    def per_round(key, fmt):
        return ", ".join(fmt.format(v) for v in rounds[key])
    out += ["", "| request-path bar | measured | per round | bar | aim |", "|---|---:|---|---:|---:|",
            f"| one sentence, concurrency 16: ours req/s ÷ floor req/s | **{bars['rps_c16']:.2f}** "
            f"{_pass(ok['rps_c16'])} | {per_round('rps_c16', '{:.2f}')} | ≥ 0.60 | 0.75 |",
            f"| one sentence, concurrency 1: ours p50 ÷ floor p50 | **{bars['p50_c1']:.2f}** "
            f"{_pass(ok['p50_c1'])} | {per_round('p50_c1', '{:.2f}')} | ≤ 2.0 | 1.5 |",
            f"| 64-sentence batches, concurrency 16: tokens/s through HTTP ÷ ({h['n_workers']} workers × "
            f"in-process Tagger tokens/s on one core) | **{bars['batch_tokens']:.2f}** {_pass(ok['batch_tokens'])} | "
            f"{per_round('batch_tokens', '{:.2f}')} | ≥ 0.75 | 0.9 |",
            f"| answers other than 200, all runs | **0** {_pass(ok['all_200'])} | | 0 | |", ""]
    memo = h.get("memo_ratios")
    if memo:
        out += ["Where the gap is: the same three ratios for *ours, model memoized* (`bench/memo_app.py`: "
                "the service with `Tagger.tag_documents` memoized per token list, so the model costs a dict "
                "lookup and everything else is the service's own): "
                f"concurrency 16 req/s {memo['rps_c16']:.2f} of the floor, concurrency 1 p50 "
                f"{memo['p50_c1']:.2f}× the floor's, batches {memo['batch_tokens']:.2f} of the Tagger bar's "
                "denominator. The first is the most the service layer on this stack reaches with a model that "
                "costs nothing; the difference from ours is the model.", ""]
    out += ["The two throughput bars from CPU time instead of wall time (the gunicorn workers' CPU per "
            "request, the Tagger's per CPU second): what they would read if the workers had their cores "
            "to themselves, which on a shared machine they do not; information, not the bars: "
            f"one sentence, concurrency 16, floor's CPU per request ÷ ours {h['cpu_ratios']['rps_c16']:.2f}; "
            f"64-sentence batches, tokens per worker CPU second ÷ the Tagger's per CPU second "
            f"{h['cpu_ratios']['batch_tokens']:.2f} (Tagger {h['tagger_tokens_per_cpu_s']:,.0f} tokens per CPU "
            "second).", "",
            f"Batches: {h['batch_http_tokens_per_s']:,.0f} tokens/s through HTTP; the in-process "
            f"`Tagger.tag_documents` on the same 64 sentences, one thread, {h['tagger_tokens_per_s']:,.0f} "
            "tokens/s (measured in every round, between the HTTP cells).", ""]
    out += _stages(h.get("stages"))
    return out


def _stages(st: dict | None) -> list[str]:
    if not st:
        return []
    after, before = st["after"], st.get("before")
    whole = after["request, whole (stopwatch on)"]
    out = ["### Where a one-sentence request's time goes", "",
           "`python -m bench.stages`: one 25-token `POST /tag` through the app's WSGI interface as gunicorn "
           "calls it, thousands of times, with a stopwatch around each stage of the service's own functions "
           "(Prometheus in multiprocess mode and the request log at info, as under gunicorn); medians over "
           "the requests, µs. preprocess = body read + JSON parse + validation + tokenizing, predict = "
           "features + network + decoding + the Tagger's own glue, postprocess = building the response: "
           "the three stage histograms in `/metrics`. \"Flask and Werkzeug\" is what the stages leave of "
           "the whole request (request and response objects, routing, hooks). "
           + (f"Before: the service at commit {st['before_commit']} (before the request-path work, with the "
              f"model of that commit), profiled the same way in the same run, the two alternating for "
              f"{st.get('rounds', 1)} round(s) (per stage the median of the rounds)." if before else
              f"Before: not measured ({st.get('before_reason')})."), "",
           "| stage | before, µs | after, µs |", "|---|---:|---:|"]
    for k in STAGE_ROWS:
        b = f"{before[k]:,.1f}" if before and k in before else "–"
        out.append(f"| {k} | {b} | {after[k]:,.1f} |")
    bw = f"{before['request, whole (stopwatch on)']:,.0f}" if before else "–"
    bu = f"{before['request, whole']:,.0f}" if before else "–"
    bf = f"{before['floor request, whole']:,.0f}" if before else "–"
    out += [f"| **whole request** (stopwatch on) | **{bw}** | **{whole:,.0f}** |",
            f"| whole request (stopwatch off) | {bu} | {after['request, whole']:,.0f} |",
            f"| floor: bare Flask echo, whole request | {bf} | {after['floor request, whole']:,.0f} |", "",
            f"The three stage histograms cost {after['stage histograms']:.1f} µs of the "
            f"{whole:,.0f} µs request ({after['stage histograms'] / whole:.1%}; bar < 5%): "
            f"{_pass(after['stage histograms'] / whole < 0.05)}. They are inside the metrics row.", ""]
    return out


def _cost(r: dict) -> list[str]:
    out = ["## Cost", ""]
    if "http" in r:
        cost = r["http"]["cost"]
        pw = cost["per_worker"]
        if pw:
            hwm = max(w.get("VmHWM", 0) for w in pw)
            pss = max(w.get("Pss", 0) for w in pw)
            out.append(f"- **Memory**: {cost['workers']} gunicorn workers (one per core); after the HTTP "
                       f"runs above, peak RSS per worker (VmHWM) {hwm:.0f} MiB, of which a worker's "
                       f"proportional share (PSS, pages shared copy-on-write with the preloading master "
                       f"counted once across sharers) {pss:.0f} MiB; master RSS "
                       f"{cost['master'].get('VmRSS', 0):.0f} MiB.")
    if "cost" in r:
        cs = r["cost"]["cold_start"]
        img = r["cost"]["image"]
        out.append(f"- **Cold start** (gunicorn process start to the first 200 on `/readyz`, median of "
                   f"{len(cs['ours']['runs'])}): ours {cs['ours']['median_s']:.2f} s, "
                   f"floor {cs['floor']['median_s']:.2f} s.")
        if img.get("size"):
            out.append(f"- **Docker image**: {img['size'] / 1e6:.0f} MB (`docker image inspect` Size of the "
                       f"image built from `Dockerfile` in this run; Docker {img['engine']}).")
        else:
            out.append(f"- **Docker image**: not measured — {img['reason']}.")
    out.append("")
    return out


def _training(r: dict) -> list[str]:
    t = r["training"]
    out = ["## Training", "",
           (f"`train.py` on the shipped model's training files ({t.get('train_files', 'CoNLL-2003 train')}; "
            f"dev for model selection: {t.get('dev_files', 'CoNLL-2003 dev')}) with its flags, "
            "one BLAS thread, one run at a time, each for as many epochs as the shipped "
            f"model's best epoch ({t['best_epoch']}). For n_a = 128 that is the shipped model's own run: "
            "the same bytes on the BLAS kernel it was trained on"
            + (f" ({', '.join(map(str, t['kernels']['shipped']))}; this machine's: "
               f"{', '.join(map(str, t['kernels']['here']))})" if t.get("kernels") else "")
            + ", other bytes and dev F1 within the seed spread on another (see the model card, "
            "[Reproducibility](model.md#reproducibility)). "
            "An epoch includes its dev evaluation; set-up is reading the data and building the feature "
            "tables. Each run is bounded in time (a run stopped at the limit says so)." if not t["quick"] else
            "**Quick mode**: 300 training sentences, no name lists, n_a = 16, one epoch — a smoke test of "
            "the code path only."), "",
           f"| n_a | time per epoch | set-up (read, features) | epochs run | dev F1 after each epoch | "
           f"to the shipped dev F1 ({t['target_dev_f1']:.4f}) | whole run |",
           "|---:|---:|---:|---:|---|---|---:|"]
    for row in t["rows"]:
        f1s = ", ".join(f"{e['dev_f1']:.4f}" for e in row["epochs"])
        reached = row["reached"]
        to = (f"epoch {reached['epoch']}, {reached['t']:.0f} s after start" if reached else "not within the epochs run")
        if row.get("same_bytes_as_shipped"):
            to += "; weights byte-identical to the shipped artifact"
        if row.get("timed_out"):
            to += " (stopped at the time limit)"
        out.append(f"| {row['n_a']} | {row['per_epoch_s']:.1f} s | {row['setup_s'] or 0:.0f} s | "
                   f"{len(row['epochs'])} | {f1s} | {to} | {row['total_s']:.0f} s |")
    out.append("")
    return out


def _bulk(r: dict) -> list[str]:
    b = r["bulk"]
    c = b["corpus"]
    out = ["## Bulk tagging (`nametag tag`)", "",
           f"Corpus: every sentence of CoNLL-2003 and WNUT-17 (train, dev, test) repeated {c['repetitions']}×: "
           f"{c['sentences']:,} texts, {b['jsonl']['tokens']:,} tokens; `corpus.jsonl` "
           f"{c['bytes']['jsonl'] / 2**20:.1f} MiB (raw texts, the command tokenizes), `corpus.conll` "
           f"{c['bytes']['conll'] / 2**20:.1f} MiB (tokens given, the sources' documents kept). "
           f"Median of {b['rounds']} interleaved round(s); one BLAS thread everywhere. The command's "
           "tokens/s is its own clock (model loaded to output renamed); the Tagger's runs in this "
           f"process on texts in memory, in the command's chunks of {b['chunk_tokens']:,} tokens "
           "(JSONL: tokenizer included on both sides)."
           + (f" Measured apart from the sections above, on {b['measured']['date']} at commit "
              f"{b['measured']['git']}, load average {b['measured']['load_avg_at_start'][0]:.1f} at the start "
              f"and {b['measured']['load_avg_at_end'][0]:.1f} at the end (`python -m bench --only bulk`)."
              if "measured" in b else ""), "",
           "| input | Tagger in process | command, one process | command ÷ Tagger (bar ≥ 80%) | "
           "`--workers 2` | ÷ one process (bar ≥ 1.5×) | same, whole runs incl. start-up |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for fmt in ("jsonl", "conll"):
        x = b[fmt]
        out.append(f"| {fmt} → {fmt} | {_n(x['tagger'])} | {_n(x['command'])} | "
                   f"{x['command_vs_tagger']:.0%} {_pass(x['command_vs_tagger'] >= 0.8)} | {_n(x['workers2'])} | "
                   f"{x['workers2_vs_command']:.2f}× {_pass(x['workers2_vs_command'] >= 1.5)} | "
                   f"{x['workers2_vs_command_wall']:.2f}× ({x['command_wall_s']:.1f} s vs "
                   f"{x['workers2_wall_s']:.1f} s) |")
    j, h, t = b["jsonl"], b["http"], b["conll_test"]
    out += ["",
            f"- **Start-up of the cluster** (`--workers 2`: LocalCluster of 2 processes up, each worker's "
            f"model loaded): {j['startup_s']:.1f} s (JSONL runs), {b['conll']['startup_s']:.1f} s (CoNLL runs).",
            f"- **Peak memory** (max RSS): the command in one process {j['command_peak_rss_mib']:.0f} MiB "
            f"(CoNLL {b['conll']['command_peak_rss_mib']:.0f}); with `--workers 2` the command itself (client and "
            f"scheduler) {j['workers2_client_peak_rss_mib']:.0f} MiB and each worker "
            + " / ".join(f"{m:.0f}" for m in j["worker_peak_rss_mib"]) + " MiB.",
            f"- **POST /tag** with {h['batch']}-text batches of the same texts (gunicorn, 2 workers, "
            f"{h['client_threads']} client threads on the same 2 cores): {_n(h['tokens_per_s'])} tokens/s, "
            f"{h['requests']:,} requests in {h['seconds']:.1f} s; {h['vs_command']:.2f}× the one-process command.",
            f"- **Correctness**: one-process and `--workers 2` outputs byte-identical on both corpora "
            f"{_pass(j['identical'] and b['conll']['identical'])}; CoNLL-2003 test through the command "
            f"(CoNLL in, CoNLL out): PER F1 {t['one process']:.4f} in one process, {t['2 workers']:.4f} on 2 "
            f"workers, {t['evaluate']:.4f} from `model.evaluate` "
            f"{_pass(t['one process'] == t['2 workers'] == t['evaluate'] and t['identical'])}.",
            f"- The command's summary line (JSONL): `{j['summary']}`", ""]
    return out


def write_page(results_path: Path = RESULTS, page: Path = PAGE) -> Path:
    """Render the benchmarks page from a results.json, without running anything."""
    import json

    page.write_text(render(json.loads(results_path.read_text(encoding="utf-8"))), encoding="utf-8")
    return page


def main(argv=None) -> int:
    """``python -m bench.report [RESULTS_JSON [PAGE]]``: docs/benchmarks.md from bench/results.json."""
    args = sys.argv[1:] if argv is None else argv
    paths = [Path(a) for a in args[:2]]
    print(f"wrote {write_page(*paths)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
