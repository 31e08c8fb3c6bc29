"""One default per setting: where the worker config hands a value on to a runtime
object (a rule spec, the source's options, the tracker, the detector, a backoff),
the two must not each carry a default of their own that disagree. Either the
object has no default (the config's is the only one) or both say the same.

Until this test, a rule spec said cooldown 300 s while the config said 600 s, and
a source reconnected after 0.5 s by default while the config said 1.0 s."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from pydantic import BaseModel

from inference.models.detector import YoloDetector
from inference.rules import (
    CoOccurrenceRuleSpec, ContinuitySettings, DwellRuleSpec, KOfNRuleSpec, LitteringRuleSpec, RuleSpec,
)
from inference.tracking import ObjectTracker
from streams.backoff import Backoff
from streams.batching import BatchingDetector
from streams.config import (
    ApiConfig, CoOccurrenceRuleConfig, ContinuityConfig, DwellRuleConfig, KOfNRuleConfig, LitteringRuleConfig,
    ModelConfig, SourceConfig, TrackerConfig, WorkerConfig,
)
from streams.delivery.api_client import ApiClient
from streams.sources.source import SourceOptions
from streams.sync.snapshots import SnapshotUploader
from streams.sync.zones import ZoneSync

NO_DEFAULT = object()


def spec_default(target, name: str):
    """The default ``target`` (a dataclass, or a callable's keyword) gives ``name``; NO_DEFAULT if none."""
    if dataclasses.is_dataclass(target):
        field = {f.name: f for f in dataclasses.fields(target)}[name]
        if field.default is not dataclasses.MISSING:
            return field.default
        if field.default_factory is not dataclasses.MISSING:
            return field.default_factory()
        return NO_DEFAULT
    parameter = inspect.signature(target).parameters[name]
    return NO_DEFAULT if parameter.default is inspect.Parameter.empty else parameter.default


def config_default(model: type[BaseModel], name: str):
    return model.model_fields[name].get_default(call_default_factory=True)


def _same(a, b) -> bool:
    if isinstance(a, (set, frozenset, list, tuple)) and isinstance(b, (set, frozenset, list, tuple)):
        return sorted(a) == sorted(b)  # the config writes label sets as YAML lists
    return a == b


def disagreement(model: type[BaseModel], field: str, target, param: str) -> str | None:
    ours, theirs = config_default(model, field), spec_default(target, param)
    if theirs is NO_DEFAULT or _same(ours, theirs):
        return None
    return f"{model.__name__}.{field} defaults to {ours!r} but {getattr(target, '__qualname__', target)}({param}) to {theirs!r}"


_RULE_COMMON = ["grace_s", "cooldown_s", "update_interval_s", "merge_window_s"]

# (config model, config field, what it is handed to, under which name)
PAIRS = [
    *[(DwellRuleConfig, f, RuleSpec, f) for f in _RULE_COMMON],
    *[(DwellRuleConfig, f, DwellRuleSpec, f) for f in ["min_count", "require_static"]],
    *[(KOfNRuleConfig, f, KOfNRuleSpec, f) for f in ["exclude_labels", "exclude_overlap"]],
    (CoOccurrenceRuleConfig, "max_distance", CoOccurrenceRuleSpec, "max_distance"),
    *[(LitteringRuleConfig, f, LitteringRuleSpec, f)
      for f in ["actor_labels", "min_dwell_s", "path_window_s", "near_distance", "leave_distance", "leave_after_s"]],
    *[(ContinuityConfig, f, ContinuitySettings, f) for f in ContinuityConfig.model_fields],
    *[(SourceConfig, f, SourceOptions, f) for f in SourceConfig.model_fields],
    *[(TrackerConfig, f, ObjectTracker, f) for f in TrackerConfig.model_fields],
    *[(ModelConfig, f, YoloDetector, f) for f in ["confidence", "iou", "device"]],
    (ModelConfig, "backend", YoloDetector.from_manifest, "backend"),
    *[(ModelConfig, f, BatchingDetector, f) for f in ["max_batch", "batch_deadline_ms"]],
    (ApiConfig, "timeout_s", ApiClient, "timeout_s"),
    # The outbox's retry (streams.runtime.build_runtime): Backoff brings no delays of its own.
    (WorkerConfig, "retry_initial_s", Backoff, "initial_s"),
    (WorkerConfig, "retry_max_s", Backoff, "max_s"),
    (WorkerConfig, "snapshot_interval_s", SnapshotUploader, "interval_s"),
    (WorkerConfig, "zone_sync_interval_s", ZoneSync, "interval_s"),
]


@pytest.mark.parametrize(("model", "field", "target", "param"), PAIRS,
                         ids=[f"{m.__name__}.{f}" for m, f, _t, _p in PAIRS])
def test_a_setting_handed_on_has_one_default(model, field, target, param):
    assert disagreement(model, field, target, param) is None


def test_every_source_tracker_and_continuity_setting_is_compared():
    """Those sections map one to one onto their object: a new field there is in PAIRS by construction,
    and must exist on the object under the same name."""
    for model, target in [(SourceConfig, SourceOptions), (ContinuityConfig, ContinuitySettings),
                          (TrackerConfig, ObjectTracker)]:
        for field in model.model_fields:
            spec_default(target, field)  # KeyError: the config has a setting the object does not take


def test_the_backoffs_delays_belong_to_the_config():
    assert spec_default(Backoff, "initial_s") is NO_DEFAULT and spec_default(Backoff, "max_s") is NO_DEFAULT


def test_a_disagreement_is_caught():
    @dataclasses.dataclass(frozen=True)
    class Spec:
        cooldown_s: float = 300.0
        labels: frozenset = frozenset({"person"})

    assert "600.0" in disagreement(DwellRuleConfig, "cooldown_s", Spec, "cooldown_s")
    assert disagreement(LitteringRuleConfig, "actor_labels", Spec, "labels") is None
    assert disagreement(DwellRuleConfig, "grace_s", lambda grace_s: None, "grace_s") is None


def test_the_configs_own_values_are_unchanged():
    """What a user who leaves these out gets (the config's values before one place owned them)."""
    assert config_default(DwellRuleConfig, "cooldown_s") == 600.0
    assert config_default(SourceConfig, "backoff_initial_s") == 1.0
    assert config_default(WorkerConfig, "retry_initial_s") == 0.5
    assert config_default(WorkerConfig, "retry_max_s") == 15.0
    assert config_default(LitteringRuleConfig, "actor_labels") == ["person"]
    assert config_default(KOfNRuleConfig, "exclude_labels") == []
