"""Security hygiene: no pickle, eval or exec in the code; debug mode cannot be
switched on by a request; no stack trace or filesystem path in any answer; the
artifact path comes from configuration only; every dependency is pinned, and
pip-audit checks the pins against the advisory database.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
import warnings
from pathlib import Path

import pytest
from conftest import need

from harness import ROOT
from leaks import assert_no_leak

CODE = [ROOT / "model", ROOT / "service", ROOT / "bench", ROOT / "train.py"]
LOCKS = [ROOT / "requirements.lock", ROOT / "requirements-dev.lock"]

# --- no pickle, eval or exec ---------------------------------------------------

BANNED_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve", "marshal", "joblib"}
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
UNSAFE_LOADERS = {("yaml", "load"), ("yaml", "unsafe_load"), ("torch", "load"), ("pd", "read_pickle"),
                  ("pandas", "read_pickle")}


def unsafe(source: str) -> list[str]:
    """What in this Python source could run code hidden in data."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            found += [f"import {n}" for n in names if n.split(".")[0] in BANNED_MODULES]
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in BANNED_CALLS:
                found.append(f"{f.id}()")
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and (f.value.id, f.attr) in UNSAFE_LOADERS:
                found.append(f"{f.value.id}.{f.attr}()")
            for kw in node.keywords:
                if kw.arg == "allow_pickle" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    found.append(f"allow_pickle={ast.unparse(kw.value)}")
    return found


def python_files() -> list[Path]:
    return sorted(p for c in CODE for p in ([c] if c.is_file() else c.rglob("*.py")))


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_pickle_eval_or_exec(path):
    assert unsafe(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("snippet", [
    "import pickle", "from pickle import loads", "import joblib", "eval('1')", "exec(code)",
    "np.load(f, allow_pickle=True)", "np.load(f, allow_pickle=flag)", "yaml.load(s)", "import dill.settings",
])
def test_the_scan_finds_them(snippet):
    assert unsafe(snippet)


def test_np_load_always_refuses_pickle():
    """Every np.load in the code says allow_pickle=False itself (not relying on the default)."""
    calls = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("np.load", "numpy.load"):
                kw = {k.arg: k.value for k in node.keywords}
                calls.append((path.name, isinstance(kw.get("allow_pickle"), ast.Constant)
                              and kw["allow_pickle"].value is False))
    assert calls and all(ok for _, ok in calls), calls


# --- debug mode, traces and paths ----------------------------------------------

DEBUG_PROBES = [
    ("GET", "/healthz?debug=1", {}, None),
    ("GET", "/?__debugger__=yes&cmd=resource&f=debugger.js", {}, None),
    ("GET", "/console", {}, None),
    ("GET", "/tag?__debugger__=yes&cmd=printpasteinfo&frm=0&s=x", {}, None),
    ("POST", "/tag", {"X-Debug": "1", "X-Flask-Debug": "1"}, {"text": "a", "debug": True}),
    ("POST", "/tag?debug=true&FLASK_DEBUG=1", {"Cookie": "__wzd1=x; debug=1"}, {"text": "a"}),
    ("POST", "/tag", {}, {"text": "a", "config": {"DEBUG": True}}),
]


def test_debug_cannot_be_switched_on_by_a_request(app, client):
    watched = ("DEBUG", "TESTING", "PROPAGATE_EXCEPTIONS", "ARTIFACT", "SECRET_KEY")
    before = {k: app.config.get(k) for k in watched}
    for method, path, headers, body in DEBUG_PROBES:
        resp = client.open(path, method=method, headers=headers, json=body)
        assert resp.status_code in (200, 404, 405, 422), (path, resp.status_code)
        assert_no_leak(resp.get_data())
    assert app.debug is False
    assert {k: app.config.get(k) for k in watched} == before


def test_no_trace_even_with_debug_on(make_app):
    """Even if an operator set NAMETAG_DEBUG, a failing view answers the generic 500."""
    app = make_app(DEBUG=True)

    def boom():
        raise RuntimeError(f"secret in {__file__}")

    app.add_url_rule("/boom", view_func=boom)
    resp = app.test_client().get("/boom")
    assert resp.status_code == 500 and resp.mimetype == "application/problem+json"
    assert_no_leak(resp.get_data())


@pytest.mark.parametrize("path", ["/model", "/openapi.json", "/metrics", "/healthz", "/readyz"])
def test_read_routes_show_no_filesystem_path(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert_no_leak(resp.get_data())


# --- the artifact comes from configuration only ------------------------------------

ARTIFACT_PROBES = [
    ("POST", "/tag", {}, {"text": "a", "artifact": "/tmp/evil"}),
    ("POST", "/tag", {}, {"inputs": [{"text": "a", "artifact": "../../etc"}]}),
    ("POST", "/tag?artifact=/tmp/evil&NAMETAG_ARTIFACT=/tmp/evil", {"X-Nametag-Artifact": "/tmp/evil"},
     {"text": "a"}),
    ("GET", "/model?artifact=/tmp/evil", {"X-Artifact": "/tmp/evil"}, None),
    ("GET", "/static/../artifacts/default/meta.json", {}, None),
    ("GET", "/artifacts/default/weights.npz", {}, None),
    ("GET", "/model/../../artifacts/default/meta.json", {}, None),
    ("PUT", "/model", {}, {"artifact": "/tmp/evil"}),
    ("POST", "/model", {}, {"path": "/tmp/evil"}),
]


def test_no_request_chooses_the_artifact(app, client):
    served = client.get("/model").get_json()
    for method, path, headers, body in ARTIFACT_PROBES:
        resp = client.open(path, method=method, headers=headers, json=body)
        data = resp.get_data()
        assert b"weights_sha256" not in data and b"PK\x03\x04" not in data, path  # no artifact file served
        assert_no_leak(data)
        if path.startswith("/tag") and resp.status_code == 422:
            assert resp.get_json()["errors"], path  # the unknown field is named and refused
    assert client.get("/model").get_json() == served
    assert app.config["ARTIFACT"] == str(ROOT / "artifacts" / "default")


def test_the_artifact_path_is_read_from_config_only():
    """In service/, only the configuration (config.py, read by create_app) touches the
    ARTIFACT setting, and the model loader never sees the request."""
    uses = {p.name for p in (ROOT / "service").glob("*.py") if "ARTIFACT" in p.read_text(encoding="utf-8")}
    assert uses <= {"__init__.py", "config.py", "predictor.py"}, uses
    predictor = (ROOT / "service" / "predictor.py").read_text(encoding="utf-8")
    assert not re.search(r"\brequest\b|\bflask\b", predictor), "predictor.py must not depend on the request"


# --- pinned and audited dependencies ----------------------------------------------

PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$")


def lock_lines() -> list[str]:
    return [line.strip() for lock in LOCKS for line in lock.read_text().splitlines()
            if line.strip() and not line.startswith("#") and not line.startswith("-r ")]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_dependency_is_pinned_exactly():
    lines = lock_lines()
    assert [line for line in lines if not PIN.match(line)] == []
    pinned = {canonical(line.split("==")[0]) for line in lines}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"]) + [d for extra in ("train", "test")
                                              for d in project["optional-dependencies"][extra]]
    names = {canonical(re.split(r"[<>=!~; \[]", d, maxsplit=1)[0]) for d in wanted}
    assert names - pinned == set()


# Known vulnerabilities we accept, each with the reason: {"GHSA-...": "why"}.
ACCEPTED: dict[str, str] = {}


class UnauditedPins(UserWarning):
    """Pins no advisory source could check: reported in the summary, not failed."""


def accepted(vuln: dict) -> bool:
    return vuln["id"] in ACCEPTED or bool(set(vuln.get("aliases", [])) & set(ACCEPTED))


def audit_verdict(report: dict, pins: list[str]) -> tuple[dict, dict[str, str]]:
    """From pip-audit's JSON report on `pins` ("name==version"): the vulnerabilities not
    accepted {(name, version, id): fix versions}, and the pins it did not audit {pin: why}."""
    deps = {canonical(d["name"]): d for d in report.get("dependencies", [])}
    found = {(d["name"], d["version"], v["id"]): v.get("fix_versions") for d in deps.values()
             for v in d.get("vulns", []) if not accepted(v)}
    unaudited = {}
    for pin in pins:
        d = deps.get(canonical(pin.split("==")[0]))
        if d is None or "skip_reason" in d:
            unaudited[pin] = d["skip_reason"] if d else "not in pip-audit's report"
    return found, unaudited


def test_audit_verdict():
    vuln = {"id": "GHSA-x", "fix_versions": ["2.0"], "aliases": ["CVE-1"]}
    assert audit_verdict({"dependencies": [{"name": "a", "version": "1", "vulns": [vuln]}]}, ["a==1"])[0] == {
        ("a", "1", "GHSA-x"): ["2.0"]}
    assert audit_verdict({"dependencies": [{"name": "A_b", "version": "1", "vulns": []}]}, ["a-b==1"]) == ({}, {})
    skipped = {"dependencies": [{"name": "a", "skip_reason": "not found"}, {"name": "b", "version": "2", "vulns": []}]}
    assert audit_verdict(skipped, ["a==1", "b==2"]) == ({}, {"a==1": "not found"})
    assert audit_verdict({}, ["c==3"]) == ({}, {"c==3": "not in pip-audit's report"})


def pypi_advisories(name: str, version: str) -> list[str] | None:
    """Advisory ids PyPI lists for name==version, or None when it cannot say.

    PyPI's project JSON lists the known vulnerabilities (from OSV) of the *latest*
    release; it answers where the per-version endpoint that pip-audit uses does not.
    """
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=20) as r:
            data = json.load(r)
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError):
        return None
    if data.get("info", {}).get("version") != version:
        return None
    return [v["id"] for v in data.get("vulnerabilities", []) if not accepted(v)]


@pytest.mark.slow  # asks PyPI's advisory database about every pin
@pytest.mark.filterwarnings("default::test_security.UnauditedPins")  # reported, not an error
def test_every_pin_that_can_be_audited_has_no_known_vulnerability(tmp_path, record_property):
    """pip-audit on every exact pin of both locks (no resolution, no install); a pin it
    could not check is checked against PyPI's advisory list when it is its project's
    latest release. Any known vulnerability not in ACCEPTED fails. The pins that no
    source could check are reported (an UnauditedPins warning in the summary, and the
    test's "unaudited" property), not failed; when none could be checked, the advisory
    sources did not answer: skipped here, failed in CI (conftest.need)."""
    from concurrent.futures import ThreadPoolExecutor

    pins = lock_lines()
    reqs = tmp_path / "pins.txt"
    reqs.write_text("\n".join(pins) + "\n")
    cmd = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--progress-spinner", "off",
           "--format", "json", "-r", str(reqs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        report = {}
    found, unaudited = audit_verdict(report, pins)
    assert not found, f"known vulnerabilities in the locked dependencies: {found}"
    with ThreadPoolExecutor(8) as pool:  # what pip-audit could not check, from PyPI's latest-release list
        latest = dict(zip(unaudited, pool.map(lambda pin: pypi_advisories(*pin.split("==")), unaudited)))
    found = {pin: ids for pin, ids in latest.items() if ids}
    assert not found, f"PyPI lists advisories for these pins: {found}"
    left = {pin: why for pin, why in unaudited.items() if latest[pin] is None}
    record_property("audited", len(pins) - len(left))
    record_property("unaudited", sorted(left))
    if len(left) == len(pins):
        detail = (proc.stderr.strip().splitlines() or [""])[-1] if not report else next(iter(left.values()))
        need("an advisory database", f"neither pip-audit nor PyPI could check any of the {len(pins)} pins ({detail})")
    if left:
        print(f"FIGURES audit: {len(pins) - len(left)} of {len(pins)} pins checked, none with a known vulnerability; "
              f"not checked: {', '.join(sorted(left))}")
        warnings.warn(UnauditedPins(f"{len(left)} of {len(pins)} pins could not be audited (not found in the "
                                    f"advisory database pip-audit asks, and not their project's latest release "
                                    f"on PyPI): {', '.join(sorted(left))}"))
