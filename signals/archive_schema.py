"""What every table, column, index and view of the archive means, and the example queries.

One source of truth for the analysts' documentation: ``docs/archive.md`` is rendered from
here (``python -m signals.archive_schema > docs/archive.md``; a test keeps them equal)
and ``signals explore`` gives Datasette the same descriptions and the examples as canned
queries. A test fails when the migrated schema has a table, column, index or view this
module (and so the document) does not describe.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Relation:
    """A table or view: what one row is, what each column holds, and its indexes."""

    name: str
    kind: str  # "table", "view", "fts" (the full-text index) or "internal"
    description: str
    columns: dict[str, str]
    indexes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Example:
    """A question analysts ask, answered by one SQL query that runs as is in sqlite3."""

    name: str  # the canned query's name in Datasette
    title: str
    note: str
    sql: str


TIME = "ISO 8601 UTC text, `2026-11-25T08:00:00Z`"

RELATIONS: tuple[Relation, ...] = (
    Relation(
        "sources",
        "table",
        "One row per source in `sources.toml`, with its polling state and health. A source"
        " removed from the file is disabled (`enabled = 0`), never deleted, so its items keep"
        " their provenance.",
        {
            "id": "The source id from `sources.toml` (`[[source]] id`), e.g. `fr-bis-documents`.",
            "name": "Display name (`name` in `sources.toml`, else the id).",
            "kind": "How it is read: `feed`, `html`, `json` or `table`.",
            "url": "The URL polled, with secret-looking parts masked.",
            "every": "Polling interval as written in `sources.toml`, e.g. `30m`, `1d`.",
            "hint": "JSON array of category ids the source usually belongs to, or NULL.",
            "enabled": "1 when the source is in `sources.toml` and enabled, else 0.",
            "next_check_at": f"When the next poll is due ({TIME}); NULL means at the next tick.",
            "retry_after_until": "Set when the server asked to be left alone (`Retry-After` on"
            f" 429/503): no request before this time ({TIME}).",
            "etag": "The last `ETag` the server sent, for conditional GET.",
            "last_modified": "The last `Last-Modified` header, for conditional GET.",
            "last_status": "Outcome of the last poll: `ok`, `not_modified`, `http_404`,"
            " `timeout`, `too_large`, `parse_error`, `selector_empty`, `deferred`, ..."
            " (see `fetches.outcome`).",
            "last_checked_at": f"When the last poll started ({TIME}).",
            "last_ok_at": "When the last successful poll (`ok` or `not_modified`) started"
            f" ({TIME}).",
            "error_count": "Consecutive failed polls; 0 after a success. Drives the backoff.",
            "last_error": "What went wrong in the last failed poll, in words; NULL after a"
            " success.",
        },
        {"sqlite_autoindex_sources_1": "Primary key `id`."},
    ),
    Relation(
        "items",
        "table",
        "One row per document (article, press release, rule, filing, benchmark result). An"
        " item's text is plain text (HTML removed). `source_id` is the source that brought it"
        " first; `item_sources` lists every source that carried it.",
        {
            "id": "Stable item id: the first 16 hex digits of SHA-256 over the source id and the"
            " entry key (see *Ids*). The same entry seen again keeps its id.",
            "source_id": "The source that first brought the item (`sources.id`).",
            "url": "Canonical URL: absolute, without tracking parameters (`utm_*`, `fbclid`,"
            " ...) or fragment; NULL when the entry had no web link.",
            "title": "Title, one line of plain text.",
            "summary": "Summary or description as the source gave it, as plain text ('' if none).",
            "body": "Full text when the source has it or `follow_links` fetched the article,"
            " else ''. Federal Register items carry an outline (type, agencies, CFR parts, dates).",
            "published_at": f"When the source says it was published ({TIME}); when the entry had"
            " no usable date, the time it was first seen (then `date_estimated = 1`).",
            "date_estimated": "1 when `published_at` is the time first seen, not a date the"
            " source gave.",
            "fetched_at": f"When this archive first stored the item ({TIME}).",
            "updated_at": f"When the title or text last changed at the source ({TIME}); NULL if"
            " never.",
            "content_hash": "First 16 hex digits of SHA-256 over title, summary and body:"
            " a change means the document was edited.",
            "meta": "JSON object of source-specific fields: e.g. Federal Register"
            " `document_number`, `type`, `agencies`, `cfr_parts`, `pdf_url`; EDGAR `form`,"
            " `cik`, `company`, `accession_number`, `items`; leaderboards `event`"
            " (`result`/`rank`), `benchmark`, `system`, `previous`, `baseline`; feeds"
            " `author`, `feed_categories`.",
            "story_id": "The story the item belongs to (`stories.id`), or NULL when it stands"
            " alone. Items of one story report the same event.",
        },
        {
            "sqlite_autoindex_items_1": "Primary key `id`.",
            "items_url": "Find an item by canonical URL (cross-source linking).",
            "items_published_id": "Items of a period with their id and source, read from the"
            " index alone (period queries on large archives).",
            "items_fetched_at": "What arrived since a time (digest windows).",
            "items_source_published": "One source's items by date.",
            "items_story": "Items of a story.",
            "items_updated_at": "Items changed since a time (alerts).",
        },
    ),
    Relation(
        "items_fts",
        "fts",
        "FTS5 full-text index over `items` (title, summary, body), kept in sync by triggers;"
        " `items_fts.rowid` = `items.rowid`. Tokenizer `porter unicode61 remove_diacritics 2`:"
        " case- and accent-insensitive, English stemming (`rule` matches `rules`, `ruled`)."
        " Query with `items_fts MATCH '...'` (phrases in double quotes, `AND`/`OR`/`NOT`,"
        " `NEAR(a b)`, `prefix*`, `title:word`); rank with"
        " `bm25(items_fts, 10.0, 4.0, 1.0)` (smaller is better; the weights favour the title).",
        {
            "title": "Indexed copy of `items.title`.",
            "summary": "Indexed copy of `items.summary`.",
            "body": "Indexed copy of `items.body`.",
        },
    ),
    Relation(
        "items_fts_config",
        "internal",
        "FTS5 shadow table: index settings. Never written by hand.",
        {"k": "Setting name.", "v": "Setting value."},
    ),
    Relation(
        "items_fts_data",
        "internal",
        "FTS5 shadow table: the index's b-tree pages.",
        {"id": "Block id.", "block": "Block contents (binary)."},
    ),
    Relation(
        "items_fts_docsize",
        "internal",
        "FTS5 shadow table: token counts per row and column, used by bm25.",
        {"id": "`items.rowid`.", "sz": "Token counts (binary varints)."},
    ),
    Relation(
        "items_fts_idx",
        "internal",
        "FTS5 shadow table: the term index.",
        {"segid": "Segment id.", "term": "First term on the page.", "pgno": "Page number."},
    ),
    Relation(
        "item_sources",
        "table",
        "Every source that carried an item: the first source's row plus one for each other"
        " source that published the same canonical URL.",
        {
            "item_id": "The item (`items.id`).",
            "source_id": "A source that carried it (`sources.id`).",
            "entry_key": "The entry's identity within that source: `guid:...`, `url:...` or"
            " `hash:...` (see *Ids*).",
            "first_seen_at": f"When that source first carried it ({TIME}).",
        },
        {
            "sqlite_autoindex_item_sources_1": "Primary key (`source_id`, `entry_key`).",
            "item_sources_item": "Sources of an item.",
            "item_sources_source_seen": "A source's items by arrival (quiet sources, counts).",
        },
    ),
    Relation(
        "fetches",
        "table",
        "One row per poll of a source: the provenance of everything stored.",
        {
            "id": "Increasing number.",
            "source_id": "The source polled.",
            "started_at": f"When the poll started ({TIME}).",
            "outcome": "Named outcome: `ok`, `not_modified` (HTTP 304), `http_NNN`, `timeout`,"
            " `connect_error`, `dns_error`, `tls_error`, `protocol_error`, `too_large`,"
            " `too_many_redirects`, `bad_redirect`, `decode_error`, `parse_error`,"
            " `selector_empty`, `deferred` (skipped: Retry-After), `store_error`,"
            " `internal_error`, `cancelled`.",
            "http_status": "HTTP status code, NULL when no response arrived.",
            "bytes": "Response body size in bytes after decompression.",
            "sha256": "SHA-256 of the response body (hex): the same bytes twice mean no change.",
            "duration_ms": "How long the poll took, in milliseconds.",
            "items_seen": "Entries the response contained.",
            "items_new": "Items stored for the first time.",
            "items_updated": "Items whose title or text changed.",
            "error": "What went wrong, in words; NULL on success.",
            "warnings": "JSON array of warnings (skipped entries, undated entries, ...), or NULL.",
        },
        {"fetches_source_started": "A source's polls by time (last outcome, history)."},
    ),
    Relation(
        "item_tags",
        "table",
        "The watch categories an item belongs to, one row per (item, category). An item with"
        " no row is archived but never digested.",
        {
            "item_id": "The item (`items.id`).",
            "category": "Category id: `infrastructure`, `model_performance`,"
            " `customer_traction`, `chip_ecosystem`, `policy_shifts`, `financial_posture`.",
            "score": "Confidence from 0 to 1 that the item belongs to the category.",
            "method": "What assigned it: `rules` (the taxonomy's terms, patterns and"
            " entities in `rules/categories.toml`).",
            "evidence": 'JSON array of the matched text spans, e.g. `["Entity List", "BIS"]`.',
        },
        {
            "sqlite_autoindex_item_tags_1": "Primary key (`item_id`, `category`).",
            "item_tags_category": "Items of a category above a score.",
        },
    ),
    Relation(
        "entities",
        "table",
        "Named things found in an item's text (companies, chips, regulators, places).",
        {
            "item_id": "The item (`items.id`).",
            "label": "Entity type from the watchlist in `rules/categories.toml`: `ORG`,"
            " `PRODUCT` (chips, models), `REGULATOR`, `PROGRAM`, `LAW`.",
            "text": "The text as it appears in the item.",
            "start": "Character offset where it starts in the tagged text (title, then summary"
            " and body).",
            "end": 'Character offset just after it ends (quote it: `"end"`).',
            "entity_id": "Canonical watchlist id, lower-case with hyphens (`nvidia`,"
            " `nvidia-h20`, `alibaba`, `bis`), or NULL when not on the watchlist.",
        },
        {
            "entities_item": "Entities of an item.",
            "entities_entity": "Items naming an entity.",
        },
    ),
    Relation(
        "facts",
        "table",
        "Structured values stated in an item: amounts, percentages, dates, export control"
        " numbers, benchmark results.",
        {
            "item_id": "The item (`items.id`).",
            "kind": "`money`, `percent`, `eccn`, `cfr_part`, `effective_date`, `comment_deadline`,"
            " `publication_date`, `benchmark_result`, `benchmark_rank`, `accelerator`.",
            "value": "The number: money in units of `unit` (10000000000.0 for '$10 billion'),"
            " percent as 26.0 for 26%, a benchmark score, a rank, an accelerator count;"
            " NULL for text-only kinds.",
            "unit": "Currency code for money (`USD`, `CNY`, `EUR`), `%` for percent, `date` for"
            " dates, the metric for benchmark results, `rank`, `count`; NULL otherwise.",
            "text": "The value as stated ('$10 billion', '3A090', '15 CFR 744'); for dates the"
            " day as `YYYY-MM-DD`; for benchmark results the benchmark and system.",
            "origin": "`tagger` (found in the text) or `source` (given by the source's data,"
            " e.g. the Federal Register's effective date).",
        },
        {
            "facts_item": "Facts of an item.",
            "facts_kind": "Facts of a kind, by value.",
            "facts_item_origin": "An item's facts of one origin (re-tagging replaces the"
            " tagger's, keeps the source's).",
        },
    ),
    Relation(
        "stories",
        "table",
        "One row per event reported by several items (several sources, or one source"
        " re-titling). Items point to it with `items.story_id`; a lone item has none. Digests"
        " show a story once. Stories are never merged or split behind the reader's back;"
        " `signals stories --rebuild` recomputes them.",
        {
            "id": "Story id: the id of the item that was there first, so that item's grouping"
            " key (`COALESCE(story_id, id)`) does not change when a second item joins.",
            "title": "Title of the story: the title of its earliest-published item.",
            "first_seen_at": f"When its first item was stored ({TIME}).",
            "updated_at": f"When an item last joined it ({TIME}).",
        },
        {"sqlite_autoindex_stories_1": "Primary key `id`."},
    ),
    Relation(
        "story_keys",
        "table",
        "Candidate index of story grouping: a few integer keys per item (MinHash bands of its"
        " title and summary opening, its loose URL, its document ids) under the day it was"
        " published, so a new item finds the items of the surrounding week that share a key."
        " Rebuilt by `signals stories --rebuild`; not meant for analysis.",
        {
            "day": "Publication day as days since 1970-01-01 (UTC).",
            "key": "A 64-bit grouping key (a MinHash band, URL or document-number hash).",
            "item": "`items.rowid` of the item that has the key.",
        },
    ),
    Relation(
        "tagged_items",
        "table",
        "Which taxonomy version tagged each item and when, so `signals tag` re-tags only what"
        " an older taxonomy tagged (or everything when asked).",
        {
            "item_id": "The item (`items.id`).",
            "taxonomy": "Digest of `rules/categories.toml` (16 hex digits of SHA-256) that"
            " tagged it.",
            "tagged_at": f"When it was tagged ({TIME}).",
        },
        {"sqlite_autoindex_tagged_items_1": "Primary key `item_id`."},
    ),
    Relation(
        "deliveries",
        "table",
        "The ledger of digests and alerts: one row per rule, channel and window, written"
        " before and after sending, so each goes out exactly once.",
        {
            "id": "Increasing number.",
            "rule": "Rule id (file name in `rules/` without `.toml`).",
            "channel": "`slack`, `email` or `outbox`.",
            "window_start": f"Start of the window the message covers ({TIME}).",
            "window_end": f"End of the window ({TIME}).",
            "status": "`pending` (claimed or maybe sent), `sent` or `failed`.",
            "item_ids": "JSON array of the item ids in the message.",
            "sent_at": f"When it was sent ({TIME}).",
            "external_id": "The channel's id for the message (Slack `ts`, e-mail Message-ID).",
            "error": "Why the last attempt failed, in words.",
            "keys": "JSON array of suppression keys of an alert (`realert`).",
            "transport": "How it went: `slack_api`, `slack_webhook`, `smtp`, `outbox`.",
            "attempts": "Send attempts so far.",
            "attempted_at": f"When the last attempt started ({TIME}).",
            "claimed_by": "Process (host:pid) holding a send in flight, else NULL.",
            "progress": "JSON checkpoint of a multi-part send (Slack thread parts done).",
        },
        {
            "sqlite_autoindex_deliveries_1": "Unique (`rule`, `channel`, `window_start`,"
            " `window_end`): one row per window.",
            "deliveries_rule_end": "A rule's latest windows.",
            "deliveries_status": "Pending and failed sends.",
        },
    ),
    Relation(
        "rule_marks",
        "table",
        "Up to when each alert rule has looked at new items, so none is evaluated twice.",
        {
            "rule": "Alert rule id.",
            "evaluated_until": f"Items stored up to this time were evaluated ({TIME}).",
        },
        {"sqlite_autoindex_rule_marks_1": "Primary key `rule`."},
    ),
    Relation(
        "_sqlite_migrations",
        "internal",
        "Schema migrations applied to this archive (sqlite-utils), in order.",
        {
            "id": "Increasing number.",
            "migration_set": "Always `signals`.",
            "name": "Migration name, e.g. `0001_initial`, `0600_views`.",
            "applied_at": "When it was applied (sqlite-utils' own time format).",
        },
        {"idx__sqlite_migrations_migration_set_name": "Unique (`migration_set`, `name`)."},
    ),
    Relation(
        "items_overview",
        "view",
        "One row per item with its categories, entities and story: the place to browse."
        " Cheap when filtered or limited (each extra column is an indexed lookup); filter on"
        " `published_at` or `source_id` and add a LIMIT on large archives.",
        {
            "item_rowid": "`items.rowid` (joins `items_fts.rowid`).",
            "id": "Item id.",
            "published_at": f"Publication time ({TIME}).",
            "fetched_at": f"When first stored ({TIME}).",
            "source_id": "The source that brought it first.",
            "title": "Title.",
            "url": "Canonical URL.",
            "categories": "JSON array of category ids, highest score first.",
            "scores": 'JSON object category -> score, e.g. `{"policy_shifts": 0.97}`.',
            "top_category": "The highest-scoring category, or NULL when untagged.",
            "top_score": "Its score (0..1).",
            "entity_ids": "JSON array of the watchlist entity ids it names.",
            "source_count": "How many sources carried it.",
            "story_id": "Its story, or NULL.",
            "story_title": "The story's title, or NULL.",
        },
    ),
    Relation(
        "category_daily",
        "view",
        "Items per category per UTC day of publication. Aggregates the whole archive: filter"
        " on `day` and `category`.",
        {
            "day": "UTC date of `published_at`, `YYYY-MM-DD`.",
            "category": "Category id.",
            "items": "Items of that category published that day.",
            "avg_score": "Their average score (0..1).",
        },
    ),
    Relation(
        "category_weekly",
        "view",
        "Items per category per week (Monday to Sunday, UTC) of publication.",
        {
            "week_start": "The week's Monday, `YYYY-MM-DD`.",
            "category": "Category id.",
            "items": "Items of that category published that week.",
            "avg_score": "Their average score (0..1).",
        },
    ),
    Relation(
        "source_health",
        "view",
        "One row per source: status, last success, errors, items, last poll and next check."
        " The same picture as `signals sources`.",
        {
            "id": "Source id.",
            "name": "Display name.",
            "kind": "`feed`, `html`, `json` or `table`.",
            "enabled": "1 when in `sources.toml` and enabled.",
            "last_status": "Outcome of the last poll (`ok`, `timeout`, ...).",
            "last_checked_at": f"When the last poll started ({TIME}).",
            "last_ok_at": f"When the last successful poll started ({TIME}).",
            "error_count": "Consecutive failed polls.",
            "last_error": "The last failure in words.",
            "items": "Items this source carried (`item_sources`).",
            "last_item_at": f"When it last brought an item new to it ({TIME}); quiet sources"
            " have an old one.",
            "last_fetch_outcome": "Outcome recorded in the newest `fetches` row.",
            "last_fetch_at": f"When that poll started ({TIME}).",
            "next_check_at": f"When it will be polled next ({TIME}): `retry_after_until` when"
            " the server asked to wait, else `next_check_at`.",
        },
    ),
)

EXAMPLES: tuple[Example, ...] = (
    Example(
        "entity_list_policy_90d",
        "Every policy_shifts item mentioning the Entity List in the last 90 days",
        "Full-text match joined to the category; the phrase is quoted so both words must be"
        " adjacent. `strftime(...)` gives a time in the archive's format. The `rowid` bound"
        " (the first item of the period, from the `published_at` index; `+rowid` keeps SQLite"
        " from walking the table in rowid order instead) lets FTS5 skip every older match.",
        """SELECT i.published_at, i.source_id, i.title, t.score, i.url
FROM items_fts
JOIN items i ON i.rowid = items_fts.rowid
JOIN item_tags t ON t.item_id = i.id AND t.category = 'policy_shifts'
WHERE items_fts MATCH '"Entity List"'
  AND items_fts.rowid >= (SELECT min(+rowid) FROM items WHERE published_at >=
                            strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days'))
  AND i.published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')
ORDER BY i.published_at DESC;""",
    ),
    Example(
        "alibaba_capex_per_quarter",
        "Capex figures stated by Alibaba, per quarter",
        "Money facts of items naming the entity `alibaba` whose text talks about capex; one"
        " row per quarter and currency, with the figures as stated. The entity's items are"
        " collected first (`MATERIALIZED`), so the query costs what that entity has.",
        """WITH alibaba AS MATERIALIZED (
  SELECT DISTINCT item_id FROM entities WHERE entity_id = 'alibaba'
)
SELECT strftime('%Y', i.published_at) || '-Q'
         || ((CAST(strftime('%m', i.published_at) AS INTEGER) + 2) / 3) AS quarter,
       f.unit AS currency,
       count(*) AS figures,
       max(f.value) AS largest,
       group_concat(f.text, '; ') AS as_stated
FROM alibaba a
JOIN items i ON i.id = a.item_id
JOIN facts f ON f.item_id = a.item_id AND f.kind = 'money'
WHERE i.rowid IN (SELECT rowid FROM items_fts
                  WHERE items_fts MATCH 'capex OR "capital expenditure" OR "capital spending"')
GROUP BY quarter, currency
ORDER BY quarter DESC;""",
    ),
    Example(
        "quiet_sources_this_month",
        "Which sources went quiet this month",
        "Enabled sources that have brought no new item since the first of the month, whether"
        " they fail or simply publish nothing.",
        """SELECT id, kind, last_item_at, last_ok_at, last_status, error_count
FROM source_health
WHERE enabled = 1
  AND (last_item_at IS NULL OR last_item_at < strftime('%Y-%m-01T00:00:00Z', 'now'))
ORDER BY last_item_at;""",
    ),
    Example(
        "items_per_category_per_week",
        "Items per category per week, last 12 weeks",
        "One row per week with a column per category. The `category_weekly` view has the"
        " same counts for the whole archive; starting from the items of the period (an index"
        " range on `published_at`) keeps this fast on millions of items.",
        """WITH recent AS MATERIALIZED (
  SELECT id, published_at FROM items
  WHERE published_at >= strftime('%Y-%m-%dT00:00:00Z', 'now', 'weekday 0', '-90 days')
)
SELECT date(r.published_at, 'weekday 0', '-6 days') AS week_start,
       count(*) FILTER (WHERE t.category = 'infrastructure') AS infrastructure,
       count(*) FILTER (WHERE t.category = 'model_performance') AS model_performance,
       count(*) FILTER (WHERE t.category = 'customer_traction') AS customer_traction,
       count(*) FILTER (WHERE t.category = 'chip_ecosystem') AS chip_ecosystem,
       count(*) FILTER (WHERE t.category = 'policy_shifts') AS policy_shifts,
       count(*) FILTER (WHERE t.category = 'financial_posture') AS financial_posture
FROM recent r
JOIN item_tags t ON t.item_id = r.id
GROUP BY week_start
ORDER BY week_start DESC;""",
    ),
    Example(
        "upcoming_regulatory_dates",
        "Upcoming effective dates and comment deadlines",
        "Date facts (text `YYYY-MM-DD`, mostly from the Federal Register) from today on.",
        """SELECT f.text AS day, f.kind, i.title, i.source_id, i.url
FROM facts f
JOIN items i ON i.id = f.item_id
WHERE f.kind IN ('effective_date', 'comment_deadline')
  AND f.text >= date('now')
ORDER BY f.text, f.kind;""",
    ),
    Example(
        "new_accelerator_results",
        "First result on a new accelerator",
        "Accelerators (facts from benchmark tables) first seen after their source's first"
        " poll, i.e. new since the archive started watching.",
        """WITH firsts AS (
  SELECT f.text AS accelerator, i.source_id, min(i.fetched_at) AS first_seen
  FROM facts f JOIN items i ON i.id = f.item_id
  WHERE f.kind = 'accelerator' AND f.origin = 'source'
  GROUP BY f.text, i.source_id
), starts AS (
  SELECT source_id, min(fetched_at) AS started FROM items GROUP BY source_id
)
SELECT firsts.accelerator, firsts.source_id, firsts.first_seen
FROM firsts JOIN starts USING (source_id)
WHERE firsts.first_seen > starts.started
ORDER BY firsts.first_seen DESC;""",
    ),
    Example(
        "new_leaderboard_leaders",
        "A new #1 on a leaderboard",
        "Rank events (not the baseline of a first fill) where position 1 changed hands.",
        """SELECT i.fetched_at AS seen,
       json_extract(i.meta, '$.benchmark') AS benchmark,
       json_extract(i.meta, '$.system') AS system,
       json_extract(i.meta, '$.previous') AS previous,
       s.value AS score, s.unit
FROM items i
JOIN facts r ON r.item_id = i.id AND r.kind = 'benchmark_rank' AND r.value = 1
JOIN facts s ON s.item_id = i.id AND s.kind = 'benchmark_result'
WHERE json_extract(i.meta, '$.event') = 'rank'
  AND json_extract(i.meta, '$.baseline') = 0
ORDER BY i.fetched_at DESC;""",
    ),
    Example(
        "entity_timeline",
        "Everything about one chip (nvidia-h20) in the last 30 days, with categories",
        "The `items_overview` view gives categories, entities and story in one row.",
        """SELECT o.published_at, o.title, o.categories, o.source_count, o.story_title, o.url
FROM items_overview o
WHERE o.id IN (SELECT item_id FROM entities WHERE entity_id = 'nvidia-h20')
  AND o.published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')
ORDER BY o.published_at DESC;""",
    ),
    Example(
        "widely_carried_stories",
        "Stories carried by the most sources this week",
        "Items grouped by story (an item without one is its own story), counting every source"
        " that carried any of them.",
        """WITH recent AS MATERIALIZED (
  SELECT id, story_id, title, published_at FROM items
  WHERE fetched_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')
)
SELECT COALESCE(s.title, min(i.title)) AS story,
       count(DISTINCT x.source_id) AS sources,
       group_concat(DISTINCT x.source_id) AS carried_by,
       min(i.published_at) AS first_published
FROM recent i
JOIN item_sources x ON x.item_id = i.id
LEFT JOIN stories s ON s.id = i.story_id
GROUP BY COALESCE(i.story_id, i.id)
HAVING sources > 1
ORDER BY sources DESC, first_published DESC;""",
    ),
    Example(
        "failing_sources",
        "Sources failing right now, and why",
        "From the `source_health` view; `next_check_at` shows when the backoff lets it try.",
        """SELECT id, last_status, error_count, last_error, last_ok_at, next_check_at
FROM source_health
WHERE error_count > 0
ORDER BY error_count DESC;""",
    ),
    Example(
        "fetch_outcomes_7d",
        "Poll outcomes per source over the last 7 days",
        "Reliability at a glance: how often each source answered what, and how fast.",
        """SELECT source_id, outcome, count(*) AS polls,
       round(avg(duration_ms)) AS avg_ms,
       sum(items_new) AS items_new
FROM fetches
WHERE started_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')
GROUP BY source_id, outcome
ORDER BY source_id, polls DESC;""",
    ),
    Example(
        "top_entities_per_category_30d",
        "Most mentioned watchlist entities per category, last 30 days",
        "Counts items, not mentions: an item naming NVIDIA five times counts once.",
        """WITH recent AS MATERIALIZED (
  SELECT id FROM items
  WHERE published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')
)
SELECT t.category, e.entity_id, count(DISTINCT e.item_id) AS items
FROM recent r
JOIN entities e ON e.item_id = r.id
JOIN item_tags t ON t.item_id = r.id
WHERE e.entity_id IS NOT NULL
GROUP BY t.category, e.entity_id
ORDER BY t.category, items DESC;""",
    ),
    Example(
        "eccns_12_months",
        "Export control classification numbers (ECCNs) named in the last 12 months",
        "How often each ECCN appears, and the latest item that names it.",
        """SELECT f.text AS eccn, count(DISTINCT f.item_id) AS items,
       max(i.published_at) AS latest
FROM facts f
JOIN items i ON i.id = f.item_id
WHERE f.kind = 'eccn'
  AND i.published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-365 days')
GROUP BY f.text
ORDER BY items DESC, eccn;""",
    ),
    Example(
        "largest_amounts_90d",
        "The largest amounts announced in the last 90 days",
        "Money facts in US dollars, biggest first; other currencies have their own `unit`.",
        """SELECT f.value, f.unit, f.text AS as_stated, i.title, i.published_at
FROM facts f
JOIN items i ON i.id = f.item_id
WHERE f.kind = 'money' AND f.unit = 'USD'
  AND i.published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')
ORDER BY f.value DESC
LIMIT 20;""",
    ),
    Example(
        "category_trend_daily",
        "A category's daily count against its 4-week daily average",
        "Spikes stand out: `ratio` well above 1. (`category_daily` has these counts for"
        " every category and day.)",
        """WITH recent AS MATERIALIZED (
  SELECT id, published_at FROM items
  WHERE published_at >= strftime('%Y-%m-%dT00:00:00Z', 'now', '-90 days')
), daily AS (
  SELECT substr(r.published_at, 1, 10) AS day, count(*) AS items
  FROM recent r
  JOIN item_tags t ON t.item_id = r.id AND t.category = 'policy_shifts'
  GROUP BY day
)
SELECT day, items,
       round(avg(items) OVER (ORDER BY day ROWS BETWEEN 27 PRECEDING AND CURRENT ROW), 2)
         AS avg_28d,
       round(items / avg(items) OVER (ORDER BY day ROWS BETWEEN 27 PRECEDING AND CURRENT ROW),
             2) AS ratio
FROM daily
ORDER BY day DESC;""",
    ),
    Example(
        "digests_sent_7d",
        "Digests and alerts sent in the last 7 days",
        "From the delivery ledger; `item_ids` is a JSON array.",
        """SELECT rule, channel, window_end, sent_at, json_array_length(item_ids) AS items,
       external_id
FROM deliveries
WHERE status = 'sent'
  AND sent_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-7 days')
ORDER BY sent_at DESC;""",
    ),
    Example(
        "untagged_per_source_30d",
        "Items no category claimed, per source (last 30 days)",
        "Archived but never digested: a source with many may need `hint` categories or rules.",
        """SELECT i.source_id, count(*) AS untagged
FROM items i
WHERE i.published_at >= strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-30 days')
  AND NOT EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id)
GROUP BY i.source_id
ORDER BY untagged DESC;""",
    ),
)

INTRO = """\
# The archive

<!-- Generated from signals/archive_schema.py by
     `python -m signals.archive_schema > docs/archive.md`; edit that module, not this file. -->

`signals` keeps everything in one SQLite file (settings `database`, or `--db` /
`SIGNALS_DB`). It is created and migrated by the package and is safe to read while the
daemon writes: it runs in WAL mode, so readers never block the writer and see a
consistent snapshot. Open it read-only in your own tools
(`sqlite3 'file:archive.db?mode=ro'`, `signals query`, `signals export`,
`signals explore`).

The tables and columns below are a contract: they change only through a new migration
that adds (never renames or drops) what it needs, and this document changes with it.

## Times

Every time is ISO 8601 UTC text with a `Z`, to the second: `2026-11-25T08:00:00Z`. Text
order is time order, so compare times as text. In SQL, "90 days ago" in the same format
is `strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-90 days')`; a day is `substr(published_at, 1,
10)`; the start of this month is `strftime('%Y-%m-01T00:00:00Z', 'now')`. Calendar-only
values (effective dates, comment deadlines in `facts.text`) are `YYYY-MM-DD`.

- `published_at` is what the source says; an entry without a usable date (or dated more
  than two days ahead) gets the time it was first seen, and `date_estimated = 1`.
  Dates given in a local timezone (an HTML page, the Federal Register) are converted to
  UTC.
- `fetched_at` is when this archive first stored the item; digests use it for their
  windows ("new since the last digest").

## Ids

- **Source ids** are the `id`s in `sources.toml`.
- **Entry key**: an entry's identity within its source, the first that exists of
  `guid:<the feed's guid or id>`, `url:<canonical URL>` (plus `#fragment` when only the
  fragment tells entries apart), `hash:<16 hex of SHA-256 of title and text>`. Entries
  without a guid that share one link (a newsroom front page) are keyed
  `url+text:<hash of URL and content>`.
- **Item id** = the first 16 hex digits of SHA-256 over `source id`, a 0x1f separator and
  the entry key. Polling the same entry again finds the same id; a changed title or text
  changes `content_hash` and sets `updated_at`, never a new row.
- The same canonical URL brought by a second source is not stored again: the second
  source gets a row in `item_sources` pointing at the first item.
- **Canonical URL**: absolute (relative links resolved against the feed or page),
  lower-case scheme and host, default port dropped, fragment dropped, and tracking
  parameters removed (`utm_*`, `pk_*`, `mtm_*`, `hsa_*`, `fbclid`, `gclid`, `msclkid`,
  `mc_cid`, `igshid`, `_ga`, `spm`, ...).
- **Entity ids** are the watchlist's canonical ids, lower-case with hyphens
  (`nvidia-h20`); **category ids** are the six watch categories.
- `rowid`: `items.rowid` grows with insertion and equals `items_fts.rowid`; use it to
  join the full-text index, never as an identity across archives.

## Search

`items_fts` is an FTS5 index over title, summary and body. `signals query TEXT` ranks by
bm25 with the title weighted above the summary above the body (10, 4, 1), among the newest
500 matches that pass the filters, which keeps every search fast on millions of items.
Up to 1,000 matches, FTS5's bm25() ranks them (over all matches when there are at most
500); above that the same bm25 formula is computed over the candidates, with whole-query
matches per column as term frequencies (FTS5's own bm25() would first count every match).
In SQL:

```
SELECT i.title, snippet(items_fts, -1, '**', '**', ' … ', 24) AS snippet
FROM items_fts JOIN items i ON i.rowid = items_fts.rowid
WHERE items_fts MATCH 'export NEAR(controls chips)'
ORDER BY bm25(items_fts, 10.0, 4.0, 1.0) LIMIT 20
```

## Stories

A story groups items that report the same event (several sources, or one source
re-titling its own item). A story row exists only once two items share it; a lone item
has `items.story_id` NULL, so count stories with `COALESCE(story_id, id)`. Every poll
assigns stories to its new and changed items (after tagging, in the same transaction);
`signals stories --rebuild [--since DATE]` recomputes them for an existing archive. An
item keeps its story once it has one. Two items published within 7 days of each other
are one story when they link the same page (ignoring scheme, `www.` and a trailing
slash), carry the same document number (EDGAR accession, Federal Register document
number, CVE) in the title or URL, or have titles that share most content words or
summaries that open with the same text. They are never one story when their titles state
different dates, years, weekdays, quarters or fiscal years, versions, ECCNs, amounts,
percentages, codes with digits (`H20`, `8-K`) or other numbers, or carry different
document numbers. One source's own items are compared more strictly: published within
20 hours, and their summaries must not contradict each other.

## Retention and housekeeping

- `keep_items_for` in `[settings]` (e.g. `"365d"`, at least `1d`; absent keeps
  everything). An item is deleted once both its `fetched_at` and its `published_at` are
  older than that (an old document a source still lists would otherwise come back as new
  on the next poll). Its `item_tags`, `entities`, `facts`, `item_sources` and
  `tagged_items` rows go with it (`ON DELETE CASCADE`), its `items_fts` row too (delete
  trigger); `story_keys` days before the cutoff are dropped and a story left without
  items is deleted.
- `deliveries` rows are never deleted (their `item_ids` may name deleted items), and
  items listed by a delivery that is not yet `sent` are kept until it is.
- Retention runs in the daemon a minute after start and then daily, in `signals run
  --once`, and on demand with `signals prune [--dry-run] [--older-than D]`, in batches of
  500 items, each its own short transaction.
- `signals backup FILE` makes an online, consistent copy (SQLite backup API) while the
  daemon keeps writing, checked with `PRAGMA integrity_check` before it gets its name.
  `signals vacuum` merges the full-text index and compacts the file; stop the daemon
  first.
- `_sqlite_migrations` lists the applied schema migrations. An archive made by an older
  version is upgraded in place when opened, without losing a row; after upgrading from a
  version without story grouping, run `signals stories --rebuild` once.
"""

OUTRO = """\
## Reading it elsewhere

- `signals query TEXT [--category ID] [--entity ID] [--source ID] [--since DATE]
  [--until DATE] [--min-score X] [--limit N] [--format table|json|csv]`
- `signals export TABLE|--query SQL|--search TEXT [filters] --format csv|jsonl [--output FILE]`
- `signals explore` opens the archive read-only in Datasette with these descriptions,
  facets on category and source, full-text search and every example above as a canned
  query (`pip install -e '.[explore]'` in a checkout; `make run` and `make test`
  install it).
- pandas: `pd.read_sql_query(sql, sqlite3.connect('file:archive.db?mode=ro', uri=True))`.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown() -> str:
    """The whole of docs/archive.md."""
    sections = [
        ("table", "Tables"),
        ("fts", "Full-text index"),
        ("view", "Views"),
        ("internal", "Internal tables"),
    ]
    out = [INTRO]
    for kind, heading in sections:
        out.append(f"## {heading}\n")
        for relation in RELATIONS:
            if relation.kind != kind:
                continue
            out.append(f"### `{relation.name}`\n")
            out.append(relation.description + "\n")
            out.append("| column | meaning |\n|---|---|")
            out += [f"| `{name}` | {_cell(text)} |" for name, text in relation.columns.items()]
            out.append("")
            if relation.indexes:
                out.append("Indexes:\n")
                out += [f"- `{name}`: {text}" for name, text in relation.indexes.items()]
                out.append("")
    if any(r.kind == "fts" for r in RELATIONS):
        out.append(
            "Triggers `items_ai`, `items_ad` and `items_au` keep `items_fts` in step with"
            " every insert, delete and update of `items`.\n"
        )
    out.append("## Example queries\n")
    out.append(
        "Each runs as is in `sqlite3`, Datasette (as a canned query of the same name) or"
        " pandas; a test runs every one against a fixture archive.\n"
    )
    for number, example in enumerate(EXAMPLES, 1):
        out.append(f"### {number}. {example.title}\n")
        out.append(f"{example.note} (canned query `{example.name}`)\n")
        out.append(f"```sql\n{example.sql}\n```\n")
    out.append(OUTRO)
    return "\n".join(out)


def datasette_metadata(database: str) -> dict[str, Any]:
    """Datasette metadata: descriptions, facets, full-text search, examples as canned queries."""
    tables: dict[str, Any] = {}
    for relation in RELATIONS:
        entry: dict[str, Any] = {
            "description": relation.description,
            "columns": dict(relation.columns),
        }
        if relation.kind == "internal":
            entry["hidden"] = True
        tables[relation.name] = entry
    tables["items"].update(
        {
            "fts_table": "items_fts",
            "fts_pk": "rowid",
            "facets": ["source_id"],
            "sort_desc": "published_at",
            "label_column": "title",
        }
    )
    tables["items_overview"].update(
        {
            "fts_table": "items_fts",
            "fts_pk": "item_rowid",
            "facets": ["top_category", "source_id", {"array": "categories"}],
        }
    )
    tables["item_tags"]["facets"] = ["category"]
    tables["facts"]["facets"] = ["kind"]
    tables["fetches"]["facets"] = ["source_id", "outcome"]
    tables["category_daily"]["facets"] = ["category"]
    tables["category_weekly"]["facets"] = ["category"]
    queries = {
        example.name: {"title": example.title, "description": example.note, "sql": example.sql}
        for example in EXAMPLES
    }
    return {
        "title": "signals archive",
        "description": "Market and policy signals: items, categories, entities, facts,"
        " stories, sources and deliveries. Read-only.",
        "databases": {database: {"tables": tables, "queries": queries}},
    }


if __name__ == "__main__":
    sys.stdout.write(render_markdown())
