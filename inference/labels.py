"""The canonical label vocabulary. Rules speak only these words; each model's
manifest maps its own class names onto them, so swapping a model never
touches a rule."""

CANONICAL_LABELS: frozenset[str] = frozenset(
    {
        "person",
        "ebike",
        "bicycle",
        "motorcycle",
        "car",
        "truck",
        "litter",
        "garbage_bag",
        "garbage_pile",
        "bin",
        "bin_full",
        "cable",
        "power_strip",
        "stall",
        "umbrella",
        "goods",
        "pile",
        "cone",
        "barrier",
        "wheelchair",
        "stroller",
        "laundry",
        "banner",
        "billboard",
        "grill",
        "scrap",
    }
)
