# The README's two commands: `make demo` (the main job on the embedded default)
# and `make test` (plus `make test-fast`, its quick unit subset). Both install what
# they need and are safe to re-run.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export YOLO_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages: ffmpeg (test media), GStreamer's RTSP server (a real camera stand-in),
# chromium and a CJK font (the dashboard's browser tests and their Chinese screenshots).
APT_PACKAGES := ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav \
	chromium fonts-wqy-microhei mosquitto

.PHONY: demo test test-fast lint setup system-deps services venv labelstudio clean

# The database is kept between runs; `make demo DEMO_ARGS=--fresh` starts clean
# (any `gridsight demo` option: `make demo DEMO_ARGS="--api-port 8080"`).
DEMO_ARGS ?=
demo: setup
	$(VENV)/bin/gridsight demo $(DEMO_ARGS)

test: setup services lint labelstudio
	$(PY) -m pytest -q -p no:cacheprovider

# The layers of docs/architecture.md (.importlinter); tests/unit/test_architecture.py adds
# cycles and sizes, so test-fast checks them too.
lint: venv
	$(VENV)/bin/lint-imports --no-cache

# The unit tests without the `slow` ones: under two minutes on two cores, for the edit-test loop.
# `make test` (CI) still runs everything.
test-fast: setup services
	$(PY) -m pytest -q -p no:cacheprovider tests/unit -m "not slow"

setup: system-deps venv

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# The tests talk to a real Redis and PostgreSQL on loopback. Start them if they are
# installed but stopped; install them if absent. A PostgreSQL installed here is ours,
# so its superuser gets the password the tests use (trust-auth servers ignore it).
export GRIDSIGHT_TEST_PG_DSN ?= host=127.0.0.1 port=5432 user=postgres password=gridsight-test dbname=postgres
services:
	@SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
		command -v redis-server >/dev/null || { $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q redis-server redis-tools; }; \
		echo "starting Redis on 127.0.0.1:6379"; \
		$$SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no; \
	fi; \
	if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then \
		fresh=; \
		if ! ls -d /etc/postgresql/*/main >/dev/null 2>&1; then \
			$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q postgresql && fresh=1; \
		fi; \
		echo "starting PostgreSQL on 127.0.0.1:5432"; \
		$$SUDO pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | sort -V | tail -1) main start || true; \
		for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
		if [ -n "$$fresh" ]; then $$SUDO runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD 'gridsight-test'"; fi; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# torch first and pinned: the project's torch/torchvision pair, CPU-capable, from the local wheel cache where one exists.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# Label Studio for the labelling round trip's integration test (issue 18): its own virtualenv,
# since its Django and pydantic pins clash with the project's, and an empty database migrated
# once (var/labelstudio-template), which each test server copies instead of migrating anew.
# Offline at run time: the version check, analytics and Sentry are off.
LABEL_STUDIO_VERSION := 1.23.2
LS_VENV := var/labelstudio-venv
LS_OFFLINE := LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false SENTRY_DSN= FRONTEND_SENTRY_DSN=
labelstudio: var/labelstudio-template/label_studio.sqlite3

$(LS_VENV)/.installed-$(LABEL_STUDIO_VERSION):
	test -x $(LS_VENV)/bin/python || $(PYTHON) -m venv $(LS_VENV)
	$(LS_VENV)/bin/python -m pip install -q label-studio==$(LABEL_STUDIO_VERSION)
	touch $@

var/labelstudio-template/label_studio.sqlite3: $(LS_VENV)/.installed-$(LABEL_STUDIO_VERSION)
	rm -rf var/labelstudio-template.tmp
	$(LS_OFFLINE) $(LS_VENV)/bin/label-studio version --data-dir var/labelstudio-template.tmp >/dev/null
	rm -rf var/labelstudio-template && mv var/labelstudio-template.tmp var/labelstudio-template

clean:
	rm -rf $(VENV) var build *.egg-info
