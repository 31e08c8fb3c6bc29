"""`gridsight models`: the engineers' side of the API's model registry (issue 18).

    gridsight models upload weights/m-v5.yaml          # manifest + weights + every export it lists
    gridsight models list
    gridsight models group canary --cameras cam-01,cam-02
    gridsight models promote m-v5 5 --scope group:canary
    gridsight models rollback --scope group:canary

Each talks to the API over HTTP (``--api``, default ``GRIDSIGHT_API_URL`` or
http://127.0.0.1:8000) with an admin token (``--token``, default ``GRIDSIGHT_API_TOKEN``;
only ever sent in the request header). The manifest is checked here before anything is
sent, so a wrong checksum fails at once and names the file. Exit codes: 0 done; 2 refused
or bad input, one line on stderr.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

UPLOAD_TIMEOUT_S = 600.0  # a large weights file over a slow link


class CommandError(Exception):
    """A refusal or bad input: one line for the engineer, exit 2."""


def add_commands(sub) -> None:
    """The ``models`` command and its actions."""
    p = sub.add_parser("models", help="the API's model registry: upload, list, group, promote, roll back")
    msub = p.add_subparsers(dest="action", required=True)
    u = msub.add_parser("upload", help="upload a model version: its manifest, weights and the exports it lists")
    u.add_argument("manifest", help="the model's manifest (YAML), with its sha256 pinned")
    lst = msub.add_parser("list", help="model versions with status, scopes, where they run and their verdict")
    pr = msub.add_parser("promote", help="put a version in force for all cameras, a group or one camera")
    pr.add_argument("name", help="model name")
    pr.add_argument("version", help="model version")
    rb = msub.add_parser("rollback", help="bring back the assignment a scope had before its current one")
    for action in (pr, rb):
        action.add_argument("--scope", required=True, help="all | group:NAME | camera:CAMERA_ID")
        action.add_argument("--reason", help="why (kept on the audit timeline)")
    g = msub.add_parser("group", help="create or replace a camera group (a canary scope: group:NAME)")
    g.add_argument("name", help="group name")
    g.add_argument("--cameras", required=True, help="comma-separated camera ids (replaces the members)")
    g.add_argument("--description", help="what the group is for")
    for action in (u, lst, pr, rb, g):
        action.add_argument("--api", help="API base URL (default GRIDSIGHT_API_URL or http://127.0.0.1:8000)")
        action.add_argument("--token", help="admin bearer token (default GRIDSIGHT_API_TOKEN)")
        action.set_defaults(func=run_models_command)


def run_models_command(args, *, client=None) -> int:
    """Run one ``gridsight models`` action; ``client`` (tests) is an httpx client rooted at the API."""
    import httpx

    from gridsight.ml.api_client import api_client, default_api_url, token_from_env

    actions = {"upload": _upload, "list": _list, "promote": _promote, "rollback": _rollback, "group": _group}
    api_url = args.api or default_api_url()
    try:
        with api_client(api_url, token_from_env(args.token), client=client, timeout_s=UPLOAD_TIMEOUT_S) as http:
            print(actions[args.action](http, args))
        return 0
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except httpx.HTTPError as exc:
        print(f"error: cannot reach the API at {api_url}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
              file=sys.stderr)
    return 2


def _answer(response, what: str) -> Any:
    """The JSON of a successful response; CommandError with the API's one-line detail otherwise."""
    from gridsight.ml.api_client import refusal_detail  # httpx, loaded only by the commands that call the API

    if response.status_code >= 400:
        raise CommandError(f"{what} refused ({response.status_code}): {refusal_detail(response)}")
    return response.json()


def manifest_files(manifest_path: Path) -> list[str]:
    """The files an upload of ``manifest_path`` sends besides it: the weights and each export's files,
    relative to the manifest; checked (checksums included) so a bad one fails before any upload."""
    from inference.models.manifest import ManifestError, load_manifest, sha256_path, verify_weights

    try:
        manifest, weights = load_manifest(manifest_path)
        verify_weights(manifest, weights, manifest_path)
    except ManifestError as exc:
        raise CommandError(str(exc)) from None
    paths = [manifest.file]
    for record in manifest.exports:
        where = manifest_path.parent / record.file
        if not where.exists() or sha256_path(where) != record.sha256:
            raise CommandError(f"the {record.format} export {where} is missing or does not match its sha256 in "
                               f"{manifest_path}; export it again or remove its record")
        paths += [f"{record.file}/{name}" for name in record.files] if record.files else [record.file]
    return paths


def _upload(http, args) -> str:
    manifest_path = Path(args.manifest)
    paths = manifest_files(manifest_path)
    with contextlib.ExitStack() as stack:
        parts = [("manifest", (manifest_path.name, stack.enter_context(open(manifest_path, "rb")), "application/yaml"))]
        parts += [("files", (p, stack.enter_context(open(manifest_path.parent / p, "rb")), "application/octet-stream"))
                  for p in paths]
        response = http.post("/api/v1/models", files=parts)
    record = _answer(response, "upload")
    again = " (already there, same files)" if response.status_code == 200 else ""
    return f"uploaded {record['name']} {record['version']}: {len(record['files'])} files{again}; status {record['status']}"


def _list(http, _args) -> str:
    items = _answer(http.get("/api/v1/models"), "list")["items"]
    if not items:
        return "no model versions in the registry"
    lines = []
    for m in items:
        verdict = (m.get("comparison") or {}).get("verdict") or {}
        better = {True: "better", False: "not better"}.get(verdict.get("better"), "no comparison")
        failed = f", failed on {len(m['failed_on'])}" if m["failed_on"] else ""
        lines.append(f"{m['name']} {m['version']}  {m['status']}  scopes: {', '.join(m['scopes']) or '-'}  "
                     f"running on {len(m['running_on'])}{failed}  {better}")
    return "\n".join(lines)


def _promote(http, args) -> str:
    body = {"scope": args.scope, "reason": args.reason}
    done = _answer(http.post(f"/api/v1/models/{args.name}/{args.version}/promote", json=body), "promote")
    return f"{done['model_name']} {done['model_version']} in force for {done['scope']} (assignment {done['assignment_id']})"


def _rollback(http, args) -> str:
    done = _answer(http.post("/api/v1/models/rollback", json={"scope": args.scope, "reason": args.reason}), "rollback")
    return done["detail"] + ("" if done["removed"] else f" (assignment {done['assignment_id']})")


def _group(http, args) -> str:
    cameras = [c.strip() for c in args.cameras.split(",") if c.strip()]
    body = {"cameras": cameras, "description": args.description}
    done = _answer(http.put(f"/api/v1/camera-groups/{args.name}", json=body), "group")
    return f"group {done['name']}: {len(done['cameras'])} cameras ({', '.join(done['cameras'])})"
