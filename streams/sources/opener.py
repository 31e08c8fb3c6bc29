"""Opening a camera's container: PyAV options by scheme, and hardware decoding.

``hwaccel="cuda"`` (or ``"auto"``) decodes on NVDEC when a CUDA device is really
there; otherwise, or when the hardware decoder fails to open, the camera is
decoded in software, with one log line saying why.
"""

from __future__ import annotations

import functools
import logging
import os
import sys

import av

from api.contract.redact import redact_text

# Logged under the source's name: operators filter camera logs by one logger.
log = logging.getLogger("streams.sources.source")


class ContainerOpener:
    """Opens one camera's URL with ``av.open``, on hardware when asked for and present.

    Holds the URL privately (only redacted text leaves it), and remembers, for the
    camera's life, a hardware decoder that failed to open (software from then on)."""

    def __init__(self, camera_id: str, url: str, options, *, is_live: bool) -> None:
        self.camera_id = camera_id
        self.__url = url
        self._options = options  # the source's SourceOptions
        self._is_live = is_live
        self.hwaccel_in_use: str | None = None  # "cuda" once a hardware decoder opened
        self._refused = False  # a hardware open failed: software from then on
        self._logged = False  # the reason hardware decoding is not used was logged

    def open(self):
        """The open container; raises what ``av.open`` raises (in software as well)."""
        opts = self._options
        hwaccel = self._hwaccel()
        timeout = (opts.open_timeout_s, opts.read_timeout_s)
        try:
            return av.open(self.__url, options=self._av_options(), timeout=timeout, **hwaccel)
        except Exception as exc:
            if not hwaccel:
                raise
            log.warning("camera %s: hardware decoding (%s) failed to open (%s); decoding in software",
                        self.camera_id, opts.hwaccel, redact_text(repr(exc), [self.__url]))
            self._refused = True
            self.hwaccel_in_use = None
            return av.open(self.__url, options=self._av_options(), timeout=timeout)

    def _av_options(self) -> dict[str, str]:
        if not self._is_live:
            return {}
        # Socket-level timeout (microseconds) as a backstop to PyAV's interrupt callback.
        sock_us = str(int(max(self._options.open_timeout_s, self._options.read_timeout_s) * 1e6))
        if self.__url.lower().startswith(("rtsp://", "rtsps://")):
            # TCP: UDP through NAT/4G loses packets and smears frames; 1 s of probing
            # instead of 5 s gets the first frame out sooner.
            return {"rtsp_transport": "tcp", "timeout": sock_us, "analyzeduration": "1000000"}
        return {"timeout": sock_us}

    def _hwaccel(self) -> dict:
        """``{"hwaccel": HWAccel}`` for av.open when hardware decoding is asked for and
        present; otherwise {} (with the reason logged once)."""
        wanted = self._options.hwaccel
        if not wanted or self._refused:
            return {}
        device_type = "cuda" if wanted == "auto" else wanted
        why = _hwaccel_missing(device_type)
        if why:
            if not self._logged:
                self._logged = True
                log.info("camera %s: hardware decoding (%s) not used: %s; decoding in software",
                         self.camera_id, device_type, why)
            return {}
        from av.codec.hwaccel import HWAccel

        self.hwaccel_in_use = device_type
        return {"hwaccel": HWAccel(device_type=device_type, allow_software_fallback=True)}


@functools.lru_cache(maxsize=None)
def _hwaccel_missing(device_type: str) -> str | None:
    """Why ``device_type`` hardware decoding cannot run here, or None if it can (asked once per process)."""
    try:
        from av.codec.hwaccel import hwdevices_available
    except ImportError:
        return f"PyAV {av.__version__} has no hardware decoding support"
    if device_type not in hwdevices_available():
        return f"this FFmpeg build has no {device_type} device support"
    if device_type == "cuda":
        torch = sys.modules.get("torch")  # only if already loaded: a bare source must not pay for importing it
        if torch is not None:
            if not torch.cuda.is_available():
                return "no CUDA GPU is visible"
        elif not os.path.exists("/dev/nvidia0"):
            return "no NVIDIA GPU device (/dev/nvidia0)"
    return None
