"""E-bike family: ebike_in_elevator, ebike_in_corridor, ebike_charging (indoor scenes) and
flying_wire (a charging cable hung from a window of the street's facade)."""

from __future__ import annotations

from gridsight.synth.scenarios.build import beside, path, scenario, still, zone
from gridsight.synth.scenarios.spec import Expected, RuleLine, ScenarioCase

LIFT_FLOOR = zone("elevator", 0.02, 0.55, 0.98, 0.99)
CORRIDOR_FLOOR = zone("corridor", 0.02, 0.50, 0.98, 0.99)
FACADE = zone("facade", 0.0, 0.0, 1.0, 0.45)


def _into_lift(tid: int, cls: str, x: float, enter: float, leave: float, **kw):
    """Walks in from below the frame (the door) to y=0.80 in 2 s, stays, walks out in 3 s."""
    return path(tid, cls, (enter, x, 1.10), (enter + 2.0, x, 0.80), (leave, x, 0.80), (leave + 3.0, x, 1.12), **kw)


def _lift_case(name: str, description: str, cls: str | None, seed: int, expect: bool, side: float = -0.22) -> ScenarioCase:
    rider = _into_lift(1, "person", 0.60 if side < 0 else 0.36, 1.0, 10.0)
    tracks = [rider]
    if cls is not None:
        tracks.append(beside(2, cls, rider, side, 0.02))
    events = [Expected("lift", 1.7, 12.4)] if expect else []
    return ScenarioCase(
        name, description, "elevator", scenario(name, 15.0, tracks, scene="elevator", seed=seed),
        zones={"car": LIFT_FLOOR},
        rules={"lift": RuleLine("ebike_in_elevator", "car")},
        events=events,
    )


def ebike_in_elevator() -> ScenarioCase:
    """A resident wheels an e-bike into the lift at ~1.7 s (its wheels cross the door line),
    rides for 8 s and wheels it out by ~12.4 s."""
    return _lift_case("ebike-in-elevator", "an e-bike is wheeled into the lift", "ebike", 41, True)


def ebike_in_elevator_right() -> ScenarioCase:
    """The same with another lift, rider on the left, e-bike on the right."""
    return _lift_case("ebike-in-elevator-right", "an e-bike is wheeled into the lift (right side)", "ebike", 51, True, side=0.24)


def wheelchair_in_elevator() -> ScenarioCase:
    """Negative (issue 3): a wheelchair in the lift is allowed."""
    return _lift_case("wheelchair-in-elevator", "negative: a wheelchair in the lift", "wheelchair", 42, False)


def stroller_in_elevator() -> ScenarioCase:
    """Negative (issue 3): a stroller in the lift is allowed."""
    return _lift_case("stroller-in-elevator", "negative: a stroller in the lift", "stroller", 43, False)


def person_in_elevator() -> ScenarioCase:
    """Negative: a person alone rides the lift."""
    return _lift_case("person-in-elevator", "negative: a person alone in the lift", None, 44, False)


def ebike_in_corridor() -> ScenarioCase:
    """An e-bike is wheeled into the corridor and parked at 4 s; the owner leaves; it stays."""
    owner = path(1, "person", (0.5, 0.70, 1.10), (4.0, 0.62, 0.84), (5.0, 0.62, 0.84), (9.0, 0.80, 1.12))
    bike = path(2, "ebike", (0.5, 0.48, 1.10), (4.0, 0.40, 0.86), (18.0, 0.40, 0.86))
    return ScenarioCase(
        "ebike-in-corridor", "an e-bike parked in the corridor", "corridor",
        scenario("ebike-in-corridor", 18.0, [owner, bike], scene="corridor", seed=45),
        zones={"hall": CORRIDOR_FLOOR},
        rules={"corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6})},
        events=[Expected("corridor", 4.0, 18.0)],
    )


def ebike_passes_corridor() -> ScenarioCase:
    """Negative: an e-bike is wheeled along the corridor and out in under 5 s."""
    owner = path(1, "person", (1.0, 0.62, 1.12), (3.0, 0.55, 0.80), (5.5, 0.40, 1.12))
    bike = beside(2, "ebike", owner, -0.16, 0.01)
    return ScenarioCase(
        "ebike-passes-corridor", "negative: an e-bike wheeled through the corridor without stopping", "corridor",
        scenario("ebike-passes-corridor", 12.0, [owner, bike], scene="corridor", seed=46),
        zones={"hall": CORRIDOR_FLOOR},
        rules={"corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6}),
               "charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5})},
    )


def ebike_charging() -> ScenarioCase:
    """An e-bike parked in the corridor with a power strip and a cable beside it, from the start."""
    bike = still(1, "ebike", (0.42, 0.86), 0.0, 14.0)
    strip = still(2, "power_strip", (0.60, 0.88), 0.0, 14.0)
    cable = still(3, "cable", (0.52, 0.89), 0.0, 14.0, style={"mode": "floor", "length_m": 0.8, "direction": 1})
    return ScenarioCase(
        "ebike-charging", "an e-bike charging in the corridor from a power strip", "corridor",
        scenario("ebike-charging", 14.0, [bike, strip, cable], scene="corridor", seed=47),
        zones={"hall": CORRIDOR_FLOOR},
        rules={"charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5})},
        events=[Expected("charging", 0.0, 14.0)],
    )


def ebike_parked_no_charger() -> ScenarioCase:
    """Negative for charging (positive for corridor parking): an e-bike parked, nothing plugged in."""
    bike = still(1, "ebike", (0.45, 0.86), 0.0, 14.0)
    return ScenarioCase(
        "ebike-parked-no-charger", "an e-bike parked in the corridor, not charging", "corridor",
        scenario("ebike-parked-no-charger", 14.0, [bike], scene="corridor", seed=48),
        zones={"hall": CORRIDOR_FLOOR},
        rules={"charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5}),
               "corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6})},
        events=[Expected("corridor", 0.0, 14.0)],
    )


def flying_wire() -> ScenarioCase:
    """A charging cable hangs from a window down the facade, an e-bike on the far pavement below."""
    cable = still(1, "cable", (0.40, 0.08), 0.0, 14.0, style={"mode": "hanging", "length_m": 2.0})
    bike = still(2, "ebike", (0.44, 0.41), 0.0, 14.0)
    return ScenarioCase(
        "flying-wire", "flying-wire charging: a cable from a window to an e-bike", "street",
        scenario("flying-wire", 14.0, [cable, bike], seed=49),
        zones={"facade": FACADE},
        rules={"wire": RuleLine("flying_wire", "facade", {"min_dwell_s": 5})},
        events=[Expected("wire", 0.0, 14.0)],
    )


def facade_laundry() -> ScenarioCase:
    """Laundry hung out on the facade: hanging_laundry, and a negative for flying_wire and small ads."""
    laundry = still(1, "laundry", (0.55, 0.14), 0.0, 14.0)
    return ScenarioCase(
        "facade-laundry", "laundry hung on the facade (not a cable)", "street",
        scenario("facade-laundry", 14.0, [laundry], seed=50),
        zones={"facade": FACADE},
        rules={"wire": RuleLine("flying_wire", "facade", {"min_dwell_s": 5}),
               "laundry": RuleLine("hanging_laundry", "facade", {"min_dwell_s": 5}),
               "ads": RuleLine("illegal_small_ads", "facade", {"min_dwell_s": 5})},
        events=[Expected("laundry", 0.0, 14.0)],
    )


CASES = [ebike_in_elevator, ebike_in_elevator_right, wheelchair_in_elevator, stroller_in_elevator, person_in_elevator, ebike_in_corridor,
         ebike_passes_corridor, ebike_charging, ebike_parked_no_charger, flying_wire, facade_laundry]
