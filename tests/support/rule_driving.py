"""Driving a rule through simulated time with hand-made detections (the rule tests share it)."""

import numpy as np

from inference.detections import Detections

FRAME = (100, 100)


def frame(*objects):
    """objects: (label, track_id, box)"""
    if not objects:
        return Detections.empty()
    labels, ids, boxes = zip(*objects)
    return Detections(np.array(boxes, np.float32), np.full(len(objects), 0.8), np.array(labels, dtype=object), np.array(ids))


def run(rule, clock, seconds, *objects, step=0.5):
    events = []
    end = clock.now() + seconds
    while clock.now() < end - 1e-9:
        clock.advance(step)
        events += rule.update(frame(*objects), FRAME)
    return events


def phases(events):
    return [e.phase for e in events]
