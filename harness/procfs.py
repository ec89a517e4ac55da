"""What the tests and the bench read of running processes from /proc: gunicorn's
workers, their memory, CPU time and open connections."""
from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path


def workers(pid: int) -> list[int]:
    """Direct children of pid, sorted (gunicorn's workers, for the master); [] once it is gone."""
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):
            out += [int(p) for p in task.read_text().split()]
    return sorted(out)


def wait_workers(master: int, n: int, timeout: float = 10, exclude=()) -> list[int]:
    """Wait until master has n worker processes, none of them in exclude."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = workers(master)
        if len(pids) == n and not set(pids) & set(exclude):
            return pids
        time.sleep(0.005)
    raise TimeoutError(f"{master} did not reach {n} workers in {timeout}s: {workers(master)}")


def status_kib(pid: int) -> dict[str, int]:
    """The kB fields of /proc/<pid>/status (VmRSS, VmHWM, ...), in KiB; {} once it is gone."""
    out = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if value.endswith(" kB"):
                out[key] = int(value.split()[0])
    return out


def rss_kib(pid: int) -> int:
    """Resident set size of pid in KiB (VmRSS)."""
    rss = status_kib(pid).get("VmRSS")
    if rss is None:
        raise ValueError(f"no VmRSS for {pid}")
    return rss


def memory(pid: int) -> dict[str, float]:
    """Peak RSS (VmHWM), RSS (VmRSS) and PSS (shared pages split between sharers), in MiB;
    the keys that could not be read are missing."""
    status = status_kib(pid)
    out = {k: status[k] / 1024 for k in ("VmHWM", "VmRSS") if k in status}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1]) / 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def connections(pid: int, port: int) -> set[int]:
    """Client ports of the TCP connections to `port` that process pid holds open
    (accepted, not yet closed): its socket fds matched against /proc/net/tcp."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    out = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        local, remote, state, inode = f[1], f[2], f[3], f[9]
        if int(local.split(":")[1], 16) == port and state != "0A" and inode in inodes:  # 0A: LISTEN
            out.add(int(remote.split(":")[1], 16))
    return out
