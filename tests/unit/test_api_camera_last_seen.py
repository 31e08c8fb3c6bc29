"""A camera's last_seen_at: the newest frame its worker reported (issue 13, section 7: it never moved).

Workers re-send the current status with ``last_frame_at`` at a bounded rate while frames arrive;
such a repeat (same state, reason and ``at``) moves last_seen_at but is no new history entry.
"""

from __future__ import annotations


T0 = 1_795_000_000.0


def test_api_last_seen_moves_on_repeats_which_stay_out_of_the_history(client):
    def put(**body):
        response = client.put("/api/v1/cameras/cam-1/status", json={"state": "online", "at": T0, **body})
        assert response.status_code == 200, response.text
        return response.json()

    first = put(last_frame_at=T0)
    assert first["last_seen_at"].startswith("2026-11-18T")
    later = put(last_frame_at=T0 + 30, details={"corrupt_frames": 1})
    assert later["last_seen_at"] != first["last_seen_at"] and later["details"] == {"corrupt_frames": 1}
    assert [h["state"] for h in later["history"]] == ["online"]  # the repeat is no new entry
    stale = put(last_frame_at=T0 + 10)  # a late heartbeat never moves it back
    assert stale["last_seen_at"] == later["last_seen_at"]
    body = client.put("/api/v1/cameras/cam-1/status", json={"state": "offline", "at": T0 + 60, "reason": "x"}).json()
    assert body["last_seen_at"] == later["last_seen_at"] and len(body["history"]) == 2
