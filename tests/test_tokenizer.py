"""The tokenizer splits as CoNLL-2003 does and never takes more than linear time."""
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import SEED_TEXT, SEED_TOKENS
from model.tokenizer import tokenize


@pytest.mark.parametrize("text,tokens", [
    (SEED_TEXT, SEED_TOKENS),
    ("John's dog doesn't like O'Brien, Jean-Pierre or J. K. Rowling.",
     ["John", "'s", "dog", "does", "n't", "like", "O'Brien", ",", "Jean-Pierre", "or", "J.", "K.", "Rowling", "."]),
    ("the U.S. on 1996-08-22 at 10:30 for 1,000.50 (about)",
     ["the", "U.S.", "on", "1996-08-22", "at", "10:30", "for", "1,000.50", "(", "about", ")"]),
    ("O'Sullivan's we’re ’s", ["O'Sullivan", "'s", "we", "’re", "’s"]),
    ("see http://x.com/a. and (www.y.org), a.b@c.com.",
     ["see", "http://x.com/a", ".", "and", "(", "www.y.org", ")", ",", "a.b@c.com", "."]),
    ("Café José e\u0301te\u0301 北京 👍🏽 👨\u200d👩\u200d👧", ["Café", "José", "e\u0301te\u0301", "北京", "👍🏽", "👨\u200d👩\u200d👧"]),
    ("watched\u200bwas", ["watched\u200bwas"]),  # one token, as in WNUT-17 (invisible characters stay in their word)
    ("", []),
    (" \t\n ", []),
])
def test_tokens_and_offsets(text, tokens):
    toks = tokenize(text)
    assert [t.text for t in toks] == tokens
    assert all(text[t.start:t.end] == t.text for t in toks)


@pytest.mark.parametrize("text", [
    "http://x" + "." * 40000 + "x", "http://" + "." * 40000, "ab." * 33000, "a@" * 50000, "a+" * 50000,
    "1" * 100000, "n't" * 33000, "'s" * 50000, "\u200d" * 100000, "e\u0301" * 50000,
])
def test_pathological_inputs_stay_linear(text):
    """100k characters (the service's limit) in well under a second each; a
    backtracking pattern once took 31 s on the first of these."""
    t0 = time.perf_counter()
    toks = tokenize(text)
    assert time.perf_counter() - t0 < 5.0
    assert "".join(t.text for t in toks) == "".join(text.split())


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Jo.@-'’n't0123:/ www.http s\u200b\u0301😀")), max_size=60))
def test_texts_without_links_tokenize_as_with_the_link_branches(text):
    """tokenize takes a pattern without the URL and e-mail branches for a text with no
    "http", "www." or "@": it splits every text exactly as the full pattern does."""
    from model.tokenizer import _TOKEN

    full = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    assert [tuple(t) for t in tokenize(text)] == full
