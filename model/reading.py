"""How the network reads a sentence: rules that put text as people write it into the shapes
the network learned from, before ``Tagger.predict_proba`` runs it. Each keeps the tokens as
given (one ŷ per input token); only what the network reads changes.

* A clitic written apart (``Trump ' s``) is read as one word (``tokenizer.join_clitics``).
* A rare name particle between two capitalised words (``Siobhán Ní Bhriain``,
  ``Gwenllian ap Rhys``, ``Ngũgĩ wa Thiong'o``) is read as ``de``
  (``read_particles``): the training data's names hold ``de`` more than any other
  particle (23 times in CoNLL-2003 and WNUT-17 train), and the rare ones hardly ever,
  so the network took them for words that end a name.
* A sentence that opens like a name (``opens_like_a_name``) is read twice, as written
  and after a comma (``REREAD_AFTER``), and each token gets the mean of its two ŷ: the
  network, trained mostly on news where such an opening is as often a company or a
  place, trusts a name at a sentence's start far less than the same name inside one.
"""
from __future__ import annotations

from typing import Callable

# Irish (Ní, Nic, Mhic, Mhac, Uí, Ó, Ua), Welsh (ap, ab), Kikuyu (wa), Arabic (bint, binti, ibn)
RARE_PARTICLES = frozenset("ní nic mhic mhac uí ó ua ap ab wa bint binti ibn".split())
PARTICLE_READ_AS = "de"
REREAD_AFTER = ","  # a sentence that opens like a name is also read after this token


def capitalised(word: str) -> bool:
    """A capital first letter, not all capitals ("Ngozi", not "NGOZI" or "ngozi")."""
    return word[:1].isupper() and not word.isupper()


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
