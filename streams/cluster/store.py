"""The Redis side of cluster mode: keys and atomic scripts, nothing else.

Keys (``P`` is ``redis.key_prefix``)::

    P:workers          ZSET  worker id -> heartbeat expiry (ms, Redis server time)
    P:workers:info     HASH  worker id -> {"name", "host", "pid", "capacity", "cameras", "started_at"}
    P:lease:<camera>   STRING worker id, PX lease_ttl  (SET NX to take, Lua renew/release only if ours)
    P:cameras          HASH  camera id -> camera config JSON (same schema as a file camera)
    P:config-version   STRING bumped on every change of P:cameras (`gridsight cluster` does it)
    P:wake             PUB/SUB channel: "look now" after a release, a leave or a config change
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import redis

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)

_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, w in ipairs(dead) do redis.call('HDEL', KEYS[2], w) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) end
local live = redis.call('ZRANGE', KEYS[1], 0, -1)
local out = {}
for _, w in ipairs(live) do
  table.insert(out, w)
  table.insert(out, redis.call('HGET', KEYS[2], w) or '')
end
return out
"""

# 1: renewed, 2: had expired and was free, taken again, 0: another worker holds it
_RENEW = """
local out = {}
for i, k in ipairs(KEYS) do
  local v = redis.call('GET', k)
  if v == ARGV[1] then
    redis.call('PEXPIRE', k, ARGV[2])
    out[i] = 1
  elseif not v then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    out[i] = 2
  else
    out[i] = 0
  end
end
return out
"""

_RELEASE = """
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    redis.call('DEL', k)
    n = n + 1
  end
end
return n
"""


class ClusterStore:
    """The Redis side of cluster mode: keys and atomic scripts, nothing else."""

    def __init__(self, client: redis.Redis, prefix: str, lease_ttl_s: float) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl_ms = int(lease_ttl_s * 1000)
        self.workers_key = f"{prefix}:workers"
        self.info_key = f"{prefix}:workers:info"
        self.cameras_key = f"{prefix}:cameras"
        self.version_key = f"{prefix}:config-version"
        self.wake_channel = f"{prefix}:wake"
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    def lease_key(self, camera_id: str) -> str:
        return f"{self.prefix}:lease:{camera_id}"

    def heartbeat(self, worker_id: str, info: dict) -> dict[str, dict]:
        """Write ours; return every live worker's info (ours included)."""
        flat = self._heartbeat(keys=[self.workers_key, self.info_key], args=[worker_id, self.ttl_ms, json.dumps(info)])
        out = {}
        for wid, raw in zip(flat[::2], flat[1::2]):
            try:
                out[wid] = json.loads(raw) if raw else {}
            except ValueError:
                out[wid] = {}
        return out

    def renew(self, worker_id: str, cameras: list[str]) -> dict[str, int]:
        if not cameras:
            return {}
        codes = self._renew(keys=[self.lease_key(c) for c in cameras], args=[worker_id, self.ttl_ms])
        return dict(zip(cameras, (int(c) for c in codes)))

    def acquire(self, worker_id: str, cameras: list[str]) -> list[str]:
        if not cameras:
            return []
        pipe = self.client.pipeline(transaction=False)
        for c in cameras:
            pipe.set(self.lease_key(c), worker_id, nx=True, px=self.ttl_ms)
        return [c for c, ok in zip(cameras, pipe.execute()) if ok]

    def release(self, worker_id: str, cameras: list[str]) -> int:
        if not cameras:
            return 0
        return int(self._release(keys=[self.lease_key(c) for c in cameras], args=[worker_id]))

    def owners(self, cameras: list[str]) -> dict[str, str | None]:
        if not cameras:
            return {}
        return dict(zip(cameras, self.client.mget([self.lease_key(c) for c in cameras])))

    def leave(self, worker_id: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.zrem(self.workers_key, worker_id)
        pipe.hdel(self.info_key, worker_id)
        pipe.execute()

    def wake(self, reason: str) -> None:
        self.client.publish(self.wake_channel, reason)

    def config_version(self) -> str | None:
        return self.client.get(self.version_key)

    def cameras(self) -> dict[str, dict]:
        """Camera id -> raw config; a value that is not JSON is reported as {"__invalid__": text}."""
        out = {}
        for cid, raw in self.client.hgetall(self.cameras_key).items():
            try:
                out[cid] = json.loads(raw)
            except ValueError as exc:
                out[cid] = {"__invalid__": f"not JSON: {exc}"}
        return out

    # -- used by `gridsight cluster` and tests: one change = one version bump
    def put_cameras(self, cameras: Mapping[str, dict]) -> int:
        pipe = self.client.pipeline(transaction=True)
        for cid, raw in cameras.items():
            pipe.hset(self.cameras_key, cid, json.dumps(raw, ensure_ascii=False))
        pipe.incr(self.version_key)
        version = pipe.execute()[-1]
        self.wake("config")
        return int(version)

    def delete_cameras(self, camera_ids: list[str]) -> int:
        pipe = self.client.pipeline(transaction=True)
        if camera_ids:
            pipe.hdel(self.cameras_key, *camera_ids)
        pipe.incr(self.version_key)
        version = pipe.execute()[-1]
        self.wake("config")
        return int(version)
