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
from model import heads
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
    assert size <= 45e6  # the vectors included: 40 MB (issue #10), then 45 MB with more words served (issue #18)
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


def _valid_one_type(path) -> bool:
    return path[0] != 2 and all(not (a == 0 and b == 2) for a, b in zip(path, path[1:]))


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


def test_viterbi_ties_go_to_the_lower_tag_id():
    """Log-probabilities from {0, -1, -2, -3} add up exactly, so many paths tie: of the
    best valid paths, best_path takes the one with the lowest tag last, then the lowest
    before it, and so on (each step prefers O, then B-PER, then I-PER)."""
    import itertools

    from model.decode import best_path
    rng = np.random.default_rng(2)
    values = [0.0, -1.0, -2.0, -3.0]
    for _ in range(400):
        log_p = [[values[v] for v in rng.integers(0, 4, size=3)] for _ in range(rng.integers(1, 6))]
        valid = [t for t in itertools.product(range(3), repeat=len(log_p))
                 if t[0] != 2 and all(not (a == 0 and b == 2) for a, b in zip(t, t[1:]))]
        total = {t: sum(log_p[i][k] for i, k in enumerate(t)) for t in valid}
        top = max(total.values())
        want = min((t for t in valid if total[t] == top), key=lambda t: t[::-1])
        assert best_path(log_p) == list(want), log_p
    assert best_path([[0.0, 0.0, -np.inf]]) == [0]  # O before B-PER
    assert best_path([[-1.0, 0.0, -np.inf], [-np.inf, 0.0, 0.0]]) == [1, 1]  # B-PER before I-PER


def test_the_lattice_keeps_a_first_name_that_argmax_drops():
    """argmax would say O, I-PER (a first name missed, the surname kept); on the
    lattice's marginals the O -> I-PER paths weigh nothing, so a threshold on them keeps
    the name whole, and no threshold starts a name with I-PER."""
    head = heads.get("softmax")
    probs = np.array([[0.5, 0.2, 0.3], [0.1, 0.1, 0.8], [0.9, 0.05, 0.05]])
    post = head.posteriors(probs, [0, 3])
    assert head.decode(probs, 0.5) == [1, 2, 0]
    assert post[0, 2] == 0.0 and post[0, 1] + post[0, 2] > 0.5  # no sentence-initial I-PER
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.dirichlet([1, 1, 1], size=rng.integers(1, 12))
        t = head.decode(p, rng.random())
        assert t[0] != 2 and all(not (a == 0 and b == 2) for a, b in zip(t, t[1:]))


def test_one_type_marginals_are_the_lattice_by_brute_force():
    """P(tag at t) = the weight of the valid paths through it over all valid paths'
    weight, a path weighing the product of its ŷ; and the NumPy recursion of any
    number of types gives the same for one type."""
    import itertools

    from model.decode import lattice_marginals, one_type_marginals, transitions
    rng = np.random.default_rng(1)
    for _ in range(200):
        p = rng.dirichlet([0.5, 0.5, 0.5], size=rng.integers(1, 7))
        want = np.zeros_like(p)
        for path in itertools.product(range(3), repeat=len(p)):
            if _valid_one_type(path):
                w = np.prod([p[i, k] for i, k in enumerate(path)])
                want[np.arange(len(p)), list(path)] += w
        want /= want.sum(axis=1, keepdims=True)
        np.testing.assert_allclose(np.array(one_type_marginals(p.tolist())), want, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(lattice_marginals(p, [0, len(p)], transitions(1)), want, rtol=1e-9, atol=1e-12)


def test_marginals_survive_probabilities_that_underflow():
    """A float32 softmax can round a probability to 0; the floor keeps every row a distribution."""
    head = heads.get("softmax")
    probs = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    post = head.posteriors(probs, [0, 3])
    assert np.isfinite(post).all() and np.allclose(post.sum(axis=1), 1.0)


def test_transitions_say_which_tag_may_follow_which():
    from model.decode import transitions
    t = transitions(2)  # O, B-0, I-0, B-1, I-1
    assert t.dtype == np.bool_
    assert t.astype(int).tolist() == [[1, 1, 0, 1, 0],
                                       [1, 1, 1, 1, 0],
                                       [1, 1, 1, 1, 0],
                                       [1, 1, 0, 1, 1],
                                       [1, 1, 0, 1, 1]]


def reference_threshold_tags_typed(p_name, threshold, probs):
    """threshold_tags_typed as its docstring says it, one token at a time."""
    tags, prev = [], None
    for t in range(len(probs)):
        if p_name[t] < threshold:
            tags.append(0)
            prev = None
            continue
        k = int(np.argmax([probs[t, 1 + 2 * j] + probs[t, 2 + 2 * j] for j in range((probs.shape[1] - 1) // 2)]))
        starts = prev != k or probs[t, 1 + 2 * k] > probs[t, 2 + 2 * k]
        tags.append(1 + 2 * k if starts else 2 + 2 * k)
        prev = k
    return tags


def test_threshold_tags_over_several_types():
    from model.decode import threshold_tags_typed
    probs = np.array([[0.1, 0.6, 0.2, 0.05, 0.05],   # in, type 0, B likelier: B-0
                      [0.1, 0.1, 0.7, 0.05, 0.05],   # in, type 0, I likelier: I-0
                      [0.1, 0.35, 0.35, 0.1, 0.1],   # type 0, B as likely as I: goes on, I-0
                      [0.1, 0.05, 0.05, 0.2, 0.6],   # in, type 1: a new entity, B-1
                      [0.1, 0.05, 0.05, 0.6, 0.2],   # type 1 again, B likelier: another B-1
                      [0.9, 0.02, 0.03, 0.02, 0.03],  # out: O
                      [0.5, 0.05, 0.05, 0.1, 0.3]])  # in (at the threshold), after O: B-1
    p_name = 1 - probs[:, 0]
    assert threshold_tags_typed(p_name, 0.5, probs) == [1, 2, 2, 3, 3, 0, 3]
    assert threshold_tags_typed(p_name, 0.95, probs) == [0] * 7
    rng = np.random.default_rng(5)
    for _ in range(300):
        probs = rng.dirichlet(np.ones(7), size=int(rng.integers(0, 9)))
        p_name, threshold = rng.random(len(probs)), float(rng.random())
        assert threshold_tags_typed(p_name, threshold, probs) == reference_threshold_tags_typed(p_name, threshold, probs)


def test_threshold_tags_and_spans():
    assert threshold_tags(np.array([0.9, 0.8, 0.1, 0.7]), 0.5) == [1, 2, 0, 1]
    assert threshold_tags(np.array([0.6, 0.5, 0.4999])) == [1, 2, 0]  # 0.5 by default, inclusive
    assert spans([1, 2, 0, 1, 1, 2]) == [(0, 2), (3, 4), (4, 6)]
