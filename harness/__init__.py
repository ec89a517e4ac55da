"""What the tests and the bench share about the processes they run and the figures
they take, defined once, by what it owns:

    harness.paths      where the repository, its data (and locate, for a file a
                       model records), its default artifact and gunicorn's
                       settings are; the seed sentence
    harness.processes  a real gunicorn on a free loopback port (start, wait until
                       ready, stop); free_port, http_status
    harness.clients    what the reliability checks aim at a server: a load of
                       kept-alive clients, a client trickling its body
    harness.procfs     gunicorn's workers, their memory, CPU time and open
                       connections, read from /proc
    harness.stats      one percentile

    from harness import SEED_TEXT, Gunicorn
    with Gunicorn(workers=2) as server:
        server.wait_ready()
        ...  # server.url, server.port, server.proc, server.workers()

Not part of the service (the Docker image leaves it out).
"""
from .clients import Answer, Load, Trickled, trickle, trickle_all
from .paths import DATA, DEFAULT_ARTIFACT, GUNICORN_CONF, ROOT, locate, SEED_LABELS, SEED_NAMES, SEED_TEXT, SEED_TOKENS
from .processes import Gunicorn, ServerError, free_port, http_status
from .procfs import connections, cpu_seconds, memory, rss_kib, status_kib, wait_workers, workers
from .stats import percentile

__all__ = ["Answer", "Load", "Trickled", "trickle", "trickle_all", "DATA", "DEFAULT_ARTIFACT", "GUNICORN_CONF", "ROOT", "locate", "SEED_LABELS", "SEED_NAMES", "SEED_TEXT",
           "SEED_TOKENS", "Gunicorn", "ServerError", "connections", "cpu_seconds", "free_port", "http_status",
           "memory", "percentile", "rss_kib", "status_kib", "wait_workers", "workers"]
