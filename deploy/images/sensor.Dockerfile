# syntax=docker/dockerfile:1
# The sensor image: `weft sensor --source ebpf` with Debian 12's bcc (python3-bpfcc).
# bcc compiles the probes against the node's own kernel headers, which the
# DaemonSet mounts from the host (/lib/modules and /usr/src, read-only): no image can
# carry the headers of every node kernel on EKS, AKS and GKE.
# Build from the repository root (the context is the repository; see /.dockerignore):
#   docker build -f deploy/images/sensor.Dockerfile -t weft-sensor:0.1.0 .
# Written to build, not built here: CI has no container engine. tests/deploy checks
# that every file it copies exists and every command it runs is real.

ARG DEBIAN_IMAGE=debian:12-slim

# --- build: generate the protobuf code (make proto), install weft into a venv ------
# Debian's own python3 (3.11), so the venv runs on the runtime stage's interpreter
# and sees Debian's bcc module.
FROM ${DEBIAN_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv make ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/protoc \
 && /opt/protoc/bin/pip install --no-cache-dir --disable-pip-version-check "grpcio-tools>=1.85"
WORKDIR /src
COPY pyproject.toml Makefile ./
COPY proto/ proto/
COPY services/ services/
RUN make proto VENV=/opt/protoc
# the wheel carries the code `make proto` just wrote (weft.common's package data)
RUN python3 -m venv /opt/weft \
 && /opt/weft/bin/pip install --no-cache-dir --disable-pip-version-check .

# --- runtime: Debian's bcc and the venv --------------------------------------------------
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-bpfcc \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/weft /opt/weft
# bcc's Python module lives in Debian's dist-packages: expose it alone to the venv,
# the way scripts/setup.sh does, then prove the sensor's imports resolve.
RUN mkdir -p /opt/weft/bcc-only \
 && ln -s /usr/lib/python3/dist-packages/bcc /opt/weft/bcc-only/bcc \
 && site="$(/opt/weft/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && echo /opt/weft/bcc-only > "$site/weft-bcc.pth" \
 && /opt/weft/bin/python -c "import bcc, weft.sensor.ebpf, weft.sensor.uplink, weft.v1.sensor_pb2_grpc" \
 && /opt/weft/bin/weft sensor --help >/dev/null
ENV PATH=/opt/weft/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEFT_DATA_DIR=/var/lib/weft
# root with a handful of capabilities (not privileged): see deploy/base/sensor/daemonset.yaml
USER 0:0
CMD ["weft", "sensor", "--help"]
