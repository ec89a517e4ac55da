"""How the network reads a sentence (model/reading.py): a rare name particle is read as
``de``, and a sentence that opens like a name is read twice, as written and after a comma."""
from __future__ import annotations

import numpy as np
import pytest

from harness import DEFAULT_ARTIFACT
from model.artifact import load
from model.reading import (DISPLAY_NAME_AFTER, OPENING_CONTEXT, PARTICLE_READ_AS, REREAD_AFTER, display_names,
                           is_address, opening_end, opens_like_a_name, read_particles, rereadings)
from model.tagger import Tagger

KNOWN = {"The", "Japan", "Xi", "New", "York", "Goldman"}  # words with a vector, for the pure cases


@pytest.mark.parametrize("sentence,opens", [
    ("Sigríður Jónsdóttir runs the guesthouse .", True),  # two capitalised words
    ("Xi Jinping met the delegation .", True),  # a known first word, a capitalised second
    ("Chimamanda spoke .", True),  # a first word without a vector
    ("Japan began the defence .", False),  # a known word, then a lower-case one
    ("The prize went to Siobhán .", False),
    ("NGOZI OKONJO-IWEALA spoke .", False),  # upper case says nothing of names
    ("ngozi okonjo-iweala spoke .", False),
    ("Chimamanda", True),
    ("Japan", False),
    ("", False),
    ("2019 Ngozi Okonjo-Iweala", False),
])
def test_opens_like_a_name(sentence, opens):
    assert opens_like_a_name(sentence.split(), KNOWN.__contains__) is opens


@pytest.mark.parametrize("sentence,end", [
    ("Sigríður Jónsdóttir runs the guesthouse on the hill .", 5),  # two capitalised words and three more
    ("Aung San Suu Kyi was released from house arrest .", 7),
    ("Chimamanda spoke .", 3),  # the whole of a short sentence
    ("Chimamanda", 1),
])
def test_opening_end(sentence, end):
    assert OPENING_CONTEXT == 3
    assert opening_end(sentence.split()) == end


@pytest.mark.parametrize("words,read", [
    ("Siobhán Ní Bhriain won", "Siobhán de Bhriain won"),
    ("Gwenllian ap Rhys sings", "Gwenllian de Rhys sings"),
    ("is Ngũgĩ wa Thiong'o .", "is Ngũgĩ de Thiong'o ."),
    ("Máire Nic Shuibhne and Seán Ó Riada", "Máire de Shuibhne and Seán de Riada"),
    ("Khalid ibn Walid", "Khalid de Walid"),
    ("the ap store", "the ap store"),  # not between two capitalised words
    ("Ní Bhriain", "Ní Bhriain"),  # nothing before it
    ("Siobhán Ní", "Siobhán Ní"),  # nothing after it
    ("Kenya WA Nairobi", "Kenya WA Nairobi"),  # upper case is not a particle
    ("Ludwig van Beethoven", "Ludwig van Beethoven"),  # a particle the network knows stays
])
def test_read_particles(words, read):
    assert read_particles(words.split()) == read.split()
    assert PARTICLE_READ_AS == "de"


def test_read_particles_leaves_its_input_alone():
    words = "Siobhán Ní Bhriain".split()
    assert read_particles(words) == ["Siobhán", "de", "Bhriain"] and words[1] == "Ní"
    plain = "Japan began".split()
    assert read_particles(plain) is plain


@pytest.mark.parametrize("line,names", [
    ("On Fri , Feb 16 , 2024 at 3:27 PM Oluwaseun Adeyemi < oadeyemi@kestrelpay.com > wrote :",
     ["Oluwaseun Adeyemi < oadeyemi@kestrelpay.com >"]),
    ("Thabo < thabo@karoo.co.za > and Mei Lin < mei@x.org >", ["Thabo < thabo@karoo.co.za >", "Mei Lin < mei@x.org >"]),
    ("Anna Maria de la Cruz < a@b.co >", ["Cruz < a@b.co >"]),  # capitalised words only, at most four
    ("From : Anna Kowalski < anna@example.com >", []),  # an address header reads it as one already
    ("write to < help@example.com > today", []),  # no display name
    ("Anna Kowalski < not an address >", []),
    ("Anna Kowalski < anna@example.com", []),  # no closing bracket
])
def test_display_names(line, names):
    words = line.split()
    assert [" ".join(words[s:e]) for s, e in display_names(words)] == names


def test_is_address():
    assert is_address("anna@example.com") and is_address("a.b+c@mail.co.uk")
    assert not any(map(is_address, ["@anna", "anna@", "anna@localhost", "<", "Anna"]))


def test_rereadings_name_each_part_and_its_context():
    words = "Chimamanda Adichie < ca@example.com > wrote".split()
    assert rereadings(words, lambda w: False) == [(0, 5, REREAD_AFTER), (0, 5, DISPLAY_NAME_AFTER)]
    assert rereadings("Japan began".split(), lambda w: True) == []


@pytest.fixture(scope="module")
def tagger():
    return Tagger(load(DEFAULT_ARTIFACT))


def test_an_opening_is_the_mean_of_two_readings_and_the_rest_is_read_once(tagger):
    opening = "Sigríður Jónsdóttir runs the guesthouse on the hill .".split()
    plain = "Japan began the defence of their title .".split()
    assert opens_like_a_name(opening, tagger.has_vector) and not opens_like_a_name(plain, tagger.has_vector)
    got = tagger.predict_proba([opening, plain])
    end = opening_end(opening)
    once, after = tagger.network_proba([opening, plain]), tagger.network_proba([[*REREAD_AFTER, *opening[:end]]])[0]
    assert got[0].shape == once[0].shape and end == 5
    assert np.allclose(got[0][:end], (once[0][:end] + after[1:]) / 2, atol=1e-5)
    assert np.allclose(got[0][end:], once[0][end:], atol=1e-5)  # the rest of the sentence is read once
    assert not np.allclose(got[0], once[0], atol=1e-3)  # the second reading moves it
    assert np.allclose(got[1], once[1], atol=1e-5)


def test_a_particle_gets_the_output_of_de(tagger):
    words = "The prize went to Siobhán Ní Bhriain .".split()
    got = tagger.predict_proba([words])[0]
    read = tagger.network_proba([read_particles(words)])[0]
    assert np.allclose(got, read, atol=1e-5)
    assert not np.allclose(got, tagger.network_proba([words])[0], atol=1e-3)


def test_overlapping_readings_are_averaged_per_token(tagger):
    words = "Chimamanda Adichie < ca@example.com > wrote :".split()
    parts = rereadings(words, tagger.has_vector)
    assert len(parts) == 2
    full, *again = tagger.network_proba([words] + [[*c, *words[s:e]] for s, e, c in parts])
    want = full.copy()
    for k in range(len(words)):
        held = [p[len(c) + k - s] for (s, e, c), p in zip(parts, again) if s <= k < e]
        want[k] = (full[k] + sum(held)) / (1 + len(held))
    assert np.allclose(tagger.predict_proba([words])[0], want, atol=1e-5)


@pytest.mark.parametrize("text,name", [
    ("On Fri, Feb 16, 2024 at 3:27 PM Oluwaseun Adeyemi <oadeyemi@kestrelpay.com> wrote:", "Oluwaseun Adeyemi"),
    ("Yingluck Shinawatra left the country in 2017.", "Yingluck Shinawatra"),
    ("Aung San Suu Kyi was released from house arrest.", "Aung San Suu Kyi"),
    ("Chimamanda Ngozi Adichie spoke at the book fair in Lagos.", "Chimamanda Ngozi Adichie"),
    ("The prize went to Siobhán Ní Bhriain.", "Siobhán Ní Bhriain"),
    ("Gwenllian ap Rhys sings in the choir.", "Gwenllian ap Rhys"),
    ("The keynote speaker is Ngũgĩ wa Thiong'o.", "Ngũgĩ wa Thiong'o"),
])
def test_names_of_many_cultures_are_found_through_tag(client, text, name):
    """Each missed by the code before these rules, with the same weights."""
    res = client.post("/tag", json={"text": text}).get_json()
    assert [e["text"] for e in res["entities"]] == [name]
    assert all(t["label"] == int(t["score"] >= 0.5) for t in res["tokens"])


@pytest.mark.parametrize("text", ["Goldman Sachs cut its forecast.", "General Motors recalled the cars.",
                                  "New York is big."])
def test_a_company_or_place_opening_a_sentence_stays_out(client, text):
    assert client.post("/tag", json={"text": text}).get_json()["entities"] == []
