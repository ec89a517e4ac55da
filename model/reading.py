"""How the network reads a sentence: rules that put text as people write it into the shapes
the network learned from, before ``Tagger.predict_proba`` runs it. Each keeps the tokens as
given (one ŷ per input token); only what the network reads changes.

* A clitic written apart (``Trump ' s``) is read as one word (``tokenizer.join_clitics``).
* A rare name particle between two capitalised words (``Siobhán Ní Bhriain``,
  ``Gwenllian ap Rhys``, ``Ngũgĩ wa Thiong'o``) is read as ``de``
  (``read_particles``): the training data's names hold ``de`` more than any other
  particle (23 times in CoNLL-2003 and WNUT-17 train), and the rare ones hardly ever,
  so the network took them for words that end a name.
* Some parts of a sentence are read again in another context (``rereadings``), and each
  of their tokens gets the mean of its ŷ over the readings:

  - the opening of a sentence that opens like a name (``opens_like_a_name``: its
    capitalised words and the three after them, ``opening_end``), after a comma
    (``REREAD_AFTER``): the network, trained mostly on news where such an opening is as
    often a company or a place, trusts a name at a sentence's start far less than the
    same name inside one;
  - a display name before an address in angle brackets (``display_names``), as the
    display name of a ``From:`` header (``DISPLAY_NAME_AFTER``): in ``On Fri, Feb 16,
    2024 at 3:27 PM Oluwaseun Adeyemi <oadeyemi@…> wrote:`` the capitals of ``PM`` before
    it read like a headline, and the name was missed.
"""
from __future__ import annotations

from typing import Callable

from .titles import capitalised

# Irish (Ní, Nic, Mhic, Mhac, Uí, Ó, Ua), Welsh (ap, ab), Kikuyu (wa), Arabic (bint, binti, ibn)
RARE_PARTICLES = frozenset("ní nic mhic mhac uí ó ua ap ab wa bint binti ibn".split())
PARTICLE_READ_AS = "de"
REREAD_AFTER = (",",)  # a sentence that opens like a name is also read after this
OPENING_CONTEXT = 3  # the words after a sentence's capitalised opening read again with it
DISPLAY_NAME_AFTER = ("From", ":")  # a display name is also read after this
MAX_DISPLAY_WORDS = 4


def is_rare_particle(word: str) -> bool:
    """One of RARE_PARTICLES as a particle is written: not in capitals ("WA" is a
    place), but for a one-letter particle ("Ó")."""
    return word.lower() in RARE_PARTICLES and (len(word) == 1 or not word.isupper())


def read_particles(words: list[str]) -> list[str]:
    """The words with each rare name particle between two capitalised words read as
    ``PARTICLE_READ_AS``; the same list (not a copy) when there is none."""
    hits = [i for i in range(1, len(words) - 1) if is_rare_particle(words[i])
            and capitalised(words[i - 1]) and capitalised(words[i + 1])]
    if not hits:
        return words
    out = list(words)
    for i in hits:
        out[i] = PARTICLE_READ_AS
    return out


def opens_like_a_name(words: list[str], has_vector: Callable[[str], bool]) -> bool:
    """Whether a sentence opens like a name: its first word capitalised, and either the
    second capitalised too ("Sigríður Jónsdóttir runs ...", "Xi Jinping met ...") or the
    first without a vector ("Chimamanda spoke ...")."""
    if not words or not capitalised(words[0]):
        return False
    return (len(words) > 1 and capitalised(words[1])) or not has_vector(words[0])


def is_address(word: str) -> bool:
    """An e-mail address as the tokenizer keeps it, one token ("anna@example.com")."""
    at = word.find("@")
    return 0 < at < len(word) - 1 and "." in word[at:]


def display_names(words: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each display name and its address: up to MAX_DISPLAY_WORDS
    capitalised words right before ``< address >``, end after the ``>``. A display name
    right after a colon (an address header, ``From: Anna Kowalski <…>``) is already read
    as one, and is left out."""
    out = []
    for i in range(1, len(words) - 2):
        if words[i] == "<" and is_address(words[i + 1]) and words[i + 2] == ">":
            start = i
            while start > 0 and i - start < MAX_DISPLAY_WORDS and capitalised(words[start - 1]):
                start -= 1
            if start < i and (start == 0 or words[start - 1] != ":"):
                out.append((start, i + 3))
    return out


def rereadings(words: list[str], has_vector: Callable[[str], bool]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, context) of each part of a sentence the network also reads after
    `context`: the opening after a comma when the sentence opens like a name, and each
    display name with its address after ``From :``."""
    out = [(0, opening_end(words), REREAD_AFTER)] if opens_like_a_name(words, has_vector) else []
    return out + [(s, e, DISPLAY_NAME_AFTER) for s, e in display_names(words)]


def opening_end(words: list[str]) -> int:
    """Where the part of a sentence read again after a comma ends: its opening capitalised
    words and the OPENING_CONTEXT words after them (what the name's reading depends on; the
    rest of a long sentence would double the network's work for nothing)."""
    run = 1
    while run < len(words) and capitalised(words[run]):
        run += 1
    return min(len(words), run + OPENING_CONTEXT)
