# One image for the whole suite: every service's console script (`azotte-catalog`, …, `azotte-gateway`, `azotte`).
# One build and one scan per release; a Deployment picks its service by its command. Dependencies come from
# constraints.txt only. Build from the repository root: docker build -t azotte:<tag> .

# --- builder: generates the protobuf stubs and installs every package into /opt/azotte --------------------------
FROM python:3.11-slim-bookworm AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1 UV_LINK_MODE=copy
WORKDIR /src
COPY constraints.txt ./
RUN python -m venv /opt/tools \
 && /opt/tools/bin/pip install --no-cache-dir -c constraints.txt uv grpcio-tools \
 && python -m venv /opt/azotte
COPY protos/ protos/
COPY libs/ libs/
COPY services/ services/
# The stubs are generated here, as `make gen` does (without the type stubs only type checking needs).
RUN include="$(/opt/tools/bin/python -c 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))')" \
 && find protos -name '*.proto' -print0 | xargs -0 /opt/tools/bin/python -m grpc_tools.protoc -I protos -I "$include" \
      --python_out=libs/protos/src --grpc_python_out=libs/protos/src \
 && find libs/protos/src/azotte -mindepth 1 -type d -exec touch {}/__init__.py \;
RUN /opt/tools/bin/uv pip install --python /opt/azotte/bin/python -c constraints.txt --build-constraint constraints.txt \
      ./libs/protos ./libs/platform \
      ./services/catalog ./services/entitlement ./services/lifecycle ./services/payments \
      ./services/promotions ./services/metering ./services/gateway \
 && /opt/azotte/bin/python -c "import azotte.catalog.v1.catalog_pb2, azotte_gateway.entrypoints.main"

# --- runtime: the virtual environment on a slim Python, no build tools, an unprivileged user ---------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/azotte/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 azotte \
 && useradd --system --uid 10001 --gid azotte --home-dir /var/lib/azotte --create-home azotte
COPY --from=builder /opt/azotte /opt/azotte
USER 10001:10001
WORKDIR /var/lib/azotte
EXPOSE 50051 8080 9090
CMD ["azotte-gateway"]
