"""model.units: where a text as people send it is cut into the units the network reads."""
from __future__ import annotations

import pytest

from bench.shapes import PARTS, part_path, read
from model.tagger import split_sentences
from model.tokenizer import tokenize
from model.units import RULES, SHORT_LINE, line_breaks, unit_bounds


def units(text: str, rule: str = "short") -> list[str]:
    tokens = tokenize(text)
    return [" ".join(t.text for t in tokens[s:e]) for s, e in unit_bounds(text, tokens, rule)]


SIGNATURE = "Thanks,\nOluwaseun Adeyemi\nSenior Account Manager | Lagos"
WRAPPED = ("As agreed, the budget holder for the project is going to be Priya\n"
           "Raman from now on. Please route all purchase orders through her.")


def test_without_line_breaks_every_rule_cuts_at_sentence_ends_only():
    text = "Hi Priya, thanks. Ask Wei about the invoice! Done?  Yes"
    tokens = tokenize(text)
    for rule in RULES:
        assert unit_bounds(text, tokens, rule) == split_sentences([t.text for t in tokens])


def test_the_rules_on_a_signature_block():
    assert units(SIGNATURE, "punct") == ["Thanks , Oluwaseun Adeyemi Senior Account Manager | Lagos"]
    assert units(SIGNATURE, "blank") == units(SIGNATURE, "punct")
    assert units(SIGNATURE, "line") == ["Thanks ,", "Oluwaseun Adeyemi", "Senior Account Manager | Lagos"]
    assert units(SIGNATURE, "short") == units(SIGNATURE, "line")


def test_a_blank_line_ends_a_unit_in_every_rule_but_punct():
    text = "Please call me back\n \t\nKind regards\r\n\r\nAoife"
    assert units(text, "punct") == ["Please call me back Kind regards Aoife"]
    for rule in ("blank", "line", "short"):
        assert units(text, rule) == ["Please call me back", "Kind regards", "Aoife"]


def test_short_keeps_a_wrapped_paragraph_whole_and_cuts_short_lines():
    first_line = WRAPPED.split("\n")[0]
    assert len(first_line) >= SHORT_LINE
    assert units(WRAPPED, "short") == units(WRAPPED, "punct")  # "Priya Raman" stays in one unit
    assert units(WRAPPED, "line")[0].endswith("going to be Priya")
    form = "Name: Priscilla Adjei\nDate of birth: 12/04/1987\nPhone: 07700 900123"
    assert units(form) == ["Name : Priscilla Adjei", "Date of birth : 12/04/1987", "Phone : 07700 900123"]


def test_a_short_line_is_measured_from_its_first_token_to_its_last():
    indented = " " * 60 + "Thanks,\nMarta"  # indentation and quoting marks do not make a line long
    assert units(indented) == ["Thanks ,", "Marta"]
    long_line = "x" * (SHORT_LINE - 1) + " y"
    assert units(long_line + "\nMarta") == [long_line + " Marta"]  # the break after a long line is a space


def test_line_breaks_counts_each_kind_once():
    assert [line_breaks(g) for g in ("  ", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n", " \u2028 ", "\u2029")] == \
        [0, 1, 1, 1, 2, 2, 1, 2]


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="unknown unit rule 'lines'"):
        unit_bounds("a\nb", tokenize("a\nb"), "lines")


@pytest.mark.parametrize("rule", RULES)
def test_units_cover_every_token_once_in_order(rule):
    """On every text of the hand-written set: the units partition the tokens, and a unit
    never starts or ends inside a gold name that lies on one line."""
    for x in (x for p in PARTS for x in read(part_path(p))):
        tokens = tokenize(x.text)
        bounds = unit_bounds(x.text, tokens, rule)
        assert [i for s, e in bounds for i in range(s, e)] == list(range(len(tokens)))
        assert all(s < e for s, e in bounds)
        cut_at = {tokens[s].start for s, _ in bounds}
        for s, e in x.spans:
            if "\n" not in x.text[s:e]:
                assert not any(s < c < e for c in cut_at), (x.id, x.text[s:e])
