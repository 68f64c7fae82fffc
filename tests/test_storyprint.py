"""Which pairs of titles tell the same story: reworded reports join, look-alike events do not."""

from __future__ import annotations

import pytest

from signals.storyprint import compare, conflict, keys, make_print

SAME = [
    # (title a, title b): two outlets, one event
    (
        "Microsoft signs $10 billion AI capacity deal with Nebius for GPU clusters",
        "Nebius inks $10bn deal to supply Microsoft with GPU capacity",
    ),
    ("Nvidia to resume H20 sales to China", "Nvidia says it will resume H20 chip sales to China"),
    ("February 2020 Security Releases", "February 2020 security releases"),
    (
        "Alibaba commits RMB 380 billion to AI infrastructure over three years",
        "Alibaba to spend RMB380bn on AI infrastructure over next three years",
    ),
    (
        "Commerce adds 12 Chinese entities to the Entity List over advanced computing",
        "US Commerce Department adds 12 Chinese entities to Entity List",
    ),
]

DIFFERENT = [
    # (title a, title b, the kind of specific that tells them apart)
    (
        "Daily operations update for November 3",
        "Daily operations update for November 4",
        "date",
    ),
    ("Q2 2025 results", "Q3 2025 results", "quarter"),
    (
        "Alibaba Group announces March quarter 2025 and fiscal year 2025 results",
        "Alibaba Group announces March quarter 2024 and fiscal year 2024 results",
        "year",
    ),
    (
        "NVIDIA CORP 8-K (2025-01-02): Item 2.02 Results of Operations",
        "NVIDIA CORP 8-K (2025-04-02): Item 2.02 Results of Operations",
        "date",
    ),
    ("Node.js 20.1.0 released", "Node.js 20.2.0 released", "version"),
    (
        "Revisions to ECCN 3A090 controls on advanced computing items",
        "Revisions to ECCN 4A090 controls on advanced computing items",
        "eccn",
    ),
    ("Nvidia to resume H20 sales to China", "Nvidia to resume H100 sales to China", "code"),
    (
        "Commerce adds 12 entities to the Entity List",
        "Commerce adds 14 entities to the Entity List",
        "number",
    ),
    (
        "Oracle raises capex guidance to $35 billion",
        "Oracle raises capex guidance to $25 billion",
        "money",
    ),
    ("Second quarter revenue up 12%", "Third quarter revenue up 12%", "quarter"),
    ("Weekly market wrap: Monday", "Weekly market wrap: Tuesday", "weekday"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_reworded_reports_of_one_event_are_one_story(a: str, b: str) -> None:
    pa, pb = make_print(a), make_print(b)
    assert compare(pa, pb, same_source=False, hours_apart=3) is not None
    assert compare(pb, pa, same_source=False, hours_apart=3) is not None


@pytest.mark.parametrize(("a", "b", "kind"), DIFFERENT)
def test_look_alike_titles_of_different_events_are_not(a: str, b: str, kind: str) -> None:
    pa, pb = make_print(a), make_print(b)
    assert conflict(pa.specifics, pb.specifics) == kind
    assert compare(pa, pb, same_source=False, hours_apart=3) is None
    assert compare(pa, pb, same_source=True, hours_apart=3) is None


def test_a_title_that_says_more_does_not_contradict_one_that_says_less() -> None:
    short, long = (
        make_print("Nvidia resumes H20 sales"),
        make_print("Nvidia resumes H20 sales to China on July 15, 2025"),
    )
    assert conflict(short.specifics, long.specifics) is None


def test_document_numbers_decide_between_near_identical_filings() -> None:
    # Titles and summaries as EDGAR's latest-filings Atom feed writes them.
    url = "https://www.sec.gov/Archives/edgar/data/1690820/{}/{}-index.htm"
    first = make_print(
        "4 - CARVANA CO. (0001690820) (Issuer)",
        "Filed: 2025-12-12 AccNo: 0001702455-25-000007 Size: 5 KB",
        url.format("000170245525000007", "0001702455-25-000007"),
    )
    second = make_print(
        "4 - CARVANA CO. (0001690820) (Issuer)",
        "Filed: 2025-12-12 AccNo: 0001700538-25-000015 Size: 5 KB",
        url.format("000170053825000015", "0001700538-25-000015"),
    )
    reporting = make_print(
        "4 - PLATT IRA J. (0001702455) (Reporting)",
        "Filed: 2025-12-12 AccNo: 0001702455-25-000007 Size: 5 KB",
        "https://www.sec.gov/Archives/edgar/data/1702455/000170245525000007/0001702455-25-000007-index.htm",
    )
    assert first.ids == {"acc:000170245525000007"}
    assert compare(first, second, same_source=True, hours_apart=0) is None
    assert compare(first, reporting, same_source=False, hours_apart=0) == 1.0


def test_one_page_linked_two_ways_is_one_story() -> None:
    a = make_print("A", url="https://www.example.org/news/2025/deal/")
    b = make_print("B", url="http://example.org/news/2025/deal")
    assert compare(a, b, same_source=False, hours_apart=1) == 1.0
    root = make_print("A", url="https://example.org/")
    assert root.url_key is None
    shared = make_print("A", url="https://example.org/news", url_identity=False)
    assert shared.url_key is None


def test_one_source_repeating_a_title_a_day_later_is_a_series() -> None:
    a, b = make_print("Daily operations update"), make_print("Daily operations update")
    assert compare(a, b, same_source=True, hours_apart=24) is None
    assert compare(a, b, same_source=True, hours_apart=2) is not None


def test_the_same_template_about_another_company_is_another_story() -> None:
    a = make_print("Nebius daily operations update for February 11")
    b = make_print("Baidu daily operations update for February 11")
    assert compare(a, b, same_source=False, hours_apart=1) is None


def test_generic_short_titles_need_more_than_two_words() -> None:
    assert (
        compare(
            make_print("Weekly roundup"),
            make_print("Weekly roundup"),
            same_source=False,
            hours_apart=1,
        )
        is None
    )


def test_wire_copy_under_two_headlines_matches_on_its_text() -> None:
    lead = (
        "The Bureau of Industry and Security amends the Export Administration Regulations by"
        " adding entities to the Entity List under destinations of China and Singapore for"
        " acquiring advanced computing items in support of military modernization."
    )
    a = make_print("US blacklists Chinese chip firms", lead)
    b = make_print("Chinese chip firms hit by new US trade blacklist", lead + " More follows.")
    assert compare(a, b, same_source=False, hours_apart=2) is not None


def test_keys_are_stable_integers_that_fit_sqlite() -> None:
    text = "Nvidia will resume sales of its H20 chip to China after the government said it would grant licenses."
    first = keys(make_print("Nvidia to resume H20 sales to China", text, "https://x.org/a"))
    assert first == keys(make_print("Nvidia to resume H20 sales to China", text, "https://x.org/a"))
    assert all(0 <= k < 2**63 for k in first)
    assert len(first) == 4 + 6 + 2 + 1


def test_cjk_titles_compare_by_character_pairs() -> None:
    a = make_print("白宫提名艾伦为北约最高司令官")
    b = make_print("白宫提名艾伦为北约最高司令")
    assert compare(a, b, same_source=False, hours_apart=1) is not None


def test_one_source_retitling_its_own_report_within_hours_is_one_story() -> None:
    summary = (
        "Nvidia will resume sales of its H20 chip to China after the U.S. government assured"
        " the company it would grant the licenses, the company said on Monday."
    )
    first = make_print("Nvidia to resume H20 sales to China", summary)
    retitled = make_print("Nvidia says US will grant licenses for H20 chip sales to China", summary)
    assert compare(first, retitled, same_source=True, hours_apart=3) is not None
    # the next day's different report under a similar headline is not
    other = make_print(
        "Nvidia to resume H20 sales to China",
        "Nvidia said on Tuesday that 2 more customers will receive H20 chips.",
    )
    assert compare(first, other, same_source=True, hours_apart=3) is None


def test_fast_minhash_gives_the_defining_values() -> None:
    """The cached and numpy MinHash must equal the definition: stored keys depend on it."""
    import random

    from signals import storyprint

    rng = random.Random(11)
    for _ in range(300):
        shingles = {rng.getrandbits(32) for _ in range(rng.randint(1, 60))}
        shingles |= set(rng.sample([0, 1, 2**31, 2**32 - 1], rng.randint(0, 4)))
        assert storyprint._text_minhash(shingles) == storyprint._minhash(
            shingles, storyprint._TEXT_PERMS
        )
        terms = {f"w{rng.getrandbits(20)}" for _ in range(rng.randint(1, 12))}
        assert storyprint._title_minhash(terms) == storyprint._minhash(
            [storyprint._hash64(t) for t in terms], storyprint._TITLE_PERMS
        )


def test_keys_of_a_known_print_do_not_change() -> None:
    """Archives keep the keys written by earlier versions: a new version must find them."""
    p = make_print(
        "Microsoft signs $10 billion AI capacity deal with Nebius for GPU clusters",
        "Microsoft has signed a deal worth $10 billion with Nebius to supply GPU capacity"
        " for its AI services over the next five years, the companies said on Monday.",
        "https://www.example.org/news/2025/microsoft-nebius",
    )
    assert keys(p) == KNOWN_KEYS


#: Computed by the pure-Python MinHash these keys were first written with.
KNOWN_KEYS = [
    4978335573183995695,
    4819298813208360050,
    5190999854595504725,
    6566427463130712125,
    2126498377252749389,
    300063220712896621,
    7089565458776219211,
    3223721952894024439,
    5879246368186268418,
    7426796468739882690,
    7627245709373641452,
    3131929782267863875,
    7304797771701335063,
]
