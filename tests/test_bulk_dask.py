"""The nametag command and the Dask API on a real LocalCluster of 2 worker processes."""
from __future__ import annotations

import json
import logging
import os
import pickle
import re
import signal
import subprocess
import sys
from pathlib import Path

import dask.bag
import dask.dataframe
import distributed
import pytest

from bulk_support import CONLL_TEST, NAMETAG, nametag, texts, wait_writing, write_jsonl
from model.data import read_conll
from harness import DEFAULT_ARTIFACT, free_port

pytestmark = pytest.mark.slow



def watch_weight_opens() -> None:
    """In a worker process: from now on, note every file opened whose name is weights.npz
    (a Python audit hook: what the process does, seen from outside the product's code)."""
    opened = []

    def hook(event, args):
        if event == "open" and str(args[0]).endswith("weights.npz"):
            opened.append(str(args[0]))
    sys.addaudithook(hook)
    sys.nametag_weight_opens = opened


def weight_opens() -> list[str]:
    return list(sys.nametag_weight_opens)


@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster of 2 worker processes, one thread each, configured as the command's,
    and its client; every worker notes the weights files it opens from before its first task."""
    from bulk.cli import LOCAL_WORKER_CONFIG
    with dask.config.set(LOCAL_WORKER_CONFIG):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR)
    client = distributed.Client(cluster)
    client.run(watch_weight_opens)
    yield client
    client.close()
    cluster.close()


def test_conll_on_two_workers_is_byte_identical_to_one_process(tmp_path):
    """CoNLL-2003 test in 64 KiB blocks (documents cut at -DOCSTART-): the same bytes
    from one process and from --workers 2, and the file's sentences and documents kept."""
    one, two = tmp_path / "one.conll", tmp_path / "two.conll"
    r1 = nametag("tag", CONLL_TEST, "-o", one, "--blocksize", "64KiB")
    r2 = nametag("tag", CONLL_TEST, "-o", two, "--blocksize", "64KiB", "--workers", "2")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    assert one.read_bytes() == two.read_bytes()
    gold, pred = read_conll(CONLL_TEST), read_conll(two)
    assert pred.sentences == gold.sentences and pred.docs == gold.docs
    assert _counts(r1.stderr) == _counts(r2.stderr) and _counts(r1.stderr)[0] == 231  # documents


def _counts(stderr: str) -> tuple[int, ...]:
    m = re.search(r"nametag: ([\d,]+) records, ([\d,]+) tokens, ([\d,]+) names in .*; ([\d,]+) lines skipped",
                  stderr)
    return tuple(int(g.replace(",", "")) for g in m.groups())


def test_an_existing_cluster_through_scheduler(tmp_path):
    """`dask scheduler` and `dask worker` (2 processes) on loopback, as the README
    starts them; --scheduler gives the same bytes as one process."""
    src = write_jsonl(tmp_path / "in.jsonl", texts(1500))
    port, dask_cli = free_port(), str(Path(sys.executable).with_name("dask"))
    address = f"tcp://127.0.0.1:{port}"
    quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    procs = [subprocess.Popen([dask_cli, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--no-dashboard"], **quiet)]
    try:
        procs.append(subprocess.Popen([dask_cli, "worker", address, "--nworkers", "2", "--nthreads", "1",
                                       "--host", "127.0.0.1", "--no-dashboard"], **quiet))
        one = nametag("tag", src, "-o", tmp_path / "one.jsonl", "--blocksize", "32KiB")
        two = nametag("tag", src, "-o", tmp_path / "two.jsonl", "--blocksize", "32KiB", "--scheduler", address)
        assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
        assert (tmp_path / "one.jsonl").read_bytes() == (tmp_path / "two.jsonl").read_bytes()
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def _workers(pid: int) -> list:
    """The Dask worker processes under pid: spawned by multiprocessing, and titled
    "dask worker [address]" where setproctitle is installed (mutmut brings it)."""
    import psutil
    return [c for c in psutil.Process(pid).children(recursive=True)
            if "spawn_main" in " ".join(c.cmdline()) or c.cmdline()[:1] and c.cmdline()[0].startswith("dask worker")]


def test_a_worker_killed_mid_run_leaves_the_output_complete_and_identical(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", texts(6_000), ["{broken"])
    ref = tmp_path / "ref.jsonl"
    r = nametag("tag", src, "-o", ref, "--blocksize", "32KiB")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([NAMETAG, "tag", str(src), "-o", str(out), "--blocksize", "32KiB", "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_writing(proc, tmp_path, 180)
        written = sum(p.stat().st_size for p in tmp_path.glob(".out.jsonl.*.tmp"))
        victim = _workers(proc.pid)[0]
        victim.send_signal(signal.SIGKILL)
        assert proc.poll() is None and written < ref.stat().st_size  # mid-run
        _, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == 0, err
    assert out.read_bytes() == ref.read_bytes()
    assert f"{src}:6001: not valid JSON" in err and _counts(err) == _counts(r.stderr)


def test_tag_dataframe_equals_the_service(dask_client, client):
    import pandas as pd

    from bulk.dask_api import tag_dataframe
    items = texts(96)
    ddf = dask.dataframe.from_pandas(pd.DataFrame({"id": range(96), "body": items}), npartitions=4)
    got = tag_dataframe(ddf, "body").compute()
    assert list(got["id"]) == list(range(96)) and list(got["body"]) == items
    # each partition is one batch in the command, so the service gets the same batches
    expected = []
    for part in range(4):
        batch = items[part * 24:(part + 1) * 24]
        res = client.post("/tag", json={"inputs": [{"text": t} for t in batch]})
        expected += [r["entities"] for r in res.get_json()["results"]]
    assert list(got["entities"]) == expected
    assert sum(map(len, expected)) > 20


def test_the_model_is_loaded_once_per_worker_process_and_never_shipped(dask_client):
    """Each worker process reads the artifact's weights file exactly once, however many
    tasks it runs, and the task graph carries the path, not the weights."""
    from bulk.dask_api import tag_bag
    from bulk.tagging import warm
    bag = dask.bag.from_sequence(texts(600), npartitions=12)
    tagged = tag_bag(bag)
    graph = dict(tagged.__dask_graph__())
    assert len(pickle.dumps(graph)) < 200_000 < (DEFAULT_ARTIFACT / "weights.npz").stat().st_size
    dask_client.run(warm, str(DEFAULT_ARTIFACT))  # as the nametag command starts its workers
    records = tagged.compute()
    assert len(records) == 600 and all("entities" in r for r in records)
    opened = dask_client.run(weight_opens)
    assert len(opened) == 2
    assert all(o == [str(DEFAULT_ARTIFACT / "weights.npz")] for o in opened.values()), opened  # 12 partitions
    # a record keeps its keys; a text becomes {"text": ...}
    rec = tag_bag(dask.bag.from_sequence([{"k": 1, "text": "Ada Lovelace"}, "Alan Turing"]), tokens=True).compute()
    assert rec[0]["k"] == 1 and rec[0]["entities"][0]["text"] == "Ada Lovelace" and "labels" in rec[0]
    assert rec[1]["text"] == "Alan Turing" and rec[1]["entities"][0]["end"] == 11


def _service_modules() -> list[str]:
    """The web-service packages this process has imported."""
    return sorted(m for m in sys.modules if m.split(".")[0] in ("flask", "prometheus_client", "service",
                                                                "marshmallow", "apispec", "werkzeug"))


def test_a_dask_worker_tags_without_loading_the_web_service(dask_client):
    """The bulk command's workers import model/ and bulk/ only: tagging a block loads
    neither Flask nor prometheus_client (nor any module of the service)."""
    from bulk.dask_api import tag_bag
    records = tag_bag(dask.bag.from_sequence(texts(40), npartitions=2)).compute()
    assert len(records) == 40 and any(r["entities"] for r in records)
    loaded = dask_client.run(_service_modules)
    assert len(loaded) == 2 and all(mods == [] for mods in loaded.values()), loaded


def test_the_summary_time_includes_the_cluster_start_up(tmp_path):
    """The closing line's seconds are the wall time of the whole run, start-up included."""
    src = write_jsonl(tmp_path / "in.jsonl", texts(50))
    r = nametag("tag", src, "-o", tmp_path / "out.jsonl", "--workers", "2", "--stats", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["wall_s"] >= stats["startup_s"] + stats["seconds"]
    said = float(re.search(r"names in ([\d.]+) s, start-up included", r.stderr).group(1))
    assert said == round(stats["wall_s"], 1)
