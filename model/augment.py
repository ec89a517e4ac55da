"""Training-data augmentation, as pure functions of a corpus and a Generator.

* Case: a share of the sentences lower-cased or upper-cased, so names are found
  in chat ("talked to john smith") and in headlines or signature blocks
  ("JOHN SMITH") where the capital letters say nothing.
* Mention replacement: every person name of a chosen document is swapped, token
  by token and consistently across the document ("Bill Clinton" ... "Clinton"
  -> "Amara Okafor" ... "Okafor"), for names drawn from the name lists, so the
  model learns names it never saw in CoNLL from their context, vectors and
  spelling instead of memorising the training names.
* Names in lower case: in a share of the documents left as written, only the
  person tokens are lower-cased ("i wish i was ryan", "better than butler and
  klay"), as people type names in chat, so a name's vector, spelling and the name
  lists can find it where its capital letter is missing.
* Combining corpora: documents renumbered so they never collide.

Tags never change: a replacement has as many tokens as the name it replaces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import Corpus
from .tags import O, PER, begin


@dataclass(frozen=True)
class NamePool:
    """Title-case first names and surnames to draw replacements from."""

    first: tuple[str, ...]
    last: tuple[str, ...]


def name_pool(first_names: dict[str, int], last_names: dict[str, int], min_first_bin: int = 3,
              max_last_bin: int = 2) -> NamePool:
    """First names with a frequency bin >= min_first_bin (>= 10^bin births in the SSA
    lists) and surnames with a Census rank bin <= max_last_bin (top 10,000), sorted
    so the pool does not depend on dict order."""
    first = sorted(n.title() for n, b in first_names.items() if b >= min_first_bin and len(n) > 1)
    last = sorted(n.title() for n, b in last_names.items() if b <= max_last_bin and len(n) > 1)
    return NamePool(tuple(first), tuple(last))


def recase(tokens: list[str], mode: str) -> list[str]:
    """tokens lower-cased ("lower"), upper-cased ("upper") or as they are ("keep")."""
    if mode == "lower":
        return [w.lower() for w in tokens]
    if mode == "upper":
        return [w.upper() for w in tokens]
    return list(tokens)


def case_modes(n: int, p_lower: float, p_upper: float, rng: np.random.Generator) -> list[str]:
    """One of "lower", "upper", "keep" per sentence, with the given shares."""
    u = rng.random(n)
    return ["lower" if x < p_lower else "upper" if x < p_lower + p_upper else "keep" for x in u]


def _replaceable(w: str) -> bool:
    """A name token worth swapping: capitalised, alphabetic, not an initial ("J.")
    or a particle ("van", "bin"), which stay as they are."""
    return len(w) > 1 and w[:1].isupper() and w.replace("-", "").replace("'", "").isalpha()


def mention_map(sentences: list[list[str]], tags: list[list[int]], pool: NamePool,
                rng: np.random.Generator) -> dict[str, str]:
    """Lower-cased token -> replacement for the person tokens of one document: the
    last token of a multi-token name becomes a surname, the others first names; a
    one-token name becomes either. A token keeps its first replacement everywhere,
    whatever its casing ("Clinton", "CLINTON")."""
    out: dict[str, str] = {}
    for toks, tg in zip(sentences, tags):
        t = 0
        while t < len(tg):
            if tg[t] == O:
                t += 1
                continue
            e = t + 1
            while e < len(tg) and tg[e] == 2:  # I-PER
                e += 1
            for k in range(t, e):
                w = toks[k]
                if w.lower() in out or not _replaceable(w):
                    continue
                surname = (k == e - 1 and e - t > 1) or (e - t == 1 and rng.random() < 0.5)
                names = pool.last if surname else pool.first
                out[w.lower()] = names[int(rng.integers(len(names)))]
            t = e
    return out


def documents(docs: list[int]) -> list[list[int]]:
    """The sentence indices of each document, documents in id order (the order draws
    are made in, so the same seed swaps the same documents)."""
    by_doc: dict[int, list[int]] = {}
    for i, d in enumerate(docs):
        by_doc.setdefault(d, []).append(i)
    return [by_doc[d] for d in sorted(by_doc)]


def replace_mentions(corpus: Corpus, pool: NamePool, p_doc: float, rng: np.random.Generator) -> Corpus:
    """A copy of corpus where the names of a share p_doc of the documents are swapped
    (see mention_map); a replacement follows the original's casing (UPPER stays UPPER)."""
    sentences = [list(s) for s in corpus.sentences]
    for idx in documents(corpus.docs):
        if rng.random() >= p_doc:
            continue
        person = [person_tags(corpus.tags[i], corpus.types) for i in idx]
        mapping = mention_map([corpus.sentences[i] for i in idx], person, pool, rng)
        for i, tags in zip(idx, person):
            sentences[i] = [_swap(w, mapping) if tg else w for w, tg in zip(sentences[i], tags)]
    return Corpus(sentences, [list(t) for t in corpus.tags], list(corpus.docs), corpus.types)


def person_tags(tags: list[int], types: tuple[str, ...]) -> list[int]:
    """The person tags of a sentence (0 O, 1 B-PER, 2 I-PER), every other type O:
    only people's names are swapped."""
    if types == (PER,):
        return tags
    if PER not in types:
        return [O] * len(tags)
    b = begin(types.index(PER))
    return [1 if t == b else 2 if t == b + 1 else O for t in tags]


def _swap(w: str, mapping: dict[str, str]) -> str:
    new = mapping.get(w.lower())
    if new is None:
        return w
    return new.upper() if w.isupper() else new


def lower_names(corpus: Corpus, modes: list[str], p_doc: float, rng: np.random.Generator) -> Corpus:
    """A copy of corpus where, in a share p_doc of the documents whose sentences are all
    kept as written (modes: one per sentence), the person tokens are lower-cased."""
    sentences = list(corpus.sentences)
    for idx in documents(corpus.docs):
        if rng.random() >= p_doc or any(modes[i] != "keep" for i in idx):
            continue
        for i in idx:
            person = person_tags(corpus.tags[i], corpus.types)
            sentences[i] = [w.lower() if tg else w for w, tg in zip(sentences[i], person)]
    return Corpus(sentences, corpus.tags, corpus.docs, corpus.types)


def augment(corpus: Corpus, pool: NamePool | None, p_replace: float, p_lower: float, p_upper: float,
            rng: np.random.Generator, case_by_document: bool = True, p_lower_names: float = 0.0) -> Corpus:
    """One epoch's training corpus: mention replacement, then case, then names in
    lower case (drawn only when p_lower_names > 0, so the other draws do not move).

    case_by_document: one case per document (a whole article lower- or
    upper-cased), so the document memory stays meaningful: a name lower-cased
    in one sentence would otherwise mark its upper-case mentions elsewhere in
    the document as "also used in lower case". Else one case per sentence.
    """
    if pool is not None and p_replace > 0:
        corpus = replace_mentions(corpus, pool, p_replace, rng)
    if p_lower + p_upper > 0:
        if case_by_document:
            doc_ids = sorted(set(corpus.docs))
            by_doc = dict(zip(doc_ids, case_modes(len(doc_ids), p_lower, p_upper, rng)))
            modes = [by_doc[d] for d in corpus.docs]
        else:
            modes = case_modes(len(corpus), p_lower, p_upper, rng)
        corpus = Corpus([recase(s, m) for s, m in zip(corpus.sentences, modes)],
                        corpus.tags, corpus.docs, corpus.types)
    else:
        modes = ["keep"] * len(corpus)
    if p_lower_names > 0:
        corpus = lower_names(corpus, modes, p_lower_names, rng)
    return corpus


def combine(corpora: list[Corpus], one_doc_per_sentence: list[bool]) -> Corpus:
    """Concatenate corpora; documents renumbered so they stay apart. A corpus without
    document markers (WNUT-17: posts) gets one document per sentence."""
    types = corpora[0].types if corpora else Corpus().types
    if any(c.types != types for c in corpora):
        raise ValueError(f"corpora with different types: {sorted({c.types for c in corpora})}")
    out, base = Corpus(types=types), 0
    for c, per_sentence in zip(corpora, one_doc_per_sentence):
        docs = list(range(len(c))) if per_sentence else list(c.docs)
        out.sentences += c.sentences
        out.tags += c.tags
        out.docs += [base + d for d in docs]
        base += (max(docs) + 1) if docs else 0
    return out
