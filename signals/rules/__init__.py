"""Rules as files: load and validate them, and the pure engine that evaluates them.

``load_rules(folder)`` gives a ``RuleSet``; ``RULE_TYPES`` (in ``signals.rules.types``)
holds what each ``type`` looks for; ``Schedule`` and ``Window`` say when a digest fires
and what it covers.
"""

from signals.rules.load import RuleSet, load_rules
from signals.rules.model import ALERT, DIGEST, Conditions, DigestSpec, FactCondition, Rule
from signals.rules.schedule import Schedule, Window, digest_window

__all__ = [
    "ALERT",
    "DIGEST",
    "Conditions",
    "DigestSpec",
    "FactCondition",
    "Rule",
    "RuleSet",
    "Schedule",
    "Window",
    "digest_window",
    "load_rules",
]
