"""The `gridsight` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

log = logging.getLogger("gridsight")


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handler(signum, _frame):
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def cmd_serve(args) -> int:
    from api.auth import InsecureSettings
    from api.server import run_server
    from api.settings import SettingsInvalid, load_settings

    overrides = {k: v for k, v in {"database_url": args.database_url, "evidence_dir": args.evidence_dir}.items() if v}
    if "GRIDSIGHT_DEV_MODE" not in os.environ and args.host in ("127.0.0.1", "localhost", "::1"):
        # Loopback only: the open demo mode can never be reached from another machine by default.
        overrides["dev_mode"] = True
    try:
        settings = load_settings(**overrides)
        _log_on_site_clock(settings.site_zone)
        run_server(settings, host=args.host, port=args.port)
    except SettingsInvalid as exc:
        return _print_errors(exc.problems)
    except InsecureSettings as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def cmd_db(args) -> int:
    from api.db.migrate import main as migrate_main

    argv = (["--database-url", args.database_url] if args.database_url else []) + [args.action]
    return migrate_main(argv)


def _print_errors(errors: list[str]) -> int:
    for error in errors:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
    return 2


def _log_on_site_clock(zone) -> None:
    from gridsight.logs import use_site_timezone

    use_site_timezone(zone)  # the config's site time zone (docs/time.md), not only GRIDSIGHT_SITE_TIMEZONE


def cmd_worker(args) -> int:
    from streams.preflight import preflight

    report = preflight(args.config, env=os.environ)  # exactly what check-config runs
    if report.errors:
        return _print_errors(report.errors)
    config = report.config
    _log_on_site_clock(config.worker.zone)
    if args.api_url:
        config = config.model_copy(update={"api": config.api.model_copy(update={"url": args.api_url})})
    from streams.preflight import PreflightError
    from streams.worker import build_worker

    try:
        worker = build_worker(config, checked=True)
    except PreflightError as exc:
        return _print_errors(exc.errors)
    except ValueError as exc:  # ManifestError, ConfigError: already worded for the operator
        return _print_errors([str(exc)])
    except Exception as exc:  # one line for the operator; the traceback only at debug level
        log.debug("worker start failed", exc_info=True)
        return _print_errors([f"the worker could not start: {type(exc).__name__}: {exc}"])
    worker.run(_stop_on_signals())
    return 0


def cmd_check_config(args) -> int:
    from streams.preflight import preflight

    report = preflight(args.config, env=os.environ)
    if report.errors:
        return _print_errors(report.errors)
    config = report.config
    rules = sum(len(c.rules) for c in config.cameras.values())
    print(f"ok: {len(config.cameras)} camera(s), {rules} rule(s), {len(config.models)} model(s)")
    for model_id, check in report.models.items():
        m, backend = check.manifest, check.backend
        print(f"  model {model_id}: {m.name} v{m.version_label}, {len(m.classes)} classes match {check.weights_path.name}, "
              f"backend {backend.backend} ({backend.reason})")
    return 0


def cmd_cluster(args) -> int:
    from gridsight.cluster_cli import run_cluster_command

    return run_cluster_command(args)


def cmd_demo(args) -> int:
    from gridsight.demo import run_demo

    return run_demo(
        workdir=Path(args.workdir), api_port=args.api_port, rtsp_port=args.rtsp_port,
        duration_s=args.duration, stop=_stop_on_signals(), fresh=args.fresh,
    )


def cmd_generate(args) -> int:
    if args.what == "dataset":
        from gridsight.synth.dataset import generate_dataset

        data_yaml = generate_dataset(Path(args.out), n_train=args.train, n_val=args.val, seed=args.seed)
        print(f"dataset written: {data_yaml}")
    else:
        from gridsight.synth.clip import ground_truth_path, write_clip
        from gridsight.synth.scenario import demo_scenario

        clip = write_clip(Path(args.out), demo_scenario(), fps=args.fps, seed=args.seed)
        print(f"clip written: {clip} (ground truth: {ground_truth_path(clip)})")
    return 0


def cmd_weights(args) -> int:
    from inference.models.manifest import ManifestError, pin_manifest
    from inference.models.preflight import check_model

    try:
        if args.action == "pin":
            print(f"pinned sha256 {pin_manifest(Path(args.manifest))}")
        elif args.action == "init":
            return _weights_init(args)
        else:  # verify: the worker's own model checks
            check = check_model(args.manifest)
            if check.errors:
                return _print_errors(check.errors)
            m = check.manifest
            print(f"ok: {m.name} v{m.version_label} matches {check.weights_path.name} "
                  f"(sha256, {len(m.classes)} classes in id order; backend {check.backend.backend})")
    except ManifestError as exc:
        return _print_errors([str(exc)])
    return 0


def _weights_init(args) -> int:
    from gridsight.model_init import init_manifest

    result = init_manifest(args.weights, name=args.name, version=args.version, maps=args.map, out=args.out,
                           input_size=args.input_size, force=args.force)
    m = result.manifest
    print(f"wrote {result.path}: {m.name} v{m.version_label}, {len(m.classes)} classes, input size {m.input_size}, "
          f"pinned sha256 {result.sha256[:12]}…; verified")
    for cls in m.classes:
        if cls in m.canonical_labels:
            print(f"  class {cls} -> {m.canonical_labels[cls]}")
    if result.unmapped:
        print(f"unmapped classes (ignored by every rule): {', '.join(result.unmapped)}; "
              f"map one with --map CLASS=LABEL (labels: inference/labels.py)")
    serve = [p for p in result.presets if p.servable]
    cannot = [p for p in result.presets if not p.servable]
    print(f"presets it can serve ({len(serve)}):" + ("" if serve else " none"))
    for p in serve:
        print(f"  {p.preset}" + (f" ({p.note})" if p.note else ""))
    print(f"presets it cannot serve ({len(cannot)}):" + ("" if cannot else " none"))
    for p in cannot:
        print(f"  {p.preset}: {p.note}")
    print(f"use it: models: {{mine: {{manifest: {result.path}}}}}; a plain `kind:` rule can watch any label it provides "
          f"({', '.join(sorted(m.provides())) or 'none'})")
    return 0


def cmd_eval_scenarios(args) -> int:
    from gridsight.ml.scenario_eval.cli import run_eval_scenarios

    return run_eval_scenarios(args)


def _add_service_commands(sub) -> None:
    """serve, db, worker, cluster, check-config: what runs in production."""
    p = sub.add_parser("serve", help="run the work-order API")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on; on loopback the API runs in open dev mode (default: %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port of the API and the dashboard (default: %(default)s)")
    p.add_argument("--database-url", help="SQLAlchemy URL (default: GRIDSIGHT_DATABASE_URL, else SQLite under var/)")
    p.add_argument("--evidence-dir", help="where evidence files are stored (default: GRIDSIGHT_EVIDENCE_DIR, else var/evidence)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("db", help="database schema migrations (the API also upgrades at start-up)")
    p.add_argument("action", choices=["upgrade", "current"],
                   help="upgrade: migrate to the newest schema; current: print the schema revision")
    p.add_argument("--database-url", help="SQLAlchemy URL (default: GRIDSIGHT_DATABASE_URL)")
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("worker", help="run a camera worker from a YAML config")
    p.add_argument("--config", required=True, help="the worker's YAML config (see configs/cameras.example.yaml)")
    p.add_argument("--api-url", help="override api.url from the config (default: the config's)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("cluster", help="cluster mode: show workers and leases, push camera config to Redis")
    p.add_argument("action", choices=["status", "push", "remove"])
    p.add_argument("cameras", nargs="*", help="remove: camera ids")
    p.add_argument("--config", help="worker config (its redis section, and for push its cameras)")
    p.add_argument("--redis-url", default=os.environ.get("GRIDSIGHT_REDIS_URL"), help="overrides the config's redis.url")
    p.add_argument("--prefix", help="key prefix (default: the config's redis.key_prefix or 'gridsight')")
    p.add_argument("--replace", action="store_true", help="push: also remove Redis cameras that are not in the file")
    p.add_argument("--json", action="store_true", help="status: machine-readable output")
    p.set_defaults(func=cmd_cluster)

    p = sub.add_parser("check-config", help="validate a worker config and exit",
                       description="Runs the worker's start-up checks without starting it: the schema (an unknown "
                                   "key names the closest known one), zones and rules, and each model's manifest, "
                                   "weights checksum and backend. Exit status 0 when the worker would start, 2 "
                                   "with one line per problem otherwise. GRIDSIGHT_* environment overrides apply.")
    p.add_argument("config", help="path of the worker's YAML config, e.g. configs/demo.yaml")
    p.set_defaults(func=cmd_check_config)


def _add_demo_commands(sub) -> None:
    """demo, generate, eval-scenarios: the synthetic demo and its scenario clips."""
    p = sub.add_parser("demo", help="API + RTSP camera + worker on the synthetic street clip",
                       description="The API, a synthetic RTSP camera and a worker on one machine; prints the "
                                   "dashboard's address, then every new order and every change. The database "
                                   "is kept between runs (--fresh starts clean).")
    p.add_argument("--workdir", default="var/demo",
                   help="the demo's files: database, evidence, spool, clip, logs (default: %(default)s)")
    p.add_argument("--api-port", type=int, default=8000, help="the API's and dashboard's port (default: %(default)s)")
    p.add_argument("--rtsp-port", type=int, default=8554, help="the synthetic camera's RTSP port (default: %(default)s)")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--fresh", action="store_true",
                   help="start clean: remove the kept database, its evidence and spool (default: keep them)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("generate", help="render synthetic training data or the demo clip")
    p.add_argument("what", choices=["dataset", "clip"])
    p.add_argument("--out", required=True)
    p.add_argument("--train", type=int, default=800)
    p.add_argument("--val", type=int, default=160)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("eval-scenarios", help="event-level precision, recall and delay of the rules on scenario clips")
    from gridsight.ml.scenario_eval.cli import add_arguments as add_eval_arguments

    add_eval_arguments(p)
    p.set_defaults(func=cmd_eval_scenarios)


def _add_weights_commands(sub) -> None:
    """weights pin / verify / init: model manifests."""
    p = sub.add_parser("weights", help="model manifests: write one for your weights, pin its checksum, verify it")
    wsub = p.add_subparsers(dest="action", required=True)
    w = wsub.add_parser("pin", help="record the weights file's sha256 in the manifest (keeps comments and key order)")
    w.add_argument("manifest")
    w.set_defaults(func=cmd_weights)
    w = wsub.add_parser("verify", help="the worker's start-up checks of one model: file, sha256, class names, backend")
    w.add_argument("manifest")
    w.set_defaults(func=cmd_weights)
    w = wsub.add_parser("init", help="write, pin and verify a manifest for a YOLO weights file (bring your own model)")
    w.add_argument("weights", help="a YOLO .pt checkpoint")
    w.add_argument("--name", required=True, help="model name, reported on every work order")
    w.add_argument("--version", default="1", help="model version (default 1)")
    w.add_argument("--map", action="append", default=[], metavar="CLASS=LABEL",
                   help="map a model class onto a canonical label (repeatable; CLASS= leaves it unmapped); "
                        "classes that already are canonical labels map to themselves")
    w.add_argument("--out", help="manifest path (default: the weights path with .yaml)")
    w.add_argument("--input-size", type=int, help="inference size (default: the checkpoint's imgsz, else 640)")
    w.add_argument("--force", action="store_true", help="overwrite an existing manifest")
    w.set_defaults(func=cmd_weights)


def build_parser() -> argparse.ArgumentParser:
    from gridsight.actions_cli import add_commands as add_actions_commands
    from gridsight.ml.label_cli import add_commands as add_label_commands
    from gridsight.ml.cli import add_commands as add_lifecycle_commands
    from gridsight.models_cli import add_commands as add_model_commands

    parser = argparse.ArgumentParser(prog="gridsight", description="Video analytics for city grid governance")
    parser.add_argument("--log-level", default=os.environ.get("GRIDSIGHT_LOG_LEVEL", "INFO"))
    sub = parser.add_subparsers(dest="command", required=True)
    _add_service_commands(sub)
    _add_demo_commands(sub)
    add_lifecycle_commands(sub)  # train, eval, export, verdicts, replay, shadow-report
    _add_weights_commands(sub)
    add_actions_commands(sub)  # actions test
    add_label_commands(sub)  # label export/import (Label Studio), dataset import (COCO, YOLO, CVAT)
    add_model_commands(sub)  # models upload, list, group, promote, rollback (the API's registry)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    from gridsight.logs import configure_logging

    configure_logging(args.log_level)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
