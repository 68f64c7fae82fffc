"""Facts stated in text: money with currency and scale, percentages, regulatory dates,
CFR parts and ECCNs.

Plain regular expressions over the text, not spaCy: these are formats, not vocabulary,
and a compiled regex scans a news item in microseconds. Every fact follows the archive's
convention (DESIGN.md): ``money`` value in units with a currency code (``USD``, ``CNY``),
``percent`` value with unit ``%``, dates with unit ``date`` and text ``YYYY-MM-DD``,
``cfr_part`` text like ``15 CFR 744``, ``eccn`` text like ``3A090``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

SCALES = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "m": 1e6,
    "mm": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "trn": 1e12,
    "t": 1e12,
}

#: Currency written before the amount -> ISO code. Longest first in the regex.
PREFIX_CURRENCY = {
    "us$": "USD",
    "u.s.$": "USD",
    "usd": "USD",
    "$": "USD",
    "hk$": "HKD",
    "hkd": "HKD",
    "nt$": "TWD",
    "twd": "TWD",
    "a$": "AUD",
    "c$": "CAD",
    "s$": "SGD",
    "rmb": "CNY",
    "cny": "CNY",
    "cn¥": "CNY",
    "¥": "CNY",  # in this product's sources the yen sign mostly marks yuan; "yen" is JPY
    "eur": "EUR",
    "€": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "jpy": "JPY",
    "₩": "KRW",
    "krw": "KRW",
    "₹": "INR",
    "inr": "INR",
}

#: Currency written after the amount -> ISO code.
SUFFIX_CURRENCY = {
    "yuan": "CNY",
    "renminbi": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "hong kong dollars": "HKD",
    "hk dollars": "HKD",
    "taiwan dollars": "TWD",
    "new taiwan dollars": "TWD",
    "nt dollars": "TWD",
    "dollars": "USD",
    "usd": "USD",
    "euros": "EUR",
    "euro": "EUR",
    "eur": "EUR",
    "pounds": "GBP",
    "yen": "JPY",
    "won": "KRW",
    "rupees": "INR",
}

_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_SCALE = r"thousand|million|billion|trillion|mln|mn|mm|bn|trn|tn|[kmbt]"


def _alternation(words: dict[str, str]) -> str:
    return "|".join(
        re.escape(w).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True)
    )


MONEY = re.compile(
    rf"""
    (?<![\w$])
    (?:
        (?P<pre>{_alternation(PREFIX_CURRENCY)})\s?(?P<num>{_NUMBER})
        (?:\s?-?\s?(?P<scale>{_SCALE})(?![a-z]))?(?P<plus>\+)?
      |
        (?P<num2>{_NUMBER})(?:\s?-?\s?(?P<scale2>{_SCALE})(?![a-z]))?(?P<plus2>\+)?\s+
        (?P<post>{_alternation(SUFFIX_CURRENCY)})\b
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)

#: Chinese amounts: 3800亿元 (380 billion yuan), 100亿美元, 1.2万亿元. A scale without a
#: currency ("3800亿") is no money fact: it may count anything.
CJK_SCALES = {
    "万": 1e4,
    "十万": 1e5,
    "百万": 1e6,
    "千万": 1e7,
    "亿": 1e8,
    "十亿": 1e9,
    "百亿": 1e10,
    "千亿": 1e11,
    "万亿": 1e12,
}
CJK_CURRENCY = {
    "元": "CNY",
    "人民币": "CNY",
    "元人民币": "CNY",
    "美元": "USD",
    "港元": "HKD",
    "港币": "HKD",
    "日元": "JPY",
    "欧元": "EUR",
    "新台币": "TWD",
    "韩元": "KRW",
}
CJK_MONEY = re.compile(
    rf"(?P<num>{_NUMBER})\s?(?P<scale>{'|'.join(sorted(CJK_SCALES, key=len, reverse=True))})?"
    rf"(?P<cur>{'|'.join(sorted(CJK_CURRENCY, key=len, reverse=True))})"
)

PERCENT = re.compile(
    r"(?<![\w.])(?P<num>[-+−]?\d+(?:\.\d+)?)\s?(?:%|percent\b|per\s+cent\b|pct\b)",
    re.IGNORECASE,
)

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DATE = (
    rf"(?:(?P<m1>{_MONTH})\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{{4}})"
    rf"|(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH})\s+(?P<y2>\d{{4}})"
    r"|(?P<iso>\d{4}-\d{2}-\d{2}))"
)

EFFECTIVE = re.compile(
    r"\b(?:effective|takes?\s+effect|took\s+effect|go(?:es)?\s+into\s+effect"
    r"|enters?\s+into\s+force|comes?\s+into\s+force)"
    r"(?:\s+(?:date(?:\s+is)?|on|as\s+of|from|beginning|starting|immediately\s+on))*"
    r"\s*[:,]?\s*(?:on\s+)?" + DATE,
    re.IGNORECASE,
)

COMMENT_DEADLINE = re.compile(
    r"\bcomments?\b[^.;]{0,100}?\b(?:by|on\s+or\s+before|before|no\s+later\s+than|until"
    r"|due(?:\s+(?:on|by))?|close[sd]?(?:\s+on)?|end(?:s|ed)?(?:\s+on)?|deadline(?:\s+is)?)"
    r"\s*:?\s*" + DATE,
    re.IGNORECASE,
)

CFR = re.compile(
    r"\b(?P<title>\d{1,2})\s*C\.?\s?F\.?\s?R\.?\s*(?:(?:parts?|§§?|sections?|pts?\.?)\s*)?"
    r"(?P<parts>\d{1,4}(?:\.\d+)*(?:\s*(?:,|and|or|through|to|-|–)\s*(?:parts?\s+|§\s*)?"
    # a number followed by "CFR" starts the next citation ("15 CFR 742, 15 CFR 744")
    r"\d{1,4}(?:\.\d+)*(?![\d.]|\s*C\.?\s?F\.?\s?R))*)",
)
_CFR_PART = re.compile(r"\d{1,4}(?=\.|\b)")

#: Export Control Classification Numbers: category digit, product group A-E, three digits,
#: optional paragraphs (3A090, 4A090.a, 3A001.z).
ECCN = re.compile(r"(?<![\w.])(?P<eccn>[0-9][A-E][0-9]{3})(?P<sub>(?:\.[a-z0-9]{1,3})*)\b")


#: Words that make a number money (any ``money`` fact has one, or a currency sign). The
#: tagger's phrase matcher already finds them as tokens, which spares a scan of each text.
CURRENCY_WORDS = (
    "usd", "rmb", "cny", "eur", "gbp", "jpy", "hkd", "twd", "krw", "inr", "yuan", "renminbi",
    "dollars", "euro", "euros", "pounds", "yen", "won", "rupees",
)  # fmt: skip
CURRENCY_SIGN = re.compile(r"[$€£¥₩₹]")
#: Currency words rare enough inside other words ("euro" is in "European", "pound" in
#: "compound") to look for as substrings when the tokenizer did not find them as tokens:
#: glued to punctuation it keeps them in one ("yuan(up", "yuan;up", "x(USD").
GLUED_CURRENCY = ("yuan", "dollar", "renminbi", "rupee", "usd", "rmb", "cny")
#: Searched in the lower-cased text (a case-insensitive regex scans about twice as slowly).
CURRENCY_MARK = re.compile(rf"[$€£¥₩₹]|\b(?:{'|'.join(CURRENCY_WORDS)})\b")
ECCN_MARK = re.compile(r"[0-9][A-E][0-9]{3}")  # a charset first scans faster than \d


@dataclass(frozen=True)
class Fact:
    """One row of ``facts`` (origin 'tagger'); ``start`` locates it in the text."""

    kind: str
    value: float | None
    unit: str | None
    text: str
    start: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.text)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "value": self.value, "unit": self.unit, "text": self.text}


def extract_facts(
    text: str, lowered: str | None = None, currency_word: bool | None = None
) -> list[Fact]:
    """Every fact in ``text``, in order of appearance, each (kind, text) once.

    ``currency_word``: whether one of ``CURRENCY_WORDS`` is a token of the text, when the
    caller knows (the tagger does); None searches for it here.
    """
    # Cheap substring and marker checks first: most texts state no fact of a kind, and
    # skipping its full regex keeps facts a small share of the tagging time.
    found: list[Fact] = []
    if lowered is None:
        lowered = text.lower()
    if currency_word or (currency_word is not None and CURRENCY_SIGN.search(text)):
        currency = True
    elif currency_word is None or any(word in lowered for word in GLUED_CURRENCY):
        currency = CURRENCY_MARK.search(lowered) is not None
    else:
        currency = False
    if currency:
        found += money(text)
    if "元" in text or "币" in text:
        found += cjk_money(text)
    if "%" in text or "per cent" in lowered or "percent" in lowered or "pct" in lowered:
        found += percents(text)
    if "effect" in lowered or "force" in lowered:
        found += dates(text, EFFECTIVE, "effective_date")
    if "comment" in lowered:
        found += dates(text, COMMENT_DEADLINE, "comment_deadline")
    if "CFR" in text or "C.F.R" in text:
        found += cfr_parts(text)
    if ECCN_MARK.search(text):
        found += eccns(text)
    seen: set[tuple[str, str]] = set()
    unique = []
    for fact in sorted(found, key=lambda f: f.start):
        if fact.key not in seen:
            seen.add(fact.key)
            unique.append(fact)
    return unique


def money(text: str) -> list[Fact]:
    """``$50B+`` -> 5e10 USD; ``380 billion yuan`` -> 3.8e11 CNY; ``RMB 120bn`` -> 1.2e11 CNY."""
    facts = []
    for match in MONEY.finditer(text):
        if match.group("pre"):
            currency = PREFIX_CURRENCY[_squash(match.group("pre"))]
            number, scale = match.group("num"), match.group("scale")
        else:
            currency = SUFFIX_CURRENCY[_squash(match.group("post"))]
            number, scale = match.group("num2"), match.group("scale2")
            if currency == "KRW" and not scale:  # "3 won" is usually a verb, not a currency
                continue
        value = float(number.replace(",", ""))
        if scale:
            value *= SCALES[scale.lower()]
        if value <= 0:
            continue
        facts.append(Fact("money", value, currency, match.group(0).strip(), match.start()))
    return facts


def cjk_money(text: str) -> list[Fact]:
    """``3800亿元`` -> 3.8e11 CNY; ``100亿美元`` -> 1e10 USD; ``1.2万亿元`` -> 1.2e12 CNY."""
    facts = []
    for match in CJK_MONEY.finditer(text):
        value = float(match.group("num").replace(",", ""))
        if match.group("scale"):
            value *= CJK_SCALES[match.group("scale")]
        if value > 0:
            currency = CJK_CURRENCY[match.group("cur")]
            facts.append(Fact("money", value, currency, match.group(0), match.start()))
    return facts


def _squash(word: str) -> str:
    return " ".join(word.lower().split())


def percents(text: str) -> list[Fact]:
    facts = []
    for match in PERCENT.finditer(text):
        value = float(match.group("num").replace("−", "-"))
        facts.append(Fact("percent", value, "%", match.group(0).strip(), match.start()))
    return facts


def dates(text: str, pattern: re.Pattern[str], kind: str) -> list[Fact]:
    facts = []
    for match in pattern.finditer(text):
        day = _iso_day(match)
        if day:
            facts.append(Fact(kind, None, "date", day, match.start()))
    return facts


def _iso_day(match: re.Match[str]) -> str | None:
    try:
        if match.group("iso"):
            return date.fromisoformat(match.group("iso")).isoformat()
        month = match.group("m1") or match.group("m2")
        day = match.group("d1") or match.group("d2")
        year = match.group("y1") or match.group("y2")
        return date(int(year), _MONTHS[month[:3].lower()], int(day)).isoformat()
    except (ValueError, KeyError, TypeError):
        return None


def cfr_parts(text: str) -> list[Fact]:
    """``15 CFR parts 734, 740 and 744`` -> three facts; ``15 C.F.R. § 744.23`` -> 15 CFR 744."""
    facts = []
    for match in CFR.finditer(text):
        title = int(match.group("title"))
        for part in _CFR_PART.findall(_strip_sections(match.group("parts"))):
            facts.append(Fact("cfr_part", None, None, f"{title} CFR {int(part)}", match.start()))
    return facts


def _strip_sections(parts: str) -> str:
    # "744.23" names section 23 of part 744: keep the part only
    return re.sub(r"(\d+)(?:\.\d+)+", r"\1", parts)


def eccns(text: str) -> list[Fact]:
    """``3A090.a`` gives both ``3A090.a`` and ``3A090``, so rules can name either."""
    facts = []
    for match in ECCN.finditer(text):
        base = match.group("eccn")
        facts.append(Fact("eccn", None, None, base, match.start()))
        if match.group("sub"):
            facts.append(Fact("eccn", None, None, base + match.group("sub"), match.start()))
    return facts
