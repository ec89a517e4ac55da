"""python -m model.split: a CoNLL file in two seeded halves of whole documents."""
from __future__ import annotations

import subprocess
import sys

from model.data import read_conll
from model.split import documents, halves

from harness import DATA, ROOT


def _doc(k: int, n_sentences: int = 2) -> str:
    return "-DOCSTART- -X- O O\n\n" + "".join(f"Word{k}_{s} NNP I-NP I-PER\nsaid VBD I-VP O\n\n" for s in range(n_sentences))


def test_halves_keep_documents_whole_and_every_sentence_once():
    text = "".join(_doc(k, 1 + k % 3) for k in range(10))
    docs = documents(text)
    assert len(docs) == 10 and all(d[0].startswith("-DOCSTART-") for d in docs)
    a, b = halves(text, 0.5, seed=0)
    assert halves(text, 0.5, seed=0) == (a, b)  # the same seed, the same halves
    assert halves(text, 0.5, seed=1) != (a, b)
    da, db = documents(a), documents(b)
    assert len(da) == len(db) == 5
    assert sorted(map(tuple, da + db)) == sorted(map(tuple, docs))  # each document once, whole
    order = [docs.index(d) for d in da]
    assert order == sorted(order)  # in the file's order
    assert len(documents(halves(text, 0.3, seed=0)[0])) == 3


def test_a_file_without_docstart_has_a_document_per_sentence(tmp_path):
    text = "".join(f"w{k}\tB-person\nhi\tO\n\n" for k in range(7))
    assert len(documents(text)) == 7
    a, b = halves(text)
    (tmp_path / "a.conll").write_text(a, encoding="utf-8")
    (tmp_path / "b.conll").write_text(b, encoding="utf-8")
    n = [len(read_conll(tmp_path / f).sentences) for f in ("a.conll", "b.conll")]
    assert n == [3, 4]


def test_the_cli_splits_conll_dev_as_the_conll4_recipe_reads_it(tmp_path):
    """The real CoNLL-2003 dev file: 216 documents, 108 each side, every sentence kept."""
    run = subprocess.run([sys.executable, "-m", "model.split", str(DATA / "conll2003" / "dev.conll"),
                          "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    whole = read_conll(DATA / "conll2003" / "dev.conll", types=None)
    parts = [read_conll(tmp_path / f"dev-{h}.conll", types=None) for h in "ab"]
    assert [len(set(p.docs)) for p in parts] == [108, 108]
    assert sorted(map(tuple, whole.sentences)) == sorted(map(tuple, parts[0].sentences + parts[1].sentences))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev-a.conll", "dev-b.conll"]  # no temporary file left


def test_the_cli_refuses_what_it_cannot_split(tmp_path):
    one = tmp_path / "one.conll"
    one.write_text(_doc(1), encoding="utf-8")
    out = tmp_path / "out"
    for args, says in (([str(one)], "too few to split"), ([str(tmp_path / "missing.conll")], "No such file"),
                       ([str(one), "--share", "1.5"], "--share must be in (0, 1)")):
        run = subprocess.run([sys.executable, "-m", "model.split", *args, "--out", str(out)], cwd=ROOT,
                             capture_output=True, text=True)
        assert run.returncode == 2 and says in run.stderr, (args, run.stderr)
        assert not out.exists()


def test_locate_finds_shared_files_and_makes_a_missing_half_under_build(tmp_path, monkeypatch):
    import model.split as split
    data, build = tmp_path / "data", tmp_path / "build"
    (data / "corpus").mkdir(parents=True)
    text = "".join(_doc(k) for k in range(6))
    (data / "corpus" / "dev.conll").write_text(text, encoding="utf-8")
    monkeypatch.setattr(split, "DATA", data)
    monkeypatch.setattr(split, "BUILD", build)
    assert split.locate("corpus/dev.conll") == data / "corpus" / "dev.conll"
    assert not build.exists()
    b = split.locate("corpus/dev-b.conll")
    assert b == build / "corpus" / "dev-b.conll"
    assert b.read_text(encoding="utf-8") == halves(text, 0.5, 0)[1]  # the halves make writes
    assert split.locate("corpus/dev-a.conll").read_text(encoding="utf-8") == halves(text, 0.5, 0)[0]
    # neither a shared file nor a half of one: the shared path, for the caller to report
    assert split.locate("corpus/test-a.conll") == data / "corpus" / "test-a.conll"
    assert split.locate("corpus/other.conll") == data / "corpus" / "other.conll"


def test_the_shipped_models_training_files_are_found_by_the_names_they_record():
    """What fine-tuning's replay reads: each shipped model's training files, found by name
    (a half of CoNLL-2003 dev made under build/ when missing), with the recorded checksums."""
    import hashlib
    import json

    from harness import DEFAULT_ARTIFACT, ROOT, locate
    for art in (DEFAULT_ARTIFACT, ROOT / "artifacts" / "conll4"):
        training = json.loads((art / "meta.json").read_text())["training"]
        paths = [locate(n) for n in training["train_file"].split(" + ")]
        assert [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths] == training["train_sha256"].split(), art
