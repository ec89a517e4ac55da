"""The tag set: IOB2 over K entity types, the network's n_y = 1 + 2K classes.

    0         O      outside every entity
    1 + 2k    B-T_k  the first token of an entity of type k
    2 + 2k    I-T_k  a later token of the same entity

The types come from the training data; the person-name model has K = 1 and
exactly the tags it always had:

    0 O, 1 B-PER, 2 I-PER   (``TAGS``, ``O``, ``B``, ``I``)

The artifact stores its tags as its labels (``TagSet.tags``) and its types in
its config; readers map whatever scheme a file uses (IOB1, IOB2, IO) onto these ids.
"""
from __future__ import annotations

PER = "PER"
TAGS = ("O", "B-PER", "I-PER")
O, B, I = 0, 1, 2


def tags_of(types: tuple[str, ...]) -> tuple[str, ...]:
    """("PER", "LOC") -> ("O", "B-PER", "I-PER", "B-LOC", "I-LOC")."""
    return ("O",) + tuple(f"{p}-{t}" for t in types for p in ("B", "I"))


def begin(k: int) -> int:
    return 1 + 2 * k


def inside(k: int) -> int:
    return 2 + 2 * k


def type_index(tag: int) -> int:
    """The type k of a B or I tag id (tag > 0)."""
    return (tag - 1) // 2


def is_begin(tag: int) -> bool:
    return tag > 0 and tag % 2 == 1
