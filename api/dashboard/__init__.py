"""The operations-centre dashboard: page templates, static files and the UI
strings (``i18n``). Served by :mod:`api.routes.dashboard`."""
