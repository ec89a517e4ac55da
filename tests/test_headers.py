"""E-mail address headers: a display name written "Surname, First" is one person
(model/headers.py), through the pure functions and through POST /tag on the shipped model."""
from __future__ import annotations

import pytest

from model.headers import join_last_first, last_first_commas
from model.tags import B, I, O
from model.tokenizer import tokenize


def words(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


@pytest.mark.parametrize("line, pairs", [
    ("From: Kowalski, Anna <anna.kowalski@brightline.pl>", [("Kowalski", "Anna")]),
    ('From: "Haddad, Karim" <k.haddad@levantmed.com>', [("Haddad", "Karim")]),
    ("To: Reyes, Daniel; Okafor, Chidi", [("Reyes", "Daniel"), ("Okafor", "Chidi")]),
    ("Cc: <a.b@example.com>, Brennan, Siobhan", [("Brennan", "Siobhan")]),
    ("CC: van Dijk, Pieter", [("van Dijk", "Pieter")]),
    ('To: "Ní Bhriain, Siobhán Áine" <s@example.ie>', [("Ní Bhriain", "Siobhán Áine")]),  # quoted: any lengths
    ("To: Anna Kowalski, Daniel Reyes", []),  # two people, each a full name
    ("Subject: Reyes, Daniel", []),  # not an address header
    ("Reyes, Daniel", []),
    ("To: Reyes, Daniel, Chidi", []),  # two commas: not one display name
])
def test_the_display_names_written_surname_first(line, pairs):
    w = words(line)
    assert [(" ".join(w[a:c]), " ".join(w[c + 1:e])) for a, c, e in last_first_commas(w)] == pairs


def test_two_names_are_joined_only_where_the_tags_hold_both_whole():
    w = words("To: Reyes, Daniel; Okafor, Chidi")  # To : Reyes , Daniel ; Okafor , Chidi
    assert join_last_first(w, [O, O, B, O, B, O, B, O, B]) == [O, O, B, I, I, O, B, I, I]
    assert join_last_first(w, [O, O, B, O, O, O, B, O, B]) == [O, O, B, O, O, O, B, I, I]  # Daniel not found
    assert join_last_first(w, [O, O, O, O, B, O, O, O, O]) == [O, O, O, O, B, O, O, O, O]  # never finds a name
    assert join_last_first(w, [O] * 9) == [O] * 9


def test_a_surname_first_display_name_is_one_entity_through_tag(client):
    text = ('From: "Haddad, Karim" <k.haddad@levantmed.com>\nTo: Shapiro, Noa; Reyes, Daniel\n'
            'Subject: Ward rota\n\nNoa - I swapped my Saturday with Karim.')
    res = client.post("/tag", json={"text": text}).get_json()
    found = [e["text"] for e in res["entities"]]
    assert {"Shapiro, Noa", "Reyes, Daniel"} <= set(found), found
    assert not {"Shapiro", "Reyes", "Daniel"} & set(found), found
    assert found[-2:] == ["Noa", "Karim"]  # in the body, a first name alone stays a name
    # one answer per token: the comma inside a name is labelled and scored as in it
    assert [t["label"] for t in res["tokens"]] == [int(t["score"] >= 0.5) for t in res["tokens"]]
    # with a threshold, a token is in a name exactly when it scores at or over it
    low = client.post("/tag", json={"text": text, "threshold": 0.3}).get_json()
    assert [t["label"] for t in low["tokens"]] == [int(t["score"] >= 0.3) for t in low["tokens"]]
