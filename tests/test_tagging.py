"""The tagger on real-shaped text: categories with evidence, canonical entities, priors."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest

from signals.tagging.enricher import load_tagger
from signals.tagging.evaluate import Report
from signals.tagging.tagger import Tagged, Tagger, TagInput
from tests.conftest import TESTS, real, write_taxonomy

RULES = TESTS.parent / "rules"
GOLD_DEV = TESTS / "data" / "gold" / "dev.jsonl"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return load_tagger(RULES)


def tag(tagger: Tagger, title: str, summary: str = "", **extra: object) -> Tagged:
    return tagger.tag_one(TagInput(title=title, summary=summary, **extra))  # type: ignore[arg-type]


def entity_ids(tagged: Tagged) -> list[str | None]:
    return [m.entity_id for m in tagged.entities]


def test_every_alias_of_a_company_is_one_entity(tagger: Tagger) -> None:
    tagged = tag(
        tagger,
        "6-K - Alibaba Group Holding Ltd (0001577552) (Filer)",
        "Alibaba (NYSE: BABA; HKEX: 9988.HK) said Alibaba Group will report results.",
    )
    mentions = [(m.text, m.entity_id) for m in tagged.entities]
    assert mentions == [
        ("Alibaba Group Holding Ltd", "alibaba"),
        ("0001577552", "alibaba"),
        ("Alibaba", "alibaba"),
        ("BABA", "alibaba"),
        ("9988.HK", "alibaba"),
        ("Alibaba Group", "alibaba"),
    ]
    text = "6-K - Alibaba Group Holding Ltd (0001577552) (Filer)"
    first = tagged.entities[0]
    assert text[first.start : first.end] == "Alibaba Group Holding Ltd" and first.label == "ORG"


def test_chips_programs_and_regulators_get_their_ids(tagger: Tagger) -> None:
    tagged = tag(
        tagger,
        "Nvidia to resume H20 sales as Huawei ramps Ascend 910C; MOFCOM responds",
        "TSMC and SMIC capacity, Naura and ACM Research tools, Blackwell B200 and H100s;"
        " Tencent's Hunyuan, Baidu's Ernie and Qwen3 models; the Bureau of Industry and"
        " Security (BIS) rule.",
    )
    assert set(entity_ids(tagged)) >= {
        "nvidia",
        "nvidia-h20",
        "huawei",
        "huawei-ascend",
        "mofcom",
        "tsmc",
        "smic",
        "naura",
        "acm-research",
        "nvidia-blackwell",
        "nvidia-h100",
        "tencent",
        "hunyuan",
        "baidu",
        "ernie",
        "qwen",
        "bis",
    }


def test_a_bis_rule_on_ai_chips_is_policy_and_chips(tagger: Tagger) -> None:
    tagged = tag(
        tagger,
        "Implementation of Additional Export Controls: Certain Advanced Computing Items",
        "BIS revises controls on advanced computing items and semiconductor manufacturing"
        " items, including ECCN 3A090 and 4A090.",
        url="https://www.federalregister.gov/documents/2025/12/01/2025-23901/x",
    )
    assert set(tagged.categories) == {"policy_shifts", "chip_ecosystem"}
    assert "3A090" in tagged.evidence["policy_shifts"]


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        (
            "Alibaba to invest 380 billion yuan in AI infrastructure over three years",
            "The spending on data centers and cloud capacity exceeds the last decade's.",
            {"infrastructure", "financial_posture"},
        ),
        (
            "CoreWeave opens 300MW data center campus in Texas",
            "The site will host tens of thousands of GPUs in liquid-cooled racks.",
            {"infrastructure"},
        ),
        (
            "Qwen3 tops open-weight leaderboard on LMArena",
            "The new model outperforms rivals on coding and math benchmarks.",
            {"model_performance"},
        ),
        (
            "HSBC selects Microsoft Azure in multi-year agreement",
            "The bank will deploy cloud services across 40 markets.",
            {"customer_traction"},
        ),
        (
            "TSMC starts mass production of 2nm chips",
            "The foundry's new process node ramps in Hsinchu.",
            {"chip_ecosystem"},
        ),
        (
            "Baidu reports third-quarter results; capex up 40%",
            "Revenue rose 7% year-over-year and free cash flow turned positive.",
            {"financial_posture"},
        ),
    ],
)
def test_each_category_on_a_typical_item(
    tagger: Tagger, title: str, summary: str, expected: set[str]
) -> None:
    assert set(tag(tagger, title, summary).categories) == expected


def test_every_tag_has_evidence_and_a_score_in_range(tagger: Tagger) -> None:
    texts = [
        ("BIS adds 80 entities to the Entity List", "Including Chinese AI chip makers."),
        ("Nvidia unveils Blackwell Ultra", "The GPU doubles inference throughput on MLPerf."),
        ("Meta signs $10 billion cloud deal with Google", "A six-year contract for servers."),
    ]
    if GOLD_DEV.exists():
        for line in GOLD_DEV.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts.append((record["title"], record.get("summary") or ""))
    for title, summary in texts:
        tagged = tag(tagger, title, summary)
        assert set(tagged.scores) >= set(tagged.categories)
        assert all(0.0 <= score < 1.0 for score in tagged.scores.values())
        for category in tagged.categories:
            assert tagged.evidence[category], (title, category)
            assert all(
                span.casefold() in (title + "\n" + summary).casefold()
                for span in tagged.evidence[category]
            )


def test_a_source_prior_tips_a_weak_case_but_never_tags_without_evidence(tagger: Tagger) -> None:
    weak = ("Forms updated", "The changes concern the EAR.")
    assert "policy_shifts" not in tag(tagger, *weak).categories
    assert "policy_shifts" in tag(tagger, *weak, hints=("policy_shifts",)).categories
    # the form of a rule is no topic: a regulator's source prior does not make it one
    form_only = ("Agency updates licence forms", "Final rule.")
    assert tag(tagger, *form_only, hints=("policy_shifts",)).categories == ()
    nothing = tag(
        tagger, "Holiday closure notice", "Offices close on Friday.", hints=("policy_shifts",)
    )
    assert nothing.categories == ()


def test_the_form_of_a_rule_tags_only_a_rule_about_a_watched_topic(tagger: Tagger) -> None:
    # Federal Register documents of other agencies: a rule, but not about this product
    for title, summary in [
        ("Airworthiness Directives: Example Airplanes", "Rule. Federal Register."),
        ("Fishery Management Council", "Notice of proposed rulemaking. Federal Register."),
    ]:
        assert tag(tagger, title, summary, hints=("policy_shifts",)).categories == ()
    on_chips = tag(tagger, "Final rule on semiconductors and computing items", "Federal Register.")
    assert "policy_shifts" in on_chips.categories
    assert "final rule" in [span.lower() for span in on_chips.evidence["policy_shifts"]]


@pytest.mark.parametrize(
    "title",
    [
        "Nvidia lifts revenue forecast on AI chip demand",
        "Arm license fees rise for chip designers",
        "Google updates AI policy for advertisers",
        "TSMC eases concerns with strong AI chip outlook",
    ],
)
def test_ordinary_words_do_not_make_chip_or_ai_news_policy(tagger: Tagger, title: str) -> None:
    assert "policy_shifts" not in tag(tagger, title).categories


def test_a_model_named_is_no_release_without_release_or_result_words(tagger: Tagger) -> None:
    mention = tag(tagger, "Carmaker to use Qwen and GPT-4o in its voice assistant")
    assert "model_performance" not in mention.categories
    release = tag(tagger, "Alibaba releases Qwen3 open-weight models")
    assert "model_performance" in release.categories


def test_chinese_names_and_terms_are_found_inside_unspaced_text(tagger: Tagger) -> None:
    tagged = tag(tagger, "英伟达与华为的AI芯片之争", "阿里巴巴公布季度业绩")
    assert {"nvidia", "huawei", "alibaba"} <= set(entity_ids(tagged))
    nvidia = next(m for m in tagged.entities if m.entity_id == "nvidia")
    assert (nvidia.text, nvidia.start, nvidia.end) == ("英伟达", 0, 3)
    assert "chip_ecosystem" in tagged.categories
    assert "financial_posture" in tagged.categories


def test_negative_terms_outweigh_a_lookalike(tagger: Tagger) -> None:
    assert tag(tagger, "Blue-chip stocks rally as potato chips maker beats").categories == ()
    assert (
        "chip_ecosystem" not in tag(tagger, "Fixing HTTP request smuggling in Node.js").categories
    )


REAL_UNRELATED = [
    ("news/golem-de-rss2-iso-8859-1.xml", "Red Dead Redemption 2"),
    ("news/golem-de-rss2-iso-8859-1.xml", "Zhuque-1: Erste private chinesische Satellitenmission"),
    ("news/golem-de-rss2-iso-8859-1.xml", "Projekt Jedi: Microsoft will weiter mit US-Militär"),
    ("news/golem-de-rss2-iso-8859-1.xml", "Lenovo: Fehlerhafte Bios-Einstellung"),
    ("news/nodejs-vulnerability-blog-snapshot2.rss.xml", "February 2020 Security Releases"),
]


@pytest.mark.parametrize(("fixture", "title_start"), REAL_UNRELATED)
def test_real_items_about_nothing_watched_stay_untagged(
    tagger: Tagger, fixture: str, title_start: str
) -> None:
    parsed = feedparser.parse(real(fixture).read_bytes())
    entry = next(e for e in parsed.entries if e.get("title", "").startswith(title_start))
    tagged = tag(tagger, entry["title"], entry.get("summary", ""))
    assert tagged.categories == (), tagged.evidence


@pytest.mark.parametrize(
    "fixture",
    [
        "news/bbc-urdu-rss2-utf8.xml",
        "news/bbc-chinese-zhongwen-2013.atom.xml",
        "news/heise-newsticker-rdf-0.9.xml",
        "news/golem-de-rss2-iso-8859-1.xml",
        "news/nodejs-vulnerability-blog-snapshot1.rss.xml",
        "news/nodejs-vulnerability-blog-snapshot2.rss.xml",
    ],
)
def test_whole_real_feeds_about_other_things_stay_untagged(tagger: Tagger, fixture: str) -> None:
    """General news, politics and security releases: only earnings items get a category."""
    entries = feedparser.parse(real(fixture).read_bytes()).entries
    assert entries
    items = [TagInput(title=e.get("title", ""), summary=e.get("summary", "")) for e in entries]
    tagged = [
        (item.title, result.categories, result.evidence)
        for item, result in zip(items, tagger.tag(items), strict=True)
        if result.categories and not item.title.startswith(("Quartalszahlen", "Quartalsbericht"))
    ]
    assert tagged == []


def _dev_report(tagger: Tagger, *, headlines: bool) -> Report:
    """``signals eval`` on the dev set, from whole items or from their titles alone."""
    from signals.tagging.evaluate import evaluate
    from signals.tagging.jsonlines import read_examples

    if not GOLD_DEV.exists():
        pytest.skip(f"no labeled dev set at {GOLD_DEV}")
    with GOLD_DEV.open(encoding="utf-8") as lines:
        examples = read_examples(lines, GOLD_DEV.name, labeled=True)
    inputs = (e.input.headline_only() if headlines else e.input for e in examples)
    predicted = [t.categories for t in tagger.tag(inputs)]
    return evaluate([e.labels or () for e in examples], predicted)


def test_the_dev_set_meets_the_quality_bar(tagger: Tagger) -> None:
    """Issue 4: micro-F1 >= 0.90, no category below 0.80, no-category items left untagged.

    Measured on dev only, the set the taxonomy is tuned on; `signals eval` on the held-out
    set is the honest figure.
    """
    report = _dev_report(tagger, headlines=False)
    assert report.micro.f1 >= 0.90
    assert min(c.f1 for c in report.per_category.values()) >= 0.80
    assert report.untagged_correct >= 0.9 * report.untagged_expected


def test_the_dev_set_read_as_headlines_alone_stays_usable(tagger: Tagger) -> None:
    """Many feeds send titles only: from the title alone (labels made with the summary, so
    some are out of reach), micro-F1 stays >= 0.85 and precision >= 0.95."""
    report = _dev_report(tagger, headlines=True)
    assert report.micro.f1 >= 0.85
    assert report.micro.precision >= 0.95
    assert report.untagged_correct >= 0.95 * report.untagged_expected


@pytest.mark.parametrize(
    ("title", "category", "span"),
    [
        ("CoreWeave adds 300MW in Texas", "infrastructure", "300MW"),
        ("A 1.2 gigawatts campus", "infrastructure", "1.2 gigawatts"),
        ("TSMC ramps 2nm output", "chip_ecosystem", "2nm"),
        ("OpenAI releases GPT-4o", "model_performance", "GPT-4o"),
        ("Gemini 2.5 launches", "model_performance", "Gemini 2.5"),
        ("Controls on 4A090.a items", "policy_shifts", "4A090.a"),
        ("Alibaba FY2025 results", "financial_posture", "FY2025"),
    ],
)
def test_token_patterns_find_what_phrase_lists_cannot(
    tagger: Tagger, title: str, category: str, span: str
) -> None:
    assert span in tag(tagger, title).evidence.get(category, [])


def test_token_patterns_are_found_anywhere_in_a_long_text(tagger: Tagger) -> None:
    """Prefiltered patterns run only near their prefilter's hits: every hit must be covered."""
    filler = " ".join(["The company said demand stayed strong across its markets."] * 15)
    summary = f"{filler} It released Llama 3.1, and GPT-4o tops benchmarks. {filler} It plans a 300MW data center campus."
    tagged = tag(tagger, "Quarterly update", summary)
    assert {"Llama 3.1", "GPT-4o"} <= set(tagged.evidence["model_performance"])
    assert "300MW" in tagged.evidence["infrastructure"]


def test_an_unbounded_token_pattern_still_searches_the_whole_text(tmp_path: Path) -> None:
    shipped = (RULES / "categories.toml").read_text(encoding="utf-8")
    extra = (
        "\n[[categories.chip_ecosystem.patterns]]\n"
        'id = "wafer-run"\nweight = 1.0\nprefilter = "wafer"\n'
        'pattern = [{ LOWER = "wafer" }, { IS_ALPHA = true, OP = "+" }, { LOWER = "yield" }]\n'
    )
    custom = load_tagger(write_taxonomy(tmp_path, shipped + extra).parent)
    long_gap = " ".join(["very"] * 30)
    tagged = custom.tag_one(TagInput(title="Update", summary=f"The wafer {long_gap} good yield."))
    assert "chip_ecosystem" in tagged.evidence
    assert any(text.endswith("good yield") for text in tagged.evidence["chip_ecosystem"])


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Llama 5: Smaller, Faster, Open", "model_performance"),
        ("Hello Gemini-3", "model_performance"),
        ("Contoso Announces Fourth Quarter and Full Year 2031 Results", "financial_posture"),
        ("Fabrikam Reports Second Quarter Fiscal 2030 Results", "financial_posture"),
        ("Contoso and Fabrikam partner to bring AI agents to retail", "customer_traction"),
        ("Contoso to invest $4 billion in Norwegian cloud, AI", "infrastructure"),
        ("Beijing tightens exports of gallium and germanium", "chip_ecosystem"),
    ],
)
def test_a_headline_alone_carries_its_category(tagger: Tagger, title: str, category: str) -> None:
    """Many sources send a title and no summary: the headline's own shape must be enough."""
    assert category in tag(tagger, title).categories


def test_a_model_opening_the_headline_is_the_subject_but_one_named_later_is_not(
    tagger: Tagger,
) -> None:
    assert "model_performance" in tag(tagger, "Qwen4 Arrives With Longer Context").categories
    assert "model_performance" not in tag(tagger, "Retailer picks Qwen4 for its chatbot").categories


def test_a_long_running_tagger_is_renewed_before_its_vocabulary_grows_unbounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """spaCy keeps every string it saw; a daemon polling for months must not keep them all."""
    from signals.tagging import enricher

    first = load_tagger(RULES)
    before = tag(first, "TSMC starts 2nm mass production in Arizona")
    monkeypatch.setattr(enricher, "VOCABULARY_LIMIT", first.vocabulary_growth + 50)
    words = " ".join(f"zqx{n}" for n in range(100))  # strings the vocabulary never saw
    tag(first, "Unrelated", words)
    assert first.vocabulary_growth > enricher.VOCABULARY_LIMIT
    renewed = load_tagger(RULES)
    assert renewed is not first
    assert renewed.vocabulary_growth < enricher.VOCABULARY_LIMIT
    assert tag(renewed, "TSMC starts 2nm mass production in Arizona") == before
    assert load_tagger(RULES) is renewed  # built once, then reused


@pytest.mark.parametrize(
    ("title", "category", "span"),
    [
        (
            "Order on Artificial Intelligence Infrastructure",
            "infrastructure",
            "Artificial Intelligence Infrastructure",
        ),
        ("Startup buys A.I. chips", "chip_ecosystem", "A.I. chips"),
    ],
)
def test_ai_spelled_out_or_dotted_matches_as_ai(
    tagger: Tagger, title: str, category: str, span: str
) -> None:
    assert span in tag(tagger, title).evidence.get(category, [])


def test_money_is_found_when_its_currency_word_is_glued_to_punctuation(tagger: Tagger) -> None:
    for summary in (
        "Revenue was 3 billion yuan(up 12% year on year).",
        "Revenue 3 billion yuan，up 12%",
    ):
        money = [f for f in tag(tagger, "Results", summary).facts if f.kind == "money"]
        assert [(f.value, f.unit) for f in money] == [(3e9, "CNY")], summary


@pytest.mark.parametrize(
    ("title", "category"),
    [
        ("Edward Hopper painting sells for record at auction", "chip_ecosystem"),
        ("Investment firm sells stake in cloud software maker", "infrastructure"),
        ("Retailer to cut spending on cloud software subscriptions", "infrastructure"),
        ("Investing in cloud stocks: three picks", "infrastructure"),
    ],
)
def test_lookalikes_of_chip_names_and_cloud_spending_are_not_tagged_so(
    tagger: Tagger, title: str, category: str
) -> None:
    assert category not in tag(tagger, title).categories


def test_patterns_match_in_text_whose_lower_case_is_longer(tagger: Tagger) -> None:
    """ "İ".lower() is two characters, so offsets in the lower-cased text drift from the text's."""
    title = "İstanbul " + "İ" * 20 + " update"
    tagged = tag(tagger, title, "The operator plans a 300MW data center campus. It will open soon.")
    assert "300MW" in tagged.evidence["infrastructure"]


def test_a_model_version_written_with_a_spaced_hyphen_is_found(tagger: Tagger) -> None:
    tagged = tag(tagger, "Meta releases Llama - 3.1 to developers", "It follows GPT-4o and Qwen2.5")
    assert "Llama - 3.1" in tagged.evidence["model_performance"]


def test_title_case_partnership_headlines_and_brand_names(tagger: Tagger) -> None:
    """In Title Case the verb is capitalized too: it must not be read as a party's name."""
    deal = tag(tagger, "Contoso and Fabrikam Partner to Bring AI Agents to Retailers")
    assert "customer_traction" in deal.categories
    glasses = tag(tagger, "Ray-Ban Meta smart glasses get live AI and live translation")
    assert "policy_shifts" not in glasses.categories
    assert (
        "chip_ecosystem" not in tag(tagger, "Britain's best fish and chip shop crowned").categories
    )
