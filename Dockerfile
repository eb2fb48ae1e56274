# Container image of azure-update-exporter: a small Python base, only the runtime dependencies
# (hash-checked from requirements.lock), a non-root user, the exporter as entrypoint.
#
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" -t azure-update-exporter:0.1.0 .
#
# REVISION becomes build_info's revision label and the OCI revision label (.git is not copied in).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY . .
ARG REVISION=""
# The full lock (build backend included) in a throwaway venv: builds the wheel with the locked
# setuptools and works out which locked packages the exporter needs at run time.
RUN python -m venv /build \
 && /build/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes -r requirements.lock \
 && AUE_BUILD_REVISION="${REVISION}" /build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /dist . \
 && /build/bin/pip install --no-cache-dir --no-deps /dist/*.whl \
 && /build/bin/python scripts/runtime-requirements requirements.lock > /dist/runtime-requirements.txt

FROM ${PYTHON_IMAGE}
ARG REVISION=""
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="azure-update-exporter" \
      org.opencontainers.image.description="Prometheus exporter for Azure update signals" \
      org.opencontainers.image.source="https://github.com/azure-update-exporter/azure-update-exporter" \
      org.opencontainers.image.documentation="https://github.com/azure-update-exporter/azure-update-exporter/blob/main/docs/deploy.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
COPY --from=build /dist /tmp/dist
RUN python -m venv /opt/azure-update-exporter \
 && /opt/azure-update-exporter/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r /tmp/dist/runtime-requirements.txt \
 && /opt/azure-update-exporter/bin/pip install --no-cache-dir --disable-pip-version-check --no-deps /tmp/dist/*.whl \
 && /opt/azure-update-exporter/bin/pip check \
 && rm -rf /tmp/dist \
 && groupadd --system --gid 65532 exporter \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin exporter
# MALLOC_ARENA_MAX=2 bounds RSS growth from many threads: glibc otherwise gives each fetch and
# HTTP thread its own malloc arena (up to 8 per core) and does not reuse memory freed in one arena
# in another (docs/architecture.md, measured). The chart sets it too.
ENV PATH=/opt/azure-update-exporter/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2
USER 65532:65532
EXPOSE 10061
ENTRYPOINT ["azure-update-exporter"]
CMD ["serve"]
