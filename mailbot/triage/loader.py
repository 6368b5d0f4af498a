"""Read `rules/*.toml` into rules, or fail with a RulesError naming the file, the line and why.

A rule file holds `[[rule]]` tables. Keys every rule has:
  id (unique across all files), description, kind (see mailbot.triage.rules.KINDS),
  action (noise | vote | escalate | review | focus | aside; the last two: kind phrase or
  token only),
  weight (number, default 1.0),
  category (required for action = "vote"), examples, counter_examples (lists of texts or of
  tables with subject / text / headers / signals / attachments / content_type)
plus the keys of its kind. Anything else is an error, so a typo cannot silently disable a rule.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from spacy.language import Language

from mailbot.errors import RulesError
from mailbot.triage import rules as r

COMMON_KEYS = (
    "id",
    "description",
    "kind",
    "action",
    "weight",
    "category",
    "examples",
    "counter_examples",
)
CATEGORIES = ("issue", "change_request", "feedback", "none")
EXAMPLE_KEYS = (
    "subject",
    "text",
    "headers",
    "signals",
    "attachments",
    "content_type",
    "body_source",
)
_ID = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")
_TOML_LINE = re.compile(r"line (\d+)")


class _RuleFileError(Exception):
    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def _rule_lines(text: str) -> list[int]:
    """1-based line numbers of each `[[rule]]` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.strip().startswith("[[rule]]")]


def _key_line(text: str, start: int, key: str) -> int:
    """The line of `key = ...` in the rule table starting at line `start` (or `start`)."""
    lines = text.splitlines()
    pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for n in range(start, len(lines) + 1):
        if n > start and lines[n - 1].strip().startswith("[["):
            break
        if pattern.match(lines[n - 1]):
            return n
    return start


def _need(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: int, text: str
) -> Any:
    if key not in table:
        raise _RuleFileError(f"missing key {key!r}", where)
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise _RuleFileError(
            f"{key!r} has the wrong type ({type(value).__name__})", _key_line(text, where, key)
        )
    return value


def _regex(source: str, flags: int, key: str, where: int, text: str) -> re.Pattern[str]:
    try:
        return re.compile(source, flags)
    except re.error as err:
        raise _RuleFileError(
            f"bad pattern in {key!r}: {source!r}: {err}", _key_line(text, where, key)
        ) from None


def _string_list(table: dict[str, Any], key: str, where: int, text: str) -> list[str]:
    values = _need(table, key, list, where, text)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise _RuleFileError(
            f"{key!r} must be a non-empty list of non-empty strings", _key_line(text, where, key)
        )
    return values


def _check_examples(table: dict[str, Any], key: str, where: int, text: str) -> None:
    for example in table.get(key, []):
        if isinstance(example, str):
            continue
        if not isinstance(example, dict):
            raise _RuleFileError(
                f"{key!r} entries must be strings or tables", _key_line(text, where, key)
            )
        unknown = sorted(set(example) - set(EXAMPLE_KEYS))
        if unknown:
            raise _RuleFileError(
                f"unknown key {unknown[0]!r} in {key!r}", _key_line(text, where, key)
            )


def build_rule(table: dict[str, Any], nlp: Language, where: int, text: str) -> r.Rule:
    rule_id = _need(table, "id", str, where, text)
    if not _ID.match(rule_id):
        raise _RuleFileError(f"bad id {rule_id!r}: use lower-case letters, digits, . _ -", where)
    kind_name = _need(table, "kind", str, where, text)
    kind = r.KINDS.get(kind_name)
    if kind is None:
        raise _RuleFileError(
            f"rule {rule_id!r}: unknown kind {kind_name!r} (known: {', '.join(r.KINDS)})",
            _key_line(text, where, "kind"),
        )
    for key in table:
        if key not in COMMON_KEYS and key not in kind.keys:
            raise _RuleFileError(
                f"rule {rule_id!r}: unknown key {key!r} for kind {kind_name!r}",
                _key_line(text, where, key),
            )
    description = _need(table, "description", str, where, text)
    action = _need(table, "action", str, where, text)
    if action not in r.ACTIONS:
        raise _RuleFileError(
            f"rule {rule_id!r}: unknown action {action!r} (known: {', '.join(r.ACTIONS)})",
            _key_line(text, where, "action"),
        )
    weight = float(_need(table, "weight", (int, float), where, text)) if "weight" in table else 1.0
    category = table.get("category")
    if action == "vote" and category not in CATEGORIES:
        raise _RuleFileError(
            f"rule {rule_id!r}: action 'vote' needs category one of {', '.join(CATEGORIES)}",
            _key_line(text, where, "category"),
        )
    if action in ("focus", "aside") and kind.kind not in ("phrase", "token"):
        raise _RuleFileError(
            f"rule {rule_id!r}: a '{action}' rule marks a place in the text,"
            " so its kind must be 'phrase' or 'token'",
            _key_line(text, where, "kind"),
        )
    if action != "vote" and category is not None:
        raise _RuleFileError(
            f"rule {rule_id!r}: only 'vote' rules have a category",
            _key_line(text, where, "category"),
        )
    _check_examples(table, "examples", where, text)
    _check_examples(table, "counter_examples", where, text)
    common = {
        "id": rule_id,
        "description": description,
        "action": action,
        "weight": weight,
        "category": category,
    }

    flags = re.IGNORECASE if table.get("ignore_case", True) else 0
    try:
        if kind is r.SignalRule:
            signal = _need(table, "signal", str, where, text)
            if signal not in r.SIGNALS:
                raise _RuleFileError(
                    f"unknown signal {signal!r} (known: {', '.join(r.SIGNALS)})",
                    _key_line(text, where, "signal"),
                )
            return r.SignalRule(**common, signal=signal)
        if kind is r.HeaderRule:
            header = _need(table, "header", str, where, text)
            pattern = (
                _regex(table["pattern"], re.IGNORECASE, "pattern", where, text)
                if "pattern" in table
                else None
            )
            return r.HeaderRule(**common, header=header, pattern=pattern)
        if kind is r.SubjectRule:
            sources = _string_list(table, "patterns", where, text)
            return r.SubjectRule(
                **common,
                patterns=tuple(_regex(s, re.IGNORECASE, "patterns", where, text) for s in sources),
            )
        if kind is r.RegexRule:
            sources = _string_list(table, "patterns", where, text)
            return r.RegexRule(
                **common, patterns=tuple(_regex(s, flags, "patterns", where, text) for s in sources)
            )
        if kind is r.ContentTypeRule:
            types = _string_list(table, "content_types", where, text)
            return r.ContentTypeRule(**common, content_types=tuple(t.lower() for t in types))
        if kind is r.PhraseRule:
            phrases = _string_list(table, "phrases", where, text)
            attr = table.get("attr", "LOWER")
            if attr not in ("LOWER", "ORTH", "NORM"):
                raise _RuleFileError(
                    f"attr must be LOWER, ORTH or NORM, not {attr!r}",
                    _key_line(text, where, "attr"),
                )
            return r.PhraseRule(
                **common,
                matcher=r.make_phrase_matcher(nlp, rule_id, phrases, attr),
                phrases=tuple(phrases),
                attr=attr,
            )
        if kind is r.TokenRule:
            patterns = _need(table, "patterns", list, where, text)
            if not patterns or not all(isinstance(p, list) and p for p in patterns):
                raise _RuleFileError(
                    "'patterns' must be a list of token-pattern lists",
                    _key_line(text, where, "patterns"),
                )
            try:
                matcher = r.make_token_matcher(nlp, rule_id, patterns)
            except Exception as err:  # spaCy raises MatchPatternError / ValueError with details
                detail = " ".join(str(err).split())[:300]
                raise _RuleFileError(
                    f"bad pattern in 'patterns': {detail}", _key_line(text, where, "patterns")
                ) from None
            return r.TokenRule(
                **common, matcher=matcher, first_lowers=r.first_lowers(nlp, patterns)
            )
        if kind is r.ShoutingRule:
            min_words = (
                int(_need(table, "min_words", int, where, text)) if "min_words" in table else 4
            )
            min_ratio = (
                float(_need(table, "min_ratio", (int, float), where, text))
                if "min_ratio" in table
                else 0.5
            )
            return r.ShoutingRule(**common, min_words=min_words, min_ratio=min_ratio)
    except KeyError as err:
        raise _RuleFileError(f"rule {rule_id!r}: missing key {err.args[0]!r}", where) from None
    raise _RuleFileError(f"kind {kind_name!r} has no builder", where)  # pragma: no cover


def load_file(path: Path, nlp: Language, seen: dict[str, str]) -> list[r.Rule]:
    """Rules of one file; `seen` maps rule ids already loaded to 'file:line' (for duplicates)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise RulesError(
            f"{path}: cannot read rule file: {err}", "fix or remove the file"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        found = _TOML_LINE.search(str(err))
        line = found.group(1) if found else "?"
        raise RulesError(
            f"{path}:{line}: not valid TOML: {err}", "fix the TOML syntax at that line"
        ) from None
    unknown = sorted(set(data) - {"rule", "version"})
    if unknown:
        raise RulesError(
            f"{path}:{_key_line(text, 1, unknown[0])}: unknown top-level key {unknown[0]!r}",
            "a rule file holds only `version` and [[rule]] tables",
        )
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        raise RulesError(
            f"{path}:1: 'rule' must be written as [[rule]] tables", "see rules/README.md"
        )
    starts = _rule_lines(text)
    out: list[r.Rule] = []
    for index, table in enumerate(tables):
        where = starts[index] if index < len(starts) else 1
        try:
            rule = build_rule(table, nlp, where, text)
        except _RuleFileError as err:
            raise RulesError(
                f"{path}:{err.line}: {err}", "fix the rule; see rules/README.md"
            ) from None
        if rule.id in seen:
            line = _key_line(text, where, "id")
            raise RulesError(
                f"{path}:{line}: duplicate rule id {rule.id!r} (first defined at {seen[rule.id]})",
                "give every rule its own id",
            )
        seen[rule.id] = f"{path}:{where}"
        out.append(rule)
    return out


def rule_tables(path: Path) -> list[dict[str, Any]]:
    """The raw [[rule]] tables of a file (tests read their examples from here)."""
    return tomllib.loads(path.read_text(encoding="utf-8")).get("rule", [])
