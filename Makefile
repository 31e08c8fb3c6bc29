# The README's two commands: `make demo` (the main job on the embedded default)
# and `make test`. Both install what they need and are safe to re-run.
SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
export YOLO_OFFLINE := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

# Debian packages: ffmpeg (test media), GStreamer's RTSP server (a real camera stand-in).
APT_PACKAGES := ffmpeg python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav

.PHONY: demo test setup system-deps venv clean

demo: setup
	$(VENV)/bin/gridsight demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

setup: system-deps venv

system-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	# torch first and pinned: the project's torch/torchvision pair, CPU-capable, from the local wheel cache where one exists.
	$(PY) -m pip install -q torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -q -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) var build *.egg-info
