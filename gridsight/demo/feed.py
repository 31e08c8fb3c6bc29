"""What the demo prints while it runs: every change to an order, one line each.

It follows the API's live feed (`/api/v1/events/stream`, one Server-Sent Event per
timeline entry, the same feed the dashboard uses), so a repeat merged into an open
order, the camera's END (the zone is empty again), a camera re-check and every move
made on the dashboard show up in the terminal as they happen, not only new orders."""

from __future__ import annotations

import datetime as dt
import json
import queue
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import httpx

from inference import site_time

STREAM_PATH = "/api/v1/events/stream"


def parse_sse(lines: Iterable[str]) -> Iterator[tuple[str | None, dict]]:
    """(event id, data) for each message of a text/event-stream; comments and retry lines skipped."""
    entry_id, data = None, []
    for line in lines:
        if line == "":
            if data:
                yield entry_id, json.loads("\n".join(data))
            entry_id, data = None, []
        elif line.startswith("id:"):
            entry_id = line[3:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


class EventFeed:
    """The API's live feed, read in a thread; ``drain()`` hands over what arrived.

    ``start()`` returns once the API has fixed the stream's starting point, so
    nothing made after it (the worker starts later) is missed; a dropped connection
    is resumed after the last entry seen."""

    def __init__(self, api_url: str, retry_s: float = 1.0) -> None:
        self._url = f"{api_url}{STREAM_PATH}"
        self._retry_s = retry_s
        self._queue: queue.Queue[dict] = queue.Queue()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._client = httpx.Client(timeout=httpx.Timeout(5.0, read=60.0))  # the feed sends a keep-alive every 15 s
        self._thread = threading.Thread(target=self._run, name="demo-feed", daemon=True)
        self.last_id: int | None = None

    def start(self, timeout_s: float = 15.0) -> "EventFeed":
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the API's live feed {self._url} did not open within {timeout_s:.0f}s")
        return self

    def drain(self) -> list[dict]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def stop(self) -> None:
        self._stop.set()
        self._client.close()  # unblocks the reading thread
        self._thread.join(3.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            params = {} if self.last_id is None else {"after_id": self.last_id}
            try:
                with self._client.stream("GET", self._url, params=params) as response:
                    response.raise_for_status()
                    self._read(response.iter_lines())
            except Exception:  # noqa: BLE001 -- API restarting, stopping, or the client closed: retry or end
                if self._stop.wait(self._retry_s):
                    return

    def _read(self, lines) -> None:
        def opened():
            for line in lines:
                if line.startswith("retry:"):
                    self._ready.set()  # sent after the API fixed where the stream starts
                yield line

        for entry_id, message in parse_sse(opened()):
            if entry_id and entry_id.isdigit():
                self.last_id = int(entry_id)
            self._queue.put(message)


def _clock(iso: str, zone: dt.tzinfo) -> str:
    """HH:MM:SS of an API timestamp (UTC) on the site's clock (docs/time.md)."""
    return site_time.clock_text(iso, zone)


def _site(iso: str | None, zone: dt.tzinfo) -> str:
    """'2026-12-02 14:00:00': an API timestamp on the site's clock, dated."""
    return site_time.clock_text(iso, zone, date=True) if iso else "-"


def _order_lines(order: dict, api_url: str, zone: dt.tzinfo) -> str:
    kinds = Counter(e["kind"] for e in order.get("evidence", []))
    evidence = ", ".join(f"{n} {kind}" if n > 1 else kind for kind, n in kinds.items()) or "none"
    return (
        f"\n>>> NEW WORK ORDER {order['order_no']}  [{order['category_code']} {order['category_name']}]  "
        f"priority={order['priority']}"
        f"\n    camera={order['camera_id']} zone={order['zone_id']} labels={','.join(order['labels'])} "
        f"confidence={order['confidence']:.2f} detected_at={_site(order['detected_at'], zone)} "
        f"deadline={_site(order['deadline_at'], zone)}"
        f"\n    evidence: {evidence}; open it: {api_url}/dashboard/orders/{order['id']}\n"
    )


def _change_line(entry: dict, order: dict, tz: dt.tzinfo) -> str:
    """One line for any timeline entry but 'created'."""
    action, no, zone = entry["action"], order["order_no"], order["zone_id"]
    moved = f"{entry['from_status']} -> {entry['to_status']}" if entry.get("to_status") else ""
    data = entry.get("data") or {}
    if action == "merged":
        conf = data.get("confidence")
        seen = f", confidence {conf:.2f}" if isinstance(conf, (int, float)) else ""
        return (f"repeat     {no}: seen again in {zone}{seen}; merged into the open order "
                f"({entry.get('reason') or 'repeat sighting'}), no new order")
    if action == "event_end":
        # Only recorded: the order was not waiting for a re-check ('feedback') when the END came.
        return (f"END        {no}: the camera sees {zone} empty again; recorded on the order, which does not "
                f"change (a camera re-check counts only while an order waits in 'feedback')")
    if action == "camera_recheck":
        return f"verified   {no}: the camera sees {zone} empty again: {moved}, the frame kept as proof"
    if action == "recurrence":
        what = f"the problem came back after closure: {moved}" if moved else (entry.get("reason") or "recurred")
        return f"recurrence {no}: {what}"
    if action == "transition":
        why = f" ({entry['reason']})" if entry.get("reason") else ""
        return f"status     {no}: {moved} by {entry['actor']}{why}"
    if action == "overdue":
        return f"overdue    {no}: past its deadline {_site(order['deadline_at'], tz)}"
    detail = "; ".join(x for x in (moved, entry.get("reason") or "") if x)
    return f"{action:<10} {no}: by {entry['actor']}" + (f": {detail}" if detail else "")


@dataclass
class FeedPrinter:
    """Prints each feed message and counts them in the worker's words (streams.runtime's last line)."""

    api_url: str
    counts: Counter = field(default_factory=Counter)
    zone: dt.tzinfo = field(default_factory=site_time.site_zone)  # the site's clock (GRIDSIGHT_SITE_TIMEZONE)

    def show(self, message: dict) -> str:
        entry, order = message["entry"], message["work_order"]
        if entry["action"] == "created":
            self.counts["orders"] += 1
            return _order_lines(order, self.api_url, self.zone)
        if entry["action"] == "merged" or (entry["action"] == "recurrence" and entry.get("to_status")):
            self.counts["repeats"] += 1
        elif entry["action"] in ("event_end", "camera_recheck"):
            self.counts["ends"] += 1
        else:
            self.counts["changes"] += 1
        return f"  {_clock(entry['at'], self.zone)} {_change_line(entry, order, self.zone)}"

    def summary(self) -> str:
        """In the worker's words (OutboxPusher.delivered_summary), plus what people did on the dashboard."""
        c = self.counts
        return (f"{c['orders']} order(s), {c['repeats']} repeat(s) merged into open orders, "
                f"{c['ends']} END(s) (zone empty again), {c['changes']} other change(s)")
