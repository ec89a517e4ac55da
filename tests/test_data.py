"""Corpus readers: the tag schemes and file quirks of ../shared/data, and clear errors."""
import pytest

from model.tags import B, I, O
from model.data import DataError, read_conll, read_corpus, read_jsonl, to_person_iob2
from harness import DATA


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_iob1_i_starts_a_span_and_b_separates_adjacent_names(tmp_path):
    p = write(tmp_path, "a.conll", "-DOCSTART- -X- O O\n\n"
              "Peter NNP I-NP I-PER\nBlackburn NNP I-NP I-PER\nmet VBD I-VP O\n"
              "John NNP I-NP I-PER\nSmith NNP I-NP I-PER\nAnna NNP I-NP B-PER\n. . O O\n")
    c = read_conll(p)
    assert c.sentences == [["Peter", "Blackburn", "met", "John", "Smith", "Anna", "."]]
    assert c.tags == [[B, I, O, B, I, B, O]]


def test_iob2_io_and_person_type():
    assert to_person_iob2(["B-person", "I-person", "O", "B-person", "B-person"], "x") == [B, I, O, B, B]
    assert to_person_iob2(["I-PER", "I-PER", "O", "I-PER"], "x") == [B, I, O, B]  # IO
    assert to_person_iob2(["I-ORG", "I-PER", "B-LOC", "I-PER"], "x") == [O, B, O, B]


def test_wnut_tab_only_separators_and_zero_width(tmp_path):
    p = write(tmp_path, "w.conll", "Hi\tO\nDubbz\ufeff\tB-person\n\t\nok\tO\nTrump\tB-person\n\n")
    c = read_conll(p)
    assert c.sentences == [["Hi", "Dubbz\ufeff"], ["ok", "Trump"]]
    assert c.tags == [[O, B], [O, B]]


def test_documents_are_numbered(tmp_path):
    p = write(tmp_path, "d.conll", "-DOCSTART- -X- O O\n\nA X X I-PER\n\nB X X O\n\n"
              "-DOCSTART- -X- O O\n\nC X X O\n")
    assert read_conll(p).docs == [1, 1, 2]


@pytest.mark.parametrize("text,where", [
    ("Peter NNP I-NP I-PER\nlonely\n", ":2:"),
    ("Peter NNP I-NP X-PER\n", ":1:"),
    ("Peter NNP I-NP I-\n", ":1:"),
])
def test_malformed_lines_name_file_and_line(tmp_path, text, where):
    p = write(tmp_path, "bad.conll", text)
    with pytest.raises(DataError, match=f"bad.conll{where}"):
        read_conll(p)


def test_empty_missing_and_no_person(tmp_path):
    with pytest.raises(DataError, match="empty corpus"):
        read_corpus(write(tmp_path, "e.conll", "\n\n"))
    with pytest.raises(DataError, match="cannot read"):
        read_corpus(tmp_path / "nope.conll")
    with pytest.raises(DataError, match="no person labels"):
        read_corpus(write(tmp_path, "n.conll", "Paris NNP I-NP I-LOC\n"))
    with pytest.raises(DataError, match="not UTF-8"):
        p = tmp_path / "b.conll"
        p.write_bytes(b"\xff\xfe A O\n")
        read_corpus(p)


def test_jsonl(tmp_path):
    p = write(tmp_path, "a.jsonl", '{"tokens": ["Ann", "Lee", "ran"], "labels": [1, 1, 0]}\n\n'
              '{"tokens": ["Bob"], "labels": [1]}\n')
    c = read_jsonl(p)
    assert c.sentences == [["Ann", "Lee", "ran"], ["Bob"]]
    assert c.tags == [[B, I, O], [B]]
    for bad in ('{"tokens": ["a"], "labels": [2]}', '{"tokens": ["a", "b"], "labels": [1]}',
                '{"tokens": [""], "labels": [0]}', "[1, 2]", "{not json"):
        with pytest.raises(DataError, match="x.jsonl:1"):
            read_jsonl(write(tmp_path, "x.jsonl", bad + "\n"))


def test_shared_corpora_counts():
    """The README's published counts of PER entities come out of our reader."""
    from model.decode import spans
    for split, n_sent, n_per in (("train", 14041, 6600), ("dev", 3250, 1842), ("test", 3453, 1617)):
        c = read_corpus(DATA / "conll2003" / f"{split}.conll")
        assert len(c) == n_sent
        assert sum(len(spans(t)) for t in c.tags) == n_per
