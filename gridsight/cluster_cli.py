"""`gridsight cluster status|push|remove`: look at and feed a running cluster.

* ``status``: live workers (capacity, cameras held) and every lease.
* ``push --config site.yaml``: validate the file's cameras (with the file's
  models, like a worker does) and write them to ``<prefix>:cameras``, bumping
  the config version: running workers pick the change up at their next tick
  (new cameras are assigned, edited zones/rules reload in place, a changed URL
  restarts only that camera). ``--replace`` also removes cameras not in the file.
* ``remove CAMERA...``: delete cameras from the Redis config.
"""

from __future__ import annotations

import json
import os
import sys
import time

DEFAULT_PREFIX = "gridsight"


def _target(args):
    """(config or None, redis url, prefix)."""
    config = None
    if args.config:
        from streams.config import load_config

        config = load_config(args.config, env=os.environ, check_models=args.action == "push")
    url = args.redis_url or (config.redis.url if config is not None and config.redis is not None else None)
    prefix = args.prefix or (config.redis.key_prefix if config is not None and config.redis is not None else DEFAULT_PREFIX)
    return config, url, prefix


def run_cluster_command(args) -> int:
    from streams.config import ConfigError

    try:
        config, url, prefix = _target(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not url:
        print("error: no Redis URL (give --redis-url, GRIDSIGHT_REDIS_URL or a config with a redis section)", file=sys.stderr)
        return 2
    import redis

    from streams.delivery.bus import make_redis
    from streams.cluster.store import ClusterStore
    from api.contract.redact import redact_url

    store = ClusterStore(make_redis(url), prefix, lease_ttl_s=1.0)
    try:
        if args.action == "status":
            return _status(store, args.json)
        if args.action == "push":
            if config is None:
                print("error: push needs --config", file=sys.stderr)
                return 2
            cameras = {cid: c.model_dump(mode="json", exclude_defaults=False) for cid, c in config.cameras.items()}
            stale = sorted(set(store.cameras()) - set(cameras)) if args.replace else []
            version = store.put_cameras(cameras)
            if stale:
                version = store.delete_cameras(stale)
            print(f"pushed {len(cameras)} camera(s) to {prefix}:cameras on {redact_url(url)}"
                  f"{f', removed {len(stale)}' if stale else ''}; config version {version}")
            return 0
        if not args.cameras:
            print("error: remove needs camera ids", file=sys.stderr)
            return 2
        known = set(store.cameras())
        missing = sorted(set(args.cameras) - known)
        if missing:
            print(f"not in Redis (nothing to remove): {', '.join(missing)}", file=sys.stderr)
        present = [c for c in args.cameras if c in known]
        if not present:
            return 1
        version = store.delete_cameras(present)
        print(f"removed {len(present)} camera(s): {', '.join(present)}; config version {version}")
        return 0
    except redis.RedisError as exc:
        print(f"error: Redis at {redact_url(url)}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _status(store, as_json: bool) -> int:
    client = store.client
    now_ms = int(time.time() * 1000)
    workers = {}
    for wid, expires in client.zrange(store.workers_key, 0, -1, withscores=True):
        info = client.hget(store.info_key, wid)
        workers[wid] = {**(json.loads(info) if info else {}), "expires_in_s": round((expires - now_ms) / 1000, 1)}
    leases = {}
    for key in client.scan_iter(match=f"{store.prefix}:lease:*", count=1000):
        leases[key.split(":lease:", 1)[1]] = {"worker": client.get(key), "ttl_ms": client.pttl(key)}
    configured = sorted(store.cameras())
    report = {"workers": workers, "leases": leases, "redis_cameras": configured, "config_version": store.config_version()}
    if as_json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(f"{len(workers)} live worker(s), {len(leases)} lease(s), {len(configured)} camera(s) in Redis "
          f"(config version {report['config_version']})")
    for wid, info in sorted(workers.items()):
        held = sorted(c for c, lease in leases.items() if lease["worker"] == wid)
        print(f"  {wid}: capacity {info.get('capacity')}, holds {len(held)}: {', '.join(held) or '-'}")
    orphans = sorted(c for c, lease in leases.items() if lease["worker"] not in workers)
    if orphans:
        print(f"  leases of workers no longer alive (expire soon): {', '.join(orphans)}")
    return 0
