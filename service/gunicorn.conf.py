"""gunicorn settings for nametag: ``gunicorn -c service/gunicorn.conf.py 'service:create_app()'``.

Environment: HOST (127.0.0.1), PORT (8000), WEB_CONCURRENCY (workers, default:
the cores this process may use), NAMETAG_LOG_LEVEL (info), NAMETAG_METRICS_PORT
(unset: off; else the master serves /metrics there, on HOST, without an API key),
plus the app's NAMETAG_* variables. GUNICORN_CMD_ARGS overrides anything here.
"""
import atexit
import glob
import logging
import os
import shutil
import sys
import tempfile

from gunicorn import glogging

# numpy is imported only by the preloaded app, after this: one BLAS/OpenMP
# thread per worker, since the workers already fill the cores.
from model.threads import pin_threads

pin_threads(1)

# Prometheus multiprocess mode: each worker writes its metrics to files here.
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _prom_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    for _f in glob.glob(os.path.join(_prom_dir, "*.db")):  # stale files of a previous run
        os.remove(_f)
else:
    _prom_dir, _master = tempfile.mkdtemp(prefix="nametag-prometheus-"), os.getpid()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _prom_dir
    # atexit rather than on_exit: it also runs when the app refuses to start;
    # forked workers inherit it, hence the pid check.
    atexit.register(lambda: os.getpid() == _master and shutil.rmtree(_prom_dir, ignore_errors=True))

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or len(os.sched_getaffinity(0)))
# gthread (keep-alive, and /healthz answers while a thread tags) that listens only while
# it has a free thread, so a burst of connections spreads over the workers (service/worker.py)
worker_class = "service.worker.ThreadWorker"
threads = 2
preload_app = True  # the artifact is loaded once, before fork, and shared copy-on-write
timeout = 60  # a full-size request (1 MiB of short tokens) takes seconds, not a minute
graceful_timeout = 30  # SIGTERM: finish in-flight requests for up to 30 s
keepalive = 5
max_requests = 0
accesslog = None  # the app writes one JSON line per request instead
errorlog = "-"


class NoRequestData(logging.Filter):
    """What gunicorn's error log must not write, since it may quote a request: an
    exception's message given as a message or an argument (at debug level, "Ignored
    premature client disconnection. %s" gives NoMoreData, whose message holds the bytes
    read), and the reason after "Invalid request from ip=...: " (the request line or a
    header as received: a text in the query string, a key in a malformed header)."""

    INVALID = "Invalid request from ip="

    def filter(self, record):
        if isinstance(record.msg, BaseException):
            record.msg = type(record.msg).__name__
        elif isinstance(record.msg, str) and record.msg.startswith(self.INVALID):
            record.msg = record.msg.split(": ", 1)[0] + ": the request is refused with 400 (not shown: " \
                "it may quote the request)"
        if isinstance(record.args, tuple):
            record.args = tuple(type(a).__name__ if isinstance(a, BaseException) else a for a in record.args)
        return True


class Logger(glogging.Logger):
    """gunicorn's logger, writing no request data (NoRequestData) and no traceback
    with an exception's message or a message's arguments (service.requestlog.SafeFormatter):
    gunicorn's "Error handling request %s" would write the URL with its query string."""

    def setup(self, cfg):
        super().setup(cfg)
        from service.requestlog import SafeFormatter

        self.error_log.addFilter(NoRequestData())
        for handler in self.error_log.handlers:
            handler.setFormatter(SafeFormatter(self.error_fmt, self.datefmt))


logger_class = Logger
loglevel = os.environ.get("NAMETAG_LOG_LEVEL", "info").lower()
proc_name = "nametag"
control_socket_disable = True  # no $HOME/.gunicorn/gunicorn.ctl shared between instances


def pre_fork(server, worker):
    # The preloaded app's objects (about 44,000 the cyclic GC tracks: modules, the
    # model's tables) live as long as the worker: keep them out of the GC's full scans,
    # which cost every worker time and dirty pages it shares copy-on-write with the master.
    import gc

    gc.freeze()


def when_ready(server):
    # NAMETAG_METRICS_PORT: the master adds up the workers' metrics files and serves them
    # (prometheus_client's HTTP server, on a daemon thread) on HOST, with no API key, so a
    # scraper needs none and the main port's /metrics can need one.
    from service import config

    try:
        port = config.value(config.environ(), "METRICS_PORT")  # already checked by a preloaded app
    except config.ConfigError as e:
        _refuse(str(e))
    if port is None:
        return
    host = os.environ.get("HOST", "127.0.0.1")  # as bind's
    from prometheus_client import CollectorRegistry, multiprocess, start_http_server

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    try:
        server.nametag_metrics, _ = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        _refuse(f"cannot serve metrics on {host}:{port}: {e.strerror or e}")
    server.log.info("Metrics at: http://%s:%s/metrics (no API key)", host, port)


def post_fork(server, worker):
    metrics = getattr(server, "nametag_metrics", None)
    if metrics is not None:  # the master's listening socket: a worker neither serves nor holds it
        metrics.socket.close()


def _refuse(message):
    print(f"nametag: {message}", file=sys.stderr, flush=True)
    sys.exit(3)  # as service.create_app refuses a bad setting


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)

# A keep-alive connection stays with the worker that accepted it, and a client
# opening its connections at once (a proxy's upstream pool, a load generator)
# may find one worker taking them all while the other idles. As nginx's
# keepalive_requests does, every 25th request on a connection is answered with
# "Connection: close": the client reconnects, and the idle worker, whose main
# thread waits on the listening socket with nothing to do, accepts it first.
# A reconnect costs the worker tens of µs, against a millisecond per request.
KEEPALIVE_REQUESTS = 25


def pre_request(worker, req):
    worker.log.debug("%s request", req.method)  # gunicorn's default pre_request, less the path
    if req.req_number % KEEPALIVE_REQUESTS == 0:
        req.must_close = True
