"""Every camera of the cluster's config: the config file's (``redis.cameras_from``
``file`` or ``both``) and those in Redis (``redis`` or ``both``), reloaded when
``P:config-version`` moves.

A camera whose Redis config is refused keeps its last good config running (or
does not run, if it never had one), and is reported in ``/health`` until fixed.
"""

from __future__ import annotations

import logging

from streams.cluster.store import ClusterStore
from streams.config import CameraConfig, ConfigError, GridSightConfig, model_labels, parse_camera

log = logging.getLogger(__name__)


class CameraCatalog:
    def __init__(self, config: GridSightConfig, store: ClusterStore) -> None:
        assert config.redis is not None
        self._config = config
        self._store = store
        self._from = config.redis.cameras_from
        self._file_cameras = dict(config.cameras) if self._from in ("file", "both") else {}
        self._provided = model_labels(config)
        self.cameras: dict[str, CameraConfig] = dict(self._file_cameras)  # by id
        self.refused: dict[str, str] = {}  # id -> why its Redis config was refused
        self.version: str | None = None

    def reload(self, force: bool = False) -> bool:
        """Read Redis's cameras if the config version moved (or ``force``); True when
        :attr:`cameras` was replaced. Raises what the Redis client raises."""
        if self._from == "file":
            return False
        version = self._store.config_version()
        if version == self.version and not force:
            return False
        merged, refused = self._merge(self._store.cameras())
        for camera_id, why in refused.items():
            if self.refused.get(camera_id) != why:
                log.error("camera %s: config in Redis refused, %s: %s",
                          camera_id, "keeping the previous one" if camera_id in merged else "not running it", why)
        self.refused = refused
        if self.version is not None:
            log.info("camera config version %s -> %s: %d camera(s)", self.version, version, len(merged))
        self.version = version
        old, self.cameras = self.cameras, merged
        added = sorted(set(merged) - set(old))
        if added and old:
            log.info("new camera(s) in the config: %s", ", ".join(added))
        return True

    def _merge(self, raw: dict[str, dict]) -> tuple[dict[str, CameraConfig], dict[str, str]]:
        merged = dict(self._file_cameras)
        refused: dict[str, str] = {}
        for camera_id, body in raw.items():
            previous = self.cameras.get(camera_id)
            try:
                if "__invalid__" in body:
                    raise ConfigError(body["__invalid__"])
                merged[camera_id] = parse_camera(camera_id, body, self._config, self._provided)
            except ConfigError as exc:
                refused[camera_id] = str(exc)
                if previous is not None:
                    merged[camera_id] = previous  # keep the last good config running
        return merged, refused
