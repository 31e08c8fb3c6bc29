from pathlib import Path

import pytest
import yaml

from inference.models.manifest import ManifestError, load_manifest, pin_manifest, sha256_file, verify_weights


def write(tmp_path: Path, **overrides) -> Path:
    weights = tmp_path / "model.pt"
    weights.write_bytes(b"pretend weights")
    body = {
        "name": "m",
        "version": "1",
        "file": "model.pt",
        "sha256": sha256_file(weights),
        "input_size": 320,
        "classes": ["person", "bottle"],
        "canonical_labels": {"person": "person", "bottle": "litter"},
    }
    body.update(overrides)
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def test_matching_checksum_verifies(tmp_path):
    manifest, weights = load_manifest(write(tmp_path))
    verify_weights(manifest, weights)
    assert manifest.provides() == {"person", "litter"}


def test_checksum_mismatch_is_refused_with_clear_error(tmp_path):
    path = write(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"someone swapped the file")
    manifest, weights = load_manifest(path)
    with pytest.raises(ManifestError, match="checksum mismatch for model.pt.*refusing"):
        verify_weights(manifest, weights, path)


def test_unpinned_manifest_is_refused_until_pinned(tmp_path):
    path = write(tmp_path, sha256=None)
    manifest, weights = load_manifest(path)
    with pytest.raises(ManifestError, match="no sha256 pinned.*gridsight weights pin"):
        verify_weights(manifest, weights, path)
    pin_manifest(path)
    manifest, weights = load_manifest(path)
    verify_weights(manifest, weights, path)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"canonical_labels": {"bottle": "rubbish"}}, "outside the canonical vocabulary"),
        ({"canonical_labels": {"cat": "person"}}, "classes the model does not have"),
        ({"surprise": 1}, "surprise: Extra inputs"),
        ({"input_size": 8}, "input_size"),
    ],
)
def test_bad_manifests_name_the_problem(tmp_path, overrides, message):
    with pytest.raises(ManifestError, match=message):
        load_manifest(write(tmp_path, **overrides))


def test_missing_weights_file(tmp_path):
    path = write(tmp_path)
    (tmp_path / "model.pt").unlink()
    manifest, weights = load_manifest(path)
    with pytest.raises(ManifestError, match="not found"):
        verify_weights(manifest, weights, path)
