"""Named rule presets: what a city's operations centre means by "littering" or
"e-bike in the lift", so a camera config says ``{preset: ebike_in_elevator,
zone: car}`` and gets the right rule kind, labels, timings, category code and
urgency tier. Every field can still be overridden per rule.

``params`` use the worker config's rule field names (streams.config), which
validates the expanded rule like one written out in full. Codes are the
GB/T 47678.5 matter codes where one fits (see ../shared/domain.md); the
e-bike family has no standard code, so those carry local codes starting
``X-`` for a city to map onto its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

ZONE_KINDS = ("any", "elevator", "corridor", "facade", "road", "pavement", "shopfront", "fire_lane", "parking")
RULE_KINDS = ("dwell", "k_of_n", "co_occurrence", "littering")

_STREET = frozenset({"road", "pavement", "shopfront", "parking", "fire_lane"})
_KERBSIDE = frozenset({"road", "pavement", "shopfront"})
_WALLS = frozenset({"facade", "shopfront", "pavement", "road"})
# COCO-style detectors have no e-bike class and call most e-bikes and e-scooters
# "motorcycle"; nobody rides a real motorcycle into a lift or a stairwell.
_EBIKES = ("ebike", "motorcycle")


@dataclass(frozen=True)
class Preset:
    name: str
    family: str  # littering, ebike, street
    kind: str  # one of RULE_KINDS
    category_code: str
    name_zh: str
    name_en: str
    priority: str  # normal, urgent, emergency
    zone_kinds: frozenset[str]  # zones it makes sense in; a zone of kind "any" is accepted too
    params: Mapping[str, object] = field(default_factory=dict)  # rule fields: labels, min_dwell_s, ...
    why: str = ""  # the reason behind a code or a default that is not obvious
    # The lowest analysis rate its semantics allow (0: only its timings limit it; see inference.rates).
    min_analysis_fps: float = 0.0
    rate_why: str = ""  # why that rate

    @property
    def category_name(self) -> str:
        return f"{self.name_zh} {self.name_en}"

    def rule_fields(self) -> dict[str, object]:
        """The rule this preset stands for, in config field names (overrides go on top)."""
        return {
            "kind": self.kind,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
            "category_code": self.category_code,
            "category_name": self.category_name,
            "priority": self.priority,
        }

    def allows_zone(self, zone_kind: str) -> bool:
        return zone_kind == "any" or zone_kind in self.zone_kinds


def _preset(name, family, kind, code, zh, en, priority, zones, why="", *, min_fps=0.0, rate_why="", **params) -> Preset:
    return Preset(name, family, kind, code, zh, en, priority, frozenset(zones), MappingProxyType(params), why,
                  min_fps, rate_why)


_ALL = [
    # -- littering family ------------------------------------------------------------------------------------
    _preset("littering", "littering", "littering", "06012", "乱扔垃圾(道路不洁)", "littering", "urgent", _STREET,
            "No standard code for the act; what the cleaner is sent to fix is the dirty road (06012). Urgent: "
            "the centres described send the grid's cleaner within minutes.",
            labels=("litter", "garbage_bag"), min_dwell_s=10, min_fps=1.0,
            rate_why="it must follow the person who walks away: below 1 fps a walker moves several body widths "
                     "between frames"),
    _preset("exposed_garbage", "littering", "dwell", "06010", "暴露垃圾", "exposed garbage", "normal",
            _STREET | {"corridor"}, labels=("garbage_pile", "garbage_bag"), min_dwell_s=1800, require_static=True,
            merge_window_s=3600),
    _preset("overflowing_bin", "littering", "dwell", "06042", "垃圾站(箱)满溢", "overflowing bin", "normal",
            _STREET | {"corridor"}, "A full bin with overflow is 06042, not 06010.",
            labels=("bin_full",), min_dwell_s=600, merge_window_s=3600),
    # -- e-bike family (local codes) -------------------------------------------------------------------------
    _preset("ebike_in_elevator", "ebike", "k_of_n", "X-EBIKE-ELEVATOR", "电动车进电梯", "e-bike in elevator", "emergency",
            {"elevator"}, "Must warn while the doors are open: 3 of 5 frames, not minutes. Wheelchairs and strollers "
            "are allowed in and look alike to a detector.",
            labels=_EBIKES, k=3, n=5, exclude_labels=("wheelchair", "stroller"), grace_s=2, cooldown_s=120,
            merge_window_s=600, min_fps=2.0,
            rate_why="3 of 5 frames must fit in the few seconds the doors are open (2.5 s at 2 fps)"),
    _preset("ebike_in_corridor", "ebike", "dwell", "X-EBIKE-CORRIDOR", "电动车楼道停放", "e-bike in corridor", "normal",
            {"corridor"}, labels=_EBIKES, min_dwell_s=600, merge_window_s=3600),
    _preset("ebike_charging", "ebike", "co_occurrence", "X-EBIKE-CHARGING", "电动车违规充电", "e-bike charging",
            "urgent", {"corridor", "pavement", "shopfront", "parking"},
            "Cables are thin and flicker in and out of detection: a 10 s grace keeps the 5-minute timer.",
            labels=_EBIKES, companion_labels=("cable", "power_strip"), max_distance=1.0, min_dwell_s=300, grace_s=10),
    _preset("flying_wire", "ebike", "dwell", "X-FLYING-WIRE", "飞线充电", "flying-wire charging", "urgent", {"facade"},
            labels=("cable",), min_dwell_s=300, grace_s=10, merge_window_s=3600),
    # -- street violations (the 15 an electronic fence recognises) -----------------------------------------
    _preset("out_of_store_trading", "street", "dwell", "09005", "店外经营", "out-of-store trading", "normal",
            {"shopfront", "pavement"}, "Goods a shop puts out are 09005; a mobile stall is 09006/09001.",
            labels=("goods",), min_dwell_s=600, merge_window_s=3600),
    _preset("occupy_road_trading", "street", "dwell", "09006", "占道经营", "occupying road for trade", "normal",
            {"road", "pavement"}, labels=("stall",), min_dwell_s=600, merge_window_s=3600),
    _preset("roaming_vendor", "street", "dwell", "09001", "无照经营游商", "roaming vendor", "normal", _KERBSIDE,
            "Vendors move on when approached: a short dwell, counted only once the cart has stopped.",
            labels=("stall",), min_dwell_s=120, require_static=True, min_fps=0.5,
            rate_why="a cart must be seen to stop, not just glimpsed twice as it moves on"),
    _preset("umbrella_on_road", "street", "dwell", "09006", "占道经营(遮阳伞)", "umbrella on road", "normal",
            {"road", "pavement"},
            "The umbrellas that stand in a road are vendors' parasols, i.e. occupying the road for trade (09006). "
            "Pedestrians' umbrellas move, so only a static one counts.",
            labels=("umbrella",), min_dwell_s=600, require_static=True, merge_window_s=3600),
    _preset("open_air_barbecue", "street", "dwell", "06029", "露天烧烤", "open-air barbecue", "normal", _STREET,
            labels=("grill",), min_dwell_s=300, merge_window_s=3600),
    _preset("piled_sundries", "street", "dwell", "06036", "乱堆杂物", "piled sundries", "normal",
            _STREET | {"corridor"}, labels=("pile",), min_dwell_s=1800, merge_window_s=3600),
    _preset("hanging_laundry", "street", "dwell", "06007", "沿街晾挂", "hanging laundry", "normal",
            {"facade", "shopfront", "pavement"}, labels=("laundry",), min_dwell_s=600, merge_window_s=3600),
    _preset("illegal_small_ads", "street", "dwell", "07001", "非法小广告", "illegal small ads", "normal", _WALLS,
            labels=("banner",), min_dwell_s=600, merge_window_s=86_400),
    _preset("illegal_outdoor_ads", "street", "dwell", "07003", "违规户外广告", "illegal outdoor advertising", "normal",
            _WALLS, labels=("billboard",), min_dwell_s=1800, merge_window_s=86_400),
    _preset("illegal_parking_motor", "street", "dwell", "09009", "机动车乱停放", "motor vehicle parked illegally",
            "normal", _KERBSIDE,
            "motorcycle is left out: detectors call most e-bikes motorcycles, which belong to 09010.",
            labels=("car", "truck"), min_dwell_s=300, require_static=True),
    _preset("illegal_parking_nonmotor", "street", "dwell", "09010", "非机动车乱停放",
            "non-motor vehicle parked illegally", "normal", _KERBSIDE, labels=("bicycle", "ebike", "motorcycle"),
            min_count=3, min_dwell_s=600, require_static=True, merge_window_s=3600),
    _preset("shared_bike_disorder", "street", "dwell", "09011", "共享单车乱象", "shared-bike disorder", "normal",
            _KERBSIDE | {"parking"}, labels=("bicycle",), min_count=5, min_dwell_s=600, require_static=True,
            merge_window_s=3600),
    _preset("fire_lane_blocked", "street", "dwell", "09012", "占用消防通道", "blocking a fire lane", "urgent", {"fire_lane"},
            "Anything left standing in a fire lane blocks it; urgent because a fire does not wait two days.",
            labels=("car", "truck", "motorcycle", "ebike", "bicycle", "pile"), min_dwell_s=120, require_static=True),
    _preset("construction_occupying_road", "street", "dwell", "08002", "施工占道", "construction occupying road",
            "normal", {"road", "pavement"}, labels=("barrier", "cone"), min_dwell_s=1800, merge_window_s=86_400),
    _preset("scrap_collecting", "street", "dwell", "09004", "废品收购乱象", "scrap-collecting disorder", "normal",
            _KERBSIDE, labels=("scrap",), min_dwell_s=600, merge_window_s=3600),
]

PRESETS: Mapping[str, Preset] = MappingProxyType({p.name: p for p in _ALL})


class UnknownPresetError(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UnknownPresetError(f"unknown preset '{name}'; known presets: {', '.join(sorted(PRESETS))}") from None
