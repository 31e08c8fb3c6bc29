"""Street family: trading, ads, parking, fire lane, construction, scrap, sundries, laundry,
barbecue (the fifteen street presets), with the look-alikes each must ignore."""

from __future__ import annotations

from gridsight.synth.scenarios.build import SHOP_STREET, beside, case, path, still, zone
from gridsight.synth.scenarios.spec import Expected, RuleLine, ScenarioCase

PAVEMENT = zone("pavement", 0.02, 0.68, 0.98, 0.99)
ROAD = zone("road", 0.0, 0.45, 1.0, 0.63)
FIRE_LANE = zone("fire_lane", 0.30, 0.45, 0.70, 0.63)
NO_BIKES = zone("pavement", 0.45, 0.68, 0.98, 0.99)  # the pavement beyond the bike parking box
SHOPFRONT = zone("shopfront", 0.0, 0.31, 1.0, 0.49)  # SHOP_STREET's wide far pavement
FACADE = zone("facade", 0.0, 0.0, 1.0, 0.45)

DWELL = {"min_dwell_s": 5}
# Presets without require_static count a moving object too: their dwell must exceed the time a
# passer-by spends in the zone plus the 3 s grace (minutes in the real presets).
STALL_DWELL = {"min_dwell_s": 12}
SUNDRIES_DWELL = {"min_dwell_s": 8}


def _case(name, description, duration, tracks, zones, rules, events=(), seed=60, layout=None) -> ScenarioCase:
    return case(name, description, duration, tracks, zones, rules, events, seed=seed, layout=layout)


def _set_up(name: str, description: str, cls: str, at: tuple[float, float], preset: str, seed: int,
            keeper_at: tuple[float, float] | None = None, facing: str = "left", duration: float = 14.0,
            dwell: dict = DWELL, extra_rules: dict | None = None) -> ScenarioCase:
    """``cls`` standing in the pavement zone from the start (its keeper beside it): one incident
    of ``preset`` for the whole clip; ``extra_rules`` watch it too and must stay quiet."""
    tracks = [still(1, cls, at, 0.0, duration)]
    if keeper_at is not None:
        tracks.append(still(2, "person", keeper_at, 0.0, duration, facing=facing))
    rules = {"rule": RuleLine(preset, "pavement", dwell), **(extra_rules or {})}
    return _case(name, description, duration, tracks, {"pavement": PAVEMENT}, rules,
                 [Expected("rule", 0.0, duration)], seed=seed)


# ------------------------------------------------------------------ trading


def out_of_store_goods() -> ScenarioCase:
    """A shopkeeper puts crates of goods out on the pavement in front of the shop at 2 s."""
    keeper = path(1, "person", (0.0, 0.30, 0.40), (1.5, 0.30, 0.46), (6.0, 0.30, 0.46), (8.0, 0.22, 0.40))
    goods = [still(2, "goods", (0.40, 0.46), 2.0, 16.0), still(3, "goods", (0.55, 0.47), 2.0, 16.0)]
    return _case("out-of-store-goods", "goods put out in front of a shop", 16.0, [keeper, *goods],
                 {"shop": SHOPFRONT}, {"trading": RuleLine("out_of_store_trading", "shop", DWELL)},
                 [Expected("trading", 2.0, 16.0)], seed=61, layout=SHOP_STREET)


def shop_customers() -> ScenarioCase:
    """Negative: customers walk along the shopfront, one waits at the door for 8 s."""
    a = path(1, "person", (0.0, -0.06, 0.44), (8.0, 1.07, 0.45))
    b = path(2, "person", (1.0, 1.07, 0.47), (4.0, 0.50, 0.47), (12.0, 0.50, 0.47), (15.0, -0.07, 0.47))
    return _case("shop-customers", "negative: customers at the shopfront, no goods outside", 15.0, [a, b],
                 {"shop": SHOPFRONT}, {"trading": RuleLine("out_of_store_trading", "shop", DWELL)},
                 seed=62, layout=SHOP_STREET)


def occupy_road_stall() -> ScenarioCase:
    """A vendor's stall stands on the pavement from the start, the vendor beside it (a stall is
    neither an advertising board nor a parasol)."""
    return _set_up("occupy-road-stall", "a stall set up on the pavement", "stall", (0.40, 0.86), "occupy_road_trading", 63,
                   keeper_at=(0.56, 0.84), duration=16.0, dwell=STALL_DWELL,
                   extra_rules={"boards": RuleLine("illegal_outdoor_ads", "pavement", DWELL),
                                "umbrella": RuleLine("umbrella_on_road", "pavement", DWELL)})


def _vendor(stop_from: float | None, stop_until: float | None, end: float):
    """A vendor pushing a stall cart along the pavement, left to right (stopping if asked)."""
    if stop_from is None:
        keys = [(0.5, -0.10, 0.86), (end - 0.5, 1.12, 0.86)]
    else:
        keys = [(0.5, -0.10, 0.86), (stop_from, 0.50, 0.86), (stop_until, 0.50, 0.86), (end - 0.5, 1.12, 0.86)]
    vendor = path(1, "person", *keys)
    cart = beside(2, "stall", vendor, 0.16, 0.01)
    return [vendor, cart]


def roaming_vendor_stops() -> ScenarioCase:
    """A roaming vendor pushes a cart in, stops to sell from 4 s to 14 s, moves on."""
    return _case("roaming-vendor-stops", "a roaming vendor stops to sell on the pavement", 18.0, _vendor(4.0, 14.0, 18.0),
                 {"pavement": PAVEMENT}, {"vendor": RuleLine("roaming_vendor", "pavement", DWELL)},
                 [Expected("vendor", 4.0, 14.0)], seed=64)


def roaming_vendor_passes() -> ScenarioCase:
    """Negative (issue 3): a vendor pushes the cart through without stopping."""
    return _case("roaming-vendor-passes", "negative: a vendor passes through without stopping", 12.0, _vendor(None, None, 10.0),
                 {"pavement": PAVEMENT},
                 {"vendor": RuleLine("roaming_vendor", "pavement", DWELL),
                  "stall": RuleLine("occupy_road_trading", "pavement", STALL_DWELL)},
                 seed=65)


def umbrella_on_road() -> ScenarioCase:
    """A large sunshade umbrella stands on the pavement with a seller under it."""
    return _set_up("umbrella-on-road", "a sunshade umbrella on the pavement", "umbrella", (0.45, 0.88), "umbrella_on_road", 66,
                   keeper_at=(0.52, 0.84), facing="front")


def open_air_barbecue() -> ScenarioCase:
    """A barbecue grill on the pavement with a cook beside it."""
    return _set_up("open-air-barbecue", "an open-air barbecue on the pavement", "grill", (0.42, 0.87), "open_air_barbecue", 67,
                   keeper_at=(0.55, 0.84))


# ------------------------------------------------------------------ sundries, scrap, laundry, ads


def piled_sundries() -> ScenarioCase:
    """Sundries piled on the pavement from the start (not scrap: a negative for scrap_collecting)."""
    pile = still(1, "pile", (0.35, 0.86), 0.0, 14.0)
    walker = path(2, "person", (2.0, 1.07, 0.78), (9.0, -0.07, 0.78))
    return _case("piled-sundries", "sundries piled on the pavement", 14.0, [pile, walker],
                 {"pavement": PAVEMENT},
                 {"sundries": RuleLine("piled_sundries", "pavement", SUNDRIES_DWELL),
                  "scrap": RuleLine("scrap_collecting", "pavement", DWELL)},
                 [Expected("sundries", 0.0, 14.0)], seed=68)


def sundries_brief() -> ScenarioCase:
    """Negative: a delivery stands on the pavement for 3 s and is taken in."""
    pile = still(1, "pile", (0.50, 0.86), 2.0, 5.0)
    porter = path(2, "person", (0.5, 1.07, 0.84), (2.5, 0.62, 0.84), (5.5, 0.62, 0.84), (9.0, 1.07, 0.84))
    return _case("sundries-brief", "negative: a delivery left on the pavement for 3 s", 12.0, [pile, porter],
                 {"pavement": PAVEMENT}, {"sundries": RuleLine("piled_sundries", "pavement", SUNDRIES_DWELL)}, seed=69)


def scrap_collecting() -> ScenarioCase:
    """A scrap collector's heap of cardboard and metal on the pavement, the collector sorting it
    (not a barbecue)."""
    return _set_up("scrap-collecting", "scrap collecting on the pavement", "scrap", (0.40, 0.87), "scrap_collecting", 70,
                   keeper_at=(0.55, 0.84), extra_rules={"bbq": RuleLine("open_air_barbecue", "pavement", DWELL)})


def small_ads() -> ScenarioCase:
    """A cloth banner of small ads hung on the facade (not laundry)."""
    banner = still(1, "banner", (0.35, 0.16), 0.0, 14.0)
    return _case("small-ads", "a small-ads banner on the facade", 14.0, [banner],
                 {"facade": FACADE}, {"ads": RuleLine("illegal_small_ads", "facade", DWELL),
                                     "laundry": RuleLine("hanging_laundry", "facade", DWELL)},
                 [Expected("ads", 0.0, 14.0)], seed=71)


def outdoor_ads() -> ScenarioCase:
    """An advertising board stands on the pavement."""
    board = still(1, "billboard", (0.62, 0.88), 0.0, 14.0)
    walker = path(2, "person", (1.0, -0.06, 0.78), (8.0, 1.07, 0.78))
    return _case("outdoor-ads", "an advertising board on the pavement", 14.0, [board, walker],
                 {"pavement": PAVEMENT}, {"boards": RuleLine("illegal_outdoor_ads", "pavement", DWELL)},
                 [Expected("boards", 0.0, 14.0)], seed=72)


# ------------------------------------------------------------------ parking, fire lane, construction


def _car_parks(tid: int, stop_at: float, x: float, leave_at: float | None, end: float, y: float = 0.58):
    """A car drives in from the left along the road, stops at ``x``; leaves to the right if asked."""
    keys = [(0.0, -0.25, y), (stop_at, x, y)]
    keys += [(leave_at, x, y), (leave_at + 3.0, 1.3, y)] if leave_at is not None else [(end, x, y)]
    return path(tid, "car", *keys)


def illegal_parking_car() -> ScenarioCase:
    """A car pulls up at 3 s on a no-parking stretch of road and stays."""
    return _case("illegal-parking-car", "a car parks on a no-parking road", 16.0, [_car_parks(1, 3.0, 0.50, None, 16.0)],
                 {"road": ROAD}, {"parking": RuleLine("illegal_parking_motor", "road", {"min_dwell_s": 6})},
                 [Expected("parking", 3.0, 16.0)], seed=73)


def car_stops_briefly() -> ScenarioCase:
    """Negative: a car stops for 3 s (dropping someone off) and drives on; a truck passes."""
    car = _car_parks(1, 3.0, 0.50, 6.0, 12.0)
    truck = path(2, "truck", (5.0, 1.35, 0.52), (11.0, -0.35, 0.52))
    return _case("car-stops-briefly", "negative: a car stops briefly, then leaves", 12.0, [car, truck],
                 {"road": ROAD},
                 {"parking": RuleLine("illegal_parking_motor", "road", {"min_dwell_s": 6}),
                  "works": RuleLine("construction_occupying_road", "road", DWELL)},
                 seed=74)


def fire_lane_blocked() -> ScenarioCase:
    """A car parks in the fire lane at 3 s."""
    return _case("fire-lane-blocked", "a car parks in the fire lane", 14.0, [_car_parks(1, 3.0, 0.50, None, 14.0)],
                 {"lane": FIRE_LANE}, {"lane": RuleLine("fire_lane_blocked", "lane", {"min_dwell_s": 4})},
                 [Expected("lane", 3.0, 14.0)], seed=75)


def fire_lane_clear() -> ScenarioCase:
    """Negative: a car drives through the fire lane; another parks beyond it (outside the zone)."""
    through = path(1, "car", (0.0, -0.25, 0.56), (5.0, 1.3, 0.56))
    parked = still(2, "car", (0.86, 0.60), 0.0, 12.0)
    return _case("fire-lane-clear", "negative: traffic through the fire lane, a car parked outside it", 12.0,
                 [through, parked], {"lane": FIRE_LANE},
                 {"lane": RuleLine("fire_lane_blocked", "lane", {"min_dwell_s": 4})}, seed=76)


def _bikes(cls: str, spots: list[tuple[float, float]], appear: float, end: float) -> list:
    return [still(10 + i, cls, spot, appear + 0.5 * i, end) for i, spot in enumerate(spots)]


def nonmotor_parking() -> ScenarioCase:
    """Three e-bikes parked on the pavement outside the bike box (arriving 1-2 s)."""
    bikes = _bikes("ebike", [(0.58, 0.74), (0.73, 0.85), (0.87, 0.97)], 1.0, 14.0)
    return _case("nonmotor-parking", "three e-bikes parked outside the bike box", 14.0, bikes,
                 {"no-bikes": NO_BIKES},
                 {"bikes": RuleLine("illegal_parking_nonmotor", "no-bikes", {"min_dwell_s": 5, "min_count": 3})},
                 [Expected("bikes", 2.0, 14.0)], seed=77)


def shared_bikes() -> ScenarioCase:
    """Four shared bicycles strewn across the pavement."""
    bikes = _bikes("bicycle", [(0.20, 0.78), (0.40, 0.92), (0.60, 0.80), (0.80, 0.94)], 0.0, 14.0)
    return _case("shared-bikes", "shared bicycles strewn across the pavement", 14.0, bikes,
                 {"pavement": PAVEMENT},
                 {"bikes": RuleLine("shared_bike_disorder", "pavement", {"min_dwell_s": 5, "min_count": 3})},
                 [Expected("bikes", 1.5, 14.0)], seed=78)


def two_bikes() -> ScenarioCase:
    """Negative: only two bicycles on the pavement where three make disorder (one of them
    beyond the bike box, where three make illegal parking)."""
    bikes = _bikes("bicycle", [(0.25, 0.80), (0.66, 0.92)], 0.0, 14.0)
    return _case("two-bikes", "negative: two bicycles, three needed", 14.0, bikes,
                 {"pavement": PAVEMENT, "no-bikes": NO_BIKES},
                 {"bikes": RuleLine("shared_bike_disorder", "pavement", {"min_dwell_s": 5, "min_count": 3}),
                  "ebikes": RuleLine("illegal_parking_nonmotor", "no-bikes", {"min_dwell_s": 5, "min_count": 3})},
                 seed=79)


def construction_on_road() -> ScenarioCase:
    """Road works: cones and a barrier close part of the road."""
    works = [still(1, "barrier", (0.50, 0.56), 0.0, 14.0), still(2, "cone", (0.30, 0.58), 0.0, 14.0),
             still(3, "cone", (0.70, 0.58), 0.0, 14.0)]
    return _case("construction-on-road", "cones and a barrier occupying the road", 14.0, works,
                 {"road": ROAD}, {"works": RuleLine("construction_occupying_road", "road", DWELL)},
                 [Expected("works", 0.0, 14.0)], seed=80)


CASES = [out_of_store_goods, shop_customers, occupy_road_stall, roaming_vendor_stops, roaming_vendor_passes,
         umbrella_on_road, open_air_barbecue, piled_sundries, sundries_brief, scrap_collecting, small_ads, outdoor_ads,
         illegal_parking_car, car_stops_briefly, fire_lane_blocked, fire_lane_clear, nonmotor_parking, shared_bikes,
         two_bikes, construction_on_road]
