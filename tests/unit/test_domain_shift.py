"""The domain-shifted scene family (night, sodium lamps, rain, a high oblique camera):
deterministic by seed, exact labels inside the frame after the warp, and the image statistics
it is meant to change (darker, orange, noisier), for still images and scenario clips."""

from __future__ import annotations

import numpy as np
import pytest

from gridsight.synth.clip import clip_domain_scene, ground_truth, scenario_frames
from gridsight.synth.dataset import render_dataset_image, yolo_label_lines
from gridsight.synth.render.domain import DomainShift, parse_domain, sample_domain_scene, warp_frame
from gridsight.synth.scenarios import SHIFTED_NAMES, ci_cases, shifted_cases

NIGHT = DomainShift("night_sodium")
SIZE = (320, 180)


def _channel_means(image: np.ndarray) -> np.ndarray:
    return image.reshape(-1, 3).mean(0)  # B, G, R


def test_shifted_images_are_deterministic_by_seed():
    a, anns_a, qa = render_dataset_image(3, "train", 5, SIZE, NIGHT)
    b, anns_b, qb = render_dataset_image(3, "train", 5, SIZE, NIGHT)
    other, _, _ = render_dataset_image(4, "train", 5, SIZE, NIGHT)
    assert np.array_equal(a, b) and anns_a == anns_b and qa == qb
    assert not np.array_equal(a, other)


def test_the_normal_family_is_unchanged_by_the_domain_option():
    plain, anns, _ = render_dataset_image(3, "train", 5, SIZE)
    again, anns_again, _ = render_dataset_image(3, "train", 5, SIZE, None)
    assert np.array_equal(plain, again) and anns == anns_again


@pytest.mark.parametrize("index", range(6))
def test_labels_stay_inside_the_image_and_follow_the_warp(index):
    W, H = SIZE
    normal, normal_anns, _ = render_dataset_image(0, "train", index, SIZE)
    shifted, anns, _ = render_dataset_image(0, "train", index, SIZE, NIGHT)
    assert anns, "the test images have labelled objects"
    for a in anns:
        x1, y1, x2, y2 = a.box
        assert 0 <= x1 < x2 <= W and 0 <= y1 < y2 <= H
    for line in yolo_label_lines(anns, SIZE):
        assert all(0.0 <= float(v) <= 1.0 for v in line.split()[1:])
    # The same objects, moved by the camera's warp: each shifted box holds the warped centre
    # of a normal box of its class (the scene's warp is drawn from the same image stream).
    rng = np.random.default_rng(0)
    dscene = sample_domain_scene(rng, SIZE, NIGHT)
    assert not np.allclose(dscene.homography, np.eye(3))
    moved = 0
    for a in anns:
        centres = [((b.box[0] + b.box[2]) / 2 / W, (b.box[1] + b.box[3]) / 2 / H) for b in normal_anns if b.label == a.label]
        assert centres, f"{a.label} is not in the normal image"
        moved += any(abs((a.box[0] + a.box[2]) / 2 / W - x) > 0.005 for x, _ in centres)
    assert moved, "the warp moves the labels"
    assert normal.shape == shifted.shape


def test_the_shift_changes_the_image_statistics_as_intended():
    normal = [render_dataset_image(1, "val", i, SIZE)[0] for i in range(4)]
    night = [render_dataset_image(1, "val", i, SIZE, NIGHT)[0] for i in range(4)]
    n_bgr = np.mean([_channel_means(im) for im in normal], 0)
    s_bgr = np.mean([_channel_means(im) for im in night], 0)
    assert s_bgr.mean() < 0.75 * n_bgr.mean(), "darker"
    assert s_bgr[2] / s_bgr[0] > 2.0 > n_bgr[2] / n_bgr[0], "an orange (sodium) cast: red far above blue"
    # Sensor noise: the difference between neighbouring pixels in flat dark areas rises.
    def roughness(im):
        g = im.astype(np.float32).mean(2)
        return float(np.median(np.abs(np.diff(g, axis=1))))
    assert np.mean([roughness(im) for im in night]) > 1.5 * np.mean([roughness(im) for im in normal])
    # The oblique warp shows the top corners outside the source image (dark), the bottom edge full.
    dscene = sample_domain_scene(np.random.default_rng(1), SIZE, NIGHT)
    white = np.full((SIZE[1], SIZE[0], 3), 255, np.uint8)
    warped, ids = warp_frame(white, np.zeros(white.shape[:2], np.int32), dscene)
    assert warped[:3, :3].max() < 20 and warped[:3, -3:].max() < 20 and warped[-4, 4:-4].min() > 200
    assert (ids[:3, :3] == -1).all() and (ids[-4, 4:-4] == 0).all()


def test_a_stronger_shift_is_darker_and_steeper():
    rng = lambda: np.random.default_rng(7)  # noqa: E731
    mild, strong = sample_domain_scene(rng(), SIZE, NIGHT), sample_domain_scene(rng(), SIZE, DomainShift("night_sodium", 1.5))
    top_width = lambda d: float(np.diff(d.warp_points([(0.0, 0.0), (1.0, 0.0)])[:, 0])[0])  # noqa: E731
    assert top_width(strong) < top_width(mild) < 1.0
    mild_img, _, _ = render_dataset_image(2, "train", 0, SIZE, NIGHT)
    strong_img, _, _ = render_dataset_image(2, "train", 0, SIZE, DomainShift("night_sodium", 1.5))
    assert strong_img.mean() < mild_img.mean()


def test_domain_names_are_checked_in_one_line():
    assert parse_domain(None) is None and parse_domain("normal") is None
    assert parse_domain("night_sodium:1.5") == DomainShift("night_sodium", 1.5)
    with pytest.raises(ValueError, match="unknown domain 'fog'"):
        parse_domain("fog")
    with pytest.raises(ValueError, match="strength"):
        parse_domain("night_sodium:9")


def test_shifted_scenario_clips_warp_frames_zones_and_truth_alike():
    cases = shifted_cases()
    assert [c.name for c in cases] == [f"{c.name}-night" for c in ci_cases() if c.name in SHIFTED_NAMES]
    case = next(c for c in cases if c.name == "littering-drop-night")
    frames = lambda: [f for _, f in zip(range(3), scenario_frames(case.scenario, case.fps, case.size, case.seed, case.domain))]  # noqa: E731
    first, again = frames(), frames()
    assert all(np.array_equal(a.image, b.image) and a.annotations == b.annotations for a, b in zip(first, again))
    plain = next(scenario_frames(case.scenario, case.fps, case.size, case.seed))
    assert first[0].image.mean() < 0.75 * plain.image.mean()
    dscene = clip_domain_scene(case.scenario, case.size, case.seed, case.domain)
    truth = ground_truth(case.scenario, case.fps, case.size, case.seed, {}, dscene)
    zone = np.array(truth["zones"]["pavement"])
    assert truth["domain"] == {"name": "night_sodium", "strength": 1.0}
    assert np.allclose(zone, dscene.warp_points(case.zones["pavement"].polygon), atol=1e-4)
    assert not np.allclose(zone, np.array(case.zones["pavement"].polygon))
    assert ((0 <= zone) & (zone <= 1)).all()
    assert "domain" not in ground_truth(case.scenario, case.fps, case.size, case.seed, {})  # normal sidecars as before
