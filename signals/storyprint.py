"""Fingerprints of items for story grouping: what an item says, and what makes it a different event.

Pure functions, no SQLite. A ``Print`` holds:

* ``terms``: the title's content words (lower-case, stop words dropped, a plural "s"
  dropped and cut to six letters as a cheap stemmer: "resumes" and "resumed" agree),
  without numbers or dates, plus its codes with digits ("h20");
* ``shingles``: hashed three-word runs of the summary's opening, for wire copy that two
  outlets print under different headlines;
* ``specifics``: what tells near-identical titles of *different* events apart, by kind:
  dates ("November 3", "2025-01-02"), years, weekdays, quarters and halves, fiscal
  years, version numbers, ECCNs, money amounts, percentages, codes with digits ("H20",
  "8-K") and other numbers. Two titles that state different values of one kind
  ("Q2 2025 results" and "Q3 2025 results") are never the same story;
* ``ids``: document identifiers (EDGAR accession numbers, Federal Register document
  numbers, CVE ids) found in the URL or title (not the summary, which may cite other
  documents). One shared id means the same document; ids on both sides that differ mean
  different documents.

``keys`` turns a print into the integer keys of the candidate index (MinHash bands of
the terms and shingles, the loose URL, the ids), and ``compare`` decides whether a
candidate is the same story, with a score to pick the best one. Items of one source
must also be published within ``SAME_SOURCE_HOURS`` and agree on their summaries'
specifics: a source's own series ("Daily operations update") share their templates.
"""

from __future__ import annotations

import hashlib
import re
import struct
import unicodedata
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit

import numpy as np

#: Items published further apart than this never share a story.
WINDOW_DAYS = 7
#: How far around an item its single-word keys are looked up (see ``key_groups``).
NEAR_DAYS = 2
#: One source re-titling its own story does so within hours; beyond this its similar titles
#: are a series ("Daily operations update"), not one event.
SAME_SOURCE_HOURS = 20

#: Title keys: single-word MinHash bands catch reworded headlines (word overlap of 0.4
#: is found 96% of the time), two-word bands rank the closest candidates first.
TITLE_SINGLES, TITLE_BANDS, TITLE_ROWS = 4, 6, 2
TEXT_BANDS, TEXT_ROWS = 2, 3
LEAD_CHARS = 400
LEAD_WORDS = 60

_MERSENNE = (1 << 61) - 1
_MASK63 = (1 << 63) - 1


def _perms(count: int, seed: bytes) -> list[tuple[int, int]]:
    out = []
    for n in range(count):
        digest = hashlib.blake2b(seed + bytes([n]), digest_size=16).digest()
        a, b = struct.unpack("<QQ", digest)
        out.append((a % (_MERSENNE - 1) + 1, b % _MERSENNE))
    return out


_TITLE_PERMS = _perms(TITLE_SINGLES + TITLE_BANDS * TITLE_ROWS, b"title")
_TEXT_PERMS = _perms(TEXT_BANDS * TEXT_ROWS, b"text")

_STOPWORDS = """a an the and or but if of at by for with about against between into through during
    before after above below to from up down in out on off over under again further then once
    here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don should now is are was were be been
    being have has had having do does did doing i me my we our you your he him his she her it
    its they them their what which who whom this that these those am as until while would could
    says said say new via amid vs"""
STOPWORDS = frozenset(_STOPWORDS.split())

_MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
_SCALE = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "trillion": 1e12, "tn": 1e12, "t": 1e12,
}  # fmt: skip

# Document identifiers: EDGAR accession (dashed or as the 18-digit folder name), Federal
# Register document number, CVE.
_IDS: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"(?<!\d)(\d{10})-(\d{2})-(\d{6})(?!\d)"), lambda m: f"acc:{m[1]}{m[2]}{m[3]}"),
    (re.compile(r"/(\d{18})(?:/|$)"), lambda m: f"acc:{m[1]}"),
    (re.compile(r"(?<![\d-])((?:19|20)\d{2}-\d{5})(?![\d-])"), lambda m: f"fr:{m[1]}"),
    (re.compile(r"\bcve-(\d{4})-(\d{4,7})\b"), lambda m: f"cve:{m[1]}-{m[2]}"),
]


def _money(m: re.Match[str]) -> str:
    amount = float(m["amount"].replace(",", ""))
    scale = _SCALE.get((m["scale"] or "").lower().rstrip("."), 1.0)
    return f"{amount * scale:.3g}"


# Specifics, in the order they are taken out of the text (a date's day is not also a number).
_SPECIFICS: list[tuple[str, re.Pattern[str], Callable[[re.Match[str]], list[str]]]] = [
    (
        "date",
        re.compile(r"\b((?:19|20)\d{2})-(\d{1,2})-(\d{1,2})\b"),
        lambda m: [f"date:{int(m[2]):02d}-{int(m[3]):02d}", f"year:{m[1]}"],
    ),
    (
        "date",
        re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+((?:19|20)\d{{2}})\b)?"),
        lambda m: [f"date:{_MONTHS[m[1]]:02d}-{int(m[2]):02d}", *_year(m[3])],
    ),
    (
        "date",
        re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+((?:19|20)\d{{2}})\b)?"
        ),
        lambda m: [f"date:{_MONTHS[m[2]]:02d}-{int(m[1]):02d}", *_year(m[3])],
    ),
    (
        "date",
        re.compile(rf"\b{_MONTH}\s+((?:19|20)\d{{2}})\b"),
        lambda m: [f"month:{m[2]}-{_MONTHS[m[1]]:02d}"],
    ),
    (
        "date",
        re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?\b"),
        lambda m: [f"date:{m[1]}/{m[2]}"] + ([f"year:{m[3][-2:]}"] if m[3] else []),
    ),
    (
        "quarter",
        re.compile(
            r"\b(?:q([1-4])|([1-4])q)(?:\s*(?:'|fy)\s*(\d{2})\b|\s+((?:19|20)\d{2})\b|(\d{2})\b)?"
        ),
        lambda m: (
            [f"quarter:q{m[1] or m[2]}"]
            + ([f"year:{_full_year(y)}"] if (y := m[3] or m[4] or m[5]) else [])
        ),
    ),
    (
        "quarter",
        re.compile(r"\b(first|second|third|fourth)[\s-]+quarter\b"),
        lambda m: [f"quarter:q{_ORDINALS[m[1]]}"],
    ),
    (
        "quarter",
        re.compile(r"\b(?:h([12])|(first|second)[\s-]+half)\b"),
        lambda m: [f"half:h{m[1] or _ORDINALS[m[2]]}"],
    ),
    (
        "fiscal",
        re.compile(r"\bfy\s?'?((?:19|20)?\d{2})\b"),
        lambda m: [f"fiscal:{_full_year(m[1])}"],
    ),
    (
        "weekday",
        re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)day\b"),
        lambda m: [f"weekday:{m[1]}"],
    ),
    ("eccn", re.compile(r"\b(\d[a-e]\d{3})(?:\.[a-z0-9.]+)?\b"), lambda m: [f"eccn:{m[1]}"]),
    (
        "money",
        re.compile(
            r"(?:[$€£¥]|\b(?:us\$|usd|rmb|cny|eur|gbp|jpy|hk\$)\s?)(?P<amount>\d[\d,]*(?:\.\d+)?)"
            r"\s?(?P<scale>thousand|million|billion|trillion|mln|mn|bn|tn|[kmbt])?\b"
        ),
        lambda m: [f"money:{_money(m)}"],
    ),
    (
        "money",
        re.compile(
            r"\b(?P<amount>\d[\d,]*(?:\.\d+)?)\s?(?P<scale>million|billion|trillion|bn|mn)\b"
        ),
        lambda m: [f"money:{_money(m)}"],
    ),
    (
        "percent",
        re.compile(r"\b(\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)"),
        lambda m: [f"percent:{float(m[1]):g}"],
    ),
    ("year", re.compile(r"\b((?:19|20)\d{2})\b"), lambda m: [f"year:{m[1]}"]),
    ("version", re.compile(r"\bv?(\d+(?:\.\d+)+)\b"), lambda m: [f"version:{m[1]}"]),
    # Codes that carry digits: model and chip names, form types ("h20", "8-k", "gpt-4o").
    (
        "code",
        re.compile(r"\b(?=[a-z0-9-]*[a-z])(?=[a-z0-9-]*\d)[a-z0-9]+(?:-[a-z0-9]+)*\b"),
        lambda m: [f"code:{m[0]}"],
    ),
    ("number", re.compile(r"\b\d[\d,]*\b"), lambda m: [f"number:{m[0].replace(',', '')}"]),
]


#: Kinds of specifics that can be written without a digit ("second quarter", "Monday").
_WORDS_ONLY = frozenset({"quarter", "weekday"})
#: What the word-only patterns cannot match without (every other pattern needs a ``\\d``).
_WORDS_NEEDED = {"quarter", "half", "day"}
_DIGIT = re.compile(r"\d")


def _has_digit(text: str) -> bool:
    """Whether a pattern that needs a digit (every one but the word-only) can match."""
    return _DIGIT.search(text) is not None


def _year(text: str | None) -> list[str]:
    return [f"year:{text}"] if text else []


def _full_year(text: str) -> str:
    return text if len(text) == 4 else f"20{text}"


_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\w.-]*", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


class Print:
    """What story grouping knows about one item (see the module docstring).

    The title's parts are computed at once; the summary's (shingles and its specifics)
    only when a comparison gets that far, since most candidates are settled by their
    titles and a poll compares each new item with dozens of them.
    """

    __slots__ = ("_lead", "_lead_parts", "ids", "specifics", "terms", "url_key")

    def __init__(
        self,
        terms: frozenset[str],
        specifics: Mapping[str, frozenset[str]],
        ids: frozenset[str],
        url_key: int | None,
        lead: str,
    ):
        self.terms = terms
        self.specifics = specifics
        self.ids = ids
        self.url_key = url_key
        self._lead = lead
        self._lead_parts: tuple[frozenset[int], Mapping[str, frozenset[str]]] | None = None

    def _parts(self) -> tuple[frozenset[int], Mapping[str, frozenset[str]]]:
        if self._lead_parts is None:
            found, rest = specifics(self._lead)
            words = _words(rest)[:LEAD_WORDS]
            shingles = frozenset(
                zlib.crc32(" ".join(words[i : i + 3]).encode()) for i in range(len(words) - 2)
            )
            self._lead_parts = (shingles, found)
        return self._lead_parts

    @property
    def shingles(self) -> frozenset[int]:
        """Hashed three-word runs of the summary's opening."""
        return self._parts()[0]

    @property
    def lead_specifics(self) -> Mapping[str, frozenset[str]]:
        return self._parts()[1]


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return text.replace("’", "'").replace("–", "-").replace("—", " ")


def specifics(text: str) -> tuple[dict[str, frozenset[str]], str]:
    """The distinguishing values in folded ``text`` by kind, and the text with them blanked."""
    found: dict[str, set[str]] = {}
    # Only patterns that can match are run: each needs a digit (``\d``), but for the
    # word-only ones, which need one of ``_WORDS_NEEDED`` when there is no digit.
    if not _has_digit(text):
        if not any(word in text for word in _WORDS_NEEDED):
            return {}, text
        digits = False
    else:
        digits = True
    for kind, pattern, convert in _SPECIFICS:
        if not digits and kind not in _WORDS_ONLY:
            continue

        def take(m: re.Match[str], convert: Callable[[re.Match[str]], list[str]] = convert) -> str:
            for value in convert(m):
                kind = value.split(":", 1)[0]
                found.setdefault(kind, set()).add(value)
            return " " * len(m[0])

        text = pattern.sub(take, text)
    return {kind: frozenset(values) for kind, values in found.items()}, text


def document_ids(*texts: str) -> frozenset[str]:
    ids: set[str] = set()
    for text in texts:
        for pattern, convert in _IDS:
            ids.update(convert(m) for m in pattern.finditer(text))
    return frozenset(ids)


@lru_cache(maxsize=1 << 14)
def _stem(word: str) -> str:
    """Cached: headlines and summaries draw on a small vocabulary."""
    word = word.strip("'-")
    if word.endswith("'s"):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]  # "plans" and "plan" agree
    return word[:6]


def _words(text: str) -> list[str]:
    out: list[str] = []
    cjk = _CJK.search(text) is not None  # most texts have none: no need to look per word
    for word in _WORD.findall(text):
        if cjk and _CJK.search(word):  # no spaces between CJK words: character pairs stand in
            out += [word[i : i + 2] for i in range(max(len(word) - 1, 1))]
        elif word[0].isdigit():
            continue  # numbers are specifics, compared separately
        elif word not in STOPWORDS and len(word) > 1:
            out.append(_stem(word))
    return out


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def loose_url(url: str | None) -> str | None:
    """A URL without scheme, ``www.``, trailing slash or index page: one page, however linked."""
    if not url:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    path = re.sub(r"/(index\.html?)?$", "", parts.path)
    if not host or not path:  # a site's front page identifies nothing
        return None
    return f"{host}{path}" + (f"?{parts.query}" if parts.query else "")


def make_print(
    title: str, summary: str = "", url: str | None = None, *, url_identity: bool = True
) -> Print:
    """The fingerprint of one item; ``url_identity=False`` when its URL is shared by others."""
    folded_title = _fold(title)
    lead = _fold(summary[:LEAD_CHARS])
    # Ids from the title and the link only: a summary may cite other documents.
    ids = document_ids(folded_title, (url or "").lower())
    # ids are taken out before specifics, so "2025-01234" is not read as a year and a number
    # (every id pattern needs a digit: on a title without any they change nothing)
    title_digits, lead_digits = _has_digit(folded_title), _has_digit(lead)
    for pattern, _ in _IDS:
        if title_digits:
            folded_title = pattern.sub(" ", folded_title)
        if lead_digits:
            lead = pattern.sub(" ", lead)
    title_specifics, title_rest = specifics(folded_title)
    loose = loose_url(url) if url_identity else None
    codes = title_specifics.get("code", frozenset())
    return Print(
        terms=frozenset(_words(title_rest)) | {c.split(":", 1)[1] for c in codes},
        specifics=title_specifics,
        ids=ids,
        url_key=_key("u", [_hash64(loose)]) if loose else None,
        lead=lead,
    )


def _key(kind: str, values: list[int]) -> int:
    packed = kind.encode() + struct.pack(f"<{len(values)}Q", *values)
    return int.from_bytes(hashlib.blake2b(packed, digest_size=8).digest(), "little") & _MASK63


def _minhash(hashes: Iterable[int], perms: list[tuple[int, int]]) -> list[int]:
    """The definition: per permutation, the least ``(a * h + b) mod (2**61 - 1)``.

    ``_title_minhash`` and ``_text_minhash`` compute the same values faster.
    """
    values = list(hashes)
    return [min((a * h + b) % _MERSENNE for h in values) for a, b in perms]


@lru_cache(maxsize=1 << 13)  # ~1 kB a word
def _term_row(term: str) -> tuple[int, ...]:
    """One title word's value under every title permutation: words recur across titles."""
    h = _hash64(term)
    return tuple([(a * h + b) % _MERSENNE for a, b in _TITLE_PERMS])


def _title_minhash(terms: Iterable[str]) -> list[int]:
    return [min(column) for column in zip(*[_term_row(t) for t in terms], strict=True)]


# The text permutations as numpy columns, ``a`` split at bit 31 so every product fits 64 bits.
_TEXT_A = np.array([a for a, _ in _TEXT_PERMS], dtype=np.uint64).reshape(-1, 1)
_TEXT_A_HIGH = _TEXT_A >> np.uint64(31)  # < 2**30
_TEXT_A_LOW = _TEXT_A & np.uint64((1 << 31) - 1)  # < 2**31
_TEXT_B = np.array([b for _, b in _TEXT_PERMS], dtype=np.uint64).reshape(-1, 1)
_P = np.uint64(_MERSENNE)


def _text_minhash(shingles: Collection[int]) -> list[int]:
    """``_minhash`` of 32-bit shingle hashes under the text permutations, in uint64 numpy.

    With 2**61 = 1 (mod p): a*h = high*h*2**31 + low*h; high*h < 2**62 is split at bit
    30 so that its shift by 31 wraps the top part around (u*2**31 = (u >> 30) + (u mod
    2**30) * 2**31); low*h < 2**63 folds to below 2**61 + 8. Their sum with b stays below
    2**63, and one more fold and one subtraction give the exact residue.
    """
    h = np.fromiter(shingles, dtype=np.uint64, count=len(shingles))
    high = _TEXT_A_HIGH * h
    low = _TEXT_A_LOW * h
    total = (
        (high >> np.uint64(30))
        + ((high & np.uint64((1 << 30) - 1)) << np.uint64(31))
        + (low & _P)
        + (low >> np.uint64(61))
        + _TEXT_B
    )
    total = (total & _P) + (total >> np.uint64(61))
    total = np.where(total >= _P, total - _P, total)
    return list(total.min(axis=1).tolist())


def _bands(mins: list[int], bands: int, rows: int, kind: str) -> list[int]:
    """``_key(f"{kind}{n}", mins[n * rows : (n + 1) * rows])`` for each band ``n``."""
    pack = struct.Struct(f"<{rows}Q").pack
    blake2b = hashlib.blake2b
    return [
        int.from_bytes(
            blake2b(
                f"{kind}{n}".encode() + pack(*mins[n * rows : (n + 1) * rows]), digest_size=8
            ).digest(),
            "little",
        )
        & _MASK63
        for n in range(bands)
    ]


def key_groups(p: Print) -> tuple[list[int], list[int]]:
    """The candidate-index keys of a print, as (near, far): items sharing one are compared.

    Near keys (single title words) are looked up only ``NEAR_DAYS`` around the item: a
    frequent word fills its bucket in a busy archive, and the reports they alone find
    (reworded headlines) come out within a day or two. Far keys (word pairs, summary
    text, URL, document numbers) are selective and looked up over the whole window.
    """
    near: list[int] = []
    far: list[int] = []
    if len(p.terms) >= 2:
        mins = _title_minhash(p.terms)
        near += _bands(mins[:TITLE_SINGLES], TITLE_SINGLES, 1, "w")
        far += _bands(mins[TITLE_SINGLES:], TITLE_BANDS, TITLE_ROWS, "t")
    if len(p.shingles) >= 4:
        mins = _text_minhash(p.shingles)
        far += _bands(mins, TEXT_BANDS, TEXT_ROWS, "x")
    if p.url_key is not None:
        far.append(p.url_key)
    far += [_key("d", [_hash64(i)]) for i in sorted(p.ids)]
    return near, far


def keys(p: Print) -> list[int]:
    """Every candidate-index key of a print (see ``key_groups``)."""
    near, far = key_groups(p)
    return near + far


def id_keys(p: Print) -> set[int]:
    return {_key("d", [_hash64(i)]) for i in p.ids}


def conflict(a: Mapping[str, frozenset[str]], b: Mapping[str, frozenset[str]]) -> str | None:
    """The first kind of specific where ``a`` and ``b`` state different values, if any.

    One side may say more than the other ("Q2 and Q3" against "Q3") but neither may say
    something the other contradicts ("November 3" against "November 4").
    """
    for kind, values in a.items():
        other = b.get(kind)
        if other is not None and not (values <= other or other <= values):
            return kind
    return None


def _containment(a: Print, b: Print) -> float:
    """Share of the shorter summary opening's three-word runs found in the other's."""
    if len(a.shingles) < 6 or len(b.shingles) < 6:
        return 0.0
    return len(a.shingles & b.shingles) / min(len(a.shingles), len(b.shingles))


def compare(a: Print, b: Print, *, same_source: bool, hours_apart: float) -> float | None:
    """How surely ``a`` and ``b`` tell the same story (0..1), or None if they do not."""
    if a.ids and b.ids:
        return 1.0 if a.ids & b.ids else None  # one document, or two different ones
    if a.url_key is not None and a.url_key == b.url_key:
        return 1.0
    if conflict(a.specifics, b.specifics):
        return None
    if same_source and hours_apart > SAME_SOURCE_HOURS:
        return None
    title = len(a.terms & b.terms) / len(a.terms | b.terms) if a.terms and b.terms else 0.0
    shared = len(a.terms & b.terms)
    if a.terms == b.terms:  # the same words: values both state count too ("February 2020")
        shared += sum(len(v & b.specifics.get(k, frozenset())) for k, v in a.specifics.items())
    if same_source:
        # one source's series share templates: ask for the same title, or the same text,
        # and no contradiction in the summaries either
        if title >= 0.75 and shared >= 3:
            score = title
        elif title >= 0.3 and _containment(a, b) >= 0.6:
            score = max(title, _containment(a, b))
        else:
            return None
        return None if conflict(a.lead_specifics, b.lead_specifics) else score
    # Titles that each carry words the other lacks need more in common: "Nebius daily
    # operations update" and "Baidu daily operations update" share three words, not a story.
    needed = 4 if (a.terms - b.terms) and (b.terms - a.terms) else 3
    if shared >= needed and (title >= 0.5 or (title >= 0.4 and shared >= 4)):
        return title
    if title >= 0.2 and shared >= 2 and _containment(a, b) >= 0.5:
        return max(title, _containment(a, b))
    return None
