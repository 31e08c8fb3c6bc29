"""The dashboard's UI strings: both languages complete and consistent, and
every key a template or script names exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from api.dashboard.i18n import DEFAULT_LANGUAGE, LANGUAGES, STRINGS, pick_language
from api.schemas import CameraState, EvidenceKind, Priority, WorkOrderStatus
from api.schemas_workflow import BaselineLevel, BaselineUnit, Period, Verdict

DASHBOARD = Path(__file__).resolve().parents[2] / "api" / "dashboard"
TIMELINE_ACTIONS = ["created", "merged", "recurrence", "transition", "comment", "verdict", "camera_recheck",
                    "event_end", "evidence_added", "overdue", "escalated"]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys():
    assert set(LANGUAGES) == set(STRINGS)
    zh, en = set(STRINGS["zh"]), set(STRINGS["en"])
    assert zh - en == set(), f"missing in English: {sorted(zh - en)}"
    assert en - zh == set(), f"missing in Chinese: {sorted(en - zh)}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_string_is_empty_and_placeholders_match(lang):
    for key, text in STRINGS[lang].items():
        assert text.strip(), f"{lang}:{key} is empty"
        assert placeholders(text) == placeholders(STRINGS[DEFAULT_LANGUAGE][key]), f"{lang}:{key} placeholders differ"


def test_chinese_strings_are_chinese_and_english_ones_are_not():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    untranslated = [k for k, v in STRINGS["zh"].items() if not cjk.search(v) and k not in {"lang.other"}]
    assert untranslated == []
    # English may name the other language ("中文") and nothing else in Chinese.
    assert [k for k, v in STRINGS["en"].items() if cjk.search(v) and k != "lang.other"] == []


def test_every_enum_the_api_returns_has_a_label():
    keys = set(STRINGS["en"])
    needed = (
        [f"status.{s.value}" for s in WorkOrderStatus]
        + [f"action.{s.value}" for s in WorkOrderStatus if s is not WorkOrderStatus.DETECTED]
        + [f"priority.{p.value}" for p in Priority]
        + [f"camstate.{c.value}" for c in CameraState] + ["camstate.unknown"]
        + [f"level.{lv.value}" for lv in BaselineLevel]
        + [f"unit.{u.value}" for u in BaselineUnit]
        + [f"period.{p.value}" for p in Period]
        + [f"verdict.{v.value}" for v in Verdict] + [f"verdict.default_{v.value}" for v in Verdict]
        + [f"timeline.{a}" for a in TIMELINE_ACTIONS]
        + [f"evidence.{k.value}" for k in EvidenceKind]
        + [f"feed.state.{s}" for s in ("connecting", "open", "reconnecting", "unauthorized")]
    )
    assert sorted(set(needed) - keys) == []


def used_keys() -> set[str]:
    found = set()
    for path in (DASHBOARD / "templates").glob("*.html"):
        found |= set(re.findall(r"t\['([a-z0-9_.]+)'\]", path.read_text(encoding="utf-8")))
    for path in (DASHBOARD / "static").glob("*.js"):
        found |= set(re.findall(r"\bT\(\s*\"([a-z0-9_.]+)\"", path.read_text(encoding="utf-8")))
    from api.routes.dashboard import NAV

    found |= {label for _key, _href, label in NAV}
    return found


def test_every_key_used_by_templates_and_scripts_exists():
    used = used_keys()
    assert len(used) > 100  # the scan itself works
    keys = set(STRINGS["en"])
    # T("status." + value): a prefix, completed at run time (the enums are checked above).
    prefixes = {k for k in used if k.endswith((".", "_"))}
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in keys)) == []
    assert sorted(used - prefixes - keys) == []


def test_language_choice():
    assert pick_language("en", "zh", "zh-CN") == "en"
    assert pick_language(None, "en", "zh-CN") == "en"
    assert pick_language(None, None, "en-US,en;q=0.9") == "en"
    assert pick_language(None, None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert pick_language("fr", None, "de-DE") == DEFAULT_LANGUAGE == "zh"
    assert pick_language(None, "xx", None) == "zh"
