# GridSight worker / API image for NVIDIA GPU hosts.
# Not buildable on the development machines (no Docker engine there); kept correct by reading.
#   docker build -t gridsight .
#   docker run --gpus all -v $PWD/site.yaml:/app/site.yaml gridsight worker --config /app/site.yaml
#   docker run -p 8000:8000 gridsight serve --host 0.0.0.0
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    YOLO_OFFLINE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# libgl1/libglib2.0-0: OpenCV (pulled in by ultralytics) links them; tini reaps children and forwards SIGTERM.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ffmpeg libgl1 libglib2.0-0 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv $VIRTUAL_ENV

WORKDIR /app
# torch first, in its own layer: it is most of the image and changes least.
RUN pip install torch==2.14.1 torchvision==0.29.1
COPY pyproject.toml README.md ./
COPY gridsight ./gridsight
COPY inference ./inference
COPY streams ./streams
COPY api ./api
RUN pip install .
COPY weights ./weights
COPY configs ./configs

RUN useradd --system --uid 10001 gridsight && mkdir -p /app/var && chown gridsight /app/var
USER gridsight
EXPOSE 8000
ENTRYPOINT ["tini", "--", "gridsight"]
CMD ["worker", "--config", "/app/configs/demo.yaml"]
