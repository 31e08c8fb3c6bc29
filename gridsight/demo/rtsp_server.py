#!/usr/bin/python3
"""A small RTSP server that relays pre-encoded H.264 mp4 clips, for tests and demos.

Run with Debian's python (it needs ``gi`` + GstRtspServer, which the venv lacks)::

    /usr/bin/python3 gridsight/demo/rtsp_server.py --port 8554 --mount /street=clip.mp4 [--loop]

Every clip is demuxed once at start-up into memory (the H.264 access units, no
re-encoding) and each client gets its own pipeline fed from that memory through
an ``appsrc``. Doing it this way rather than ``filesrc ! qtdemux`` per client:
  * looping is just "push the first access unit again with a time offset", with
    no seeks in a running RTSP media (which upset clients' RTP timestamps);
  * a missing or unreadable file fails before READY, with a clear message.
The payloader's sink syncs to the clock, so each client is served at the clip's
native (live) rate, and a new client always starts at the clip's first keyframe.

Prints ``READY rtsp://HOST:PORT`` on stdout once listening; exits 0 on
SIGTERM/SIGINT, 2 on bad arguments / unreadable files, 3 if the port is taken.
Must not import anything outside Debian's python + gi.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

LAUNCH = (
    "( appsrc name=src is-live=false format=time stream-type=stream "
    "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)


class Clip:
    """All access units of one mp4's first H.264 track, with their timestamps."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.caps: Gst.Caps | None = None
        # (data, pts, dts, duration, flags), relative to the first pts; kept as bytes because
        # a Gst.Buffer from Python cannot be copied (its boxed copy is just a ref).
        self.units: list[tuple[bytes, int, int, int, int]] = []
        self.duration = 0  # ns, first pts to the end of the last frame
        self._load()

    def _load(self) -> None:
        # byte-stream with SPS/PPS before each IDR: a client can start at any keyframe.
        pipeline = Gst.parse_launch(
            "filesrc name=f ! qtdemux ! h264parse config-interval=-1 "
            "! video/x-h264,stream-format=byte-stream,alignment=au "
            "! appsink name=sink sync=false emit-signals=false"
        )
        pipeline.get_by_name("f").set_property("location", self.path)
        sink = pipeline.get_by_name("sink")
        buffers: list[Gst.Buffer] = []
        pipeline.set_state(Gst.State.PLAYING)
        try:
            while True:
                sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
                if sample is None:
                    break
                self.caps = sample.get_caps()
                buffers.append(sample.get_buffer())
            msg = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
            if msg is not None:
                err, _debug = msg.parse_error()
                raise ValueError(err.message)
        finally:
            pipeline.set_state(Gst.State.NULL)
        if not buffers:
            raise ValueError("no H.264 video track found")
        none = Gst.CLOCK_TIME_NONE
        base = buffers[0].pts
        for buf in buffers:
            dts = buf.dts - base if buf.dts != none else none
            self.units.append(
                (buf.extract_dup(0, buf.get_size()), buf.pts - base, dts, buf.duration, buf.get_flags())
            )
        last = buffers[-1]
        frame_ns = last.duration if last.duration != none else Gst.SECOND // 25
        self.duration = last.pts - base + frame_ns


class ClipFactory(GstRtspServer.RTSPMediaFactory):
    """One unshared media per client, fed from a :class:`Clip`."""

    def __init__(self, clip: Clip, loop: bool, mount: str = "") -> None:
        super().__init__()
        self.clip = clip
        self.mount = mount
        self.loop = loop
        self.set_launch(LAUNCH)
        self.set_shared(False)  # every client starts from the beginning
        self.set_eos_shutdown(False)
        self.connect("media-configure", self._on_media_configure)

    def _on_media_configure(self, _factory, media) -> None:
        # One line per client session (media are not shared): tests count who opened which mount.
        print(f"rtsp_server: client session on {self.mount}", file=sys.stderr, flush=True)
        src = media.get_element().get_child_by_name("src")
        src.set_property("caps", self.clip.caps)
        state = {"index": 0, "offset": 0}  # per-client cursor, lives in the closure
        src.connect("need-data", self._on_need_data, state)

    def _on_need_data(self, src, _length, state) -> None:
        clip = self.clip
        if state["index"] >= len(clip.units):
            if not self.loop:
                src.emit("end-of-stream")
                return
            state["index"] = 0
            state["offset"] += clip.duration
        data, pts, dts, duration, flags = clip.units[state["index"]]
        state["index"] += 1
        buf = Gst.Buffer.new_wrapped(data)
        buf.pts = pts + state["offset"]
        if dts != Gst.CLOCK_TIME_NONE:
            buf.dts = dts + state["offset"]
        buf.duration = duration
        buf.set_flags(flags)
        src.emit("push-buffer", buf)


def parse_mount(text: str) -> tuple[str, str]:
    mount, sep, path = text.partition("=")
    if not sep or not mount.startswith("/") or not path:
        raise argparse.ArgumentTypeError(f"expected /mount=path/to/clip.mp4, got {text!r}")
    return mount, path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8554)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 for a demo)")
    parser.add_argument("--mount", action="append", type=parse_mount, required=True,
                        metavar="/NAME=FILE.mp4")
    parser.add_argument("--loop", action="store_true", help="restart each clip at its end")
    args = parser.parse_args(argv)

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(args.host)
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for mount, path in args.mount:
        if not os.path.isfile(path):
            print(f"rtsp_server: file not found for {mount}: {path}", file=sys.stderr)
            return 2
        try:
            clip = Clip(path)
        except (ValueError, GLib.Error) as exc:
            print(f"rtsp_server: cannot read {path} for {mount}: {exc}", file=sys.stderr)
            return 2
        mounts.add_factory(mount, ClipFactory(clip, args.loop, mount))

    try:
        # create_source binds the socket and raises (unlike attach()) when the port is taken.
        source = server.create_source(None)
    except GLib.Error as exc:
        print(f"rtsp_server: cannot listen on {args.host}:{args.port}: {exc.message}",
              file=sys.stderr)
        return 3
    source.attach(None)

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, signum, lambda *_: (loop.quit(), False)[1])

    print(f"READY rtsp://{args.host}:{server.get_bound_port()}", flush=True)
    loop.run()
    print("rtsp_server: stopping", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
