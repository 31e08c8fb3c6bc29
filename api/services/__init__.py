"""What the API does, apart from how a request reached it: the HTTP routes and the
Redis ingest both call these services (``api.services.filing``)."""
