"""Littering family: littering, exposed_garbage, overflowing_bin (street, near pavement)."""

from __future__ import annotations

from gridsight.synth.scenarios.build import case, path, still, zone
from gridsight.synth.scenarios.spec import Expected, RuleLine, ScenarioCase

PAVEMENT = zone("pavement", 0.02, 0.68, 0.98, 0.99)
BOTTLE = {"kind": "bottle", "body": (200, 212, 206), "accent": (40, 40, 200), "cap": (200, 120, 30), "upright": False, "angle": 30.0}
BLACK_BAG = {"colour_name": "black", "colour": (30, 30, 33), "aspect": 1.0, "lean": 0.0}
LITTER_PX, BAG_PX = 24.0, 34.0
# Longer than any bag is carried through the zone plus the rules' 3 s grace (a bag in a hand
# is in the zone too, and a 30-minute preset never sees a carry that long).
GARBAGE_DWELL = {"min_dwell_s": 9}


def littering_drop() -> ScenarioCase:
    """A pedestrian drops a bottle on the pavement at 5 s and walks on; it lies there to the end."""
    walker = path(1, "person", (1.0, -0.06, 0.84), (5.0, 0.45, 0.84), (5.4, 0.45, 0.84), (10.0, 1.07, 0.84))
    bottle = still(2, "litter", (0.47, 0.88), 1.0, 18.0, carried_by=1, release=5.2, lower_s=0.25, style=BOTTLE, size_px=LITTER_PX)
    return case("littering-drop", "a pedestrian drops a bottle and walks away", 18.0, [walker, bottle],
                {"pavement": PAVEMENT},
                {"littering": RuleLine("littering", "pavement", {"min_dwell_s": 4})}, [Expected("littering", 5.2, 18.0)],
                seed=21)


def littering_can() -> ScenarioCase:
    """A pedestrian walking right to left drops a can at 6 s without stopping."""
    walker = path(1, "person", (2.0, 1.07, 0.90), (6.0, 0.62, 0.90), (11.0, -0.07, 0.90))
    can = still(2, "litter", (0.60, 0.93), 2.0, 16.0, carried_by=1, release=6.0, lower_s=0.25, size_px=LITTER_PX,
                style={"kind": "can", "body": (40, 40, 200), "accent": (215, 215, 220), "cap": (180, 180, 185), "upright": False,
                       "angle": -20.0})
    return case("littering-can", "a pedestrian drops a can in passing", 16.0, [walker, can],
                {"pavement": PAVEMENT},
                {"littering": RuleLine("littering", "pavement", {"min_dwell_s": 4})}, [Expected("littering", 6.0, 16.0)],
                seed=29)


def littering_wrapper() -> ScenarioCase:
    """A pedestrian further back on the pavement lets a wrapper fall at 4 s and walks on."""
    walker = path(1, "person", (0.5, -0.06, 0.76), (4.0, 0.38, 0.76), (9.0, 1.07, 0.76))
    wrapper = still(2, "litter", (0.39, 0.79), 0.5, 15.0, carried_by=1, release=4.0, lower_s=0.3, size_px=22.0,
                    style={"kind": "wrapper", "body": (30, 30, 210), "accent": (235, 235, 235), "angle": 15.0})
    return case("littering-wrapper", "a wrapper dropped in passing, further from the camera", 15.0, [walker, wrapper],
                {"pavement": PAVEMENT},
                {"littering": RuleLine("littering", "pavement", {"min_dwell_s": 4})}, [Expected("littering", 4.0, 15.0)],
                seed=30)


def littering_keeps_bag() -> ScenarioCase:
    """Negative (issue 3): a person puts their bag down, waits beside it for 9 s, picks it up
    and leaves with it."""
    owner = path(1, "person", (0.5, -0.06, 0.84), (4.0, 0.40, 0.84), (13.5, 0.40, 0.84), (18.0, 1.07, 0.84))
    put_down = still(2, "garbage_bag", (0.44, 0.86), 0.5, 13.5, carried_by=1, release=4.5, lower_s=0.6,
                     style=BLACK_BAG, size_px=BAG_PX)
    # Picked up again: the same bag, in the hand from 13.5 s to the end.
    picked_up = still(3, "garbage_bag", (0.44, 0.86), 13.5, 18.0, carried_by=1, release=99.0, style=BLACK_BAG, size_px=BAG_PX)
    return case("littering-keeps-bag", "negative: a person sets their bag down, waits beside it, takes it away", 18.0, [owner, put_down, picked_up],
                {"pavement": PAVEMENT},
                {"littering": RuleLine("littering", "pavement", {"min_dwell_s": 4})},
                seed=22)


def littering_passers_by() -> ScenarioCase:
    """Negative: two pedestrians cross, one stands for 8 s; nothing is dropped."""
    a = path(1, "person", (0.5, -0.06, 0.80), (7.0, 1.07, 0.82))
    b = path(2, "person", (2.0, 1.07, 0.90), (6.0, 0.60, 0.90), (14.0, 0.60, 0.90), (18.0, -0.07, 0.90))
    return case("littering-passers-by", "negative: pedestrians walk and stand, drop nothing", 18.0, [a, b],
                {"pavement": PAVEMENT},
                {"littering": RuleLine("littering", "pavement", {"min_dwell_s": 4}),
               "garbage": RuleLine("exposed_garbage", "pavement", GARBAGE_DWELL)},
                seed=23)


def exposed_garbage_bag() -> ScenarioCase:
    """A resident leaves a tied bag on the pavement at 4.5 s and walks off (exposed garbage)."""
    resident = path(1, "person", (0.5, 1.07, 0.82), (4.0, 0.62, 0.82), (5.0, 0.62, 0.82), (9.0, 1.07, 0.82))
    bag = still(2, "garbage_bag", (0.58, 0.85), 0.5, 18.0, carried_by=1, release=4.5, lower_s=0.6, style=BLACK_BAG, size_px=BAG_PX)
    return case("exposed-garbage-bag", "a garbage bag is left on the pavement", 18.0, [resident, bag],
                {"pavement": PAVEMENT},
                {"garbage": RuleLine("exposed_garbage", "pavement", GARBAGE_DWELL)}, [Expected("garbage", 4.5, 18.0)],
                seed=24)


def exposed_garbage_pile() -> ScenarioCase:
    """A heap of loose rubbish lies on the pavement from the start."""
    pile = still(1, "garbage_pile", (0.35, 0.86), 0.0, 14.0)
    walker = path(2, "person", (3.0, 1.07, 0.78), (10.0, -0.07, 0.78))
    return case("exposed-garbage-pile", "a rubbish heap on the pavement", 14.0, [pile, walker],
                {"pavement": PAVEMENT},
                {"garbage": RuleLine("exposed_garbage", "pavement", GARBAGE_DWELL)}, [Expected("garbage", 0.0, 14.0)],
                seed=25)


def exposed_garbage_corridor() -> ScenarioCase:
    """Two garbage bags left outside a flat's door in the corridor."""
    bags = [still(1, "garbage_bag", (0.36, 0.88), 0.0, 14.0, style=BLACK_BAG, size_px=BAG_PX),
            still(2, "garbage_bag", (0.45, 0.90), 0.0, 14.0, style={"colour_name": "green"}, size_px=BAG_PX)]
    return case("exposed-garbage-corridor", "garbage bags left in the corridor", 14.0, bags,
                {"hall": zone("corridor", 0.02, 0.50, 0.98, 0.99)},
                {"garbage": RuleLine("exposed_garbage", "hall", GARBAGE_DWELL)}, [Expected("garbage", 0.0, 14.0)],
                seed=31, scene="corridor")


def exposed_garbage_carried() -> ScenarioCase:
    """Negative: a person carries a bag along the pavement without putting it down."""
    carrier = path(1, "person", (0.5, -0.06, 0.84), (5.0, 1.07, 0.84))
    bag = still(2, "garbage_bag", (0.5, 0.86), 0.5, 5.0, carried_by=1, release=99.0, style=BLACK_BAG, size_px=BAG_PX)
    return case("exposed-garbage-carried", "negative: a bag carried along the pavement, never put down", 12.0, [carrier, bag],
                {"pavement": PAVEMENT},
                {"garbage": RuleLine("exposed_garbage", "pavement", GARBAGE_DWELL)},
                seed=26)


def overflowing_bin() -> ScenarioCase:
    """A bin by the kerb is normal until 6 s, then overflowing to the end."""
    normal = still(1, "bin", (0.30, 0.80), 0.0, 6.0, style={"seed": 5})
    full = still(2, "bin_full", (0.30, 0.80), 6.0, 18.0, style={"seed": 5})
    return case("overflowing-bin", "a kerbside bin fills up and overflows", 18.0, [normal, full],
                {"pavement": PAVEMENT},
                {"bin": RuleLine("overflowing_bin", "pavement", {"min_dwell_s": 5})}, [Expected("bin", 6.0, 18.0)],
                seed=27)


def overflowing_bin_east() -> ScenarioCase:
    """An overflowing bin further along the pavement from the start; people walk past it."""
    full = still(1, "bin_full", (0.75, 0.76), 0.0, 14.0, style={"seed": 9})
    walker = path(2, "person", (1.0, -0.06, 0.90), (9.0, 1.07, 0.90))
    return case("overflowing-bin-east", "an overflowing bin on the east pavement", 14.0, [full, walker],
                {"pavement": PAVEMENT},
                {"bin": RuleLine("overflowing_bin", "pavement", {"min_dwell_s": 5})}, [Expected("bin", 0.0, 14.0)],
                seed=32)


def bin_not_full() -> ScenarioCase:
    """Negative: a bin that is not full, and a person dropping a bag into it (bag vanishes)."""
    bin_ = still(1, "bin", (0.55, 0.80), 0.0, 14.0, style={"seed": 6})
    user = path(2, "person", (1.0, -0.06, 0.84), (4.5, 0.50, 0.84), (6.0, 0.50, 0.84), (11.0, -0.07, 0.84))
    bag = still(3, "garbage_bag", (0.53, 0.78), 1.0, 5.5, carried_by=2, release=99.0, style=BLACK_BAG, size_px=BAG_PX)
    return case("bin-not-full", "negative: a bin with room, a bag put into it", 14.0, [bin_, user, bag],
                {"pavement": PAVEMENT},
                {"bin": RuleLine("overflowing_bin", "pavement", {"min_dwell_s": 5}),
               "garbage": RuleLine("exposed_garbage", "pavement", GARBAGE_DWELL)},
                seed=28)


CASES = [littering_drop, littering_can, littering_wrapper, littering_keeps_bag, littering_passers_by, exposed_garbage_bag,
         exposed_garbage_pile, exposed_garbage_corridor, exposed_garbage_carried, overflowing_bin, overflowing_bin_east, bin_not_full]
