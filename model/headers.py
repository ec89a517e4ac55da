"""E-mail address headers: `From: Kowalski, Anna <anna.kowalski@…>` names one person.

Outlook and most corporate directories write a display name surname first, then a
comma: `From: Kowalski, Anna`, `To: Reyes, Daniel; Okafor, Chidi`, `Cc: "Haddad,
Karim" <k.haddad@…>`. Read as a sentence, that is two names with a comma between
them, and the tagger finds two. ``join_last_first`` makes them one, "Kowalski, Anna",
where the line is an address header and both sides were already found as names: the
rule joins, it never finds a name the model did not.

An address header is a line whose first words are `From`, `To`, `Cc`, `Bcc`,
`Sender` or `Reply-To` and a colon. Its addresses are separated by `;` or follow an
`<address>`; in each, quotation marks are left aside and the `<address>` ends the
display name. A display name `A, B` is one person when it is quoted, or when A or B is
one word (`Reyes, Daniel`, `van Dijk, Pieter`); `To: Anna Kowalski, Daniel Reyes`
stays two people.
"""
from __future__ import annotations

from .tags import B, I, O
from .titles import is_quote

FIELDS = frozenset({"from", "to", "cc", "bcc", "sender", "reply-to"})
MAX_PART = 3  # words on either side of the comma


def _addresses(words: list[str]) -> list[tuple[list[int], bool]]:
    """(word indices of its display name, quoted) of each address of a header line;
    [] when the line is not an address header."""
    if len(words) < 3 or words[0].casefold() not in FIELDS or words[1] != ":":
        return []
    out, name, quoted, in_address = [], [], False, False
    for i in range(2, len(words) + 1):
        w = words[i] if i < len(words) else ";"
        if w in (";", ">") or (w == "," and not name):  # an address ends
            if name:
                out.append((name, quoted))
            name, quoted, in_address = [], False, False
        elif w == "<":
            in_address = True
        elif in_address:
            continue
        elif is_quote(w):
            quoted = True
        else:
            name.append(i)
    return out


def last_first_commas(words: list[str]) -> list[tuple[int, int, int]]:
    """(start, comma, end) of each display name written "A, B" in an address header
    line's words: A is words[start:comma], B words[comma + 1:end]."""
    found = []
    for idx, quoted in _addresses(words):
        commas = [k for k, i in enumerate(idx) if words[i] == ","]
        if len(commas) != 1 or idx != list(range(idx[0], idx[-1] + 1)):
            continue
        k = commas[0]
        n_a, n_b = k, len(idx) - k - 1
        if not (1 <= n_a <= MAX_PART and 1 <= n_b <= MAX_PART) or (not quoted and min(n_a, n_b) > 1):
            continue
        found.append((idx[0], idx[k], idx[-1] + 1))
    return found


def join_last_first(words: list[str], tags: list[int]) -> list[int]:
    """The person-name tags (O, B, I) of a sentence with each "Surname, First" display
    name of an address header made one name, where the tags already hold its two sides
    as two names, each whole."""
    out = list(tags)
    for start, comma, end in last_first_commas(words):
        left, right = out[start:comma], out[comma + 1:end]
        whole = (left[0] == B and all(t == I for t in left[1:]) and right[0] == B
                 and all(t == I for t in right[1:]) and out[comma] == O
                 and (end == len(out) or out[end] != I))
        if whole:
            out[comma] = out[comma + 1] = I
    return out
