"""The API's side of the event bus: a Redis Stream consumer group.

Enabled by ``GRIDSIGHT_REDIS_URL`` (:class:`api.settings.Settings`): :func:`api.main.create_app`
then runs :class:`StreamIngestor` threads (``GRIDSIGHT_INGEST_THREADS``, :class:`IngestPool`) per API process next to the HTTP server (several
API processes or replicas simply add consumers to the same group).

Delivery is at-least-once, storage exactly-once:

* ``XREADGROUP`` hands each entry to one consumer; the entry is ``XACK``-ed
  (and ``XDEL``-ed, so the stream does not grow without bound) only after the
  database transaction that stores it has committed.
* A consumer that dies between commit and ack leaves the entry pending; after
  ``ingest_claim_idle_s`` another consumer (or the restarted one) takes it with
  ``XAUTOCLAIM`` and handles it again. The filing service is the one the HTTP
  POST uses (:mod:`api.services.filing`), keyed by the message's idempotency key: a replay
  returns the stored order, a merge is recorded once. No duplicates.
* Database unavailable: the entry is not acked and is retried from this
  consumer's own pending list, with backoff; nothing is lost.
* A message that can never be stored (malformed JSON, schema violation, an
  idempotency key reused for another payload, or one that keeps failing
  ``ingest_max_deliveries`` times) goes to ``<stream>:dead`` with the reason
  and is acked, so it cannot block the stream.

Message format: see :mod:`streams.delivery.bus` (``kind``, ``key``, ``payload``,
``worker``, ``published_at``). Kinds: ``work_order``, ``event_end`` and ``evidence_follow_up``
(an order's files sent after it, e.g. an emergency order's clip: :meth:`FilingService.add_follow_up`).

Trust: whoever can XADD to the stream can file orders, like a worker token on
the HTTP side. Protect Redis with a password/ACL and keep it on the private
network.
"""

from api.ingest.consumer import IngestStatus, PermanentFailure, StreamIngestor
from api.ingest.pool import IngestPool, start_ingest

__all__ = ["IngestPool", "IngestStatus", "PermanentFailure", "StreamIngestor", "start_ingest"]
