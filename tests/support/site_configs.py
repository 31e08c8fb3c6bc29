"""The demo site config with a camera's zones and rules replaced: what the config tests edit."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from streams.config import parse_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "demo.yaml"
COCO = REPO / "weights" / "coco-yolo11n.yaml"
SQUARE = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]


def site(rules, zones=None, **camera):
    raw = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    cam = raw["cameras"]["street-01"]
    cam["zones"] = copy.deepcopy(zones or {"car": {"polygon": SQUARE, "kind": "elevator"},
                                           "kerb": {"polygon": SQUARE, "kind": "pavement"}})
    cam["rules"] = rules
    cam.update(camera)
    return raw


def camera(raw):
    return parse_config(raw, DEMO).cameras["street-01"]
