"""Harvesting frames worth labelling from live cameras (issue 18, the worker's side).

``sampler`` decides per camera which analysed frames to keep and why (a state machine on
stream time: uncertain detections, flickering tracks, time of day, scene change; a daily
budget with per-reason caps); ``camera`` is the pipeline's hook that asks it; ``uploader``
encodes the raw frames off the analysis thread and posts them to ``POST /api/v1/harvest/frames``
(api.contract.harvest) through bounded, memory-only queues; ``service`` builds them from the
config. Kept free of imports here so the config (streams.config.harvest) can read the
sampler's defaults without a cycle.
"""
