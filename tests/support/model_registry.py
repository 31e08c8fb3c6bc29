"""Model versions on disk for the registry tests (issue 18): a manifest with pinned checksums,
its weights and an OpenVINO-style export directory, and the multipart parts that upload them.

The registry never loads weights, it checks and stores them, so the unit tests use a few
bytes of stand-in weights; the integration test uploads the real v4 weights and exports."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import yaml

from inference.models.manifest import sha256_file, sha256_path


def write_model(root: Path, name: str = "gs-test", version: str = "1", *, weights: bytes = b"weights-v1",
                labels: dict[str, str] | None = None, export: bool = True, **manifest_extra) -> Path:
    """``root/<name>-v<version>.yaml`` with its weights (and an export directory); the manifest's path."""
    root.mkdir(parents=True, exist_ok=True)
    weights_file = root / f"{name}-v{version}.pt"
    weights_file.write_bytes(weights)
    labels = labels if labels is not None else {"bag": "garbage_bag", "person": "person"}
    manifest = {"name": name, "version": version, "file": weights_file.name, "sha256": sha256_file(weights_file),
                "input_size": 320, "classes": sorted(labels), "canonical_labels": labels, "exports": []}
    if export:
        ir = root / f"{name}-v{version}_openvino_model"
        ir.mkdir(exist_ok=True)
        (ir / "model.xml").write_bytes(b"<net/>" + weights)
        (ir / "model.bin").write_bytes(weights * 3)
        manifest["exports"].append({"format": "openvino", "file": ir.name, "files": ["model.bin", "model.xml"],
                                    "sha256": sha256_path(ir), "imgsz": 320, "parity": {"passed": True}})
    manifest.update(manifest_extra)
    path = root / f"{name}-v{version}.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8")
    return path


def model_paths(manifest_path: Path) -> list[str]:
    """The files a manifest names (weights, export files), relative to it."""
    manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    paths = [manifest["file"]]
    for record in manifest.get("exports", []):
        paths += [f"{record['file']}/{f}" for f in record["files"]] if record.get("files") else [record["file"]]
    return paths


@contextlib.contextmanager
def upload_parts(manifest_path: Path, paths: list[str] | None = None,
                 renames: dict[str, str] | None = None) -> Iterator[list]:
    """httpx ``files=`` parts for POST /api/v1/models; ``renames`` sends a file under another name."""
    renames = renames or {}
    with contextlib.ExitStack() as stack:
        parts = [("manifest", (manifest_path.name, stack.enter_context(open(manifest_path, "rb"))))]
        for p in model_paths(manifest_path) if paths is None else paths:
            parts.append(("files", (renames.get(p, p), stack.enter_context(open(manifest_path.parent / p, "rb")))))
        yield parts


def upload(client, manifest_path: Path, headers: dict | None = None, **kwargs):
    with upload_parts(manifest_path, **kwargs) as parts:
        return client.post("/api/v1/models", files=parts, headers=headers or {})


def copy_as_version(manifest: Path, dest: Path, version: str) -> Path:
    """The same weights and exports under another version (the manifest's checksums stay true)."""
    for path in model_paths(manifest):
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(manifest.parent / path, dest / path)
    body = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    body["version"] = version
    out = dest / f"{body['name']}-{version}.yaml"
    out.write_text(yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
    return out
