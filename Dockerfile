# nametag: the person-name tagger served by gunicorn.
#   docker build -t nametag . && docker run -p 8000:8000 nametag
# The build stage turns requirements.lock into a virtualenv; the runtime stage gets
# only that virtualenv, model/, service/ and the default artifact, on a fresh base.
# (No "# syntax=" line: it would make BuildKit pull a frontend image from a registry.)

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# Wheels only: neither stage has a compiler, and none is needed. Not kept: pip and
# setuptools, the packages' own test suites, and .pyc files (about 12 MB; compiling
# at start costs ~0.2 s, once, since the app is preloaded before the fork).
RUN /opt/venv/bin/pip install --no-compile --only-binary=:all: -r /tmp/requirements.lock \
 && /opt/venv/bin/pip uninstall -q -y pip setuptools \
 && find /opt/venv -depth -type d -name tests -path '*/site-packages/*' -exec rm -rf {} +

FROM python:3.11-slim-bookworm
# A fixed numeric uid, so Kubernetes' runAsNonRoot can verify it and a mounted
# artifact can be made readable to it.
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin nametag
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY model/ model/
COPY service/ service/
COPY artifacts/default/ artifacts/default/

ENV PATH=/opt/venv/bin:$PATH PYTHONPATH=/app PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# One BLAS/OpenMP thread per worker: gunicorn's processes are the parallelism.
ENV OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# Two workers rather than "all cores": inside a container the process sees the host's
# cores, not a --cpus quota. Scale with WEB_CONCURRENCY or with replicas.
ENV HOST=0.0.0.0 PORT=8000 WEB_CONCURRENCY=2
# The service's defaults, spelled out so `docker inspect` shows every knob
# (tests/test_docker.py checks they still match the service's).
ENV NAMETAG_ARTIFACT=/app/artifacts/default \
    NAMETAG_LOG_LEVEL=info \
    NAMETAG_MAX_BODY_BYTES=1048576 \
    NAMETAG_MAX_CHARS=100000 \
    NAMETAG_MAX_TOKENS=10000 \
    NAMETAG_MAX_INPUTS=128 \
    NAMETAG_MAX_TOTAL_TOKENS=100000

USER 10001:10001
EXPOSE 8000
# Slim images have no curl: ask /readyz with the standard library.
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('PORT', '8000'), timeout=2)"]
# Exec form: gunicorn is PID 1 and receives docker stop's SIGTERM itself (graceful shutdown).
CMD ["gunicorn", "-c", "service/gunicorn.conf.py", "service:create_app()"]
