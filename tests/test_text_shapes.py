"""Text as people send it, through the service and the bulk command: a line break can
end a unit (model.units), the same way in POST /tag, POST /redact and `nametag tag`;
the hand-written set scores through the same path as POST /tag."""
from __future__ import annotations

from bench.shapes import part_path, predict, read
from bulk import cli
from bulk_support import read_jsonl, write_jsonl
from model.tokenizer import tokenize
from model.units import unit_bounds

SIGNATURE = "Thanks,\nOluwaseun Adeyemi\nSenior Account Manager | Lagos"
FORM = "Name: Priscilla Adjei\nDate of birth: 12/04/1987\nAddress: 5 Kingsway, Leeds LS1 4AB"


def test_tag_finds_the_name_line_of_a_signature_block(client):
    """Each line of the block is its own unit; with the line breaks as spaces it is one."""
    res = client.post("/tag", json={"text": SIGNATURE}).get_json()
    assert [(e["text"], e["start"], e["end"]) for e in res["entities"]] == [("Oluwaseun Adeyemi", 8, 25)]
    flat_text = SIGNATURE.replace("\n", " ")
    flat = client.post("/tag", json={"text": flat_text}).get_json()
    assert [t["text"] for t in res["tokens"]] == [t["text"] for t in flat["tokens"]]
    assert len(unit_bounds(SIGNATURE, tokenize(SIGNATURE))) == 3
    assert len(unit_bounds(flat_text, tokenize(flat_text))) == 1
    assert all(SIGNATURE[t["start"]:t["end"]] == t["text"] for t in res["tokens"])


def test_redact_takes_out_the_signature_name_and_keeps_the_lines(client):
    res = client.post("/redact", json={"text": SIGNATURE}).get_json()
    assert res["text"] == "Thanks,\n[PERSON]\nSenior Account Manager | Lagos"
    assert [(i["text"], i["start"], i["end"]) for i in res["items"]] == [("Oluwaseun Adeyemi", 8, 25)]


def test_the_bulk_command_cuts_texts_as_the_service_does(tmp_path, client):
    items = [SIGNATURE, FORM, "Hi Priya,\n\nthanks for the update.\nBest,\nTom"]
    src = write_jsonl(tmp_path / "in.jsonl", items)
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl"), "--tokens"]) == 0
    ref = client.post("/tag", json={"inputs": [{"text": t} for t in items]}).get_json()["results"]
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [r["entities"] for r in out] == [r["entities"] for r in ref]
    assert [r["tokens"] for r in out] == [r["tokens"] for r in ref]
    assert "Oluwaseun Adeyemi" in [e["text"] for e in out[0]["entities"]]
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.conll")]) == 0
    conll = (tmp_path / "out.conll").read_text(encoding="utf-8").split("-DOCSTART- O\n\n")[1]
    # CoNLL output: one sentence per unit, so one per line of the signature
    units = unit_bounds(SIGNATURE, tokenize(SIGNATURE))
    assert conll.count("\n\n") == len(units) == 3


def test_the_hand_written_set_scores_through_the_tag_path(client, app):
    """bench.shapes.predict gives exactly the entities POST /tag reports."""
    examples = read(part_path("dev"))[:120]
    texts = [x.text for x in examples]
    got = predict(app.extensions["nametag"].tagger, texts)
    ref = client.post("/tag", json={"inputs": [{"text": t} for t in texts]}).get_json()["results"]
    assert got == [[(e["start"], e["end"]) for e in r["entities"]] for r in ref]
    assert sum(map(len, got)) > 100


def test_the_bulk_summary_counts_the_names_reported(tmp_path, capsys):
    """A title ("Mr") is not a name: not in the entities, not counted, and tagged O in
    CoNLL output too (the tagger decodes it outside every name, as model.evaluate scores it)."""
    src = write_jsonl(tmp_path / "in.jsonl", ["I met with Mr. David Okafor on Tuesday."])
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.jsonl")]) == 0
    assert [e["text"] for e in read_jsonl(tmp_path / "out.jsonl")[0]["entities"]] == ["David Okafor"]
    assert " 1 names in " in capsys.readouterr().err.strip().splitlines()[-1]
    assert cli.run(["tag", str(src), "-o", str(tmp_path / "out.conll")]) == 0
    conll = (tmp_path / "out.conll").read_text(encoding="utf-8")
    assert "Mr O\n. O\n" in conll and "David B-PER\nOkafor I-PER\n" in conll
    assert " 1 names in " in capsys.readouterr().err.strip().splitlines()[-1]
