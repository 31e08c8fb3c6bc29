"""E-bike family: ebike_in_elevator, ebike_in_corridor, ebike_charging (indoor scenes) and
flying_wire (a charging cable hung from a window of the street's facade)."""

from __future__ import annotations

from gridsight.synth.scenarios.build import beside, case, path, still, zone
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
    return case(name, description, 15.0, tracks, {"car": LIFT_FLOOR}, {"lift": RuleLine("ebike_in_elevator", "car")}, events,
                seed=seed, scene="elevator")


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
    return case("ebike-in-corridor", "an e-bike parked in the corridor", 18.0, [owner, bike],
                {"hall": CORRIDOR_FLOOR},
                {"corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6})}, [Expected("corridor", 4.0, 18.0)],
                seed=45, scene="corridor")


def ebike_in_corridor_far() -> ScenarioCase:
    """Another corridor: an e-bike stands further down it from the start."""
    bike = still(1, "ebike", (0.55, 0.78), 0.0, 14.0)
    return case("ebike-in-corridor-far", "an e-bike parked further down another corridor", 14.0, [bike],
                {"hall": CORRIDOR_FLOOR},
                {"corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6})}, [Expected("corridor", 0.0, 14.0)],
                seed=52, scene="corridor")


def ebike_passes_corridor() -> ScenarioCase:
    """Negative: an e-bike is wheeled along the corridor and out in under 5 s."""
    owner = path(1, "person", (1.0, 0.62, 1.12), (3.0, 0.55, 0.80), (5.5, 0.40, 1.12))
    bike = beside(2, "ebike", owner, -0.16, 0.01)
    return case("ebike-passes-corridor", "negative: an e-bike wheeled through the corridor without stopping", 12.0, [owner, bike],
                {"hall": CORRIDOR_FLOOR},
                {"corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6}),
               "charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5})},
                seed=46, scene="corridor")


def ebike_charging() -> ScenarioCase:
    """An e-bike parked in the corridor with a power strip and a cable beside it, from the start."""
    bike = still(1, "ebike", (0.42, 0.86), 0.0, 14.0)
    strip = still(2, "power_strip", (0.60, 0.88), 0.0, 14.0)
    cable = still(3, "cable", (0.52, 0.89), 0.0, 14.0, style={"mode": "floor", "length_m": 0.8, "direction": 1})
    return case("ebike-charging", "an e-bike charging in the corridor from a power strip", 14.0, [bike, strip, cable],
                {"hall": CORRIDOR_FLOOR},
                {"charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5})}, [Expected("charging", 0.0, 14.0)],
                seed=47, scene="corridor")


def ebike_charging_strip() -> ScenarioCase:
    """Another corridor: an e-bike charging from a power strip on the floor (no cable seen)."""
    bike = still(1, "ebike", (0.58, 0.87), 0.0, 14.0)
    strip = still(2, "power_strip", (0.40, 0.90), 0.0, 14.0)
    return case("ebike-charging-strip", "an e-bike beside a power strip in the corridor", 14.0, [bike, strip],
                {"hall": CORRIDOR_FLOOR},
                {"charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5})}, [Expected("charging", 0.0, 14.0)],
                seed=53, scene="corridor")


def ebike_parked_no_charger() -> ScenarioCase:
    """Negative for charging (positive for corridor parking): an e-bike parked, nothing plugged in."""
    bike = still(1, "ebike", (0.45, 0.86), 0.0, 14.0)
    return case("ebike-parked-no-charger", "an e-bike parked in the corridor, not charging", 14.0, [bike],
                {"hall": CORRIDOR_FLOOR},
                {"charging": RuleLine("ebike_charging", "hall", {"min_dwell_s": 5}),
               "corridor": RuleLine("ebike_in_corridor", "hall", {"min_dwell_s": 6})}, [Expected("corridor", 0.0, 14.0)],
                seed=48, scene="corridor")


def flying_wire() -> ScenarioCase:
    """A charging cable hangs from a window down the facade, an e-bike on the far pavement below."""
    cable = still(1, "cable", (0.40, 0.08), 0.0, 14.0, style={"mode": "hanging", "length_m": 2.0})
    bike = still(2, "ebike", (0.44, 0.41), 0.0, 14.0)
    return case("flying-wire", "flying-wire charging: a cable from a window to an e-bike", 14.0, [cable, bike],
                {"facade": FACADE},
                {"wire": RuleLine("flying_wire", "facade", {"min_dwell_s": 5})}, [Expected("wire", 0.0, 14.0)],
                seed=49)


def flying_wire_east() -> ScenarioCase:
    """Another street: a cable hangs from a window further east, nothing below it."""
    cable = still(1, "cable", (0.72, 0.06), 0.0, 14.0, style={"mode": "hanging", "length_m": 1.8})
    return case("flying-wire-east", "a charging cable hanging from a window", 14.0, [cable],
                {"facade": FACADE},
                {"wire": RuleLine("flying_wire", "facade", {"min_dwell_s": 5})}, [Expected("wire", 0.0, 14.0)],
                seed=54)


def facade_laundry() -> ScenarioCase:
    """Laundry hung out on the facade: hanging_laundry, and a negative for flying_wire and small ads."""
    laundry = still(1, "laundry", (0.55, 0.14), 0.0, 14.0)
    return case("facade-laundry", "laundry hung on the facade (not a cable)", 14.0, [laundry],
                {"facade": FACADE},
                {"wire": RuleLine("flying_wire", "facade", {"min_dwell_s": 5}),
               "laundry": RuleLine("hanging_laundry", "facade", {"min_dwell_s": 5}),
               "ads": RuleLine("illegal_small_ads", "facade", {"min_dwell_s": 5})}, [Expected("laundry", 0.0, 14.0)],
                seed=50)


CASES = [ebike_in_elevator, ebike_in_elevator_right, wheelchair_in_elevator, stroller_in_elevator, person_in_elevator, ebike_in_corridor,
         ebike_in_corridor_far, ebike_passes_corridor, ebike_charging, ebike_charging_strip, ebike_parked_no_charger, flying_wire,
         flying_wire_east, facade_laundry]
