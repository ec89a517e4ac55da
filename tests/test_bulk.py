"""The nametag command in one process: formats, bad input, atomic output, streaming."""
from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from bulk import cli
from bulk.formats import Bad, parse_conll, parse_jsonl
from bulk_support import CONLL_TEST, NAMETAG, nametag, read_jsonl, texts, wait_writing, write_jsonl
from model.artifact import load
from model.data import read_conll
from model.scoring import score
from model.tagger import Tagger
from harness import DEFAULT_ARTIFACT, ROOT

CONLL4 = ROOT / "artifacts" / "conll4"  # the shipped four-type model (PER, LOC, MISC, ORG)


@pytest.fixture(scope="module")
def conll_out(tmp_path_factory) -> Path:
    """CoNLL-2003 test through the installed command: CoNLL in, CoNLL out."""
    out = tmp_path_factory.mktemp("bulk") / "test.out.conll"
    r = nametag("tag", CONLL_TEST, "-o", out, "--quiet")
    assert r.returncode == 0, r.stderr
    return out


def test_conll_round_trip_scores_as_model_evaluate(conll_out):
    """The file's sentences and documents are kept, and PER F1 equals model.evaluate's
    (same sentences, same document ids, so the same document features)."""
    gold, pred = read_conll(CONLL_TEST), read_conll(conll_out)
    assert pred.sentences == gold.sentences and pred.docs == gold.docs
    ref = Tagger(load(DEFAULT_ARTIFACT)).tag_sentences(gold.sentences, gold.docs)
    expected = score(gold.tags, [t.tags for t in ref])
    got = score(gold.tags, pred.tags)
    assert (got.n_pred, got.n_correct) == (expected.n_pred, expected.n_correct)
    assert got.f1 == expected.f1 > 0.85


def test_jsonl_records_pass_through_and_match_the_service(tmp_path, client, capsys):
    items = texts(40)
    src = tmp_path / "in.jsonl"
    with open(src, "w") as fh:
        for i, t in enumerate(items):
            fh.write(json.dumps({"id": i, "meta": {"k": [1, None]}, "text": t}) + "\n")
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl"), "--tokens"]) == 0
    out = read_jsonl(tmp_path / "out.jsonl")
    # one batch of the same texts: the same network batches as the command's one chunk
    ref = client.post("/tag", json={"inputs": [{"text": t} for t in items]}).get_json()["results"]
    assert [r["id"] for r in out] == list(range(40))
    assert all(r["meta"] == {"k": [1, None]} and r["text"] == t for r, t in zip(out, items))
    assert [r["entities"] for r in out] == [r["entities"] for r in ref]
    assert [r["tokens"] for r in out] == [r["tokens"] for r in ref]
    assert [r["labels"] for r in out] == [r["labels"] for r in ref]
    assert sum(len(r["entities"]) for r in out) > 5
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    n_names = sum(len(r["entities"]) for r in out)
    assert summary.startswith(f"nametag: 40 records, ") and f" {n_names} names in " in summary
    assert "0 lines skipped" in summary


def test_text_in_conll_out_one_document_per_line(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel met Emmanuel Macron in Paris.\n\nI saw John .\n", encoding="utf-8")
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.conll")]) == 0
    text = (tmp_path / "out.conll").read_text()
    assert text.startswith("-DOCSTART- O\n\nAngela B-PER\nMerkel I-PER\nmet O\nEmmanuel B-PER\n")
    back = read_conll(tmp_path / "out.conll")
    assert text.count("-DOCSTART-") == 3 and back.docs == [1, 3]  # the blank line: an empty document
    assert back.sentences[1] == ["I", "saw", "John", "."] and back.tags[1] == [0, 0, 1, 0]


def test_format_flag_overrides_the_extension(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("Angela Merkel spoke.\n")
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.data"), "--format", "jsonl"]) == 0
    assert read_jsonl(tmp_path / "out.data")[0]["entities"][0]["text"] == "Angela Merkel"


def test_malformed_lines_are_skipped_counted_and_named(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", ["Pope Francis visited Chile."],
                      ["not json", '{"id": 5}', "[1, 2]", '{"text": 3}', "", '{"text": "John Smith"}'])
    with open(src, "ab") as fh:
        fh.write(b'{"text": "caf\xe9 owner Pierre Dupont"}\n')
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl")]) == 0
    err = capsys.readouterr().err
    for line, why in ((2, "not valid JSON"), (3, "no 'text' key"), (4, "not a JSON object"),
                      (5, "'text' is not a string"), (8, "not UTF-8")):
        assert f"nametag: warning: {src}:{line}: {why}" in err
    assert "2 records" in err and "5 lines skipped" in err
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["Pope Francis visited Chile.", "John Smith"]


def test_strict_makes_the_first_malformed_line_an_error(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", texts(5), ["{oops"])
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl"), "--strict"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"nametag: error: {src}:6: not valid JSON (Expecting property name enclosed in "
                   f"double quotes: line 1 column 2 (char 1))"]
    assert os.listdir(tmp_path) == ["in.jsonl"]  # no output, no temporary file


def test_redact_writes_the_redacted_text(tmp_path, monkeypatch, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", ["Angela Merkel met Barack Obama in Berlin and Merkel left.",
                                              "No names here."])
    out = tmp_path / "out.jsonl"
    assert cli.run(["tag", str(src), "-o", str(out), "--redact", "pseudonym"]) == 0
    first, second = read_jsonl(out)
    assert first["text"] == "<PERSON_1> met <PERSON_2> in Berlin and <PERSON_1> left." and first["id"] == 0
    assert [(i["text"], i["start"], i["replacement"]) for i in first["redactions"]] == [
        ("Angela Merkel", 0, "<PERSON_1>"), ("Barack Obama", 18, "<PERSON_2>"), ("Merkel", 45, "<PERSON_1>")]
    assert all(first["text"][i["out_start"]:i["out_end"]] == i["replacement"] for i in first["redactions"])
    assert second == {"id": 1, "text": "No names here.", "redactions": []}
    assert "3 names" in capsys.readouterr().err
    assert cli.run(["tag", str(src), "-o", str(out), "--redact", "mask", "--allow", "barack obama",
                    "--deny", "Berlin"]) == 0
    assert read_jsonl(out)[0]["text"] == "****** ****** met Barack Obama in ****** and ****** left."
    assert cli.run(["tag", str(src), "-o", str(out), "--redact", "hash"]) == 2
    assert "needs a key" in capsys.readouterr().err
    monkeypatch.setenv("NAMETAG_REDACT_KEY", "k" * 16)
    assert cli.run(["tag", str(src), "-o", str(out), "--redact", "hash"]) == 0
    hashed = read_jsonl(out)[0]["text"]
    assert hashed.count(" met ") == 1 and len(hashed.split()[0]) == 16 and "Merkel" not in hashed
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.conll"), "--redact", "replace"]) == 2
    assert "--redact writes JSONL" in capsys.readouterr().err


def test_redact_and_lists_match_the_service(tmp_path, client, monkeypatch, capsys):
    """--redact, --allow and --deny give what POST /redact and POST /tag give for the same
    texts and lists (one place decides the names: service.response.names), later mentions
    of a name found included; a name's count in the summary is what was reported."""
    items = texts(40) + ["Hermione Granger met Ron. Later Hermione thanked Ron and Dobby."]
    src = write_jsonl(tmp_path / "in.jsonl", items)
    out = tmp_path / "out.jsonl"
    lists = {"allow_list": ["ron"], "deny_list": ["Dobby", "Berlin"]}
    flags = ["--allow", "ron", "--deny", "Dobby", "--deny", "Berlin"]
    for op in ("pseudonym", "mask"):
        assert cli.run(["tag", str(src), "-o", str(out), "--redact", op, *flags]) == 0
        # pseudonyms are numbered per record by the command, per request by the service
        ref = [client.post("/redact", json={"text": t, "operator": op, **lists}).get_json() for t in items]
        got = read_jsonl(out)
        assert [r["text"] for r in got] == [r["text"] for r in ref]
        assert [r["redactions"] for r in got] == [r["items"] for r in ref]
    assert got[-1]["text"] == "******** ******* met Ron. Later ******** thanked Ron and *****."
    assert cli.run(["tag", str(src), "-o", str(out), *flags]) == 0
    ref = client.post("/tag", json={"inputs": [{"text": t} for t in items], **lists}).get_json()["results"]
    assert [r["entities"] for r in read_jsonl(out)] == [r["entities"] for r in ref]
    assert [e["text"] for e in read_jsonl(out)[-1]["entities"]] == ["Hermione Granger", "Hermione", "Dobby"]
    capsys.readouterr()
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.conll"), "--allow", "ron"]) == 2
    assert "--allow and --deny change the entities of JSONL output" in capsys.readouterr().err


def test_parsers_report_line_numbers_inside_a_block():
    assert list(parse_jsonl('{"text": "a"}\n\n{bad\n', "text"))[1] == Bad(3, "not valid JSON (Expecting "
                                                                          "property name enclosed in double "
                                                                          "quotes: line 1 column 2 (char 1))")
    docs = list(parse_conll("A O\n\n-DOCSTART- -X- O\n\nB O\nC O\n\nD O\n-DOCSTART-\n", "text"))
    assert [(d.header, d.text, d.sentences) for d in docs] == [
        (False, "A", [(0, 1)]), (True, "B C D", [(0, 2), (2, 3)]), (True, "", [])]


@pytest.mark.parametrize("args, message", [
    (["tag", "missing.jsonl", "-o", "{tmp}/o.jsonl"], "missing.jsonl: no such file or directory"),
    (["tag", "{src}", "-o", "{tmp}/o.csv"], "{tmp}/o.csv: unknown output format"),
    (["tag", "{tmp}/in.csv", "-o", "{tmp}/o.jsonl"], "{tmp}/in.csv: unknown input format"),
    (["tag", "{src}", "-o", "{tmp}/o.jsonl", "--artifact", "{tmp}"], "{tmp}/meta.json"),
    (["tag", "{src}", "-o", "{tmp}/no/such/dir/o.jsonl"], "cannot write: no such directory"),
    (["tag", "{src}", "-o", "{tmp}/o.jsonl", "--entities", "PER,LOC"],
     "--entities: Unknown entity type(s) LOC: this model finds PER."),
    (["tag", "{src}", "-o", "{tmp}/o.conll", "--entities", "LOC", "--workers", "1"],  # before any cluster
     "--entities: Unknown entity type(s) LOC: this model finds PER."),
])
def test_bad_invocations_are_one_line_and_exit_2(tmp_path, args, message):
    src = write_jsonl(tmp_path / "in.jsonl", ["Bill Gates"])
    (tmp_path / "in.csv").write_text("a,b\n")
    (tmp_path / "meta.json").write_text("{")
    args = [a.format(tmp=tmp_path, src=src) for a in args]
    r = nametag(*args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nametag: error: ")
    assert message.format(tmp=tmp_path) in r.stderr
    assert not list(tmp_path.glob("o.*")) and not list(tmp_path.glob(".o.*"))


@pytest.fixture(scope="module")
def conll4() -> Path:
    if not CONLL4.exists():
        pytest.fail(f"{CONLL4} is missing: make train-conll4")
    return CONLL4


ENTITY_TEXTS = ["Angela Merkel flew to Paris to meet Emmanuel Macron of the European Union.",
                "Rome and Paris are in Europe, said John Smith of Reuters.", "No names here."]


def test_entities_keeps_only_the_types_chosen(tmp_path, conll4):
    """--entities LOC on the four-type model: only its LOC entities (those it finds without
    the flag), only LOC spans redacted, only LOC tags in CoNLL output; the summary counts them."""
    src = write_jsonl(tmp_path / "in.jsonl", ENTITY_TEXTS)

    def run(out: str, *flags: str) -> Path:
        r = nametag("tag", src, "-o", tmp_path / out, "--artifact", conll4, "--quiet", *flags)
        assert r.returncode == 0, r.stderr
        return tmp_path / out

    every = read_jsonl(run("all.jsonl"))
    assert {e["label"] for r in every for e in r["entities"]} >= {"PER", "LOC", "ORG"}
    only = read_jsonl(run("loc.jsonl", "--entities", "LOC", "--tokens"))
    assert [r["entities"] for r in only] == [[e for e in r["entities"] if e["label"] == "LOC"] for r in every]
    assert [e["text"] for r in only for e in r["entities"]] == ["Paris", "Rome", "Paris", "Europe"]
    assert all(r["labels"] == [0] * len(r["tokens"]) for r in only)  # labels: inside a person's name
    red = read_jsonl(run("red.jsonl", "--entities", "LOC", "--redact", "replace"))
    assert [r["text"] for r in red] == [
        "Angela Merkel flew to [LOC] to meet Emmanuel Macron of the European Union.",
        "[LOC] and [LOC] are in [LOC], said John Smith of Reuters.", "No names here."]
    assert {i["label"] for r in red for i in r["redactions"]} == {"LOC"}
    every_line = run("all.conll").read_text().splitlines()
    lines = run("lo.conll", "--entities", "LOC,ORG").read_text().splitlines()
    assert lines == [line if line.endswith(("-LOC", "-ORG")) or " " not in line else line.split(" ")[0] + " O"
                     for line in every_line]  # -DOCSTART- O: its "tag" is O
    assert {line[-3:] for line in lines} >= {"LOC", "ORG"} and any(line.endswith("PER") for line in every_line)
    assert "4 names" in nametag("tag", src, "-o", tmp_path / "n.conll", "--artifact", conll4,
                                "--entities", "LOC").stderr


def test_entities_per_on_the_person_model_is_no_flag(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", ENTITY_TEXTS + texts(20))
    for out, flags in (("o.jsonl", ["--tokens"]), ("o.conll", []), ("r.jsonl", ["--redact", "pseudonym"])):
        got = []
        for more in ([], ["--entities", "PER"]):
            r = nametag("tag", src, "-o", tmp_path / f"{len(more)}{out}", "--quiet", *flags, *more)
            assert r.returncode == 0, r.stderr
            got.append((tmp_path / f"{len(more)}{out}").read_bytes())
        assert got[0] == got[1] and b"Merkel" in got[0]


def test_entities_unknown_to_the_model_names_its_types(tmp_path, conll4):
    src = write_jsonl(tmp_path / "in.jsonl", ENTITY_TEXTS)
    r = nametag("tag", src, "-o", tmp_path / "o.jsonl", "--artifact", conll4, "--entities", "LOC,GPE",
                "--redact", "replace")
    assert r.returncode == 2
    assert r.stderr == ("nametag: error: --entities: Unknown entity type(s) GPE: "
                        "this model finds PER, LOC, MISC, ORG.\n")
    assert os.listdir(tmp_path) == ["in.jsonl"]  # no output, no temporary file


def test_standard_input_and_directories(tmp_path):
    items = texts(30)
    d = tmp_path / "dir"
    d.mkdir()
    write_jsonl(d / "b.jsonl", items[15:])
    write_jsonl(d / "a.jsonl", items[:15])
    (d / "notes.md").write_text("not an input")
    assert cli.run(["tag", str(d), "-o", str(tmp_path / "dir.jsonl")]) == 0
    r = nametag("tag", "-", "--input-format", "txt", "-o", tmp_path / "stdin.jsonl",
                input="".join(t + "\n" for t in items))
    assert r.returncode == 0, r.stderr
    from_dir, from_stdin = read_jsonl(tmp_path / "dir.jsonl"), read_jsonl(tmp_path / "stdin.jsonl")
    assert [r["text"] for r in from_dir] == [r["text"] for r in from_stdin] == items
    assert [r["entities"] for r in from_dir] == [r["entities"] for r in from_stdin]


def _big_input(path: Path, n: int) -> Path:
    return write_jsonl(path, texts(n))


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_run_leaves_no_output(tmp_path, sig):
    src = _big_input(tmp_path / "in.jsonl", 40_000)
    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([NAMETAG, "tag", str(src), "-o", str(out), "--blocksize", "64KiB"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_writing(proc, tmp_path, 120)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == (-9 if sig == signal.SIGKILL else 128 + signal.SIGTERM)
    finally:
        proc.kill()
        proc.wait()
    assert not out.exists()  # SIGKILL leaves only the hidden temporary file; SIGTERM removes it too
    assert len(list(tmp_path.glob(".out.jsonl.*.tmp"))) == (1 if sig == signal.SIGKILL else 0)


@pytest.mark.slow
def test_memory_stays_flat_on_a_large_input(tmp_path):
    """128 MB of input (blank lines, ignored, around a few real records) costs the
    command no more memory than 1 MB: the input is read block by block."""
    peaks = []
    for mib in (1, 128):
        src = tmp_path / f"in{mib}.jsonl"
        with open(src, "w") as fh:
            fh.write('{"text": "Jane Austen wrote."}\n')
            fh.writelines([" " * 1023 + "\n"] * (mib * 1024))
            fh.write('{"text": "Mark Twain too."}\n')
        r = nametag("tag", src, "-o", tmp_path / f"out{mib}.jsonl", "--stats", tmp_path / "s.json")
        assert r.returncode == 0, r.stderr
        stats = json.loads((tmp_path / "s.json").read_text())
        assert stats["records"] == 2 and stats["names"] == 2
        peaks.append(stats["peak_rss_mib"])
    assert peaks[1] - peaks[0] < 40, peaks
