"""The engineers' subcommands: train, eval, export, verdicts, replay, shadow-report, compare.

Kept apart from ``gridsight.cli`` (the operators' serve/worker/demo commands) so each
command's arguments sit beside the code that runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from gridsight.ml.cli_errors import fail


# --------------------------------------------------------------------------- train


def cmd_train(args) -> int:
    from gridsight.ml.dataset_check import DatasetError, check_dataset
    from gridsight.ml.replay_mix import prepare_fine_tune
    from gridsight.ml.trainer import train_detector, write_manifest
    from inference.labels import CANONICAL_LABELS
    from inference.models.manifest import ManifestError

    try:
        report = check_dataset(args.data)
        print(report.summary())
        if not report.ok:
            return fail(f"the dataset has {len(report.errors)} kind(s) of error (listed above); fix them before training")
        data, init, replay = prepare_fine_tune(Path(args.data), args.init, args.replay_data, args.replay_share,
                                               Path(args.out), args.seed)
    except (DatasetError, ManifestError, ValueError) as exc:
        return fail(str(exc))
    overrides = {"pretrained": str(init.weights)} if init else {}
    tuning = (("freeze", args.freeze), ("warmup_epochs", args.warmup_epochs), ("optimizer", args.optimizer), ("lr0", args.lr0))
    overrides.update({k: v for k, v in tuning if v is not None})
    result = train_detector(
        data, Path(args.out), model_cfg=args.model, epochs=args.epochs, imgsz=args.imgsz, batch=args.batch,
        seed=args.seed, name=args.name, workers=args.workers, **overrides,
    )
    classes = list(init.classes) if init else list(result.class_names)
    canonical = dict(init.canonical_labels) if init else {c: c for c in classes if c in CANONICAL_LABELS}
    unmapped = [c for c in classes if c not in canonical]
    if unmapped:
        print(f"warning: classes {unmapped} are not canonical labels and stay unmapped in the manifest; "
              "edit its canonical_labels to map them", file=sys.stderr)
    training = result.training
    training["dataset"].update({
        "data": str(Path(args.data).resolve()), "fingerprint": report.fingerprint, "images": report.images,
        "instances": report.instances, "warnings": [str(f) for f in report.warnings],
    })
    if init:
        training["init"] = str(args.init)  # as given (kept for older readers); init_model says what it was
        training["init_model"] = init.provenance()
        training["replay"] = replay
    manifest = write_manifest(result.weights_path, args.name, args.version, classes, canonical, args.imgsz, result.metrics,
                              training)
    print(f"weights {result.weights_path} (mAP50 {result.map50:.3f} on val); manifest written: {manifest}")
    return 0


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="check a YOLO dataset, then train or fine-tune a detector offline; writes weights + manifest")
    p.add_argument("--data", required=True, help="YOLO dataset yaml (path, train, val, names)")
    p.add_argument("--out", required=True, help="directory for the weights and manifest")
    p.add_argument("--model", default="yolo11n.yaml", help="architecture yaml (never a hub .pt name)")
    p.add_argument("--init", help="fine-tune from this model: a manifest (checksum verified) or a .pt; the new model "
                                  "keeps its class list and order")
    p.add_argument("--replay-data", help="with --init: the synthetic set's data.yaml to replay from")
    p.add_argument("--replay-share", type=float, default=0.0,
                   help="fraction of the training images drawn from --replay-data (deterministic by --seed), e.g. 0.3")
    p.add_argument("--freeze", type=int, default=None, help="freeze the first N layers (10: the yolo11 backbone)")
    p.add_argument("--warmup-epochs", type=float, default=None, help="learning-rate warm-up (ultralytics default 3; a short "
                                                                       "fine-tune wants less)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--optimizer", choices=["SGD", "AdamW", "auto"], default=None, help="default auto (AdamW at a small lr "
                                                                                        "for short runs; --lr0 is ignored then)")
    p.add_argument("--lr0", type=float, default=None, help="initial learning rate, with --optimizer SGD or AdamW")
    p.add_argument("--workers", type=int, default=2, help="data-loading worker processes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", default="gridsight-detector", help="weights <name>.pt and manifest <name>.yaml")
    p.add_argument("--version", default="1")
    p.set_defaults(func=cmd_train)


# --------------------------------------------------------------------------- eval


def cmd_eval(args) -> int:
    from gridsight.ml.dataset_check import DatasetError, check_dataset
    from gridsight.ml.evaluate import evaluate_detector, format_table
    from inference.models.manifest import ManifestError, load_manifest, verify_weights

    try:
        report = check_dataset(args.data, required_splits=(args.split,))
    except DatasetError as exc:
        return fail(str(exc))
    if not report.ok:
        print(report.summary())
        return fail("the labelled set has errors (listed above); its numbers would be wrong")
    evaluations = []
    for manifest_path in args.model:
        try:
            manifest, weights = load_manifest(manifest_path)
            verify_weights(manifest, weights, Path(manifest_path))
        except ManifestError as exc:
            return fail(str(exc))
        label = f"{manifest.name} v{manifest.version}"
        evaluation = evaluate_detector(weights, args.data, split=args.split, imgsz=args.imgsz or manifest.input_size,
                                       target_precision=args.target_precision, plots_dir=args.plots, label=label)
        if args.scenarios:
            from gridsight.ml.scenario_eval.runner import DEFAULT_CONFIDENCE, evaluate, load_cases
            from inference.models.detector import YoloDetector

            detector = YoloDetector.from_manifest(manifest_path, confidence=DEFAULT_CONFIDENCE)
            summary = evaluate(load_cases(Path(args.scenarios)), detector)
            evaluation.scenario_events = {k: summary[k] for k in ("rules", "families", "overall")}
        evaluations.append(evaluation)
    print(format_table(evaluations))
    if args.write_thresholds:
        if len(args.model) != 1:
            return fail("--write-thresholds takes exactly one --model")
        written = write_class_confidence(Path(args.model[0]), evaluations[0].recommended_thresholds())
        print(f"class_confidence written to {args.model[0]}: {written}")
    for e in evaluations:
        if e.pr_curve_png:
            print(f"PR curves: {e.pr_curve_png}")
        if e.scenario_events:
            print(f"{e.model} event level: " + ", ".join(
                f"{fam} P {v['precision']:.2f} R {v['recall']:.2f}" for fam, v in e.scenario_events["families"].items()))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps([e.to_dict() for e in evaluations], indent=1, ensure_ascii=False))
        print(f"written: {args.out}")
    return 0


def write_class_confidence(manifest_path: Path, thresholds: dict[str, float]) -> dict[str, float]:
    """Store the recommended per-class floors in the manifest, keyed by canonical label
    (the detector and tracker read them from there unless a camera overrides them)."""
    from inference.models.manifest import load_manifest, update_manifest

    manifest, _ = load_manifest(manifest_path)
    floors = {manifest.canonical_labels[c]: round(min(0.99, max(0.01, t)), 3)
              for c, t in thresholds.items() if c in manifest.canonical_labels}
    update_manifest(manifest_path, class_confidence=dict(sorted(floors.items())))
    return floors


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="per-class P/R/mAP, PR curves and thresholds on a labelled set; several models side by side")
    p.add_argument("--model", action="append", required=True, help="model manifest; repeat to compare models")
    p.add_argument("--data", required=True, help="YOLO dataset yaml")
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--imgsz", type=int, default=None, help="default: the manifest's input_size")
    p.add_argument("--target-precision", type=float, default=None, help="also recommend the threshold reaching this precision")
    p.add_argument("--plots", default=None, help="directory for PR-curve PNGs")
    p.add_argument("--scenarios", default=None, help="also run the event-level evaluation on these scenario clips")
    p.add_argument("--out", default=None, help="write the results as JSON here")
    p.add_argument("--write-thresholds", action="store_true",
                   help="store the recommended per-class confidence floors in the (single) model's manifest")
    p.set_defaults(func=cmd_eval)


# --------------------------------------------------------------------------- export


def cmd_export(args) -> int:
    from gridsight.ml.export import export_model
    from inference.models.manifest import ManifestError

    try:
        record = export_model(args.manifest, args.format, device=args.device, int8=args.int8)
    except ManifestError as exc:
        return fail(str(exc))
    p = record.parity
    print(f"{args.format}{' INT8' if record.int8 else ''} export {record.file}: parity passed on {p['frames']} frames ({p['boxes_compared']} boxes, "
          f"max conf diff {p['max_conf_diff']}, min IoU {p['min_iou']}); batch-1 latency pytorch "
          f"{record.latency_ms['pytorch']} ms vs export {record.latency_ms['export']} ms; recorded in {args.manifest}")
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="export a model to ONNX or OpenVINO (CPU) or TensorRT (GPU host), check parity, "
                                      "record it in the manifest")
    p.add_argument("manifest")
    p.add_argument("--format", choices=["onnx", "openvino", "tensorrt"], default="onnx")
    p.add_argument("--int8", action="store_true",
                   help="openvino only: NNCF post-training INT8 quantisation, calibrated on 300 rendered synthetic images")
    p.add_argument("--device", default=None, help="default: cpu for onnx and openvino, cuda:0 for tensorrt")
    p.set_defaults(func=cmd_export)


# --------------------------------------------------------------------------- verdicts


def cmd_verdicts(args) -> int:
    import httpx

    from gridsight.ml.api_client import token_from_env
    from gridsight.ml.verdicts import export_verdicts
    from inference.models.manifest import ManifestError, load_manifest

    if args.database_url or args.evidence_dir:
        return fail("gridsight verdicts reads the orders from the API over HTTP now: drop --database-url/"
                    "--evidence-dir and give --api-url (and a token in GRIDSIGHT_API_TOKEN or --token)")
    try:
        manifest, _ = load_manifest(args.model)
    except ManifestError as exc:
        return fail(str(exc))
    try:
        result = export_verdicts(args.out, list(manifest.classes), api_url=args.api_url,
                                 token=token_from_env(args.token), val_fraction=args.val_fraction)
    except ValueError as exc:
        return fail(str(exc))
    except httpx.HTTPError as exc:
        return fail(f"the API at {args.api_url} could not be reached: {exc}")
    print(result.summary())
    print(f"fine-tune with: gridsight train --data {result.data_yaml} --init <{manifest.name} weights> --out <dir>")
    return 0


def _add_api_options(p) -> None:
    """--api-url and --token, as replay and verdicts take them (the token is never printed)."""
    from gridsight.ml.api_client import default_api_url

    p.add_argument("--api-url", default=default_api_url(), help="the API's root URL (default: GRIDSIGHT_API_URL "
                   "or http://127.0.0.1:8000)")
    p.add_argument("--token", default=None, help="API token (default: GRIDSIGHT_API_TOKEN)")


def _add_verdicts(sub) -> None:
    p = sub.add_parser("verdicts", help="export operator verdicts (confirmed / false positive) as a YOLO dataset")
    p.add_argument("--out", required=True, help="dataset directory")
    p.add_argument("--model", required=True, help="manifest of the model to fine-tune (its class list numbers the labels)")
    _add_api_options(p)  # a supervisor's or admin's token exports every grid cell's orders
    # Before the export read the API over HTTP it opened the database and evidence directory itself:
    # the options are still accepted, and refused with what to give instead.
    p.add_argument("--database-url", default=None, help=argparse.SUPPRESS)
    p.add_argument("--evidence-dir", default=None, help=argparse.SUPPRESS)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.set_defaults(func=cmd_verdicts)


# --------------------------------------------------------------------------- replay


def cmd_replay(args) -> int:
    import tempfile

    from streams.config import ConfigError, load_config
    from gridsight.ml.api_client import token_from_env
    from gridsight.ml.replay import fetch_order_clip, replay_clip
    from inference.models.manifest import ManifestError

    try:
        config = load_config(args.config, env=os.environ)
    except ConfigError as exc:
        return fail(str(exc))
    camera_id, clip = args.camera, args.clip
    with tempfile.TemporaryDirectory(prefix="gridsight-replay-") as tmp:
        if args.order is not None:
            try:
                clip, order_camera = fetch_order_clip(args.order, Path(tmp) / "order.mp4", api_url=args.api_url,
                                                      token=token_from_env(args.token))
            except (ValueError, OSError) as exc:
                return fail(str(exc))
            camera_id = camera_id or order_camera
        if clip is None:
            return fail("give a clip path or --order ORDER_ID")
        camera_id = camera_id or next(iter(config.cameras), None)
        try:
            result = replay_clip(config, camera_id, clip, model_manifest=Path(args.model) if args.model else None,
                                 out_dir=args.out)
        except (ValueError, FileNotFoundError, ConfigError, ManifestError) as exc:
            return fail(str(exc))
    print(result.table())
    if args.out:
        print(f"events and evidence written to {args.out}")
    return 0


def _add_replay(sub) -> None:
    p = sub.add_parser("replay", help="run a recorded clip (or an order's evidence clip) through the full pipeline, offline")
    p.add_argument("clip", nargs="?", help="video file")
    p.add_argument("--config", required=True, help="worker config (zones, rules, models)")
    p.add_argument("--camera", help="camera id whose zones and rules apply (default: the order's, or the first)")
    p.add_argument("--model", help="another model manifest to replay with (default: the camera's)")
    p.add_argument("--order", type=int, help="replay this work order's evidence clip, fetched from the API")
    _add_api_options(p)
    p.add_argument("--out", default=None, help="write events.jsonl and each order's evidence here")
    p.set_defaults(func=cmd_replay)


# --------------------------------------------------------------------------- shadow


def cmd_shadow_report(args) -> int:
    from streams.shadow import format_report, shadow_report

    if not Path(args.log_dir).is_dir():
        return fail(f"no shadow log directory {args.log_dir} (set shadow.log_dir in the worker config)")
    rows = shadow_report(args.log_dir, tolerance_s=args.tolerance)
    print(format_report(rows))
    if args.out:
        Path(args.out).write_text(json.dumps([{**r.__dict__, "agreement": round(r.agreement, 4)} for r in rows], indent=1))
    return 0


def _add_shadow(sub) -> None:
    p = sub.add_parser("shadow-report", help="compare the live and the candidate model's events per rule (shadow mode)")
    p.add_argument("log_dir", help="the worker config's shadow.log_dir")
    p.add_argument("--tolerance", type=float, default=30.0, help="seconds between two STARTs that count as the same event")
    p.add_argument("--out", default=None, help="also write the rows as JSON")
    p.set_defaults(func=cmd_shadow_report)


# --------------------------------------------------------------------------- compare


def cmd_compare(args) -> int:
    from gridsight.ml.compare import Margins, compare_models, format_summary, put_comparison
    from gridsight.ml.dataset_check import DatasetError
    from inference.models.manifest import ManifestError

    try:
        margins = Margins(args.event_recall_margin, args.map50_margin, args.event_recall_tolerance, args.map50_tolerance,
                          args.event_precision_tolerance)
        comparison = compare_models(Path(args.candidate), Path(args.current), Path(args.data), Path(args.scenarios),
                                    split=args.split, shadow=Path(args.shadow_report) if args.shadow_report else None,
                                    margins=margins)
    except (DatasetError, ManifestError, FileNotFoundError, ValueError) as exc:
        return fail(str(exc))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(comparison, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_summary(comparison))
    print(f"comparison written: {out}")
    if args.api:
        try:
            put_comparison(comparison, args.api, os.environ.get(args.token_env) or None)
        except ValueError as exc:
            return fail(f"the comparison is in {out} but was not stored: {exc}")
        cand = comparison["candidate"]
        print(f"stored with {cand['name']} v{cand['version']} at {args.api.rstrip('/')}")
    return 0


def _add_compare(sub) -> None:
    from gridsight.ml.api_client import TOKEN_ENV
    from gridsight.ml.compare import Margins

    d = Margins()
    p = sub.add_parser("compare", help="candidate vs current model: per class on a held-out split, per rule on scenario clips, "
                                       "the shadow report, and a verdict; optionally stored with the candidate in the API")
    p.add_argument("--candidate", required=True, help="the candidate's manifest")
    p.add_argument("--current", required=True, help="the current model's manifest")
    p.add_argument("--data", required=True, help="held-out labelled set (YOLO data.yaml)")
    p.add_argument("--split", default="val", choices=["val", "test"])
    p.add_argument("--scenarios", required=True, help="directory of scenario clips (<name>.mp4 + <name>.json)")
    p.add_argument("--shadow-report", default=None, help="JSON from `gridsight shadow-report --out`")
    p.add_argument("--out", required=True, help="write the comparison JSON here")
    p.add_argument("--api", default=None, help="also PUT it to this API (root URL) with the candidate")
    p.add_argument("--token-env", default=TOKEN_ENV, help=f"environment variable holding the admin token (default {TOKEN_ENV})")
    p.add_argument("--event-recall-margin", type=float, default=d.event_recall_margin)
    p.add_argument("--map50-margin", type=float, default=d.map50_margin)
    p.add_argument("--event-recall-tolerance", type=float, default=d.event_recall_tolerance)
    p.add_argument("--map50-tolerance", type=float, default=d.map50_tolerance)
    p.add_argument("--event-precision-tolerance", type=float, default=d.event_precision_tolerance)
    p.set_defaults(func=cmd_compare)


def add_commands(sub) -> None:
    for add in (_add_train, _add_eval, _add_export, _add_verdicts, _add_replay, _add_shadow, _add_compare):
        add(sub)
