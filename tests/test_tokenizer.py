"""The tokenizer splits as CoNLL-2003 does and never takes more than linear time."""
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import ROOT, SEED_TEXT, SEED_TOKENS
from model.tokenizer import join_clitics, tokenize


@pytest.mark.parametrize("text,tokens", [
    (SEED_TEXT, SEED_TOKENS),
    ("John's dog doesn't like O'Brien, Jean-Pierre or J. K. Rowling.",
     ["John", "'s", "dog", "does", "n't", "like", "O'Brien", ",", "Jean-Pierre", "or", "J.", "K.", "Rowling", "."]),
    ("the U.S. on 1996-08-22 at 10:30 for 1,000.50 (about)",
     ["the", "U.S.", "on", "1996-08-22", "at", "10:30", "for", "1,000.50", "(", "about", ")"]),
    ("O'Sullivan's we’re ’s", ["O'Sullivan", "'s", "we", "’re", "’s"]),
    ("see http://x.com/a. and (www.y.org), a.b@c.com.",
     ["see", "http://x.com/a", ".", "and", "(", "www.y.org", ")", ",", "a.b@c.com", "."]),
    ("see http://x.com/a.", ["see", "http://x.com/a", "."]),  # each kind of link alone
    ("see www.y.org.", ["see", "www.y.org", "."]),
    ("mail a.b@c.com.", ["mail", "a.b@c.com", "."]),
    ("Café José e\u0301te\u0301 北京 👍🏽 👨\u200d👩\u200d👧", ["Café", "José", "e\u0301te\u0301", "北京", "👍🏽", "👨\u200d👩\u200d👧"]),
    ("watched\u200bwas", ["watched\u200bwas"]),  # one token, as in WNUT-17 (invisible characters stay in their word)
    ("", []),
    (" \t\n ", []),
])
def test_tokens_and_offsets(text, tokens):
    toks = tokenize(text)
    assert [t.text for t in toks] == tokens
    assert all(text[t.start:t.end] == t.text for t in toks)


def test_pathological_inputs_stay_linear():
    """Texts a backtracking pattern takes super-linear time on (one took 31 s at 100,000
    characters, the service's limit), here at 300,000 characters each, tokenized in a
    child process: linear, they take seconds; super-linear, they would take minutes,
    and the hang time-out stops them. How the time compares with ordinary text is the
    bench's (Reliability)."""
    code = ("from bench.reliability import pathological\n"
            "from model.tokenizer import tokenize\n"
            "for text in pathological(300_000):\n"
            "    assert ''.join(t.text for t in tokenize(text)) == ''.join(text.split()), text[:20]\n"
            "print('tokenized', len(pathological()))\n")
    try:
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the tokenizer did not finish the pathological texts: super-linear time")
    assert out.returncode == 0 and out.stdout == "tokenized 10\n", out.stderr[-2000:]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab Jo.@-'’n't0123:/ www.http s\u200b\u0301😀")), max_size=60))
def test_texts_without_links_tokenize_as_with_the_link_branches(text):
    """tokenize takes a pattern without the URL and e-mail branches for a text with no
    "http", "www." or "@": it splits every text exactly as the full pattern does."""
    from model.tokenizer import _TOKEN

    full = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    assert [tuple(t) for t in tokenize(text)] == full


@pytest.mark.parametrize("words,forms,unit", [
    ("Trump ' s a stud".split(), ["Trump", "'s", "a", "stud"], [0, 1, 1, 2, 3]),
    ("he does n ' t know".split(), ["he", "does", "n't", "know"], [0, 1, 2, 2, 2, 3]),
    ("I ’ m sure you ' re , we ' ll".split(), ["I", "’m", "sure", "you", "'re", ",", "we", "'ll"], [0, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7]),
])
def test_a_clitic_written_apart_is_read_as_one_form(words, forms, unit):
    assert join_clitics(words) == (forms, unit)


@pytest.mark.parametrize("words", [
    "no apostrophe here".split(),
    ["'", "s"],  # nothing before it: an opening quote
    "O ' Brien".split(),  # not a clitic
    "rock ' n ' roll".split(),
    "she said ' stop ' s".split()[:4],  # the quote is the last word
])
def test_words_without_a_clitic_written_apart_are_read_as_they_are(words):
    assert join_clitics(words) is None
