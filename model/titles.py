"""Titles and honorifics: never a name by themselves, never inside a name's span.

"met with Mr. David Okafor" names "David Okafor"; "Dear Ms. Kowalczyk" names
"Kowalczyk"; "Pope Francis" names "Francis"; a span that is a title alone ("Mr",
"President") names nobody. This is CoNLL-2003's convention, which the test sets
follow. A person-name model's tagger gives the titles before a name a score of 0
(``outside_names``), so the decoding leaves them out and a token's label still
agrees with its score; ``names.model_spans`` applies the same rule to the spans
of a model of several types.

Left out on purpose: royal titles ("King Hassan", "Prince Charles": CoNLL keeps
them in the name) and words that are as often a name ("Don", "Major", "Dean").
A title alone that is also a common surname ("Pope", "Bishop": in the US Census
top 1,000) stays a name: "Alexander Pope" and "Pope wrote" are people. An
abbreviation that is also a surname ("Sen", as in Amartya Sen and Hun Sen) is a
title only with its full stop: "Sen. Bob Dole".

The words that open or close a message ("Hi", "Dear", "Thanks", "Regards") are
never in a name either: "Hi Priya" names "Priya". Nor are chat's interjections
("lol", "xD", "omg", "hahaha"), nor "vs" between two names: "You sound like James
lol" names "James", "Canelo vs Julio César" two people. No split of CoNLL-2003 or
WNUT-17 tags one of these as a person.

Nor is a street named after a person: in "1765 Nelson Mandela Drive" the capitalised
words before the street's kind name a street, and nobody. The kinds are those that are
not also common surnames (among the US Census 1990's 10,000 most common: not "Lane",
"Street", "Way", "Close", "Place"); no split of CoNLL-2003 or WNUT-17 train or dev has
a person's name before one.

Nor are the quotation marks and brackets around a name: `From: "Haddad, Karim"
<k.haddad@…>` names "Haddad" and "Karim", not `"Haddad`. A quote or bracket stays
possible inside a name only between two capitalised words, as around a nickname
(`Roberto "Hands of Stone" Duran`, which CoNLL-2003 tags as one name).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Callable

TITLES = frozenset("""
    mr mrs ms miss mx master dr doctor prof professor emeritus emerita sir dame lord lady
    madam madame mme mlle mademoiselle monsieur herr frau señor señora señorita sra srta
    pope cardinal archbishop bishop rev revd reverend fr father pastor rabbi imam sheikh ayatollah
    president vice prime minister premier chancellor secretary ambassador senator sen
    congressman congresswoman rep representative governor gov mayor judge justice hon honourable honorable
    gen general col colonel maj capt captain lt lieutenant sgt sergeant cpl corporal
    cmdr commander admiral inspector detective officer
""".split())  # "vice", "prime": the first words of "Vice President", "Prime Minister"
ALSO_SURNAMES = frozenset({"pope", "bishop"})  # US Census 1990 surnames ranked 405 and 217
GREETINGS = frozenset("""
    hi hello hey hiya howdy dear hola bonjour ciao thanks thank cheers regards greetings saludos
""".split())
INTERJECTIONS = frozenset("""
    lol lolz lool lmao lmfao rofl roflmao xd omg omfg smh tbh btw idk imo imho wtf lmk brb ikr fyi thx pls plz
    bruh brah yall sry nvm yea yeah
""".split())  # not "ty" (Ty is a name) nor "ha" (a surname)
LAUGHTER = re.compile(r"(?:h+a+){2,}h*|(?:h+e+){2,}h*|a?(?:ha){2,}h?", re.IGNORECASE)  # haha, hhaahaa, hehe
VERSUS = frozenset({"vs", "vs.", "versus"})  # "Canelo vs Julio César Jr"
STREET_KINDS = frozenset("""
    st road rd avenue ave boulevard blvd drive highway hwy parkway pkwy terrace crescent
""".split())  # written capitalised after the street's name: "Nelson Mandela Drive", "Main St."
# Titles that stand before a person's name and nothing else: the capitalised word after one
# begins a name ("to Mr. Smith at the desk", where the network alone read "Smith" as a place).
PERSONAL_TITLES = frozenset({"mr", "mrs", "ms", "dr", "prof"})
ONLY_WITH_STOP = frozenset({"sen"})  # "Sen." the senator; "Sen" a Bengali, Khmer and Chinese surname
QUOTES = frozenset("\"'`“”„‘’‚«»‹›()[]{}<>")  # a token of these alone opens or closes a quote


def is_title(word: str) -> bool:
    """A title, in any case, with or without its full stop ("Mr", "MR.", "prof")."""
    return word.casefold().removesuffix(".") in TITLES


def never_in_name(word: str) -> bool:
    """A word that opens or closes a message ("Hi", "THANKS"), a chat interjection
    ("lol", "xD", "hahaha") or "vs" between two names, in any case: never in a name."""
    w = word.casefold()
    return w in GREETINGS or w in INTERJECTIONS or w in VERSUS or LAUGHTER.fullmatch(w) is not None


def is_quote(word: str) -> bool:
    """A token of quotation marks or brackets alone (`"`, `“`, `(`, `<`, `'`)."""
    return bool(word) and all(c in QUOTES for c in word)


def capitalised(word: str) -> bool:
    """A capital first letter, not all capitals ("Ngozi", not "NGOZI" or "ngozi")."""
    return word[:1].isupper() and not word.isupper()


def is_street_kind(word: str) -> bool:
    """A street kind in title case ("Drive", "Blvd", "St."), which ends a street's name;
    in upper-case text ("ROAD") capitals say nothing, and the rule stays out."""
    return capitalised(word) and word.casefold().removesuffix(".") in STREET_KINDS


def street_name_words(words: list[str]) -> list[bool]:
    """The words that name a street after a person: the capitalised words and initials
    right before a street kind, at most four, with the full stop of an abbreviation
    among them ("Martin Luther King Jr . Blvd")."""
    out = [False] * len(words)
    for i, w in enumerate(words):
        if i == 0 or not is_street_kind(w):
            continue
        j, n = i - 1, 0
        while j >= 0 and n < 4:
            if words[j] == "." and j > 0 and words[j - 1][:1].isupper():
                out[j] = True
            elif words[j][:1].isupper():
                n += 1
                out[j] = True
            else:
                break
            j -= 1
    return out


def title_at(words: list[str], i: int) -> bool:
    """words[i] is a title where it stands: ``is_title``, and an ONLY_WITH_STOP
    abbreviation only with its full stop ("Sen." or "Sen" then ".")."""
    w = words[i]
    if not is_title(w):
        return False
    if w.casefold().removesuffix(".") in ONLY_WITH_STOP:
        return w.endswith(".") or (i + 1 < len(words) and words[i + 1] == ".")
    return True


def name_start(words: list[str], start: int, end: int) -> int | None:
    """Where the name in words[start:end] begins once the titles (and their full
    stops) and the words ``never_in_name`` before it are left out; None when the span
    names nobody: a title alone, such a word, or titles and punctuation only. The
    span's last word is never left out as a title when a title comes before it
    ("Mr. Pope")."""
    i = start
    while i < end - 1 and (title_at(words, i) or never_in_name(words[i])
                           or (words[i] == "." and i > start and title_at(words, i - 1))):
        i += 1
    if never_in_name(words[i]) or (i == start and end - start == 1 and title_at(words, i)
                                   and words[i].casefold() not in ALSO_SURNAMES):
        return None
    if not any(c.isalnum() for w in words[i:end] for c in w):
        return None
    return i


def is_personal_title(word: str) -> bool:
    """One of PERSONAL_TITLES, capitalised, with or without its full stop ("Mr", "DR.")."""
    return word[:1].isupper() and word.casefold().removesuffix(".") in PERSONAL_TITLES


def after_personal_titles(words: list[str]) -> list[bool]:
    """The words that begin a name because a personal title stands right before them
    (its full stop between them or not): capitalised words with a letter, not titles
    themselves. A title right after a capitalised word that is not a greeting or a
    title is left alone: "Oak Dr. Springfield" is an address ("Drive")."""
    out = [False] * len(words)
    for i, w in enumerate(words):
        if not is_personal_title(w):
            continue
        before = words[i - 1] if i else ""
        if before[:1].isupper() and not (before.casefold() in GREETINGS or is_title(before)):
            continue
        j = i + 2 if i + 1 < len(words) and words[i + 1] == "." else i + 1
        if j < len(words) and words[j][:1].isupper() and not is_title(words[j]) and any(c.isalpha() for c in words[j]):
            out[j] = True
    return out


def folded(word: str) -> str:
    """The word without its accents ("Sebastián" -> "Sebastian")."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def after_greetings(words: list[str], is_first_name: Callable[[str], bool]) -> list[bool]:
    """The word that begins a name because a greeting opens the sentence and addresses
    it: "Hi Will, ...", "Dear May,", "Thanks, Summer!". Only a capitalised word that is
    a first name (``is_first_name``, given it without accents) and is followed by
    punctuation, the end, or another capitalised word (its surname): the network
    reads "Will", "May" or "Summer" as the words they also are, while "Hi Team," and
    "Dear Customer," name nobody."""
    out = [False] * len(words)
    if not words or words[0].casefold() not in GREETINGS:
        return out
    j = 2 if len(words) > 2 and words[1] == "," else 1
    if j >= len(words):
        return out
    w, nxt = words[j], words[j + 1] if j + 1 < len(words) else ""
    if (capitalised(w) and not is_title(w) and is_first_name(folded(w))
            and (nxt in ("", ",", "!", ".", ":", "?", "-") or capitalised(nxt))):
        out[j] = True
    return out


def begins_a_name(words: list[str], is_first_name: Callable[[str], bool]) -> list[bool]:
    """The words that begin a name by what stands before them: a personal title
    (``after_personal_titles``) or a greeting (``after_greetings``)."""
    return [a or b for a, b in zip(after_personal_titles(words), after_greetings(words, is_first_name))]


def join_title_stops(words: list[str], bounds: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentence ranges with each one that ends in a personal title and its full stop
    ("... spoke to Mr .") joined to the next when that opens with a capital: the
    tokenizer cuts "Mr." in two and a unit ends at the stop, which would leave the
    title and its name in two sentences."""
    out: list[tuple[int, int]] = []
    for s, e in bounds:
        if out and out[-1][1] == s < e and words[s][:1].isupper():
            ps, pe = out[-1]
            if pe - ps >= 2 and words[pe - 1] == "." and is_personal_title(words[pe - 2]):
                out[-1] = (ps, e)
                continue
        out.append((s, e))
    return out


def outside_names(words: list[str]) -> list[bool]:
    """The words that are never in a person's name: those naming a street
    (``street_name_words``), each ``never_in_name`` word, each title
    (and the full stop after it), as ``name_start`` leaves them out of a span; a title
    that is also a common surname ("Pope") only when a capitalised word follows
    ("Pope Francis", not "Alexander Pope" or "Pope wrote"); each quotation mark or
    bracket (``is_quote``) but one between two capitalised words ("Hector " Macho "
    Camacho")."""
    out = street_name_words(words)
    for i, w in enumerate(words):
        nxt = words[i + 1] if i + 1 < len(words) else ""
        if is_quote(w):
            out[i] = not (i > 0 and words[i - 1][:1].isupper() and nxt[:1].isupper())
        elif never_in_name(w):
            out[i] = True
        elif title_at(words, i) and (w.casefold().removesuffix(".") not in ALSO_SURNAMES or nxt[:1].isupper()):
            out[i] = True
            if i + 1 < len(words) and words[i + 1] == ".":
                out[i + 1] = True
    return out
