"""check-config runs the worker's own start-up checks (streams.preflight): every problem of
every stage is one `error:` line in one report, exit 2, and never a traceback; the worker and
`gridsight weights verify` refuse the same things the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gridsight.cli import main
from inference.models.manifest import sha256_file

CLASSES = ["person", "litter", "garbage_bag"]


def write_manifest(directory: Path, weights: Path | None, *, name="m", classes=CLASSES, pin=True, **extra) -> Path:
    body = {
        "name": name, "version": "1", "file": weights.name if weights else "model.pt",
        "sha256": sha256_file(weights) if pin and weights is not None and weights.exists() else None,
        "input_size": 320, "classes": list(classes), "canonical_labels": {c: c for c in classes},
        **extra,
    }
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return path


def write_config(directory: Path, models: dict[str, dict], *, camera_extra: dict | None = None) -> Path:
    first = next(iter(models))
    camera = {
        "url": str(directory / "clip.mp4"), "model": first,
        "zones": {"z": {"polygon": [[0, 0], [1, 0], [1, 1], [0, 1]]}},
        "rules": {"bags": {"kind": "dwell", "zone": "z", "labels": ["garbage_bag"], "min_dwell_s": 5,
                           "category_code": "06010", "category_name": "exposed garbage"}},
        **(camera_extra or {}),
    }
    raw = {"worker": {"spool_dir": str(directory / "spool")}, "models": models, "cameras": {"cam": camera}}
    path = directory / "site.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def good_model(tmp_path, yolo_weights):
    weights = yolo_weights(tmp_path / "model.pt", CLASSES)
    return write_manifest(tmp_path, weights)


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_line_errors(rc: int, out: str, err: str, *expected: str, count: int | None = None) -> list[str]:
    assert rc == 2, (out, err)
    assert "Traceback" not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors, err
    for pattern in expected:
        assert any(pattern in line for line in errors), (pattern, errors)
    if count is not None:
        assert len(errors) == count, errors
    return errors


# -- the failures check-config used to accept ---------------------------------------------------------------


def _checksum_mismatch(tmp_path, manifest):
    (tmp_path / "model.pt").write_bytes((tmp_path / "model.pt").read_bytes() + b"\0")


def _unpinned_and_missing(tmp_path, manifest):
    (tmp_path / "model.pt").unlink()
    raw = yaml.safe_load(manifest.read_text())
    manifest.write_text(yaml.safe_dump({**raw, "sha256": None}, sort_keys=False))


def _swapped_classes(tmp_path, manifest):
    raw = yaml.safe_load(manifest.read_text())
    manifest.write_text(yaml.safe_dump({**raw, "classes": ["litter", "person", "garbage_bag"]}, sort_keys=False))


def _wrong_classes(tmp_path, manifest):
    raw = yaml.safe_load(manifest.read_text())
    labels = {"person": "person", "bottle": "litter", "garbage_bag": "garbage_bag"}
    manifest.write_text(yaml.safe_dump({**raw, "classes": ["person", "bottle", "garbage_bag"],
                                        "canonical_labels": labels}, sort_keys=False))


def _not_a_model(tmp_path, manifest):
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"<html>404 Not Found</html>\n")  # what a failed download leaves behind
    raw = yaml.safe_load(manifest.read_text())
    manifest.write_text(yaml.safe_dump({**raw, "sha256": sha256_file(weights)}, sort_keys=False))


BREAKAGES = {
    "checksum mismatch": (_checksum_mismatch, {}, "checksum mismatch for model.pt"),
    "unpinned, weights missing": (_unpinned_and_missing, {}, "weights file for model m not found"),
    "swapped class names": (_swapped_classes, {}, "classes do not match the weights' own names"),
    "wrong class names": (_wrong_classes, {}, "1: 'litter' not 'bottle'"),
    "not a model": (_not_a_model, {}, "is not a YOLO model"),
    "impossible backend": (lambda *_: None, {"backend": "onnx"}, "backend onnx was requested but cannot run"),
}


@pytest.mark.parametrize("case", list(BREAKAGES))
def test_check_config_refuses_what_the_worker_refuses(case, tmp_path, good_model, capsys):
    breakage, model_fields, expected = BREAKAGES[case]
    breakage(tmp_path, good_model)
    config = write_config(tmp_path, {"m": {"manifest": good_model.name, **model_fields}})
    rc, out, err = run_cli(capsys, "check-config", str(config))
    assert_one_line_errors(rc, out, err, expected, "models.m: ", count=1)


@pytest.mark.parametrize("case", ["checksum mismatch", "swapped class names", "not a model", "impossible backend"])
def test_worker_start_refuses_with_the_same_one_line_error(case, tmp_path, good_model, capsys):
    breakage, model_fields, expected = BREAKAGES[case]
    breakage(tmp_path, good_model)
    config = write_config(tmp_path, {"m": {"manifest": good_model.name, **model_fields}})
    rc, out, err = run_cli(capsys, "worker", "--config", str(config))
    worker_errors = assert_one_line_errors(rc, out, err, expected, count=1)
    rc, out, err = run_cli(capsys, "check-config", str(config))
    assert assert_one_line_errors(rc, out, err) == worker_errors


def test_the_worker_build_path_runs_the_checks_itself(tmp_path, good_model):
    """build_worker (cluster or embedded) refuses on its own, with every problem named."""
    from streams.config import load_config
    from streams.preflight import PreflightError
    from streams.worker import build_worker

    _swapped_classes(tmp_path, good_model)
    config = load_config(write_config(tmp_path, {"m": {"manifest": good_model.name}}))
    with pytest.raises(PreflightError) as info:
        build_worker(config)
    assert len(info.value.errors) == 1 and "classes do not match" in info.value.errors[0]


def test_a_good_config_passes_and_names_the_backend(tmp_path, good_model, capsys):
    config = write_config(tmp_path, {"m": {"manifest": good_model.name}})
    rc, out, err = run_cli(capsys, "check-config", str(config))
    assert rc == 0, err
    assert "ok: 1 camera(s), 1 rule(s), 1 model(s)" in out
    assert "3 classes match model.pt, backend pytorch" in out


def test_every_stage_reports_in_one_run(tmp_path, yolo_weights, capsys):
    """A schema error, a model whose checksum is off and one that is not a model at all: one report,
    not the schema now and the files on the next run."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_manifest(tmp_path / "a", yolo_weights(tmp_path / "a" / "model.pt", CLASSES), name="a")
    _checksum_mismatch(tmp_path / "a", a)
    b = write_manifest(tmp_path / "b", yolo_weights(tmp_path / "b" / "model.pt", CLASSES), name="b")
    _not_a_model(tmp_path / "b", b)
    models = {"a": {"manifest": "a/a.yaml"}, "b": {"manifest": "b/b.yaml"}, "c": {"manifest": "c.yaml", "iou": 7}}
    config = write_config(tmp_path, models, camera_extra={"analysis_fsp": 2})
    rc, out, err = run_cli(capsys, "check-config", str(config))
    errors = assert_one_line_errors(
        rc, out, err,
        "cameras.cam.analysis_fsp: unknown field", "models.c.iou:",  # schema
        "models.a: checksum mismatch", "models.b: model b: ", "is not a YOLO model",  # the models that parsed
        count=4,
    )
    assert errors[0].startswith(f"error: config {config}: ")


def test_labels_are_checked_for_every_camera_in_the_same_report(tmp_path, good_model, capsys):
    raw = yaml.safe_load(write_config(tmp_path, {"m": {"manifest": good_model.name}}).read_text())
    cam = raw["cameras"]["cam"]
    cam["rules"]["bags"]["labels"] = ["ebike"]
    raw["cameras"]["cam2"] = {**cam, "rules": {"cars": {**cam["rules"]["bags"], "labels": ["car"]}}}
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(raw))
    rc, out, err = run_cli(capsys, "check-config", str(config))
    assert_one_line_errors(rc, out, err, "cameras.cam.rules.bags.labels", "cameras.cam2.rules.cars.labels", count=2)


def test_a_missing_config_and_bad_yaml_are_one_line(tmp_path, capsys):
    rc, out, err = run_cli(capsys, "check-config", str(tmp_path / "nope.yaml"))
    assert_one_line_errors(rc, out, err, "config file not found", count=1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [unclosed\n")
    rc, out, err = run_cli(capsys, "check-config", str(bad))
    assert_one_line_errors(rc, out, err, "is not valid YAML", count=1)


# -- gridsight weights verify: the same model checks -----------------------------------------------------------


@pytest.mark.parametrize("case", ["wrong class names", "swapped class names", "not a model", "checksum mismatch"])
def test_weights_verify_refuses_what_the_worker_refuses(case, tmp_path, good_model, capsys):
    breakage, _, expected = BREAKAGES[case]
    breakage(tmp_path, good_model)
    rc, out, err = run_cli(capsys, "weights", "verify", str(good_model))
    assert_one_line_errors(rc, out, err, expected, count=1)


def test_weights_verify_accepts_a_matching_model(good_model, capsys):
    rc, out, err = run_cli(capsys, "weights", "verify", str(good_model))
    assert rc == 0, err
    assert "ok: m v1 matches model.pt" in out


def test_the_detector_itself_refuses_a_non_model_in_one_line(tmp_path, good_model):
    """Callers that load a detector without the preflight (eval, replay) get a ManifestError, not ultralytics' traceback."""
    from inference.models.detector import YoloDetector
    from inference.models.manifest import ManifestError

    _not_a_model(tmp_path, good_model)
    with pytest.raises(ManifestError, match=r"is not a YOLO model \(") as info:
        YoloDetector.from_manifest(good_model, backend="pytorch")
    assert "\n" not in str(info.value)
