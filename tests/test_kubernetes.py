"""The Kubernetes manifests (``deploy/kubernetes/``): valid against the Kubernetes API's
schemas (``kubernetes-validate``, which bundles them: offline), and agreeing with what
they run: the probes hit real routes, the ports are gunicorn's, the grace period covers
gunicorn's graceful timeout, the resources and the autoscaling target come from the
bench's figures (``bench/results.json``), and the figures quoted in the manifests'
comments and in docs/deploy.md are those. And gunicorn, run with exactly the container's
environment on a read-only root with the Deployment's mounts (``tests/k8s_pod.py``, root
only), serves and writes only into its emptyDirs.

Rendering the overlays needs ``kubectl`` (its built-in kustomize, offline); without it
those tests skip, saying so, and every file is still validated on its own. No test
deploys to a cluster: neither Debian nor PyPI packages one that runs here
(docs/deploy.md, *How the manifests are checked*).
"""
from __future__ import annotations

import ast
import copy
import functools
import hashlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from harness import GUNICORN_CONF, ROOT
from service import config

K8S = ROOT / "deploy" / "kubernetes"
BASE = K8S / "base"
DOCS = ROOT / "docs" / "deploy.md"
RESULTS = ROOT / "bench" / "results.json"
# The oldest Kubernetes the manifests are for (the preStop sleep action is on by default
# from 1.30), and the newest whose schemas kubernetes-validate bundles.
K8S_VERSIONS = ("1.30", ".".join(kubernetes_validate.latest_version().split(".")[:2]))
CUSTOM_KINDS = {"ServiceMonitor"}  # a CRD (Prometheus Operator): no schema in the API's set
# The service settings the manifests set that service/config.py does not list yet
# (API keys, metrics port, rate limits: being added to the service at the same time).
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(
    KUBECTL is None, reason="no kubectl to render the overlays (each file is still validated alone)")


# ---- loading

def load(path: Path) -> list[dict]:
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def resource_files(root: Path) -> list[Path]:
    """The resource files a kustomization (or component) lists, following directories;
    patches are left out (they are partial, and checked once rendered)."""
    kust = load(root / "kustomization.yaml")[0]
    files = []
    for entry in kust.get("resources", []) + kust.get("components", []):
        path = (root / entry).resolve()
        files += resource_files(path) if path.is_dir() else [path]
    return files


def all_resource_files() -> list[Path]:
    files = {f for kust in K8S.rglob("kustomization.yaml") for f in resource_files(kust.parent)}
    return sorted(files | {K8S / "secret.example.yaml"})


def by_kind(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


@functools.cache
def render(*sources: Path, components: tuple[Path, ...] = (), tmp_path: Path | None = None) -> list[dict]:
    """``kubectl kustomize`` of a directory, or of a throwaway kustomization of
    ``sources`` + ``components`` written in tmp_path (once per module run: read, never changed)."""
    if components or len(sources) > 1:
        (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({
            "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "resources": [os.path.relpath(s, tmp_path) for s in sources],  # kustomize wants them relative
            "components": [os.path.relpath(c, tmp_path) for c in components]}))
        sources = (tmp_path,)
    out = subprocess.run([KUBECTL, "kustomize", str(sources[0])], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"kubectl kustomize {sources[0]}: {out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def base() -> dict[tuple[str, str], dict]:
    return by_kind([d for f in resource_files(BASE) for d in load(f)])


@pytest.fixture(scope="module")
def deployment(base) -> dict:
    return base["Deployment", "nametag"]


@pytest.fixture(scope="module")
def container(deployment) -> dict:
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    return c


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS.read_text())


def env(container: dict) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in container["env"]}


def port(container: dict, name: str) -> int:
    return {p["name"]: p["containerPort"] for p in container["ports"]}[name]


def mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()
    return float(number) * {"Mi": 1, "Gi": 1024}[unit]


def selects(selector: dict, labels: dict) -> bool:
    return selector.items() <= labels.items()


# ---- what the manifests are checked against: gunicorn's config and the bench

def gunicorn_conf() -> dict:
    """graceful_timeout, the PORT and HOST defaults of ``bind``, and the environment
    variables ``workers`` reads, from service/gunicorn.conf.py's source (importing it
    would set PROMETHEUS_MULTIPROC_DIR in this process)."""
    tree = ast.parse(GUNICORN_CONF.read_text())
    assigned = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}

    def env_gets(node):
        return {call.args[0].value: (call.args[1].value if len(call.args) > 1 else None)
                for call in ast.walk(node)
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "os.environ.get"}

    return {"graceful_timeout": ast.literal_eval(assigned["graceful_timeout"]),
            "bind": env_gets(assigned["bind"]), "workers_env": set(env_gets(assigned["workers"]))}


def figures(results: dict, hpa: dict, deployment: dict) -> dict[str, str]:
    """Every figure the manifests' comments and docs/deploy.md quote, recomputed from
    bench/results.json and the manifests, as they are written there."""
    (c,) = deployment["spec"]["template"]["spec"]["containers"]
    cores = int(c["resources"]["limits"]["cpu"])
    target = hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] / 100
    cost = results["http"]["cost"]
    master, worker = cost["master"], max(cost["per_worker"], key=lambda w: w["Pss"])
    cells = results["http"]["cells"]
    cpu_us = cells["ours|1 sentence|16"]["worker_cpu_us_per_request"]
    per_core = 1e6 / cpu_us
    batch_us = cells["ours|64 sentences|16"]["worker_cpu_us_per_request"]
    batch_tokens = 64 * len(results["http"]["sentence"].split())
    tokens_per_core = batch_tokens / (batch_us / 1e6)
    busy = cores * target  # cores busy per pod at the target
    return {
        "master PSS": f"{master['Pss']:.1f} MiB", "worker PSS": f"{worker['Pss']:.1f} MiB",
        "PSS total": f"{master['Pss'] + cores * worker['Pss']:.1f} MiB",
        "master peak": f"{master['VmHWM']:.1f} MiB", "worker peak": f"{worker['VmHWM']:.1f} MiB",
        "no-sharing bound": f"{master['VmHWM'] + cores * worker['VmHWM']:.1f} MiB",
        "cold start": f"{results['cost']['cold_start']['ours']['median_s']:.2f} s",
        "CPU per request": f"{cpu_us:.1f} µs",
        "requests per core": f"{per_core:,.0f}",
        "pod at target": f"{busy * per_core:,.0f}",
        "pod saturated": f"{cores * per_core:,.0f}",
        "headroom": f"{1 / target:.2f} x",
        "example cores": f"{10_000 * cpu_us / 1e6:.2f} cores",
        "example replicas": f"{math.ceil(10_000 * cpu_us / 1e6 / busy)} replicas",
        "batch CPU per request": f"{batch_us:,.1f} µs",
        "tokens per core": f"{tokens_per_core:,.0f}",
        "tokens pod at target": f"{busy * tokens_per_core:,.0f}",
        "tokens example replicas": f"{math.ceil(1e6 / tokens_per_core / busy)} replicas",
    }


# ---- schemas

@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", all_resource_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_each_file_validates_against_the_kubernetes_schemas(path, version):
    docs = load(path)
    assert docs, f"{path}: no resource"
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(doc, version, strict=True)
        else:  # strict: an unknown or misspelt field fails too
            assert kubernetes_validate.validate(doc, version, strict=True) == version


def test_the_validator_catches_a_misspelt_field(deployment):
    broken = copy.deepcopy(deployment)
    (c,) = broken["spec"]["template"]["spec"]["containers"]
    c["readinessProbes"] = c.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinessProbes"):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)


@needs_kubectl
@pytest.mark.parametrize("overlay", ["base", "overlays/redis", "everything"])
def test_rendered_overlays_validate(overlay, tmp_path):
    if overlay == "everything":  # the base with every component
        docs = render(BASE, components=tuple(sorted((K8S / "components").iterdir())), tmp_path=tmp_path)
    else:
        docs = render(K8S / overlay)
    names = set(by_kind(docs))
    assert {("Deployment", "nametag"), ("Service", "nametag"), ("HorizontalPodAutoscaler", "nametag"),
            ("PodDisruptionBudget", "nametag"), ("NetworkPolicy", "nametag")} <= names
    if overlay != "base":
        assert {("Deployment", "nametag-redis"), ("Service", "nametag-redis")} <= names
    if overlay == "everything":
        assert ("ServiceMonitor", "nametag") in names
    if overlay == "overlays/redis":
        assert {d["metadata"].get("namespace") for d in docs} == {"nametag"}
    for doc in docs:
        if doc["kind"] not in CUSTOM_KINDS:
            for version in K8S_VERSIONS:
                kubernetes_validate.validate(doc, version, strict=True)


# ---- the facts that must agree with the service

def test_probes_are_the_services_health_routes(container, app):
    probes = {kind: container[kind]["httpGet"] for kind in ("startupProbe", "readinessProbe", "livenessProbe")}
    assert {kind: p["path"] for kind, p in probes.items()} == {
        "startupProbe": "/readyz", "readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    routes = {rule.rule: rule.methods for rule in app.url_map.iter_rules()}
    client = app.test_client()
    for p in probes.values():
        assert "GET" in routes[p["path"]]
        assert client.get(p["path"]).status_code == 200  # no API key: the probes send none
        assert p["port"] == "http"


def test_ports_are_gunicorns(base, container):
    conf = gunicorn_conf()
    e = env(container)
    assert port(container, "http") == int(e["PORT"]) == int(conf["bind"]["PORT"])
    assert "HOST" in conf["bind"] and e["HOST"] == "0.0.0.0"  # the pod's address, not loopback only
    service = base["Service", "nametag"]
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= {p["name"] for p in container["ports"]}


def test_metrics_port_is_the_configured_one(base, deployment, container):
    metrics = port(container, "metrics")
    assert metrics == int(env(container)["NAMETAG_METRICS_PORT"]) != port(container, "http")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == metrics and annotations["prometheus.io/path"] == "/metrics"
    service = base["Service", "nametag"]
    (monitor,) = load(K8S / "components" / "servicemonitor" / "servicemonitor.yaml")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    service_ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
    assert [service_ports[e["port"]] for e in monitor["spec"]["endpoints"]] == ["metrics"]


def test_grace_period_covers_prestop_and_gunicorns_graceful_timeout(deployment, container):
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    graceful = gunicorn_conf()["graceful_timeout"]
    assert pre_stop >= 1
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= pre_stop + graceful


def test_workers_follow_the_cpu_limit(container):
    (web_concurrency,) = [e for e in container["env"] if e["name"] == "WEB_CONCURRENCY"]
    ref = web_concurrency["valueFrom"]["resourceFieldRef"]
    assert ref["resource"] == "limits.cpu" and ref["containerName"] == container["name"]
    assert ref.get("divisor", "1") == "1"
    assert "WEB_CONCURRENCY" in gunicorn_conf()["workers_env"]
    assert container["resources"]["limits"]["cpu"] == container["resources"]["requests"]["cpu"]


def dockerfile_uid() -> int:
    (user,) = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.M)
    return int(user)


@pytest.mark.parametrize("name", ["nametag", "nametag-redis"])
def test_pods_are_locked_down(name):
    docs = by_kind([d for f in all_resource_files() for d in load(f)])
    pod = docs["Deployment", name]["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["enableServiceLinks"] is False  # no NAMETAG_*_PORT variables from Services
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in pod["containers"]:
        sc = c["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False and sc["capabilities"] == {"drop": ["ALL"]}
    if name == "nametag":
        assert pod["securityContext"]["runAsUser"] == dockerfile_uid()


def test_only_emptydirs_are_writable(deployment, container):
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
    assert all("emptyDir" in volumes[m["name"]] for m in container["volumeMounts"] if not m.get("readOnly"))
    e = env(container)
    assert {e["TMPDIR"], e["PROMETHEUS_MULTIPROC_DIR"]} == writable


def can_unshare() -> bool:
    """Root, with the right to make mount and network namespaces (not in every container)."""
    return bool(shutil.which("unshare")) and os.geteuid() == 0 and subprocess.run(
        ["unshare", "--mount", "--net", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not can_unshare(), reason="needs root and unshare to lay out the pod's filesystem")
def test_the_pod_serves_on_a_read_only_root(deployment, container, tmp_path):
    """gunicorn with exactly the container's environment, on a read-only root with the
    emptyDirs and the key Secret mounted where the Deployment mounts them, in a private
    namespace (tests/k8s_pod.py): it answers, and writes only into the emptyDirs."""
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    (secret_dir,) = [path for path, v in mounts.items() if "secret" in v]
    (item,) = mounts[secret_dir]["secret"]["items"]
    key = secrets.token_urlsafe(32)
    run_env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    run_env["WEB_CONCURRENCY"] = str(math.ceil(float(container["resources"]["limits"]["cpu"])))
    spec = {"env": run_env, "port": port(container, "http"), "key": key,
            "empty_dirs": [path for path, v in mounts.items() if "emptyDir" in v],
            "secret": {"dir": secret_dir, "files": {item["path"]: f"{hashlib.sha256(key.encode()).hexdigest()} test\n"}}}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    run = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", sys.executable,
                          str(ROOT / "tests" / "k8s_pod.py"), str(tmp_path / "spec.json")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["writable_root"] is False
    statuses = result["statuses"]
    assert {path: statuses[path] for path in ("/readyz", "/healthz", "/tag", "/metrics")} == {
        "/readyz": 200, "/healthz": 200, "/tag": 200, "/metrics": 200}, result["stderr"]
    # Where the service has API keys and the metrics port, they are on in the pod.
    if "API_KEYS_FILE" in config.SETTINGS:
        assert statuses["/tag without a key"] == 401
    if "METRICS_PORT" in config.SETTINGS:
        assert statuses["metrics port, no key"] == 200
    assert result["exit"] == 0 and "Read-only file system" not in result["stderr"], result["stderr"]
    assert any(Path(p).parent == Path(run_env["PROMETHEUS_MULTIPROC_DIR"]) for p in result["written"])


def test_api_keys_are_a_mounted_secret_file(deployment, container):
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == str(Path(env(container)["NAMETAG_API_KEYS_FILE"]).parent)]
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    secret = volumes[mount["name"]]["secret"]
    assert mount["readOnly"] is True and not secret.get("optional", False)
    assert secret["items"] == [{"key": "keys", "path": Path(env(container)["NAMETAG_API_KEYS_FILE"]).name}]
    assert secret["defaultMode"] & 0o007 == 0  # not readable by others
    (example,) = load(K8S / "secret.example.yaml")
    assert example["metadata"]["name"] == secret["secretName"]
    lines = example["stringData"]["keys"].splitlines()
    assert lines and all(re.fullmatch(r"[0-9a-f]{64}( \S+)?", line) for line in lines)
    assert {line.split()[0] for line in lines} == {"0" * 64}  # a digest no key has: never a real key


def test_resources_come_from_the_bench(container, results):
    cost = results["http"]["cost"]
    workers = int(container["resources"]["limits"]["cpu"])
    assert workers == cost["workers"]  # the memory figures below are for this many workers
    pss = cost["master"]["Pss"] + workers * max(w["Pss"] for w in cost["per_worker"])
    assert mib(container["resources"]["requests"]["memory"]) == 16 * math.ceil(pss / 16)
    no_sharing = cost["master"]["VmHWM"] + workers * max(w["VmHWM"] for w in cost["per_worker"])
    assert mib(container["resources"]["limits"]["memory"]) >= no_sharing


def test_startup_probe_is_sized_to_the_cold_start(container, results):
    cold = results["cost"]["cold_start"]["ours"]["median_s"]
    probe = container["startupProbe"]
    budget = probe.get("initialDelaySeconds", 0) + probe["periodSeconds"] * probe["failureThreshold"]
    assert probe["periodSeconds"] <= math.ceil(cold)  # ready within a period of starting
    assert 20 * cold <= budget <= 60


def test_hpa_and_pdb_select_the_deployment(base, deployment):
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"]["matchLabels"], labels)
    assert "replicas" not in deployment["spec"]  # the HPA owns the count
    hpa, pdb = base["HorizontalPodAutoscaler", "nametag"], base["PodDisruptionBudget", "nametag"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    ref = hpa["spec"]["scaleTargetRef"]
    assert (ref["apiVersion"], ref["kind"], ref["name"]) == ("apps/v1", "Deployment", deployment["metadata"]["name"])
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert hpa["spec"]["minReplicas"] > pdb["spec"]["maxUnavailable"]  # a drain leaves one serving
    for kind in ("Service", "NetworkPolicy"):
        spec = base[kind, "nametag"]["spec"]
        assert selects(spec.get("selector") or spec["podSelector"]["matchLabels"], labels)


def test_network_policy_lets_in_clients_and_monitoring_and_out_dns(base, container):
    spec = base["NetworkPolicy", "nametag"]["spec"]
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    ingress = {(p["port"], json.dumps(rule["from"], sort_keys=True)) for rule in spec["ingress"] for p in rule["ports"]}
    assert ingress == {
        ("http", json.dumps([{"podSelector": {"matchLabels": {"nametag-client": "true"}}}], sort_keys=True)),
        ("metrics", json.dumps([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
                               sort_keys=True))}
    assert {(p["port"], p["protocol"]) for rule in spec["egress"] for p in rule["ports"]} == {(53, "UDP"), (53, "TCP")}


@needs_kubectl
def test_redis_component_shares_the_rate_limit(tmp_path):
    docs = by_kind(render(K8S / "overlays" / "redis"))
    (c,) = docs["Deployment", "nametag"]["spec"]["template"]["spec"]["containers"]
    url = urlsplit(env(c)["NAMETAG_RATE_LIMIT_STORAGE"])
    assert url.scheme == "redis"
    service = docs["Service", url.hostname]
    (service_port,) = [p for p in service["spec"]["ports"] if p["port"] == url.port]
    redis_pod = docs["Deployment", url.hostname]["spec"]["template"]
    assert selects(service["spec"]["selector"], redis_pod["metadata"]["labels"])
    (redis,) = redis_pod["spec"]["containers"]
    assert service_port["targetPort"] in {p["name"] for p in redis["ports"]}
    nametag_labels = docs["Deployment", "nametag"]["spec"]["template"]["metadata"]["labels"]
    egress = docs["NetworkPolicy", "nametag-to-redis"]["spec"]
    assert selects(egress["podSelector"]["matchLabels"], nametag_labels)
    (to,) = egress["egress"]
    assert selects(to["to"][0]["podSelector"]["matchLabels"], redis_pod["metadata"]["labels"])
    assert [p["port"] for p in to["ports"]] == [port(redis, "redis")] == [url.port]
    (inbound,) = docs["NetworkPolicy", "nametag-redis"]["spec"]["ingress"]
    assert selects(inbound["from"][0]["podSelector"]["matchLabels"], nametag_labels)


@needs_kubectl
def test_the_settings_are_the_services():
    """Every NAMETAG_* variable the manifests set is one of the service's settings, with a
    value it accepts (a misspelt name would be silently ignored)."""
    docs = by_kind(render(K8S / "overlays" / "redis"))
    (c,) = docs["Deployment", "nametag"]["spec"]["template"]["spec"]["containers"]
    names = {k.removeprefix(f"{config.PREFIX}_") for k in env(c) if k.startswith(f"{config.PREFIX}_")}
    assert names <= set(config.SETTINGS)
    assert {"API_KEYS_FILE", "METRICS_PORT", "RATE_LIMIT_STORAGE"} <= names  # keys, metrics port, shared limit
    known = {k: v for k, v in env(c).items() if k.removeprefix(f"{config.PREFIX}_") in config.SETTINGS
             and not (v.startswith("/") and not os.path.exists(v))}  # files that exist in the pod only
    config.from_mapping(config.environ(known))  # raises ConfigError on a bad value


def test_quoted_figures_are_the_benchs(base, deployment, results):
    """The arithmetic in the manifests' comments and in docs/deploy.md, redone from
    bench/results.json: a new bench run that moves a figure fails here until they follow."""
    fig = figures(results, base["HorizontalPodAutoscaler", "nametag"], deployment)
    docs = DOCS.read_text()
    missing = {k: v for k, v in fig.items() if v not in docs}
    assert not missing, f"docs/deploy.md does not quote {missing}"
    manifests = {"deployment.yaml": ["master PSS", "worker PSS", "PSS total", "master peak", "worker peak",
                                     "no-sharing bound", "cold start"],
                 "hpa.yaml": ["CPU per request", "requests per core", "pod at target", "pod saturated"]}
    for name, keys in manifests.items():
        text = (BASE / name).read_text()
        missing = {k: fig[k] for k in keys if fig[k].split()[0] not in text}
        assert not missing, f"{name} does not quote {missing}"
