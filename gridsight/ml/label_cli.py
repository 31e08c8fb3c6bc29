"""`gridsight label export|import` (Label Studio) and `gridsight dataset import` (COCO, YOLO, CVAT files).

Tokens come from environment variables only (the API's GRIDSIGHT_API_TOKEN, Label
Studio's named by --ls-token-env) and are never printed. Bad input is one line on
stderr and exit 2; a refusal by Label Studio or the API is one line and exit 1.
"""

from __future__ import annotations

import os
import sys

import httpx

from gridsight.ml.cli_errors import fail, one_line

LS_TOKEN_ENV = "LABEL_STUDIO_API_KEY"
LS_URL_ENV = "LABEL_STUDIO_URL"


def _ls(args):
    from gridsight.ml.labelstudio import connect

    token = os.environ.get(args.ls_token_env)
    if not token:
        raise ValueError(f"set the Label Studio API token in ${args.ls_token_env} (or name another with --ls-token-env)")
    return connect(args.ls_url, token)


def cmd_label_export(args) -> int:
    from gridsight.ml.api_client import api_client, token_from_env
    from gridsight.ml.labelstudio import LabelStudioError, export_batch

    try:
        ls = _ls(args)
        with api_client(args.api_url, token_from_env(None)) as api:
            result = export_batch(api, ls, args.project, status=args.status, camera_id=args.camera,
                                  batch_id=args.batch, limit=args.limit)
    except ValueError as exc:
        return fail(str(exc))
    except LabelStudioError as exc:
        return fail(str(exc), 1)
    except httpx.HTTPError as exc:
        return fail(_unreachable(exc), 1)
    except Exception as exc:  # the SDK's ApiError and friends: one line, never a traceback
        return fail(f"Label Studio refused: {one_line(exc)}", 1)
    print(result.summary(args.project))
    return 0


def cmd_label_import(args) -> int:
    from gridsight.ml.api_client import api_client, token_from_env
    from gridsight.ml.dataset_version import DatasetVersionError
    from gridsight.ml.labelstudio import LabelStudioError, import_project

    try:
        ls = _ls(args)
        with api_client(args.api_url, token_from_env(None)) as api:
            described = import_project(api, ls, args.project, out=args.out, name=args.name, version=args.version,
                                       register=not args.no_register)
    except (ValueError, DatasetVersionError) as exc:
        return fail(str(exc))
    except LabelStudioError as exc:
        return fail(str(exc), 1)
    except httpx.HTTPError as exc:
        return fail(_unreachable(exc), 1)
    except Exception as exc:  # the SDK's ApiError and friends: one line, never a traceback
        return fail(f"Label Studio refused: {one_line(exc)}", 1)
    print(described.summary())
    for warning in described.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_dataset_import(args) -> int:
    from gridsight.ml.annotation_import import AnnotationImportError, read_export
    from gridsight.ml.api_client import api_client, token_from_env
    from pathlib import Path

    from gridsight.ml.dataset_version import DatasetVersionError, fingerprint, register_dataset, write_dataset_version

    try:
        images = read_export(args.format, args.file, images_dir=args.images, map_file=args.map,
                             camera_id=args.camera)
        name = args.name or Path(args.file).resolve().stem
        version = args.version or fingerprint(images)[:12]
        described = write_dataset_version(images, args.out, name=name, version=version, source=args.format)
    except (AnnotationImportError, DatasetVersionError, OSError) as exc:
        return fail(one_line(exc))
    print(described.summary())
    for warning in described.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.no_register:
        return 0
    try:
        with api_client(args.api_url, token_from_env(None)) as api:
            register_dataset(api, described)
    except DatasetVersionError as exc:
        return fail(str(exc), 1)
    except httpx.HTTPError as exc:
        return fail(f"the dataset is written but the API at {args.api_url} did not take it: {one_line(exc)}", 1)
    print(f"registered with the API as {described.name} {described.version}")
    return 0


def _unreachable(exc: httpx.HTTPError) -> str:
    """Which server did not answer: the request's URL without its query (never a header, so never a token)."""
    try:
        url = exc.request.url
        where = f"{url.scheme}://{url.host}:{url.port}" if url.port else f"{url.scheme}://{url.host}"
    except RuntimeError:  # an error raised before its request was made
        where = "the server"
    return f"cannot reach {where}: {one_line(exc)}"


def _add_connection(p) -> None:
    from gridsight.ml.api_client import default_api_url

    p.add_argument("--api-url", default=default_api_url(), help="the GridSight API (token in $GRIDSIGHT_API_TOKEN)")
    p.add_argument("--ls-url", default=os.environ.get(LS_URL_ENV, "http://127.0.0.1:8080"),
                   help=f"Label Studio's URL (default ${LS_URL_ENV} or http://127.0.0.1:8080)")
    p.add_argument("--ls-token-env", default=LS_TOKEN_ENV,
                   help=f"the environment variable holding Label Studio's API token (default {LS_TOKEN_ENV}); "
                        "a legacy token or a personal access token")


def _add_version_names(p, required: bool = True) -> None:
    p.add_argument("--out", required=True, help="the dataset version's directory (images/, labels/, data.yaml, "
                                                "version.json); an earlier version there is replaced")
    p.add_argument("--name", required=required, help="dataset name, e.g. the site: harbour-district"
                   + ("" if required else " (default: the export's file or folder name)"))
    p.add_argument("--version", required=required, help="dataset version, e.g. 2026-12-03"
                   + ("" if required else " (default: the first 12 hex digits of the fingerprint)"))
    p.add_argument("--no-register", action="store_true", help="write the version only; do not POST it to the API")


def add_commands(sub) -> None:
    """The ``label`` (export, import) and ``dataset`` (import) commands."""
    p = sub.add_parser("label", help="harvested frames to Label Studio and the finished annotations back")
    lsub = p.add_subparsers(dest="action", required=True)
    e = lsub.add_parser("export", help="harvest frames -> Label Studio tasks with the model's boxes as pre-annotations")
    e.add_argument("--project", required=True, help="Label Studio project title (created if absent)")
    e.add_argument("--status", default="new", choices=["new", "exported", "labelled"], help="frames in this status")
    e.add_argument("--camera", help="only this camera's frames")
    e.add_argument("--batch", type=int, help="only this harvest batch")
    e.add_argument("--limit", type=int, help="at most this many frames")
    _add_connection(e)
    e.set_defaults(func=cmd_label_export)
    i = lsub.add_parser("import", help="finished Label Studio annotations -> a dataset version, registered")
    i.add_argument("--project", required=True, help="Label Studio project title")
    _add_version_names(i)
    _add_connection(i)
    i.set_defaults(func=cmd_label_import)
    d = sub.add_parser("dataset", help="dataset versions from annotation files")
    dsub = d.add_subparsers(dest="action", required=True)
    m = dsub.add_parser("import", help="a COCO JSON, YOLO directory or CVAT XML (for images 1.1) -> a dataset version")
    m.add_argument("file", help="the export: COCO .json, YOLO directory (images/, labels/, names) or CVAT .xml")
    m.add_argument("--format", required=True, choices=["coco", "yolo", "cvat"])
    m.add_argument("--images", help="the export's image directory (default: beside the file, or its images/)")
    m.add_argument("--map", help="YAML mapping of the export's class names to canonical labels (null drops a class)")
    m.add_argument("--camera", default="import", help="camera id recorded for these images (default: import)")
    _add_version_names(m, required=False)
    from gridsight.ml.api_client import default_api_url

    m.add_argument("--api-url", default=default_api_url(), help="the GridSight API (token in $GRIDSIGHT_API_TOKEN)")
    m.set_defaults(func=cmd_dataset_import)
