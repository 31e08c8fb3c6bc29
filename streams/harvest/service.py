"""The worker's harvesting, built from its config: one uploader, one harvester per camera that harvests.

:class:`HarvestService` is made by the pipeline factory (streams.pipeline_factory) whenever some
camera could harvest (the global ``harvest.enabled``, a camera's own ``harvest.enabled``, or cluster
mode, where cameras arrive later); it hands each such camera a
:class:`~streams.harvest.camera.CameraHarvester` on the camera's stream clock, and starts the
uploader's thread with the first. ``harvest_problem``/``harvest_stats`` read the running
pipelines for /health.
"""

from __future__ import annotations

import logging
import random

from inference.clock import Clock
from streams.backoff import Backoff
from streams.config import CameraConfig, GridSightConfig
from streams.config.harvest import camera_harvest, sampler_settings
from streams.delivery.api_client import ApiClient
from streams.harvest.camera import CameraHarvester
from streams.harvest.sampler import HarvestSampler
from streams.harvest.uploader import HarvestSender, HarvestUploader

log = logging.getLogger(__name__)


class HarvestService:
    def __init__(self, config: GridSightConfig, sender: HarvestSender) -> None:
        self._config = config
        section = config.harvest
        self.uploader = HarvestUploader(
            sender, config.worker.name, queue_max_frames=section.queue_max_frames,
            spool_max_frames=section.spool_max_frames, batch_max_frames=section.batch_max_frames,
            jpeg_quality=section.jpeg_quality, backoff=Backoff(1.0, section.retry_max_s, rng=random.Random()),
        )

    @classmethod
    def from_config(cls, config: GridSightConfig) -> "HarvestService | None":
        """None when no camera can harvest (then nothing is built and no thread runs)."""
        wanted = config.harvest.enabled or config.redis is not None or any(
            camera.harvest is not None and camera.harvest.enabled for camera in config.cameras.values())
        if not wanted:
            return None
        client = ApiClient(config.api.url, token=config.api.token, timeout_s=config.api.timeout_s)
        return cls(config, client)

    def for_camera(self, camera_id: str, camera: CameraConfig, clock: Clock) -> CameraHarvester | None:
        """The camera's harvester on ``clock`` (its pipeline's stream clock); None when it does not harvest."""
        section = camera_harvest(self._config.harvest, camera.harvest)
        if not section.enabled:
            return None
        model = self._config.models[camera.model]
        sampler = HarvestSampler(sampler_settings(section, self._config.worker.site_timezone), clock)
        self.uploader.start()
        log.info("camera %s: harvesting frames worth labelling (budget %d a day, at least %gs apart)",
                 camera_id, section.budget_per_day, section.min_spacing_s)
        return CameraHarvester(camera_id, sampler, self.uploader, default_floor=model.confidence)

    def start(self) -> None:
        """A worker service (streams.runtime.Worker); the upload thread starts with the first harvesting camera."""

    def stop(self) -> None:
        """After the cameras have stopped: what is still in memory gets one bounded last try."""
        self.uploader.stop(flush_timeout_s=5.0)
        up = self.uploader
        log.info("harvest: sent %d frame(s) in %d batch(es) this run; %d dropped %s; %d not sent",
                 up.sent, up.batches_sent, sum(up.dropped.values()), dict(up.dropped) or "", up.pending)


def _uploaders(pipelines) -> list[HarvestUploader]:
    found = {}
    for pipeline in pipelines:
        harvester = getattr(pipeline, "harvest", None)
        if harvester is not None:
            found[id(harvester.uploader)] = harvester.uploader
    return list(found.values())


def harvest_problem(pipelines) -> str | None:
    """/health's ``harvest`` line: harvesting is on but the API refuses (or cannot take) the frames."""
    problems = [p for uploader in _uploaders(pipelines) if (p := uploader.problem())]
    return " | ".join(problems) if problems else None


def harvest_stats(pipelines) -> dict | None:
    """/health's ``harvest`` report: the uploader's counts and each harvesting camera's; None: none harvests."""
    uploaders = _uploaders(pipelines)
    if not uploaders:
        return None
    cameras = {p.camera_id: p.harvest.stats() for p in pipelines if getattr(p, "harvest", None) is not None}
    return {**uploaders[0].stats(), "cameras": cameras}
