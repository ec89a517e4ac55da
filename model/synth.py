"""Training documents in the shapes people write, generated from a seed.

E-mails with greetings and sign-offs, signature and address blocks, ``Field: value``
forms, chat lines, tickets and CRM notes, lists of names, with hard negatives in the
same shapes: companies and streets named after people, products, days and months,
"God". The names come from the US name lists (SSA first names, Census surnames),
from Faker's Latin-script locales, and from the patterns those lack: particles
(da, van, bin, Ní, Mac), middle initials, three-part East and South-East Asian
names, two surnames, one-word names and first names that are also words. A title
is written outside the name's span ("Dear Ms. [Kowalczyk]"), as CoNLL-2003 does.

Same pools + same Generator state = the same documents; nothing else is random.

    pools = Pools.build(first_names, last_names, faker_names())
    docs = documents(n, pools, rng)             # [Doc(text, spans, shape)]
    corpus = to_corpus(docs)                    # units as sentences, IOB2 tags

Training time only: Faker is in the train extra, never at serving.
"""
from __future__ import annotations

import string
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .data import Corpus
from .tags import B, I, O
from .tokenizer import tokenize
from .units import unit_bounds

# Latin-script Faker locales with at least 20 first names and 20 surnames of their own
FAKER_LOCALES = ("az_AZ", "cs_CZ", "da_DK", "de_AT", "de_DE", "en_GB", "en_IE", "en_IN", "en_KE", "en_PK",
                 "es_CL", "es_CO", "es_ES", "es_MX", "et_EE", "fi_FI", "fr_BE", "fr_FR", "ga_IE", "hr_HR",
                 "hu_HU", "id_ID", "it_IT", "lt_LT", "lv_LV", "nl_NL", "no_NO", "pt_BR", "pt_PT", "ro_RO",
                 "sk_SK", "sl_SI", "sv_SE", "sw", "tr_TR", "tw_GH", "yo_NG", "zu_ZA")
WORD_NAMES = ("Will", "May", "Grace", "Hope", "Faith", "Joy", "Mark", "Bill", "Rose", "Iris", "Summer",
              "Hunter", "Art", "Frank", "Sunny", "Dawn", "Jack", "Chase", "Pat", "Drew", "April", "June",
              "Holly", "Ivy", "Robin", "Heather", "Sky", "Rich", "Skip", "Hazel", "Penny", "Sandy")
PARTICLES = ("van", "van der", "van den", "de", "de la", "del", "da", "dos", "von", "von der", "bin",
             "binti", "ibn", "Mac", "Ní", "Ó", "Nic", "di", "le", "al")
EAST_ASIAN = {  # family names, then the syllables of given names (romanized)
    "ko": (("Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang", "Lim", "Han", "Shin"),
           ("Jong", "Un", "Jae", "Hyun", "Min", "Seo", "Ji", "Woo", "Soo", "Young", "Ho", "Sung", "Hee", "Jin")),
    "vi": (("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương"),
           ("Văn", "Thị", "Minh", "Đức", "Quang", "Thanh", "An", "Bình", "Lan", "Mai", "Hùng", "Linh", "Hương")),
    "zh": (("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun"),
           ("Wei", "Jing", "Xiu", "Ying", "Jian", "Guo", "Min", "Hua", "Lei", "Yan", "Hong", "Jun")),
}
TITLES = ("Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mr", "Ms", "Dr", "Sir", "Dame", "President", "Judge",
          "Senator", "Captain", "Rev.", "Professor")
GREETINGS = ("Hi", "Hello", "Dear", "Hey", "Good morning", "Morning", "Hiya", "Good afternoon")
SIGNOFFS = ("Thanks", "Best", "Regards", "Kind regards", "Best regards", "Cheers", "Many thanks",
            "Thank you", "All the best", "Warm regards", "Sincerely", "Best wishes", "Ta")
JOBS = ("Account Manager", "Senior Engineer", "Head of Procurement", "Operations Lead", "Finance Manager",
        "Customer Success", "QA Engineer", "Solicitor", "Product Manager", "Sales Director", "HR Business Partner",
        "Office Manager", "Data Analyst", "Project Coordinator", "Chief Executive Officer")
COMPANY_FORMS = ("{l} & {l2}", "{l} Holdings", "{l} Ltd", "{l} & Sons", "{l} Consulting", "{l} Group",
                 "{l} Logistics", "{f} {l} Foundation", "{l} Insurance", "{l}, {l2} and Partners", "{l} GmbH",
                 "{l} Bakery", "{l} Dental Care")
STREET_FORMS = ("{n} {f} {l} Drive", "{n} {l} Street", "{n} {l} Road", "{n} {f} {l} Avenue", "{n} {l} Lane",
                "{n} {f} {l} Boulevard", "{n} Rue {f} {l}", "{n} {l} Way", "{n} Avenida {f} {l}")
PRODUCTS = ("Alexa", "Siri", "Jira", "Jenkins", "Excel", "Salesforce", "Zendesk", "Slack", "Outlook", "Dell",
            "Ford", "Tesla", "Hilton", "Wells Fargo", "Morgan Stanley", "Hugo Boss", "McDonald's", "Marriott")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
CITIES = ("Lagos", "Leeds", "Kraków", "Lyon", "Accra", "Austin", "Manila", "Porto", "Nairobi", "Hanoi",
          "Seoul", "Dublin", "Göteborg", "Bogotá", "Izmir", "Kuala Lumpur", "Cardiff", "Mumbai", "Galway")
COUNTRIES = ("Nigeria", "United Kingdom", "Poland", "France", "Ghana", "USA", "Philippines", "Portugal",
             "Kenya", "Vietnam", "South Korea", "Ireland", "Sweden", "Colombia", "Turkey", "Malaysia")
THINGS = ("the invoice", "the contract", "the renewal", "the quote", "the refund", "the order", "the deck",
          "the budget", "the audit", "the lease", "the migration", "the shipment")


class Doc(NamedTuple):
    text: str
    spans: tuple[tuple[int, int], ...]  # person names, code-point offsets, end exclusive
    shape: str


class Name(str):
    """A piece of a template that is a person's name (its span is recorded)."""


@dataclass(frozen=True)
class Pools:
    """Where names come from: US first names and surnames, and (first names, surnames)
    per Faker locale."""

    first: tuple[str, ...]
    last: tuple[str, ...]
    cultures: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()

    @classmethod
    def build(cls, first_names: dict[str, int], last_names: dict[str, int], cultures=()) -> Pools:
        """From the name lists' frequency bins (features.load_name_lists): first names
        seen 1,000+ times, surnames in the Census top 10,000, title case, sorted."""
        first = sorted(_title(n) for n, b in first_names.items() if b >= 3 and len(n) > 1)
        last = sorted(_title(n) for n, b in last_names.items() if b <= 2 and len(n) > 1)
        return cls(tuple(first), tuple(last), tuple(cultures))


def _title(name: str) -> str:
    """An upper-case list entry as it is written: "MCNAMARA" -> "McNamara", "OBRIEN" -> "Obrien"."""
    t = name.title()
    return "Mc" + t[2:].capitalize() if t.startswith("Mc") and len(t) > 3 else t


def faker_names(locales=FAKER_LOCALES) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """(first names, surnames) of each Faker locale, sorted, read from its person
    provider's lists (Faker's own random generator is never used)."""
    import importlib

    from faker import Generator

    out = []
    for loc in locales:
        provider = importlib.import_module(f"faker.providers.person.{loc}").Provider(Generator())
        first, last = (_names(getattr(provider, a)) for a in ("first_names", "last_names"))
        out.append((first, last))
    return tuple(out)


def _names(values) -> tuple[str, ...]:
    """A Faker list (tuple, or dict of weights) as sorted distinct names: a letter, then
    Latin letters, apostrophes, hyphens and spaces."""
    return tuple(sorted({v for v in values if v.strip() == v and v[:1].isalpha() and _latin(v)
                         and v.replace("'", "").replace("-", "").replace(" ", "").isalpha()}))


def _latin(name: str) -> bool:
    """Every letter of name is a Latin one (a Twi name may carry a Greek ε for ɛ)."""
    return all("LATIN" in unicodedata.name(c, "") for c in name if c.isalpha())


# --- people --------------------------------------------------------------------------

class Person(NamedTuple):
    full: str  # as written in full
    first: str  # what a greeting uses
    last: str  # what follows a title


def _pick(rng: np.random.Generator, xs):
    return xs[int(rng.integers(len(xs)))]


def person(rng: np.random.Generator, pools: Pools) -> Person:
    """One person, in one of the naming patterns, with the forms templates use."""
    style = rng.random()
    first, last = _pick(rng, pools.first), _pick(rng, pools.last)
    if pools.cultures and rng.random() < 0.5:
        firsts, lasts = _pick(rng, pools.cultures)
        first, last = _pick(rng, firsts), _pick(rng, lasts)
    if style < 0.55:
        return Person(f"{first} {last}", first, last)
    if style < 0.63:  # a middle initial
        return Person(f"{first} {_pick(rng, string.ascii_uppercase)}. {last}", first, last)
    if style < 0.72:  # a particle
        p = _pick(rng, PARTICLES)
        if p in ("bin", "binti", "ibn"):  # a father's name follows
            surname = f"{p} {_pick(rng, pools.first)}"
        else:
            surname = f"al-{last}" if p == "al" else f"{p} {last}"
        return Person(f"{first} {surname}", first, surname[0].upper() + surname[1:])
    if style < 0.81:  # East and South-East Asian: family name first, often two given syllables
        family, given = EAST_ASIAN[_pick(rng, sorted(EAST_ASIAN))]
        fam, parts = _pick(rng, family), [_pick(rng, given) for _ in range(1 + int(rng.random() < 0.6))]
        if rng.random() < 0.3:  # Korean style: Moon Jae-in
            parts = [f"{parts[0]}-{parts[-1].lower()}"] if len(parts) > 1 else parts
        return Person(" ".join([fam, *parts]), " ".join(parts), fam)
    if style < 0.87:  # two surnames, one maybe hyphenated
        l2 = _pick(rng, pools.last)
        surname = f"{last} {l2}" if rng.random() < 0.5 else f"{last}-{l2}"
        return Person(f"{first} {surname}", first, surname)
    if style < 0.94:  # a first name that is also a word
        w = _pick(rng, WORD_NAMES)
        return Person(f"{w} {last}", w, last)
    return Person(first, first, first)  # one name only


def company(rng, pools: Pools) -> str:
    return _pick(rng, COMPANY_FORMS).format(f=_pick(rng, pools.first), l=_pick(rng, pools.last),
                                             l2=_pick(rng, pools.last))


def street(rng, pools: Pools) -> str:
    return _pick(rng, STREET_FORMS).format(n=int(rng.integers(1, 2000)), f=_pick(rng, pools.first),
                                           l=_pick(rng, pools.last))


def day(rng) -> str:
    return f"{_pick(rng, DAYS)} {int(rng.integers(1, 29))} {_pick(rng, MONTHS)}"


# --- writing -------------------------------------------------------------------------

class Writer:
    """Text written piece by piece; a Name piece's span is recorded."""

    def __init__(self):
        self.parts: list[str] = []
        self.spans: list[tuple[int, int]] = []
        self.n = 0

    def write(self, template: str, **values) -> Writer:
        """template with {field}s filled; a field whose value is a Name becomes a span."""
        for literal, field, spec, _ in string.Formatter().parse(template):
            self._add(literal)
            if field is not None:
                v = values[field]
                start = self.n
                self._add(format(v, spec))
                if isinstance(v, Name):
                    self.spans.append((start, self.n))
        return self

    def _add(self, s: str) -> None:
        self.parts.append(s)
        self.n += len(s)

    def doc(self, shape: str) -> Doc:
        return Doc("".join(self.parts), tuple(self.spans), shape)


def _sentence(rng, pools: Pools) -> tuple[str, dict]:
    """A line of business prose and its values: names in the roles people write them in,
    or hard negatives only."""
    p, q = person(rng, pools), person(rng, pools)
    v = dict(a=Name(p.full), fa=Name(p.first), la=Name(p.last), b=Name(q.full), fb=Name(q.first),
             t=_pick(rng, TITLES), c=company(rng, pools), s=street(rng, pools), d=day(rng),
             m=_pick(rng, MONTHS), w=_pick(rng, DAYS), x=_pick(rng, THINGS), pr=_pick(rng, PRODUCTS),
             n=int(rng.integers(100, 9999)))
    forms = (
        "Ask {fa} about {x}.", "Call {fa} at extension {n}.", "I spoke to {a} from {c} about {x}.",
        "{t} {la} will send {x} on {w}.", "Please loop in {fb} and {fa}.", "{a} approved {x} on {d}.",
        "Met with {t} {la} and {b} to go through {x}.", "{fa} is out until {d}.", "Thanks to {fa} for {x}!",
        "Her maiden name is {la}.", "Forward {x} to {fb}, not me.", "{a} joined {c} in {m}.",
        "Left a voicemail for {fa}.", "The meeting with {a} moved to {w}.", "Did {fa} sign {x}?",
        "{c} renewed {x} in {m}; no change for now.", "Delivery to {s} is booked for {w}.",
        "Thank God {x} went out on {w}.", "{pr} was down all of {w} morning.", "The {c} account is overdue.",
        "Reassigned from {fa} to {b}.", "{fa} said {c} will decide by the end of {m}.",
    )
    return _pick(rng, forms), v


def email(rng, pools: Pools) -> Doc:
    w, to, me = Writer(), person(rng, pools), person(rng, pools)
    greet = _pick(rng, GREETINGS)
    if greet == "Dear" and rng.random() < 0.5:
        w.write("Dear {t} {l},\n\n", t=_pick(rng, TITLES[:6]), l=Name(to.last))
    else:
        w.write("{g} {f},\n\n", g=greet, f=Name(to.first if rng.random() < 0.8 else to.first.lower()))
    for _ in range(int(rng.integers(1, 4))):
        form, v = _sentence(rng, pools)
        w.write(form + (" " if rng.random() < 0.5 else "\n"), **v)
    w.write("\n{s},\n{f}\n", s=_pick(rng, SIGNOFFS), f=Name(me.first if rng.random() < 0.6 else me.full))
    if rng.random() < 0.5:
        _signature_lines(w, rng, pools, me)
    return w.doc("email")


def _signature_lines(w: Writer, rng, pools: Pools, me: Person) -> None:
    w.write("{sep}{n}\n{j}{bar}", sep="--\n" if rng.random() < 0.3 else "\n", n=Name(me.full),
            j=_pick(rng, JOBS), bar=" | " if rng.random() < 0.4 else "\n")
    w.write("{c}\n", c=company(rng, pools) if rng.random() < 0.7 else _pick(rng, CITIES))
    if rng.random() < 0.6:
        w.write("Tel: +{a} {b} 555 0{c}\n", a=int(rng.integers(1, 99)), b=int(rng.integers(10, 999)),
                c=int(rng.integers(100, 999)))
    if rng.random() < 0.5:
        w.write("{s}, {city}\n", s=street(rng, pools), city=_pick(rng, CITIES))


def signature(rng, pools: Pools) -> Doc:
    w, me = Writer(), person(rng, pools)
    if rng.random() < 0.5:
        w.write("{s},\n", s=_pick(rng, SIGNOFFS))
    _signature_lines(w, rng, pools, me)
    return w.doc("signature")


def address(rng, pools: Pools) -> Doc:
    w, p = Writer(), person(rng, pools)
    w.write(_pick(rng, ("", "Ship to:\n", "Deliver to:\n", "Billing address:\n", "c/o ")))
    if rng.random() < 0.3:
        w.write("{c}\nAttn: ", c=company(rng, pools))
    if rng.random() < 0.3:
        w.write("{t} ", t=_pick(rng, TITLES[:6]))
    w.write("{p}\n{s}\n{city} {pc}\n{country}", p=Name(p.full), s=street(rng, pools), city=_pick(rng, CITIES),
            pc=int(rng.integers(10000, 99999)), country=_pick(rng, COUNTRIES))
    return w.doc("address")


def form(rng, pools: Pools) -> Doc:
    w = Writer()
    person_fields = ("Name", "Assigned to", "Reporter", "Owner", "Approved by", "Contact", "Requested by",
                     "Emergency contact", "Customer", "Agent", "Signed", "Witness", "From", "To")
    other_fields = (("Company", lambda: company(rng, pools)), ("Address", lambda: street(rng, pools)),
                    ("Date", lambda: day(rng)), ("Due", lambda: _pick(rng, MONTHS)), ("Product", lambda:
                    _pick(rng, PRODUCTS)), ("Status", lambda: "In progress"), ("Priority", lambda: "High"),
                    ("Account name", lambda: company(rng, pools)), ("City", lambda: _pick(rng, CITIES)))
    lines = []
    for _ in range(int(rng.integers(2, 6))):
        if rng.random() < 0.55:
            lines.append(("{k}: {v}", dict(k=_pick(rng, person_fields), v=Name(person(rng, pools).full))))
        elif rng.random() < 0.15:
            a, b = person(rng, pools), person(rng, pools)
            lines.append(("cc: {a}; {b}", dict(a=Name(a.full), b=Name(b.full))))
        else:
            k, make = other_fields[int(rng.integers(len(other_fields)))]
            lines.append(("{k}: {v}", dict(k=k, v=make())))
    for i, (t, v) in enumerate(lines):
        w.write(t + ("\n" if i < len(lines) - 1 else ""), **v)
    return w.doc("form")


def chat(rng, pools: Pools) -> Doc:
    w, people = Writer(), [person(rng, pools) for _ in range(3)]
    lower = rng.random() < 0.5
    for i in range(int(rng.integers(2, 6))):
        who, other = people[i % 2], people[int(rng.integers(3))]
        msg = _pick(rng, ("is {o} around?", "thanks {o}!", "ask {o}, she knows", "ok will do",
                          "{o} pushed the fix", "brb", "who has {x}?", "cc {o}", "see you {day}"))
        fo = other.first.lower() if lower else other.first
        w.write("[{h:02d}:{m:02d}] {who}: " + msg + "\n", h=int(rng.integers(7, 19)), m=int(rng.integers(60)),
                who=Name(who.first.lower() if lower else who.first), o=Name(fo), x=_pick(rng, THINGS),
                day=_pick(rng, DAYS).lower() if lower else _pick(rng, DAYS))
    return w.doc("chat")


def note(rng, pools: Pools) -> Doc:
    """A ticket or CRM note: a few lines of business prose."""
    w = Writer()
    if rng.random() < 0.4:
        w.write("Ticket #{n}\n", n=int(rng.integers(1000, 99999)))
    for _ in range(int(rng.integers(1, 4))):
        form_, v = _sentence(rng, pools)
        w.write(form_ + _pick(rng, (" ", "\n")), **v)
    return w.doc("note")


def names_list(rng, pools: Pools) -> Doc:
    w, people = Writer(), [person(rng, pools) for _ in range(int(rng.integers(2, 6)))]
    surnames_only = rng.random() < 0.25
    forms = [Name(p.last if surnames_only else p.full if rng.random() < 0.7 else p.first) for p in people]
    if rng.random() < 0.5:
        w.write("{h}:", h=_pick(rng, ("Attendees", "The founders", "Team", "On the panel", "Out this week",
                                       "Shortlisted", "Speakers")))
        for i, f in enumerate(forms):
            sep = " " if i == 0 else " and " if i == len(forms) - 1 else ", "
            w.write(sep + "{f}", f=f)
        w.write(".")
    else:
        w.write("{h}\n", h=_pick(rng, ("Team:", "Speakers", "Attendees", "Contacts")))
        for i, f in enumerate(forms):
            w.write(_pick(rng, ("- ", "* ", f"{i + 1}. ")) + "{f}\n", f=f)
    return w.doc("list")


def negatives(rng, pools: Pools) -> Doc:
    """Lines with no person: companies, streets and products named after people, dates, God."""
    w = Writer()
    forms = ("{c} moved to {s}.", "Thank God it's {w}.", "The {c} report is due on {d}.",
             "{pr} failed again on {w}.", "Turn left onto {s}.", "God bless and see you in {m}.",
             "Our {city} office at {s} closes early on {w}.", "Order two chairs for {c} by {d}.")
    for _ in range(int(rng.integers(1, 4))):
        w.write(_pick(rng, forms) + "\n", c=company(rng, pools), s=street(rng, pools), w=_pick(rng, DAYS),
                d=day(rng), pr=_pick(rng, PRODUCTS), m=_pick(rng, MONTHS), city=_pick(rng, CITIES))
    return w.doc("negative")


SHAPES = {"email": email, "signature": signature, "address": address, "form": form, "chat": chat,
          "note": note, "list": names_list, "negative": negatives}


def documents(n: int, pools: Pools, rng: np.random.Generator) -> list[Doc]:
    """n documents, their shapes drawn uniformly."""
    kinds = sorted(SHAPES)
    return [SHAPES[kinds[int(rng.integers(len(kinds)))]](rng, pools) for _ in range(n)]


def to_corpus(docs: list[Doc]) -> Corpus:
    """The documents as training sentences: each cut into units as the service cuts a
    text (``model.units``), a token inside a span tagged B-PER or I-PER; one document id
    per text, so its units share document features."""
    out = Corpus()
    for d, doc in enumerate(docs):
        tokens = tokenize(doc.text)
        starts = [t.start for t in tokens]
        tags = [O] * len(tokens)
        for s, e in doc.spans:
            i = bisect_left(starts, s)
            while i < len(tokens) and tokens[i].end <= e:
                tags[i] = B if tokens[i].start == s else I
                i += 1
        for s, e in unit_bounds(doc.text, tokens):
            out.sentences.append([t.text for t in tokens[s:e]])
            out.tags.append(tags[s:e])
            out.docs.append(d)
    return out


def mix(corpus: Corpus, pools: Pools, share: float, rng: np.random.Generator) -> tuple[Corpus, int]:
    """corpus plus generated documents holding about share × len(corpus) units (training
    sentences), as documents of their own; and how many documents were added."""
    from .augment import combine

    want, docs, units = round(share * len(corpus)), [], 0
    while units < want:
        docs.extend(documents(64, pools, rng))
        units = len(to_corpus(docs))
    generated = to_corpus(docs)
    return combine([corpus, generated], [False, False]), len(docs)
