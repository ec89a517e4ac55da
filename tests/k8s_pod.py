"""Run the service as the Kubernetes Deployment runs it, minus Kubernetes: the container's
environment and filesystem, in a private mount and network namespace (root only).

    unshare --mount --net --propagation private python tests/k8s_pod.py SPEC.json

SPEC: {"env": {...}, "empty_dirs": [path, ...], "secret": {"dir": path, "files": {name: text}},
"port": int, "key": str}. The root filesystem is remounted read-only (readOnlyRootFilesystem),
each emptyDir is an empty tmpfs, the Secret a read-only tmpfs holding its files. Then
gunicorn starts with service/gunicorn.conf.py and exactly that environment; this waits for
/readyz, tags a text and reads /metrics with the key as a Bearer token, then without a key
on the API port and on the metrics port, sends SIGTERM and prints one JSON line: the
statuses, gunicorn's exit code and stderr, and the files written to the emptyDirs. Used by
tests/test_kubernetes.py; nothing here outlives the namespace.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 30  # s


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True)


def lay_out(spec: dict) -> None:
    """The pod's filesystem. Mount points that the image lacks are made on a tmpfs over
    their top directory (e.g. /run), itself read-only afterwards, never on the real disk."""
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    paths = [*spec["empty_dirs"], spec["secret"]["dir"]]
    scaffolds = sorted({"/" + Path(p).parts[1] for p in paths if not os.path.isdir(p)})
    for top in scaffolds:
        mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", top)
    for p in paths:
        os.makedirs(p, exist_ok=True)
        mount("-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", p)
    for name, text in spec["secret"]["files"].items():
        Path(spec["secret"]["dir"], name).write_text(text)
    mount("-o", "remount,ro", spec["secret"]["dir"])
    for top in scaffolds:
        mount("-o", "remount,ro", top)
    mount("-o", "remount,bind,ro", "/")


def request(port: int, method: str, path: str, key: str | None, body: dict | None = None) -> int:
    """The status of one request (with the key as a Bearer token, if any); 0 if nothing answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = conn.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        conn.close()


def main(spec: dict) -> dict:
    lay_out(spec)
    writable_root = os.access(ROOT, os.W_OK)  # False on a read-only mount, even for root
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **spec["env"]}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "service/gunicorn.conf.py",
                               "service:create_app()"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    port, key = spec["port"], spec["key"]
    statuses = {}
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while (ready := request(port, "GET", "/readyz", key)) != 200 and time.monotonic() < deadline:
            if server.poll() is not None:
                break
            time.sleep(0.05)  # polling for the event (the first 200), bounded by READY_TIMEOUT
        statuses["/readyz"] = ready
        statuses["/healthz"] = request(port, "GET", "/healthz", key)
        text = {"text": "Harry Potter met Hermione Granger."}
        statuses["/tag"] = request(port, "POST", "/tag", key, text)
        statuses["/metrics"] = request(port, "GET", "/metrics", key)
        statuses["/tag without a key"] = request(port, "POST", "/tag", None, text)
        statuses["metrics port, no key"] = request(int(spec["env"]["NAMETAG_METRICS_PORT"]), "GET", "/metrics", None)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            _, stderr = server.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    written = sorted(str(p) for d in spec["empty_dirs"] for p in Path(d).rglob("*"))
    return {"statuses": statuses, "exit": server.returncode, "stderr": stderr,
            "writable_root": writable_root, "written": written}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(Path(sys.argv[1]).read_text()))))
