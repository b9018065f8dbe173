# syntax=docker/dockerfile:1
# The stage image: one image, four processes, chosen by the pod's command:
#   python -m weft.discovery | weft.posture | weft.detect | weft.enforce
# and the sensor issuer's (python -m weft.sensor.issuer, deploy/base/issuer/).
# Build from the repository root (the context is the repository; see /.dockerignore):
#   docker build -f deploy/images/stage.Dockerfile -t weft-stage:0.1.0 .
# Written to build, not built here: CI has no container engine. tests/deploy checks
# that every file it copies exists and every command it runs is real.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: generate the protobuf code (make proto), install weft into a venv ------
FROM ${PYTHON_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends make \
 && rm -rf /var/lib/apt/lists/*
# protoc runs from its own venv; only /opt/weft reaches the final image
RUN python -m venv /opt/protoc \
 && /opt/protoc/bin/pip install --no-cache-dir --disable-pip-version-check "grpcio-tools>=1.85"
WORKDIR /src
COPY pyproject.toml Makefile ./
COPY proto/ proto/
COPY services/ services/
RUN make proto VENV=/opt/protoc
# The wheel carries the code `make proto` just wrote; [postgres] adds psycopg, the
# driver for WEFT_DB_URL=postgresql+psycopg://... (the production store).
RUN python -m venv /opt/weft \
 && /opt/weft/bin/pip install --no-cache-dir --disable-pip-version-check ".[postgres]" \
 && cd / \
 && /opt/weft/bin/python -c "import weft.v1.sensor_pb2_grpc, weft.v1.bus_pb2, psycopg" \
 && for stage in discovery posture detect enforce; do \
      /opt/weft/bin/python -m "weft.$stage" --help >/dev/null || exit 1; \
    done \
 && /opt/weft/bin/python -m weft.sensor.issuer --help >/dev/null

# --- runtime: the venv and nothing else, as an unprivileged user ---------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 weft \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin weft
COPY --from=build /opt/weft /opt/weft
ENV PATH=/opt/weft/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEFT_DATA_DIR=/var/lib/weft
USER 10001:10001
EXPOSE 8080 50051
CMD ["python", "-m", "weft.discovery", "--help"]
