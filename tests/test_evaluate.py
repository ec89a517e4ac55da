"""The shipped default artifact and the evaluate CLI, scored on the real CoNLL-2003 files."""
import json
import subprocess
import sys

import numpy as np
import pytest
from seqeval.metrics import classification_report
from harness import DATA, DEFAULT_ARTIFACT, ROOT, SEED_TOKENS

from model.artifact import load
from model.data import read_corpus
from model.tags import TAGS
from model.decode import spans, threshold_tags, viterbi
from model.scoring import score
from model.tagger import Tagger



@pytest.fixture(scope="module")
def tagger():
    return Tagger(load(DEFAULT_ARTIFACT))


def raw_tags(path):
    """The file's own tag column, untouched (IOB1), one list per sentence."""
    out, cur = [], []
    for line in path.read_text().splitlines():
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if cur:
                out.append(cur)
            cur = []
        else:
            cur.append(cols[-1])
    return out + ([cur] if cur else [])


def run_evaluate(*args):
    return subprocess.run([sys.executable, "-m", "model.evaluate", *args], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)


def test_seed_example_exact(tagger):
    (t,) = tagger.tag_documents([SEED_TOKENS])
    assert t.labels == [1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
    assert t.spans == [(0, 2), (3, 5)]


def test_default_artifact_size_and_metadata():
    size = sum(p.stat().st_size for p in DEFAULT_ARTIFACT.iterdir())
    assert size <= 40 * 2**20  # issue #10: the vectors included
    meta = load(DEFAULT_ARTIFACT).meta
    assert meta["training"]["train_file"] == "conll2003/train.conll + wnut17/train.conll"
    assert meta["vectors"]["vectors_license"].startswith("PDDL-1.0") and len(meta["vectors"]["words"]) > 100_000
    assert meta["metrics"]["dev"]["f1"] == max(h["dev"]["f1"] for h in meta["history"])


def test_evaluate_cli_matches_seqeval_on_test_and_clears_the_bar(tagger):
    path = DATA / "conll2003" / "test.conll"
    r = run_evaluate("--artifact", str(DEFAULT_ARTIFACT), "--data", str(path), "--json")
    assert r.returncode == 0, r.stderr
    ours = json.loads(r.stdout)
    corpus = read_corpus(path)
    pred = [[TAGS[t] for t in x.tags] for x in tagger.tag_sentences(corpus.sentences, corpus.docs)]
    gold = raw_tags(path)  # IOB1 with every entity type: seqeval applies conlleval's rules itself
    ref = classification_report(gold, pred, output_dict=True, zero_division=0)["PER"]
    assert ours["precision"] == pytest.approx(ref["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], abs=1e-6)
    assert ours["f1"] == pytest.approx(ref["f1-score"], abs=1e-6)
    assert ours["n_gold"] == ref["support"] == 1617
    assert ours["f1"] >= 0.94  # the quality bar of the shipped model (issue #10)


def test_evaluate_cli_errors_and_text_output(tmp_path):
    data = tmp_path / "d.conll"
    data.write_text("Harry NNP I-NP I-PER\nPotter NNP I-NP I-PER\nmet VBD I-VP O\nParis NNP I-NP I-PER\n. . O O\n")
    r = run_evaluate("--artifact", str(DEFAULT_ARTIFACT), "--data", str(data), "--errors")
    assert r.returncode == 0, r.stderr
    assert "PER entities: precision" in r.stdout and "PER tokens:" in r.stdout
    misses = [line.split("\t") for line in r.stdout.splitlines() if line.startswith(("MISS", "FALSE"))]
    assert ["MISS", "1", "Paris"] in [m[:3] for m in misses]
    bad = run_evaluate("--artifact", str(tmp_path / "none"), "--data", str(data))
    assert bad.returncode == 2 and "no such artifact directory" in bad.stderr


def test_score_counts():
    gold = [[1, 2, 0, 1], [0, 0]]
    pred = [[1, 2, 0, 0], [1, 0]]
    s = score(gold, pred)
    assert (s.n_gold, s.n_pred, s.n_correct) == (2, 2, 1)
    assert s.f1 == pytest.approx(0.5)
    assert s.token_f1 == pytest.approx(2 * (2 / 3) * (2 / 3) / (4 / 3))


def test_viterbi_never_starts_a_name_with_i():
    # argmax would say O, I-PER (a first name missed, the surname kept)
    probs = np.array([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]])
    tags = viterbi(probs)
    assert tags == [1, 2, 0]
    assert viterbi(np.array([[0.1, 0.2, 0.7]])) == [1]
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.dirichlet([1, 1, 1], size=rng.integers(1, 12))
        t = viterbi(p)
        assert t[0] != 2 and all(not (a == 0 and b == 2) for a, b in zip(t, t[1:]))


def test_viterbi_is_the_best_valid_path_by_brute_force():
    import itertools
    rng = np.random.default_rng(1)
    for _ in range(300):
        p = rng.dirichlet([0.5, 0.5, 0.5], size=rng.integers(1, 7))
        valid = [t for t in itertools.product(range(3), repeat=len(p))
                 if t[0] != 2 and all(not (a == 0 and b == 2) for a, b in zip(t, t[1:]))]
        best = max(valid, key=lambda t: sum(np.log(p[i, k]) for i, k in enumerate(t)))
        assert viterbi(p) == list(best)


def test_threshold_tags_and_spans():
    assert threshold_tags(np.array([0.9, 0.8, 0.1, 0.7]), 0.5) == [1, 2, 0, 1]
    assert spans([1, 2, 0, 1, 1, 2]) == [(0, 2), (3, 4), (4, 6)]
