"""The printed table (limits, every scenario's sweep answer, each target line: measured, target,
met / missed by) and the PNG plot."""

from __future__ import annotations

from pathlib import Path

from throughput_parts.common import MAX_LAG_GROWTH_S, SUSTAIN_FRACTION


def _target_lines(results: dict) -> list[str]:
    lines = ["", f"{'target':<44} {'what':<26} {'measured':>9} {'target':>7}  result"]
    for row in results["comparisons"]:
        for c in row["checks"]:
            verdict = "met" if c["met"] else (f"MISSED by {c['missed_by']}" if c["missed_by"] is not None
                                              else "MISSED (not measured)")
            lines.append(f"{row['name']:<44} {c['what']:<26} {c['measured'] if c['measured'] is not None else '-':>9} "
                         f"{('<' if c['what'].endswith(('_p95', '_outbox')) else '>=') + str(c['target']):>7}  {verdict}")
        extra = f"  ratio {row['ratio_vs_baseline']}x naive" if row["ratio_vs_baseline"] is not None else ""
        extra += f", limit {row['limit_cameras']}" if row["limit_cameras"] is not None else ""
        extra += " (ours hit the sweep's top count: a lower bound)" if row["ours_capped_by_sweep"] else ""
        if extra:
            lines.append(f"{'':<44} {extra.strip()}")
    return lines


def table(results: dict) -> str:
    lines = ["", "computed limits (" + next(iter(results["limits"].values()), {}).get("formula", "") + "):"]
    for name, lim in results["limits"].items():
        if lim:
            lines.append(f"  {name:<12} {lim['limit_cameras']:>6} cameras = {lim['cpu_count']} / ({lim['decode_core_s_per_video_s']}"
                         f" + {lim['analysis_fps']:g} x {lim['inference_cores']} / {lim['inference_images_per_s']}) "
                         f"[{lim['backend']} batch {lim['best_batch']}, decode {lim['decode_mode']}]")
    lines += ["", f"{'scenario':<22} {'config':<34} {'max cams':>8} {'cores/cam':>9} {'lag p95 s':>9} {'load':>5}"]
    for scenario, configs in results["end_to_end"].items():
        for cfg in configs:
            pts = [p for p in cfg["points"] if p["sustained"]] or cfg["points"][:1]
            p = pts[-1] if pts else {}
            cores = p["cpu_cores_used"] / p["cameras"] if p else 0
            lines.append(f"{scenario:<22} {cfg['config']:<34} {cfg['max_cameras_sustained']:>8} {cores:>9.3f} "
                         f"{p.get('lag_s_p95', '-') if p else '-':>9} {p.get('load_1min', '-') if p else '-':>5}")
    lines += _target_lines(results)
    return "\n".join(lines)


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(results["end_to_end"].items())
    fig, axes = plt.subplots(1, max(1, len(scenarios)), figsize=(5.5 * max(1, len(scenarios)), 4.5), squeeze=False)
    for ax, (scenario, configs) in zip(axes[0], scenarios):
        for cfg in configs:
            pts = sorted(cfg["points"], key=lambda p: p["cameras"])
            ax.plot([p["cameras"] for p in pts], [p["fps_per_camera_min"] / p["analysis_fps"] for p in pts],
                    marker="o", label=f"{cfg['config']} (max {cfg['max_cameras_sustained']})")
        ax.axhline(SUSTAIN_FRACTION, color="grey", ls="--", lw=1)
        ax.set_xlabel("cameras")
        ax.set_ylabel("slowest camera's rate / analysis rate")
        ax.set_title(scenario, fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"GridSight throughput on {results['machine']['cpu']} ({results['machine']['logical_cpus']} CPUs); "
                 f"load before {results['load_before']['loadavg_1_5_15'][0]}; sustained: >= {SUSTAIN_FRACTION:.0%} "
                 f"of the rate, lag growth < {MAX_LAG_GROWTH_S} s", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
