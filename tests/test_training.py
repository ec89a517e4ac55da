"""train.py end to end on tiny corpora: learning, determinism, bad input, atomic output."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from harness import ROOT
from tiny_model import tiny_conll, train_tiny

from model.artifact import load
from model.data import read_corpus
from model.decode import spans
from model.finetune import LR as FINETUNE_LR
from model.network import Config
from model.tagger import Tagger
from model.training import TrainConfig, evaluate
from model.vectors import read_glove


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_conll(tmp_path_factory.mktemp("tiny") / "tiny.conll")


@pytest.mark.parametrize("head,bi,loss", [("softmax", True, "token"), ("softmax", False, "token"),
                                         ("sigmoid", True, "token"), ("softmax", True, "path")])
def test_tiny_corpus_learned_exactly(tmp_path, corpus, head, bi, loss):
    out = tmp_path / "m"
    r = train_tiny(out, corpus, "--head", head, "--bidirectional" if bi else "--no-bidirectional",
                   "--epochs", "8", "--lr", "0.02", "--dropout", "0", "--word-dropout", "0", "--loss", loss)
    assert r.returncode == 0, r.stderr
    art = load(out)
    assert json.loads((out / "meta.json").read_text())["training"]["flags"].get("loss", "token") == loss
    assert (art.config.head, art.config.bidirectional) == (head, bi)
    s = evaluate(Tagger(art), read_corpus(corpus))
    if head == "softmax":
        assert s.f1 == 1.0  # two adjacent names are two names only with B-PER
    else:
        assert s.token_f1 == 1.0  # the sigmoid head cannot split touching names
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    meta = json.loads((out / "meta.json").read_text())
    assert [h["epoch"] for h in meta["history"]] == list(range(1, len(meta["history"]) + 1))
    assert meta["training"]["train_sha256"] == meta["training"]["dev_sha256"]


def test_same_seed_same_bytes(tmp_path, corpus):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "1"), (b, "1"), (c, "2")):
        assert train_tiny(out, corpus, "--seed", seed, "--name", "tiny").returncode == 0
    for f in ("weights.npz", "meta.json"):
        assert (a / f).read_bytes() == (b / f).read_bytes()
    assert (a / "weights.npz").read_bytes() != (c / "weights.npz").read_bytes()


@pytest.mark.parametrize("content,message", [
    (None, "cannot read"),
    ("", "no sentences"),
    ("Paris NNP I-NP I-LOC\n", "no person labels"),
    ("Peter NNP I-NP I-PER\nbroken\n", "bad.conll:2: expected"),
])
def test_bad_training_data_exits_2_with_one_line(tmp_path, corpus, content, message):
    bad = tmp_path / "bad.conll"
    if content is not None:
        bad.write_text(content)
    r = train_tiny(tmp_path / "m", bad)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "bad.conll" in lines[0], r.stderr
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("flag", [["--epochs", "0"], ["--dropout", "1.5"], ["--lr", "-1"], ["--head", "crf"],
                                  ["--tune-vectors"], ["--loss", "path", "--head", "sigmoid"],
                                  ["--entity-bias", "1", "--head", "sigmoid"], ["--entity-bias", "nan"]])
def test_bad_flags_exit_2(tmp_path, corpus, flag):
    r = train_tiny(tmp_path / "m", corpus, *flag)
    assert r.returncode == 2 and "error" in r.stderr


def test_retraining_replaces_the_artifact_whole(tmp_path, corpus):
    out = tmp_path / "m"
    assert train_tiny(out, corpus, "--seed", "1").returncode == 0
    first = (out / "weights.npz").read_bytes()
    assert train_tiny(out, corpus, "--seed", "3").returncode == 0
    assert (out / "weights.npz").read_bytes() != first
    load(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no temporary leftovers


def test_word_dropout_and_viterbi_give_valid_spans(tmp_path, corpus):
    out = tmp_path / "m"
    assert train_tiny(out, corpus).returncode == 0
    tagger = Tagger(load(out))
    for t in tagger.tag_sentences([["Smith"], ["met", "Anna"], ["x"] * 30]):
        assert all(not (b == 2 and a == 0) for a, b in zip([0] + t.tags, t.tags))
        assert np.all((np.array(t.scores) >= 0) & (np.array(t.scores) <= 1))
        assert spans(t.tags) == t.spans


def test_progress_bar_shows_loss_and_dev_f1_per_epoch(tmp_path, corpus):
    r = subprocess.run([sys.executable, str(ROOT / "train.py"), "--train", str(corpus), "--dev", str(corpus),
                        "--out", str(tmp_path / "p"), "--names-dir", "none", "--n-a", "8", "--epochs", "2",
                        "--min-feature", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for epoch in (1, 2):
        assert any(f"epoch {epoch}/2: 100%" in part and "dev_f1=" in part and "loss=" in part
                   for part in r.stderr.split("\r")), r.stderr


def test_the_environments_blas_threads_cannot_change_the_bytes(tmp_path, corpus):
    """train.py pins BLAS itself (threadpoolctl): OPENBLAS/OMP_NUM_THREADS=2 in the
    environment gives the same bytes as 1, and meta.json records the pinned pool."""
    import os

    outs = []
    for threads in ("1", "2"):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        out = tmp_path / f"t{threads}"
        r = train_tiny(out, corpus, "--n-a", "96", "--vectors", "2000", "--name", "t", env=env)
        assert r.returncode == 0, r.stderr
        outs.append(out)
    assert (outs[0] / "weights.npz").read_bytes() == (outs[1] / "weights.npz").read_bytes()
    blas = json.loads((outs[1] / "meta.json").read_text())["training"]["blas"]
    assert blas and all(b["num_threads"] == 1 for b in blas)
    assert all(b["internal_api"] and b["version"] and "architecture" in b for b in blas)


def test_vectors_augmentation_and_two_corpora(tmp_path, corpus):
    """--vectors, case augmentation, mention replacement (needs the name lists) and
    two training files; the artifact loads with its vectors and tags lower case too."""
    from harness import DATA

    second = tiny_conll(tmp_path / "second.conll", n=20, seed=5)
    out = tmp_path / "v"
    r = train_tiny(out, corpus, "--train", str(corpus), str(second), "--vectors", "5000", "--epochs", "6",
                   "--lr", "0.02", "--p-lower", "0.3", "--p-upper", "0.2", "--p-replace", "0.5",
                   "--p-solo", "0.5", "--names-dir", str(DATA / "names"))
    assert r.returncode == 0, r.stderr
    art = load(out)
    assert art.config.n_g == 50 and len(art.vectors.words) >= 5000
    meta = json.loads((out / "meta.json").read_text())
    assert meta["training"]["train_file"] == f"{corpus.parent.name}/tiny.conll + {tmp_path.name}/second.conll"
    assert meta["training"]["flags"]["p_replace"] == 0.5
    t = Tagger(art).tag_documents([["anna", "smith", "met", "the", "man", "boris", "novak", "."]])[0]
    assert t.labels == [1, 1, 0, 0, 0, 1, 1, 0]


def test_tune_vectors_changes_only_the_training_words_rows(tmp_path, corpus):
    """--tune-vectors: the rows of the words training saw are fine-tuned and stored
    re-quantized (the loader verifies them as any artifact's); every other row, row 0
    (no vector) included, keeps the frozen run's bytes, i.e. GloVe's."""
    from model.vectors import key

    frozen, tuned = tmp_path / "frozen", tmp_path / "tuned"
    for out, flag in ((frozen, "--no-tune-vectors"), (tuned, "--tune-vectors")):
        r = train_tiny(out, corpus, "--vectors", "2000", "--lr", "0.02", flag)
        assert r.returncode == 0, r.stderr
    a, b = load(frozen), load(tuned)
    assert a.vectors.words == b.vectors.words
    assert json.loads((tuned / "meta.json").read_text())["training"]["flags"]["tune_vectors"] is True
    seen = {b.vectors.index[key(w)] for s in read_corpus(corpus).sentences for w in s if key(w) in b.vectors.index}
    changed = set(np.flatnonzero((a.vectors.G_q != b.vectors.G_q).any(axis=1)
                                 | (a.vectors.G_scale != b.vectors.G_scale)[:, 0]).tolist())
    assert changed <= seen and len(changed) >= 0.9 * len(seen) > 0
    assert not b.vectors.G_q[0].any() and b.vectors.G_scale[0, 0] == 0
    s = evaluate(Tagger(b), read_corpus(corpus))
    assert s.f1 > 0.5


def test_serve_vectors_adds_words_after_training_and_moves_no_weight(tmp_path, corpus):
    """--serve-vectors: the same weights as the run without it, the training vocabulary's
    rows first and unchanged, then the other most frequent GloVe words; recorded in the flags."""
    plain, served = tmp_path / "plain", tmp_path / "served"
    for out, extra in ((plain, ()), (served, ("--serve-vectors", "3000"))):
        r = train_tiny(out, corpus, "--vectors", "2000", *extra)
        assert r.returncode == 0, r.stderr
    a, b = load(plain), load(served)
    for name, value in a.params.items():
        np.testing.assert_array_equal(value, b.params[name], err_msg=name)
    n = len(a.vectors.words)
    assert b.vectors.words[:n] == a.vectors.words and len(b.vectors.words) > n
    np.testing.assert_array_equal(b.vectors.G_q[:n + 1], a.vectors.G_q)
    assert set(b.vectors.words) == set(a.vectors.words) | set(read_glove()[0][:3000])
    meta = json.loads((served / "meta.json").read_text())
    assert meta["training"]["flags"]["serve_vectors"] == 3000
    assert "serve_vectors" not in json.loads((plain / "meta.json").read_text())["training"]["flags"]
    assert "added after training" in r.stderr


@pytest.mark.parametrize("flags, message", [
    (("--serve-vectors", "3000"), "--serve-vectors needs --vectors"),
    (("--vectors", "2000", "--serve-vectors", "2000"), "larger than --vectors"),
    (("--vectors", "2000", "--serve-vectors", "-1"), "larger than --vectors"),
    (("--serve-vectors", "3000", "--from", str(ROOT / "artifacts" / "default")), "trains from scratch"),
])
def test_serve_vectors_refusals(tmp_path, corpus, flags, message):
    r = train_tiny(tmp_path / "m", corpus, *flags)
    assert r.returncode == 2 and message in r.stderr
    assert not (tmp_path / "m").exists()


def test_replacement_without_name_lists_is_refused(tmp_path, corpus):
    r = train_tiny(tmp_path / "m", corpus, "--p-replace", "0.5")
    assert r.returncode == 2 and "name lists" in r.stderr
    assert not (tmp_path / "m").exists()


def test_synth_share_adds_generated_documents(tmp_path, corpus):
    """--synth-share mixes model.synth's documents into training (recorded in the meta);
    without it the meta has no trace of them; without the name lists it is refused."""
    from harness import DATA

    out = tmp_path / "s"
    r = train_tiny(out, corpus, "--synth-share", "0.5", "--epochs", "2", "--names-dir", str(DATA / "names"))
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["training"]["synth"]["share"] == 0.5 and meta["training"]["synth"]["documents"] > 0
    n = int(re.search(r"train: (\d+) sentences", r.stderr).group(1))
    assert n >= 1.5 * len(read_corpus(corpus))  # the tiny corpus, plus half as many units again
    r = train_tiny(tmp_path / "m", corpus, "--synth-share", "0.5")
    assert r.returncode == 2 and "name lists" in r.stderr
    r = train_tiny(tmp_path / "m", corpus, "--synth-share", "1.5")
    assert r.returncode == 2 and "--synth-share must be in [0, 1]" in r.stderr


def test_chars_learn_and_fine_tune(tmp_path, corpus):
    """--chars adds the character cell: recorded in meta.json, the tiny corpus learned;
    fine-tuning (--from) keeps it, and a model without it fine-tunes without it."""
    out, tuned = tmp_path / "c", tmp_path / "t"
    r = train_tiny(out, corpus, "--chars", "4", "--epochs", "8", "--lr", "0.02", "--dropout", "0",
                   "--word-dropout", "0")
    assert r.returncode == 0, r.stderr
    art = load(out)
    assert art.config.n_c == 4 and art.config.n_ch == art.tables.n_ch > 2
    meta = json.loads((out / "meta.json").read_text())
    assert meta["training"]["flags"]["n_c"] == 4 and "n_ch" not in meta["training"]["flags"]
    assert evaluate(Tagger(art), read_corpus(corpus)).f1 == 1.0
    r = train_tiny(tuned, corpus, "--from", str(out), "--replay", "0", "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert load(tuned).config.n_c == 4 and load(tuned).tables.chars == art.tables.chars
    plain, plain_tuned = tmp_path / "p", tmp_path / "pt"
    assert train_tiny(plain, corpus, "--epochs", "1").returncode == 0
    r = train_tiny(plain_tuned, corpus, "--from", str(plain), "--replay", "0", "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert load(plain_tuned).config.n_c == 0 and "W_cx" not in load(plain_tuned).params


def test_distillation_learns_the_teachers_answers(tmp_path, corpus):
    """--teachers with --distill 1: the targets are the teachers' output, not the gold tags.
    The teacher learned a convention of its own (only the second name of each sentence is a
    name); the student, trained on the file that marks both, finds what the teacher finds."""
    lines = corpus.read_text().splitlines()
    second_only, seen = [], 0
    for line in lines:
        if not line.strip():
            seen = 0
        elif line.endswith("I-PER"):
            seen += 1
            if seen <= 2:
                line = line[: -len("I-PER")] + "O"
        second_only.append(line)
    taught = tmp_path / "second.conll"
    taught.write_text("\n".join(second_only) + "\n")
    exact = ("--epochs", "8", "--lr", "0.02", "--dropout", "0", "--word-dropout", "0")
    teacher, student = tmp_path / "teacher", tmp_path / "student"
    assert train_tiny(teacher, taught, *exact).returncode == 0
    assert evaluate(Tagger(load(teacher)), read_corpus(taught)).f1 == 1.0
    r = train_tiny(student, corpus, *exact, "--teachers", str(teacher), "--distill", "1")
    assert r.returncode == 0, r.stderr
    assert evaluate(Tagger(load(student)), read_corpus(taught)).f1 == 1.0
    meta = json.loads((student / "meta.json").read_text())
    assert meta["training"]["teachers"] == [{"name": "teacher", "version": load(teacher).version}]
    assert meta["training"]["flags"]["distill"] == 1.0


@pytest.mark.parametrize("flags,message", [
    (["--distill", "0.5"], "--distill and --teachers go together"),
    (["--distill", "1.5", "--teachers", "x"], "--distill must be in [0, 1]"),
    (["--distill", "0.5", "--teachers", "{missing}"], "missing"),
    (["--distill", "0.5", "--teachers", "{sigmoid}"], "a teacher finds PER with the sigmoid head"),
])
def test_bad_teachers_exit_2_before_training(tmp_path, corpus, flags, message):
    sigmoid = tmp_path / "sigmoid"
    if "{sigmoid}" in flags:
        assert train_tiny(sigmoid, corpus, "--head", "sigmoid", "--epochs", "1").returncode == 0
    flags = [f.format(missing=tmp_path / "missing", sigmoid=sigmoid) for f in flags]
    r = train_tiny(tmp_path / "m", corpus, *flags)
    assert r.returncode == 2 and message in r.stderr, r.stderr
    assert not (tmp_path / "m").exists()


def test_fine_tuning_keeps_the_artifacts_loss_and_bias_and_slows_down_unless_told(tmp_path, corpus):
    base = tmp_path / "base"
    assert train_tiny(base, corpus, "--loss", "path", "--entity-bias", "0.5", "--epochs", "1").returncode == 0
    assert json.loads((base / "meta.json").read_text())["training"]["flags"]["lr"] == TrainConfig(Config(1)).lr
    told = ["--loss", "token", "--lr", "0.002", "--entity-bias", "0"]
    for out, extra, want in ((tmp_path / "kept", [], ("path", FINETUNE_LR, 0.5)),
                             (tmp_path / "told", told, ("token", 0.002, 0.0))):
        r = train_tiny(out, corpus, "--from", str(base), "--replay", "0", "--epochs", "1", *extra)
        assert r.returncode == 0, r.stderr
        meta = json.loads((out / "meta.json").read_text())
        flags = meta["training"]["flags"]
        assert (flags.get("loss", "token"), flags["lr"], meta["config"].get("entity_bias", 0.0)) == want
        assert load(out).config.entity_bias == want[2]


def test_an_entity_bias_on_a_sigmoid_artifact_exits_2_and_writes_nothing(tmp_path, corpus):
    base = tmp_path / "sigmoid"
    assert train_tiny(base, corpus, "--head", "sigmoid", "--epochs", "1").returncode == 0
    r = train_tiny(tmp_path / "m", corpus, "--from", str(base), "--replay", "0", "--entity-bias", "1")
    assert r.returncode == 2 and "the sigmoid head decodes by a threshold" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "m").exists()


def test_fine_tuning_rehearses_new_original_sentences_every_epoch(corpus):
    from model.features import build_tables
    from model.finetune import replay
    from model.training import train

    c = read_corpus(corpus)
    new = type(c)(c.sentences[:10], c.tags[:10], c.docs[:10], c.types)
    tables = build_tables(c.sentences, c.docs, {}, {}, 1, 1)
    tc = TrainConfig(Config(tables.n_x, n_a=4), epochs=3, patience=9, ema=0)
    drawn = []

    def rehearse(rng):
        mix = replay(c, len(new), 0.5, rng)
        drawn.append([" ".join(s) for s in mix.sentences])
        return mix

    quiet = {"progress": False, "log": lambda *a: None}
    rehearsed, *_ = train(new, c, tables, tc, rehearse=rehearse, **quiet)
    assert len(drawn) == 3 and all(len(d) == len(new) for d in drawn)  # one draw an epoch, share 0.5
    assert drawn[0] != drawn[1] and drawn[1] != drawn[2]  # drawn anew
    alone, *_ = train(new, c, tables, tc, **quiet)
    assert any(not np.array_equal(rehearsed[k], alone[k]) for k in alone)  # and trained on


def test_fine_tuning_with_replay_records_the_sentences_drawn_each_epoch(tmp_path, corpus):
    base, other = tmp_path / "base", tiny_conll(tmp_path / "other.conll", n=40, seed=5)
    assert train_tiny(base, corpus, "--epochs", "1").returncode == 0
    r = train_tiny(tmp_path / "m", other, "--from", str(base), "--replay", "0.75", "--replay-data", str(corpus),
                   "--epochs", "2")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "m" / "meta.json").read_text())
    assert meta["training"]["from"]["replay"] == 0.75
    assert meta["training"]["from"]["replay_sentences"] == 60  # all 60 of the original: 40 * 0.75 / 0.25 = 120 > 60
    assert "60 sentences of tiny.conll each epoch, drawn anew" in r.stderr
