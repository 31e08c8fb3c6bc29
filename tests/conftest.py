"""Fixtures shared by the unit and integration tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.models import save_yolo_weights


@pytest.fixture(scope="session")
def yolo_weights(tmp_path_factory):
    """Make (once per session) and copy small untrained YOLO checkpoints with given class names.

    ``yolo_weights(dest, ["pedestrian", "bag"], imgsz=416)`` -> dest, a real ultralytics checkpoint."""
    cache = tmp_path_factory.mktemp("yolo-weights")
    made: dict[tuple, Path] = {}

    def make(dest: Path, names: list[str], *, imgsz: int | None = None) -> Path:
        key = (tuple(names), imgsz)
        if key not in made:
            made[key] = save_yolo_weights(cache / f"w{len(made)}.pt", list(names), imgsz=imgsz)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(made[key], dest)
        return dest

    return make
