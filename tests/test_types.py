"""Entity types: the tag set from the data, typed decoding and scoring, JSONL annotations,
`nametag train` (bad input, the JSONL bar), and a model of several types served end to end."""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from model import heads
from model.annotations import read
from model.data import DataError, read_conll
from model.decode import best_path, best_path_typed, lattice_marginals, log_probs, one_type_marginals, transitions, typed_spans
from model.redact import Operator, Pseudonyms, redact
from model.names import Span
from model.scoring import score
from model.tags import tags_of
from service import create_app, schemas

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "conll2003"
CONLL4 = ROOT / "artifacts" / "conll4"
NAMETAG = [sys.executable, "-m", "bulk"]
MERKEL = "Angela Merkel flew to Paris to meet Siemens executives."


def valid(path: list[int]) -> bool:
    return all(transitions(4)[a, b] for a, b in zip([0] + path, path))


def every_valid_path(seed: int):
    """ŷ of 4 tokens over 4 types, drawn from seed, and every valid path: brute force over 9^4."""
    probs = np.random.default_rng(seed).dirichlet(np.ones(9), size=4)
    return probs, [p for p in itertools.product(range(9), repeat=4) if valid(list(p))]


@pytest.mark.parametrize("seed", range(10))
def test_typed_viterbi_of_one_type_is_the_person_models(seed):
    probs = np.random.default_rng(seed).dirichlet(np.ones(3), size=12)
    assert best_path_typed(np.log(probs), transitions(1)) == best_path(log_probs(probs))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("bias", [-1.0, 0.5, 2.0])
def test_an_entity_bias_is_a_prior_per_entity_token_by_brute_force(seed, bias):
    """The softmax head with an entity bias decodes the valid path maximising
    sum log ŷ + bias x (its tokens inside an entity), with one type as with four."""
    probs, paths = every_valid_path(seed)
    log_p = np.log(probs)
    brute = max(paths, key=lambda p: sum(log_p[t, y] + bias * (y > 0) for t, y in enumerate(p)))
    assert heads.get("softmax", 4, bias).decode(probs) == list(brute)
    one = np.random.default_rng(seed).dirichlet(np.ones(3), size=6)
    best_one = max((p for p in itertools.product(range(3), repeat=6) if all(
                    transitions(1)[a, b] for a, b in zip((0, *p), p))),
                   key=lambda p: sum(np.log(one[t, y]) + bias * (y > 0) for t, y in enumerate(p)))
    assert heads.get("softmax", 1, bias).decode(one) == list(best_one)


@pytest.mark.parametrize("seed", range(20))
def test_typed_viterbi_and_marginals_are_the_lattice_by_brute_force(seed):
    """The best valid path, and each tag's share of the valid paths' weight."""
    probs, paths = every_valid_path(seed)
    log_p = np.log(probs)
    brute = max(paths, key=lambda p: sum(log_p[t, y] for t, y in enumerate(p)))
    assert best_path_typed(log_p, transitions(4)) == list(brute)
    want = np.zeros_like(probs)
    for p in paths:
        want[np.arange(4), list(p)] += np.prod(probs[np.arange(4), list(p)])
    want /= want.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(lattice_marginals(probs, [0, 4], transitions(4)), want, rtol=1e-9)


@pytest.mark.parametrize("seed", range(10))
def test_typed_marginals_of_one_type_are_the_person_models(seed):
    probs = np.random.default_rng(seed).dirichlet(np.ones(3), size=12)
    np.testing.assert_allclose(lattice_marginals(probs, [0, 12], transitions(1)),
                               np.array(one_type_marginals(probs.tolist())), rtol=1e-9)


def test_scores_per_type_match_seqeval():
    from seqeval.metrics import classification_report

    types = ("PER", "LOC", "ORG")
    tags = tags_of(types)
    rng = np.random.default_rng(0)
    gold = [list(rng.integers(0, 7, size=int(rng.integers(1, 12)))) for _ in range(300)]
    pred = [[t if rng.random() < 0.7 else int(rng.integers(0, 7)) for t in g] for g in gold]
    s = score(gold, pred, types)
    want = classification_report([[tags[t] for t in g] for g in gold], [[tags[t] for t in p] for p in pred],
                                 output_dict=True)
    for typ in types:
        assert s.per_type[typ]["f1"] == pytest.approx(want[typ]["f1-score"], abs=1e-6)
        assert s.per_type[typ]["n_gold"] == want[typ]["support"]
    assert s.f1 == pytest.approx(want["micro avg"]["f1-score"], abs=1e-6)


def test_conll_reader_keeps_the_types_asked_for(tmp_path):
    f = tmp_path / "x.conll"
    f.write_text("John B-PER\nSmith I-PER\nin O\nNew I-LOC\nYork I-LOC\nfor O\nAcme B-org\n\n")
    every = read_conll(f, types=None)
    assert every.types == ("PER", "LOC", "ORG")
    assert [typed_spans(t) for t in every.tags] == [[(0, 2, 0), (3, 5, 1), (6, 7, 2)]]
    assert read_conll(f).tags == [[1, 2, 0, 0, 0, 0, 0]]  # the person model's reading, as ever
    mapped = read_conll(f, types=("PER", "PLACE"), label_map={"LOC": "PLACE"})
    assert typed_spans(mapped.tags[0]) == [(0, 2, 0), (3, 5, 1)]


def test_the_three_span_shapes_read_alike(tmp_path):
    text = "Angela Merkel visited Siemens in Paris ."
    rows = [{"text": text, "spans": [{"start": 0, "end": 13, "label": "PERSON"}, {"start": 33, "end": 38, "label": "LOC"}]},
            {"text": text, "label": [[0, 13, "PER"], [33, 38, "LOC"]]},
            {"data": {"text": text}, "annotations": [{"result": [
                {"value": {"start": 0, "end": 13, "labels": ["PER"]}},
                {"value": {"start": 33, "end": 38, "labels": ["LOC"]}}]}]}]
    f = tmp_path / "a.jsonl"
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    c = read(f, types=None).corpus
    assert c.types == ("PER", "LOC")
    assert c.tags == [[1, 2, 0, 0, 0, 3, 0]] * 3


BAD = [
    ('{"text": "Angela Merkel flew", "spans": [{"start": 0, "end": 12, "label": "PER"}]}', "token boundaries"),
    ('{"text": "Angela Merkel flew", "label": [[0, 13, "PER"], [7, 18, "PER"]]}', "overlaps"),
    ('{"text": "Angela", "spans": [{"start": 0, "end": 60, "label": "PER"}]}', "bad offsets"),
    ('{"text": "Angela Merkel", "spans": [', "invalid JSON"),
]


def test_bad_jsonl_refuses_with_file_and_line_and_writes_nothing(tmp_path):
    good = '{"text": "Bob Smith ran .", "spans": [{"start": 0, "end": 9, "label": "PER"}]}'
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join([good] + [b for b, _ in BAD]) + "\n")
    out = tmp_path / "model"
    r = subprocess.run([*NAMETAG, "train", "--train", str(f), "--dev-split", "0.5", "--out", str(out),
                        "--epochs", "1", "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr
    for lineno, (_, reason) in enumerate(BAD, 2):
        assert f"{f}:{lineno}: " in r.stderr and reason in r.stderr
    assert "Traceback" not in r.stderr and not out.exists()
    skipped = read(f, skip_bad=True)
    assert len(skipped.skipped) == len(BAD) and len(skipped.corpus) == 1


@pytest.mark.parametrize("content, message", [
    (b"", "no sentences"),
    (b'{"text": "nobody here", "spans": []}\n', "no entities"),
    ('{"text": "Zoë Smith", "spans": [{"start": 0, "end": 9, "label": "PER"}]}\n'.encode("latin-1"), "not UTF-8"),
    (('{"text": "' + "a " * 60_000 + '", "spans": []}\n').encode(), "over the service's limit"),
])
def test_bad_training_files_get_one_clear_line(tmp_path, content, message):
    f = tmp_path / "t.jsonl"
    f.write_bytes(content)
    r = subprocess.run([*NAMETAG, "train", "--train", str(f), "--dev", str(f), "--out", str(tmp_path / "m")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not (tmp_path / "m").exists()


def test_a_corrupt_from_artifact_is_refused(tmp_path):
    art = tmp_path / "art"
    art.mkdir()
    (art / "meta.json").write_text("{not json")
    (art / "weights.npz").write_bytes(b"PK")
    f = tmp_path / "t.jsonl"
    f.write_text('{"text": "Bob Smith ran .", "spans": [{"start": 0, "end": 9, "label": "PER"}]}\n' * 4)
    r = subprocess.run([*NAMETAG, "train", "--train", str(f), "--dev", str(f), "--from", str(art),
                        "--out", str(tmp_path / "m")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_redaction_names_the_type_and_numbers_pseudonyms_per_type():
    text = "Ann Lee saw Paris and Rome, then Ann Lee left Paris."
    spans = [Span(0, 7, 0.9), Span(12, 17, 0.9, label="LOC"), Span(22, 26, 0.9, label="LOC"),
             Span(33, 40, 0.9), Span(46, 51, 0.9, label="LOC")]
    assert redact(text, spans, Operator()).text == "[PERSON] saw [LOC] and [LOC], then [PERSON] left [LOC]."
    got = redact(text, spans, Operator("pseudonym"), Pseudonyms()).text
    assert got == "<PERSON_1> saw <LOC_1> and <LOC_2>, then <PERSON_1> left <LOC_1>."


def conll_to_prodigy(src: Path, dst: Path, n: int) -> None:
    """The first n sentences of a CoNLL file as Prodigy-style JSONL: the tokens joined by
    single spaces, each entity a character span with its type."""
    c = read_conll(src, types=None)
    with open(dst, "w", encoding="utf-8") as fh:
        for toks, tags in list(zip(c.sentences, c.tags))[:n]:
            starts = list(itertools.accumulate([0] + [len(t) + 1 for t in toks[:-1]]))
            spans = [{"start": starts[s], "end": starts[e - 1] + len(toks[e - 1]), "label": c.types[k]}
                     for s, e, k in typed_spans(tags)]
            fh.write(json.dumps({"text": " ".join(toks), "spans": spans}) + "\n")


@pytest.mark.slow
def test_jsonl_with_new_types_trains_and_serves(tmp_path):
    """The bar: 2,000 CoNLL-2003 train sentences and 300 dev sentences as Prodigy JSONL,
    two epochs, under 5 minutes; served, it finds Angela Merkel (PER) and Paris (LOC)."""
    train, dev, out = tmp_path / "T.jsonl", tmp_path / "D.jsonl", tmp_path / "model"
    conll_to_prodigy(DATA / "train.conll", train, 2000)
    conll_to_prodigy(DATA / "dev.conll", dev, 300)
    r = subprocess.run([*NAMETAG, "train", "--train", str(train), "--dev", str(dev), "--out", str(out),
                        "--epochs", "2", "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "micro" in r.stderr and "LOC" in r.stderr  # the summary table, one row per type
    meta = json.loads((out / "meta.json").read_text())
    assert meta["config"]["types"] == ["PER", "LOC", "MISC", "ORG"]
    assert meta["training"]["train_sha256"] and meta["labels"][:3] == ["O", "B-PER", "I-PER"]
    client = create_app({"TESTING": True, "ARTIFACT": str(out)}).test_client()
    found = {(e["text"], e["label"]) for e in client.post("/tag", json={"text": MERKEL}).get_json()["entities"]}
    assert {("Angela Merkel", "PER"), ("Paris", "LOC")} <= found
    only = client.post("/tag", json={"text": MERKEL, "entities": ["LOC"]}).get_json()
    assert [(e["text"], e["label"]) for e in only["entities"]] == [("Paris", "LOC")]


@pytest.fixture(scope="module")
def conll4():
    if not CONLL4.exists():
        pytest.fail(f"{CONLL4} is missing: make train-conll4")
    return create_app({"TESTING": True, "ARTIFACT": str(CONLL4)}).test_client()


def test_conll4_over_http(conll4):
    info = conll4.get("/model").get_json()
    assert info["types"] == ["PER", "LOC", "MISC", "ORG"] and info["n_y"] == 9
    assert info["networks"] == 6 and schemas.model_info.validate(info) == {}  # six networks tagging together
    r = conll4.post("/tag", json={"text": MERKEL}).get_json()
    by_text = {e["text"]: e["label"] for e in r["entities"]}
    assert by_text["Angela Merkel"] == "PER" and by_text["Paris"] == "LOC"
    assert r["labels"][:3] == [1, 1, 0] and sum(r["labels"]) == 2  # labels: inside a person's name only
    bad = conll4.post("/tag", json={"text": MERKEL, "entities": ["LOC", "GPE"]})
    assert bad.status_code == 422
    assert "GPE" in bad.get_json()["errors"]["entities"][0] and "PER, LOC, MISC, ORG" in bad.get_json()["errors"]["entities"][0]
    red = conll4.post("/redact", json={"text": MERKEL, "entities": ["PER", "LOC"]}).get_json()
    assert red["text"].startswith("[PERSON] flew to [LOC] to meet")
    pseudo = conll4.post("/redact", json={"text": "Paris and Rome. Paris again.", "operator": "pseudonym",
                                          "entities": ["LOC"]}).get_json()
    assert pseudo["text"] == "<LOC_1> and <LOC_2>. <LOC_1> again."


def test_conll4_meets_its_bar_on_conll_test_one_sentence_per_input():
    """artifacts/conll4's bar: micro-F1 over PER, LOC, ORG and MISC >= 0.88 on CoNLL-2003 test,
    each sentence its own input as POST /tag tags it (bench.quality.by_sentence), exact spans
    and types by seqeval's rules; and every type found."""
    from bench.quality import by_sentence
    from model.artifact import load
    from model.data import read_corpus
    from model.tagger import Tagger

    art = load(CONLL4)
    corpus = read_corpus(DATA / "test.conll", types=art.types)
    s = score(corpus.tags, by_sentence(Tagger(art), corpus), art.types)
    assert s.f1 >= 0.88, s.to_json()
    assert all(v["f1"] > 0.75 for v in s.to_json()["per_type"].values()), s.to_json()


@pytest.mark.slow
def test_conll4_under_gunicorn(start_gunicorn):
    server = start_gunicorn({"NAMETAG_ARTIFACT": str(CONLL4)})
    server.wait_ready()
    r = requests.post(server.url + "/tag", json={"text": MERKEL, "entities": ["LOC"]}, timeout=30)
    assert r.status_code == 200 and [(e["text"], e["label"]) for e in r.json()["entities"]] == [("Paris", "LOC")]
    assert requests.get(server.url + "/model", timeout=30).json()["types"] == ["PER", "LOC", "MISC", "ORG"]
