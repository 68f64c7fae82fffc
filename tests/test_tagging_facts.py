"""Facts stated in text: money with currency and scale, percentages, regulatory facts."""

from __future__ import annotations

import json

import pytest

from signals.tagging.facts import extract_facts
from tests.conftest import TESTS


def facts_of(text: str, kind: str) -> list[tuple[float | None, str | None, str]]:
    return [(f.value, f.unit, f.text) for f in extract_facts(text) if f.kind == kind]


@pytest.mark.parametrize(
    ("sentence", "value", "unit", "text"),
    [
        (
            "Alibaba will invest at least 380 billion yuan in cloud and AI infrastructure"
            " over the next three years.",
            3.8e11,
            "CNY",
            "380 billion yuan",
        ),
        ("Hyperscalers lift 2025 AI capex to $50B+ as demand grows", 5e10, "USD", "$50B+"),
        ("Tencent prices US$2.5 billion of senior notes", 2.5e9, "USD", "US$2.5 billion"),
        ("Baidu sets aside RMB 120bn for data centers", 1.2e11, "CNY", "RMB 120bn"),
        ("The EU adds €1.2bn to its chips fund", 1.2e9, "EUR", "€1.2bn"),
        ("SK Hynix plans a 20 trillion won fab", 2e13, "KRW", "20 trillion won"),
        ("GDS raised HK$3.4bn in a share placing", 3.4e9, "HKD", "HK$3.4bn"),
        ("The contract is worth $1,250,000 over two years", 1.25e6, "USD", "$1,250,000"),
        ("A 10 million dollars grant", 1e7, "USD", "10 million dollars"),
    ],
)
def test_money_has_value_in_units_currency_and_the_text(
    sentence: str, value: float, unit: str, text: str
) -> None:
    assert facts_of(sentence, "money") == [(value, unit, text)]


def test_numbers_without_a_currency_and_the_verb_won_are_not_money() -> None:
    text = "Nvidia won 3 contracts; 5m users; 300 MW; 2025 results; Form 10-K"
    assert facts_of(text, "money") == []


def test_percentages() -> None:
    text = "Revenue rose 12.5% while margins fell 3 percent; capex up 40 per cent, -2 pct"
    assert [v for v, _, _ in facts_of(text, "percent")] == [12.5, 3.0, 40.0, -2.0]
    assert {u for _, u, _ in facts_of(text, "percent")} == {"%"}


def test_regulatory_dates_cfr_parts_and_eccns() -> None:
    text = (
        "DATES: This rule is effective January 16, 2025. Comments must be received by"
        " March 17, 2025. The rule amends 15 CFR parts 734, 740 and 744 (see 15 C.F.R."
        " § 744.23) and controls ECCN 3A090.a and 4A090 items, and 3A001.z."
    )
    assert facts_of(text, "effective_date") == [(None, "date", "2025-01-16")]
    assert facts_of(text, "comment_deadline") == [(None, "date", "2025-03-17")]
    assert [t for _, _, t in facts_of(text, "cfr_part")] == [
        "15 CFR 734",
        "15 CFR 740",
        "15 CFR 744",
    ]
    assert [t for _, _, t in facts_of(text, "eccn")] == [
        "3A090",
        "3A090.a",
        "4A090",
        "3A001",
        "3A001.z",
    ]


@pytest.mark.parametrize(
    ("sentence", "kind", "day"),
    [
        ("Effective date: 2025-01-15.", "effective_date", "2025-01-15"),
        ("The new controls take effect on Dec. 2, 2024.", "effective_date", "2024-12-02"),
        ("The measures enter into force on 1 December 2024.", "effective_date", "2024-12-01"),
        ("The comment period closes on 14 February 2025.", "comment_deadline", "2025-02-14"),
        ("Comments are due by April 3, 2025.", "comment_deadline", "2025-04-03"),
    ],
)
def test_date_phrasings(sentence: str, kind: str, day: str) -> None:
    assert facts_of(sentence, kind) == [(None, "date", day)]


def test_an_impossible_date_is_no_fact() -> None:
    assert facts_of("This rule is effective February 30, 2025.", "effective_date") == []


def test_real_federal_register_abstracts_state_their_cfr_parts() -> None:
    """The recorded documents' bodies list their CFR references: the tagger reads them too."""
    page = json.loads((TESTS / "data" / "federal_register" / "documents-page1.json").read_text())
    document = page["results"][0]
    parts = [f"{ref['title']} CFR {ref['part']}" for ref in document["cfr_references"]]
    text = f"{document['title']}\n{document['abstract']}\nCFR: {', '.join(parts)}."
    assert [t for _, _, t in facts_of(text, "cfr_part")] == list(dict.fromkeys(parts))
    assert facts_of(text, "money") == [] and facts_of(text, "eccn") == []
