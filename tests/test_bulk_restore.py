"""The bulk command's round trip: ``nametag tag --redact pseudonym --restorable`` writes each
record's restore token beside it, and ``nametag restore`` puts the names back (in process
through ``bulk.cli.run``, once through the installed command, once on a Dask worker)."""
from __future__ import annotations

import json
import os

import pytest

from bulk import cli
from bulk_support import nametag, read_jsonl, write_jsonl
from service import create_app

KEY = "bulk-restore-key-0123456789abcdefghijk"
TEXTS = ["Angela Merkel met Barack Obama in Berlin and Merkel left.", "No names here.",
         "😀 harry potter thanked Hermione Granger; later Harry left."]


@pytest.fixture
def keyed_env(monkeypatch):
    monkeypatch.setenv("NAMETAG_RESTORE_KEY", KEY)
    monkeypatch.delenv("NAMETAG_RESTORE_KEY_PREVIOUS", raising=False)
    monkeypatch.delenv("NAMETAG_RESTORE_TTL_S", raising=False)


def test_restorable_then_restore_gives_every_text_back(tmp_path, keyed_env, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    red = tmp_path / "red.jsonl"
    assert cli.run(["tag", str(src), "-o", str(red), "--redact", "pseudonym", "--restorable", "--quiet"]) == 0
    records = read_jsonl(red)
    assert records[0]["text"] == "<PERSON_1> met <PERSON_2> in Berlin and <PERSON_1> left."
    assert all(set(r) == {"id", "text", "redactions", "restore_token"} for r in records)
    # the tokens are the service's: POST /restore with the same key opens them
    service = create_app({"TESTING": True, "RESTORE_KEY": KEY}).test_client()
    back = service.post("/restore", json={"text": records[0]["text"], "restore_token": records[0]["restore_token"]})
    assert back.get_json()["text"] == TEXTS[0]
    # and nametag restore gives every text back byte for byte, the rest of the record kept
    out = tmp_path / "back.jsonl"
    assert cli.run(["restore", str(red), "-o", str(out)]) == 0
    restored = read_jsonl(out)
    assert [r["text"] for r in restored] == TEXTS
    assert [r["id"] for r in restored] == [0, 1, 2] and restored[0]["redactions"] == records[0]["redactions"]
    assert [(i["placeholder"], i["text"]) for i in restored[0]["restorations"]] == [
        ("<PERSON_1>", "Angela Merkel"), ("<PERSON_2>", "Barack Obama"), ("<PERSON_1>", "Merkel")]
    assert "3 records restored, 0 lines skipped" in capsys.readouterr().err


def test_an_llm_answer_in_place_of_the_text_and_bad_tokens_skipped_never_in_part(tmp_path, keyed_env, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS[:1])
    red = tmp_path / "red.jsonl"
    assert cli.run(["tag", str(src), "-o", str(red), "--redact", "pseudonym", "--restorable", "--quiet"]) == 0
    token = read_jsonl(red)[0]["restore_token"]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in [
        {"id": "a", "text": "PERSON_2 thanked <person_1>'s team; <PERSON_3> was absent.", "restore_token": token},
        {"id": "b", "text": "<PERSON_1> again.", "restore_token": token[:len(token) // 2]},
        {"id": "c", "text": "<PERSON_1>", "restore_token": token[:-1] + ("A" if token[-1] != "A" else "B")},
        {"id": "d", "text": "<PERSON_1>"},
    ]) + "not json\n")
    out = tmp_path / "back.jsonl"
    assert cli.run(["restore", str(answers), "-o", str(out)]) == 0
    got = read_jsonl(out)
    assert [r["id"] for r in got] == ["a"]  # b, c, d skipped whole
    assert got[0]["text"] == "Barack Obama thanked Angela Merkel's team; <PERSON_3> was absent."
    assert got[0]["unknown"] == [{"pseudonym": "<PERSON_3>", "count": 1}]
    err = capsys.readouterr().err
    assert f"{answers}:2: The restore token has been altered, truncated or damaged" in err
    assert f"{answers}:3: The restore token has been altered" in err
    assert f"{answers}:4: no string under 'text' and 'restore_token'" in err
    assert f"{answers}:5: not valid JSON" in err and "4 lines skipped" in err
    assert token[:20] not in err and "Merkel" not in err and KEY not in err
    # --strict: the first bad line stops the run, and no output (not even a temporary file) is left
    os.remove(out)
    assert cli.run(["restore", str(answers), "-o", str(out), "--strict"]) == 2
    assert sorted(os.listdir(tmp_path)) == ["answers.jsonl", "in.jsonl", "red.jsonl"]


def test_another_key_is_refused_and_the_previous_key_reads(tmp_path, keyed_env, monkeypatch, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS[:1])
    red = tmp_path / "red.jsonl"
    monkeypatch.setenv("NAMETAG_RESTORE_KEY", "x" * 40)
    assert cli.run(["tag", str(src), "-o", str(red), "--redact", "pseudonym", "--restorable", "--quiet"]) == 0
    monkeypatch.setenv("NAMETAG_RESTORE_KEY", KEY)
    assert cli.run(["restore", str(red), "-o", str(tmp_path / "out.jsonl")]) == 0
    assert "sealed under another key" in capsys.readouterr().err
    monkeypatch.setenv("NAMETAG_RESTORE_KEY_PREVIOUS", "x" * 40)  # a rotation: the old key still reads
    assert cli.run(["restore", str(red), "-o", str(tmp_path / "out.jsonl")]) == 0
    assert read_jsonl(tmp_path / "out.jsonl")[0]["text"] == TEXTS[0]


@pytest.mark.parametrize("args, env, message", [
    (["--redact", "replace", "--restorable"], {"NAMETAG_RESTORE_KEY": KEY}, "--restorable needs --redact pseudonym"),
    (["--restorable"], {"NAMETAG_RESTORE_KEY": KEY}, "--restorable needs --redact pseudonym"),
    (["--redact", "pseudonym", "--restorable"], {}, "--restorable needs NAMETAG_RESTORE_KEY"),
    (["--redact", "pseudonym", "--restorable"], {"NAMETAG_RESTORE_KEY": "short-key"}, "at least 32 bytes"),
])
def test_restorable_refuses_what_it_cannot_do(tmp_path, monkeypatch, capsys, args, env, message):
    for var in ("NAMETAG_RESTORE_KEY", "NAMETAG_RESTORE_KEY_PREVIOUS", "NAMETAG_RESTORE_TTL_S"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS[:1])
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl"), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "short-key" not in err
    assert not (tmp_path / "out.jsonl").exists()


def test_restore_without_a_key_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NAMETAG_RESTORE_KEY", raising=False)
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS[:1])
    assert cli.run(["restore", str(src), "-o", str(tmp_path / "out.jsonl")]) == 2
    assert "nametag restore needs NAMETAG_RESTORE_KEY" in capsys.readouterr().err


@pytest.mark.slow
def test_installed_command_round_trip_on_a_dask_worker(tmp_path):
    """The sealer travels to the worker with the tasks; the installed command restores."""
    env = {**os.environ, "NAMETAG_RESTORE_KEY": KEY}
    src = write_jsonl(tmp_path / "in.jsonl", TEXTS)
    red, back = tmp_path / "red.jsonl", tmp_path / "back.jsonl"
    p = nametag("tag", src, "-o", red, "--redact", "pseudonym", "--restorable", "--workers", "1", "--quiet", env=env)
    assert p.returncode == 0, p.stderr
    p = nametag("restore", red, "-o", back, env=env)
    assert p.returncode == 0, p.stderr
    assert [r["text"] for r in read_jsonl(back)] == TEXTS
    assert KEY not in p.stderr + p.stdout
