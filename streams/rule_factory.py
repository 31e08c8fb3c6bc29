"""Builds a camera's rules from its config: one function for the worker, the
cluster worker and offline evaluation, so they cannot disagree about what a
config means.

Presets were already expanded by the config (streams.config), so every rule
arrives here as a full kind; this turns each into its spec, its rule object
and the work-order template its events are filed under.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.config import (
    CameraConfig, CoOccurrenceRuleConfig, DwellRuleConfig, KOfNRuleConfig, LitteringRuleConfig, RuleConfig,
)
from inference.clock import Clock
from inference.rules import (
    CoOccurrenceRule, CoOccurrenceRuleSpec, ContinuitySettings, DwellRule, DwellRuleSpec, KOfNRule, KOfNRuleSpec,
    LitteringRule, LitteringRuleSpec, Rule, Schedule,
)
from inference.zones import PolygonZone
from streams.pipeline import WorkOrderTemplate

# Changing only these re-files nothing: a running rule keeps its state and gets the new template.
TEMPLATE_FIELDS = frozenset({"category_code", "category_name", "priority"})


@dataclass(frozen=True)
class _Common:
    rule_id: str
    zone: PolygonZone
    timezone: str

    def fields(self, rule: RuleConfig) -> dict:
        """The spec fields every rule kind shares."""
        schedule = None
        if rule.schedule:
            schedule = Schedule(tuple(w.window() for w in rule.schedule), self.timezone)
        return dict(
            rule_id=self.rule_id, zone=self.zone, labels=frozenset(rule.labels), grace_s=rule.grace_s,
            cooldown_s=rule.cooldown_s, update_interval_s=rule.update_interval_s, merge_window_s=rule.merge_window_s,
            schedule=schedule, continuity=ContinuitySettings(**rule.continuity.model_dump()),
        )


def build_rule(rule_id: str, rule: RuleConfig, zone: PolygonZone, camera_id: str, timezone: str, clock: Clock) -> Rule:
    common = _Common(rule_id, zone, timezone).fields(rule)
    # CoOccurrenceRuleConfig extends DwellRuleConfig: test it first.
    if isinstance(rule, CoOccurrenceRuleConfig):
        spec = CoOccurrenceRuleSpec(**common, min_dwell_s=rule.min_dwell_s, min_count=rule.min_count,
                                    require_static=rule.require_static, companion_labels=frozenset(rule.companion_labels),
                                    max_distance=rule.max_distance)
        return CoOccurrenceRule(spec, camera_id, clock)
    if isinstance(rule, DwellRuleConfig):
        spec = DwellRuleSpec(**common, min_dwell_s=rule.min_dwell_s, min_count=rule.min_count,
                             require_static=rule.require_static)
        return DwellRule(spec, camera_id, clock)
    if isinstance(rule, KOfNRuleConfig):
        spec = KOfNRuleSpec(**common, k=rule.k, n=rule.n, exclude_labels=frozenset(rule.exclude_labels),
                            exclude_overlap=rule.exclude_overlap)
        return KOfNRule(spec, camera_id, clock)
    if isinstance(rule, LitteringRuleConfig):
        spec = LitteringRuleSpec(**common, actor_labels=frozenset(rule.actor_labels), min_dwell_s=rule.min_dwell_s,
                                 path_window_s=rule.path_window_s, near_distance=rule.near_distance,
                                 leave_distance=rule.leave_distance, leave_after_s=rule.leave_after_s)
        return LitteringRule(spec, camera_id, clock)
    raise TypeError(f"rule {rule_id}: no builder for {type(rule).__name__}")


def template_for(rule: RuleConfig, camera: CameraConfig) -> WorkOrderTemplate:
    return WorkOrderTemplate(rule.category_code, rule.category_name, rule.priority, camera.grid_cell, camera.address)


def _unchanged(rule_id: str, previous: CameraConfig, camera: CameraConfig) -> bool:
    old, new = previous.rules.get(rule_id), camera.rules.get(rule_id)
    if old is None or new is None or type(old) is not type(new) or previous.timezone != camera.timezone:
        return False
    same_rule = old.model_dump(exclude=set(TEMPLATE_FIELDS)) == new.model_dump(exclude=set(TEMPLATE_FIELDS))
    return same_rule and previous.zones.get(old.zone) == camera.zones.get(new.zone)


def build_rules(camera_id: str, camera: CameraConfig, clock: Clock, previous: CameraConfig | None = None,
                running: list[tuple[Rule, WorkOrderTemplate]] | None = None) -> list[tuple[Rule, WorkOrderTemplate]]:
    """The camera's rules with their work-order templates.

    With ``previous`` (the config the ``running`` rules were built from), a rule whose
    spec and zone did not change keeps its running state: an open event stays open,
    so an edit elsewhere does not re-file it."""
    kept: dict[str, Rule] = {}
    if previous is not None:
        kept = {r.spec.rule_id: r for r, _t in running or [] if _unchanged(r.spec.rule_id, previous, camera)}
    zones = {zid: PolygonZone.from_points(zid, z.polygon) for zid, z in camera.zones.items()}
    rules: list[tuple[Rule, WorkOrderTemplate]] = []
    for rule_id, rule in camera.rules.items():
        built = kept.get(rule_id) or build_rule(rule_id, rule, zones[rule.zone], camera_id, camera.timezone, clock)
        rules.append((built, template_for(rule, camera)))
    return rules
