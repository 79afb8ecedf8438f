#!/usr/bin/env python3
"""Checks deploy/ with the real tools: kubectl kustomize, yamllint, promtool.

  tests/deploy/deploy_test.py [--kubectl K] [--yamllint Y] [--promtool P] CHECK...

CHECK is one or more of (tests/deploy/CMakeLists.txt registers each as deploy_CHECK):
  kustomize    every kustomization (base, each overlay) renders
  yamllint     deploy/ and every rendering pass yamllint --strict (.yamllint)
  manifests    assertions on the rendered objects (probes, drain, security, sizing, ...)
  promtool     promtool check rules / test rules / check config
  grafana      the dashboard: JSON, a datasource variable, a PromQL target per panel,
               every expr valid PromQL on known metric names; the provisioning files
  compose      deploy/compose.yaml: services, env-only configuration, mounts that exist
  promql_exprs tests/deploy/promql_exprs.py prints every expr, each valid PromQL
  all          every check above
A missing tool is a failure, never a skip. Needs PyYAML (Debian: python3-yaml).
"""
import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZE_DIRS = [DEPLOY / "kubernetes/base"] + sorted(
    p.parent for p in (DEPLOY / "kubernetes/overlays").glob("*/kustomization.yaml"))
RULES = DEPLOY / "prometheus/rules.yml"
DASHBOARD = DEPLOY / "grafana/sasrecllm.json"
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import promql_exprs  # noqa: E402  (next to this file)

# The metric names the server exports: the list in server/metrics.h's header
# comment (DESIGN.md "Metrics" and what was added since), plus what Prometheus
# adds (up).
METRICS = {name for line in (ROOT / "server/metrics.h").read_text().splitlines()
           if line.startswith("//   ")
           for name in re.findall(r"\b(?:sasrecllm|process)_[a-z_]+", line)} | {"up"}
HISTOGRAMS = {"sasrecllm_request_duration_seconds", "sasrecllm_queue_duration_seconds",
              "sasrecllm_batch_size", "sasrecllm_inference_duration_seconds"}
# Pod Security Standards, "restricted": the volume types it allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                      "persistentVolumeClaim", "projected", "secret"}

TOOLS = {}
FAILURES = []


def check(condition, message):
    """Records a failure (and goes on, so that one run lists every problem)."""
    if not condition:
        FAILURES.append(message)
    return bool(condition)


def tool(name):
    path = TOOLS.get(name) or ""
    if not path or path.endswith("NOTFOUND") or not shutil.which(path):
        raise SystemExit(f"FAIL: {name} not found ({path or 'not given'}): scripts/setup.sh installs it "
                         "(Debian packages yamllint, prometheus for promtool, kubectl or kubernetes-client)")
    return path


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def rel(path):
    return str(pathlib.Path(path).relative_to(ROOT))


# --------------------------------------------------------------------------- kustomize

_RENDERED = {}


def render(directory):
    """The rendered YAML text of one kustomization, or None when it does not render."""
    if directory not in _RENDERED:
        result = run([tool("kubectl"), "kustomize", str(directory)])
        ok = check(result.returncode == 0,
                   f"kubectl kustomize {rel(directory)} failed:\n{result.stderr.strip()}")
        _RENDERED[directory] = result.stdout if ok else None
    return _RENDERED[directory]


def objects(directory):
    text = render(directory)
    return [doc for doc in yaml.safe_load_all(text) if doc] if text else []


def check_kustomize():
    check(len(KUSTOMIZE_DIRS) >= 3, f"expected base + cpu + gpu, found {KUSTOMIZE_DIRS}")
    for name in ("cpu", "gpu"):
        check(DEPLOY / "kubernetes/overlays" / name in KUSTOMIZE_DIRS, f"overlay {name} missing")
    for directory in KUSTOMIZE_DIRS:
        docs = objects(directory)
        kinds = sorted(doc.get("kind", "?") for doc in docs)
        check(docs, f"{rel(directory)} renders no object")
        for doc in docs:
            check(doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name"),
                  f"{rel(directory)}: an object without apiVersion, kind or name: {str(doc)[:200]}")
        print(f"{rel(directory)}: {len(docs)} objects: {', '.join(kinds)}")


# ---------------------------------------------------------------------------- yamllint

def check_yamllint():
    config = ROOT / ".yamllint"
    check(config.is_file(), ".yamllint missing in the repo root")
    result = run([tool("yamllint"), "--strict", "-c", str(config), str(DEPLOY), str(config)])
    check(result.returncode == 0, f"yamllint deploy/:\n{result.stdout}{result.stderr}")
    for directory in KUSTOMIZE_DIRS:
        text = render(directory)
        if text is None:
            continue
        result = run([tool("yamllint"), "--strict", "-c", str(config), "-"], input=text)
        check(result.returncode == 0,
              f"yamllint on `kubectl kustomize {rel(directory)}`:\n{result.stdout}{result.stderr}")


# --------------------------------------------------------------------------- manifests

def server_flags():
    """The server's flag names, read from server/server_flags.cc (add("name", ...),
    add_bool and add_at_least)."""
    source = (ROOT / "server/server_flags.cc").read_text()
    names = re.findall(r'\badd(?:_bool|_at_least)?\("([a-z0-9-]+)"', source)
    check("bundle" in names and "drain-timeout-s" in names,
          f"could not read the flag names from server/server_flags.cc: {names}")
    return {"SASRECLLM_" + n.upper().replace("-", "_") for n in names}


def quantity(value):
    """A Kubernetes quantity as a float (CPUs or bytes)."""
    text = str(value)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 1e-3,
             "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


def prestop_seconds(container):
    hook = container.get("lifecycle", {}).get("preStop") or {}
    if "sleep" in hook:
        return int(hook["sleep"]["seconds"])
    command = (hook.get("exec") or {}).get("command") or []
    if command and pathlib.PurePath(command[0]).name == "sleep":
        return int(command[1])
    return None


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def check_manifests():
    flags = server_flags()
    design_rules = yaml.safe_load(RULES.read_text())
    gen = run([sys.executable, str(ROOT / "scripts/gen_prometheusrule.py"), "--check"])
    check(gen.returncode == 0, f"scripts/gen_prometheusrule.py --check: {gen.stderr.strip()}")
    memory = {}
    for directory in KUSTOMIZE_DIRS:
        docs = objects(directory)
        if not docs:
            continue
        where = rel(directory)
        by_kind = {}
        for doc in docs:
            by_kind.setdefault(doc["kind"], []).append(doc)

        def one(kind):
            found = by_kind.get(kind, [])
            check(len(found) == 1, f"{where}: expected one {kind}, found {len(found)}")
            return found[0] if found else {}

        # Namespace: everything in it, Pod Security "restricted" enforced.
        namespace = one("Namespace")
        ns_name = namespace.get("metadata", {}).get("name")
        check(namespace.get("metadata", {}).get("labels", {}).get("pod-security.kubernetes.io/enforce")
              == "restricted", f"{where}: the Namespace does not enforce the restricted Pod Security Standard")
        for doc in docs:
            if doc["kind"] != "Namespace":
                check(doc["metadata"].get("namespace") == ns_name,
                      f"{where}: {doc['kind']}/{doc['metadata']['name']} not in namespace {ns_name}")

        deployment = one("Deployment")
        if not deployment:
            continue
        spec = deployment["spec"]
        pod = spec["template"]["spec"]
        pod_labels = spec["template"]["metadata"]["labels"]
        check(labels_match(spec["selector"]["matchLabels"], pod_labels),
              f"{where}: the Deployment's selector does not match its pod labels")
        check("replicas" not in spec, f"{where}: Deployment sets replicas; the HPA owns it")
        containers = pod["containers"]
        check(len(containers) == 1, f"{where}: expected one container, found {len(containers)}")
        c = containers[0]
        env = {e["name"]: e.get("value") for e in c.get("env", [])}

        # Environment only: the binary, no flags; every variable a server flag.
        check(c.get("command") in (None, ["sasrecllm-server"]),
              f"{where}: command {c.get('command')} (expected the binary sasrecllm-server alone)")
        check(not c.get("args"), f"{where}: flags in args {c.get('args')}: configure with SASRECLLM_* only")
        for name in env:
            check(name in flags, f"{where}: env {name} is not a server flag (server/server_flags.cc)")
        check(pod.get("enableServiceLinks") is False,
              f"{where}: enableServiceLinks must be false (Kubernetes would inject SASRECLLM_PORT=tcp://...)")

        # Ports, named, and what the server listens on.
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
        check(ports.get("grpc") == 50051, f"{where}: container port grpc != 50051: {ports}")
        check(ports.get("metrics") == 9464, f"{where}: container port metrics != 9464: {ports}")
        check(env.get("SASRECLLM_PORT") == str(ports.get("grpc")),
              f"{where}: SASRECLLM_PORT={env.get('SASRECLLM_PORT')} but the grpc port is {ports.get('grpc')}")
        check(env.get("SASRECLLM_METRICS_PORT") == str(ports.get("metrics")),
              f"{where}: SASRECLLM_METRICS_PORT={env.get('SASRECLLM_METRICS_PORT')} "
              f"but the metrics port is {ports.get('metrics')}")

        # Probes: native gRPC on the grpc port, overall health (no service name).
        for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
            probe = c.get(probe_name)
            if not check(probe, f"{where}: no {probe_name}"):
                continue
            grpc = probe.get("grpc") or {}
            # GRPCAction.port is a number: Kubernetes has no named ports for gRPC probes.
            check(grpc.get("port") == ports.get("grpc"),
                  f"{where}: {probe_name} is not a gRPC probe on the grpc port: {probe}")
            check(not grpc.get("service"), f"{where}: {probe_name} asks service {grpc.get('service')}, "
                  "the server's overall health is the empty name")
        drain = int(env.get("SASRECLLM_DRAIN_TIMEOUT_S", 30))
        startup = c.get("startupProbe") or {}
        startup_s = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        check(startup_s >= 300, f"{where}: startupProbe allows {startup_s} s; a large LLM loads for minutes")
        liveness = c.get("livenessProbe") or {}
        liveness_s = liveness.get("periodSeconds", 10) * liveness.get("failureThreshold", 3)
        check(liveness_s > drain,
              f"{where}: liveness fails after {liveness_s} s, within a drain ({drain} s of NOT_SERVING)")

        # Drain: preStop, then SIGTERM; the grace period covers both.
        pre_stop = prestop_seconds(c)
        check(pre_stop is not None and pre_stop > 0, f"{where}: no preStop sleep")
        grace = pod.get("terminationGracePeriodSeconds", 30)
        check(grace > drain + (pre_stop or 0),
              f"{where}: terminationGracePeriodSeconds {grace} <= drain {drain} + preStop {pre_stop}")

        # Pod Security Standard "restricted", pod and container level.
        psc = pod.get("securityContext", {})
        csc = c.get("securityContext", {})
        check(psc.get("runAsNonRoot") is True, f"{where}: pod runAsNonRoot is not true")
        for key in ("runAsUser", "runAsGroup"):
            value = psc.get(key, csc.get(key))
            check(isinstance(value, int) and value > 0, f"{where}: {key} {value!r} is not a non-zero number")
        seccomp = (csc.get("seccompProfile") or psc.get("seccompProfile") or {}).get("type")
        check(seccomp in ("RuntimeDefault", "Localhost"), f"{where}: seccompProfile {seccomp!r}")
        check(csc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation is not false")
        check(csc.get("privileged") in (None, False), f"{where}: privileged container")
        caps = csc.get("capabilities", {})
        check("ALL" in caps.get("drop", []), f"{where}: capabilities do not drop ALL")
        check(set(caps.get("add", [])) <= {"NET_BIND_SERVICE"}, f"{where}: adds capabilities {caps.get('add')}")
        check(csc.get("readOnlyRootFilesystem") is True, f"{where}: the root filesystem is writable")
        check(csc.get("runAsNonRoot") in (None, True), f"{where}: container runAsNonRoot is false")
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            check(not pod.get(key), f"{where}: {key}")
        check(all(not p.get("hostPort") for p in c.get("ports", [])), f"{where}: hostPort")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for v in volumes.values():
            kinds = set(v) - {"name"}
            check(kinds <= RESTRICTED_VOLUMES | {"image"}, f"{where}: volume {v['name']} of type {kinds}")
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts", [])}
        tmp = mounts.get("/tmp")
        check(tmp and "emptyDir" in volumes.get(tmp["name"], {}), f"{where}: no emptyDir at /tmp")

        # The bundle: read-only at SASRECLLM_BUNDLE, from a PVC (or an image volume).
        bundle = mounts.get(env.get("SASRECLLM_BUNDLE", "?"))
        if check(bundle, f"{where}: nothing mounted at SASRECLLM_BUNDLE={env.get('SASRECLLM_BUNDLE')}"):
            check(bundle.get("readOnly") is True, f"{where}: the bundle is mounted writable")
            check(env["SASRECLLM_BUNDLE"] == "/models/bundle", f"{where}: bundle not at /models/bundle")
            source = volumes.get(bundle["name"], {})
            check("persistentVolumeClaim" in source or "image" in source,
                  f"{where}: the bundle volume is neither a PVC nor an image volume: {source}")

        # Resources: requests = limits (Guaranteed), threads = CPUs - 1.
        res = c.get("resources", {})
        req, lim = res.get("requests", {}), res.get("limits", {})
        for key in ("cpu", "memory"):
            check(key in lim and quantity(req.get(key, lim.get(key))) == quantity(lim[key]),
                  f"{where}: {key} requests {req.get(key)} != limits {lim.get(key)}")
        cpus = quantity(lim.get("cpu", 0))
        threads = int(env.get("SASRECLLM_THREADS", 0))
        check(cpus == int(cpus) and cpus >= 2, f"{where}: CPU limit {lim.get('cpu')} is not whole CPUs >= 2")
        device = env.get("SASRECLLM_DEVICE", "cpu")
        if device == "cpu":
            check(threads == cpus - 1, f"{where}: SASRECLLM_THREADS={threads} for {cpus:g} CPUs (expected CPUs - 1)")
        else:
            check(1 <= threads <= cpus - 1, f"{where}: SASRECLLM_THREADS={threads} for {cpus:g} CPUs")
        memory[directory.name] = quantity(lim.get("memory", 0))

        # Spread over nodes and zones.
        spread = pod.get("topologySpreadConstraints", [])
        keys = {t["topologyKey"] for t in spread}
        check({"kubernetes.io/hostname", "topology.kubernetes.io/zone"} <= keys,
              f"{where}: topologySpreadConstraints over {keys}")
        for t in spread:
            check(labels_match(t.get("labelSelector", {}).get("matchLabels"), pod_labels),
                  f"{where}: a spread constraint does not select the pods")

        # Services: one headless (client-side round_robin), one ClusterIP.
        services = by_kind.get("Service", [])
        headless = [s for s in services if s["spec"].get("clusterIP") == "None"]
        normal = [s for s in services if s["spec"].get("clusterIP") != "None"]
        check(len(headless) == 1 and len(normal) == 1,
              f"{where}: expected a headless and a ClusterIP Service, found "
              f"{[(s['metadata']['name'], s['spec'].get('clusterIP')) for s in services]}")
        for s in services:
            name = s["metadata"]["name"]
            check(labels_match(s["spec"].get("selector"), pod_labels) and s["spec"].get("selector"),
                  f"{where}: Service {name} does not select the pods")
            check(any(p.get("targetPort") in ("grpc", 50051) and p.get("port") == 50051 for p in s["spec"]["ports"]),
                  f"{where}: Service {name} has no port 50051 -> grpc")

        hpa = one("HorizontalPodAutoscaler")
        if hpa:
            check(hpa["apiVersion"] == "autoscaling/v2", f"{where}: HPA {hpa['apiVersion']}")
            check(hpa["spec"]["scaleTargetRef"].get("name") == deployment["metadata"]["name"],
                  f"{where}: the HPA does not scale the Deployment")
            check(hpa["spec"].get("minReplicas", 1) >= 2, f"{where}: HPA minReplicas < 2")
            check(any(m.get("resource", {}).get("name") == "cpu" for m in hpa["spec"].get("metrics", [])),
                  f"{where}: the HPA does not scale on CPU")
        pdb = one("PodDisruptionBudget")
        if pdb:
            check(pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable") == 1,
                  f"{where}: PDB neither maxUnavailable 1 nor minAvailable 1")
            check(labels_match(pdb["spec"]["selector"]["matchLabels"], pod_labels), f"{where}: PDB selects no pod")
        policy = one("NetworkPolicy")
        if policy:
            check(labels_match(policy["spec"]["podSelector"].get("matchLabels"), pod_labels),
                  f"{where}: the NetworkPolicy does not select the pods")
            rules = policy["spec"].get("ingress", [])
            by_port = {p.get("port"): r for r in rules for p in r.get("ports", [])}
            check(50051 in by_port and 9464 in by_port, f"{where}: NetworkPolicy ports {sorted(by_port)}")
            check(all(r.get("from") for r in rules), f"{where}: a NetworkPolicy rule admits everyone")
            metrics_from = by_port.get(9464, {}).get("from", [])
            check(any(f.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
                      == "monitoring" for f in metrics_from), f"{where}: port 9464 not open to namespace monitoring")
        monitors = by_kind.get("PodMonitor", []) + by_kind.get("ServiceMonitor", [])
        if check(len(monitors) == 1, f"{where}: expected one PodMonitor or ServiceMonitor, found {len(monitors)}"):
            m = monitors[0]["spec"]
            endpoints = m.get("podMetricsEndpoints") or m.get("endpoints") or []
            check(any(e.get("port") == "metrics" for e in endpoints),
                  f"{where}: the monitor does not scrape port metrics")
            check(pod_labels.get(m.get("jobLabel", "")) == "sasrecllm",
                  f"{where}: the monitor's job label would not be sasrecllm (the rules' job)")
        rule = one("PrometheusRule")
        if rule:
            check(rule.get("spec") == design_rules,
                  f"{where}: PrometheusRule differs from {rel(RULES)}: run scripts/gen_prometheusrule.py")

        # Per overlay.
        image = c.get("image", "")
        if directory.name == "cpu":
            check(image.endswith(":cpu"), f"{where}: image {image}")
            check(device == "cpu", f"{where}: SASRECLLM_DEVICE={device}")
            check(cpus >= 4, f"{where}: {cpus:g} CPUs; sized for 4 (3 model threads + gRPC)")
            check(quantity(lim.get("memory", 0)) >= 8 * 2**30, f"{where}: memory {lim.get('memory')} < 8Gi for a "
                  "float32 1B-parameter LLM")
        if directory.name == "gpu":
            check(image.endswith(":cuda"), f"{where}: image {image}")
            check(str(lim.get("nvidia.com/gpu")) == "1", f"{where}: no nvidia.com/gpu: 1 limit")
            check(device.startswith("cuda"), f"{where}: SASRECLLM_DEVICE={device}")
            check(env.get("SASRECLLM_DTYPE") == "bfloat16", f"{where}: SASRECLLM_DTYPE={env.get('SASRECLLM_DTYPE')}")
            check(pod.get("nodeSelector") or pod.get("affinity"), f"{where}: nothing selects GPU nodes")
            check(any(t.get("key") == "nvidia.com/gpu" for t in pod.get("tolerations", [])),
                  f"{where}: no toleration for GPU nodes' nvidia.com/gpu taint")
    if "cpu" in memory and "gpu" in memory:
        check(memory["gpu"] > memory["cpu"], "the gpu overlay does not have more memory than the cpu overlay")


# ---------------------------------------------------------------------------- promtool

def promtool_check_exprs(exprs, what):
    """promtool check rules on recording rules made of `exprs`: parses each as PromQL."""
    groups = [{"name": what, "rules": [{"record": f"check:expr_{i}", "expr": e} for i, e in enumerate(exprs)]}]
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "exprs.yml"
        path.write_text(yaml.safe_dump({"groups": groups}))
        result = run([tool("promtool"), "check", "rules", str(path)])
        check(result.returncode == 0, f"{what}: promtool rejects an expression:\n{result.stdout}{result.stderr}")


def metric_names(expr):
    """Metric names an expression selects (identifiers before { or [ or a space)."""
    expr = re.sub(r'"[^"]*"', '""', expr)  # label values
    names = set(re.findall(r"\b(sasrecllm_\w+|process_\w+|up)\b(?!\s*\()", expr))
    for name in list(names):
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[: -len(suffix)] in HISTOGRAMS:
                names.discard(name)
                names.add(name[: -len(suffix)])
    return names


def check_promtool():
    promtool = tool("promtool")
    for cmd in (["check", "rules", str(RULES)],
                ["test", "rules", str(DEPLOY / "prometheus/rules_test.yml")],
                ["check", "config", str(DEPLOY / "prometheus/prometheus.yml")]):
        result = run([promtool] + cmd)
        check(result.returncode == 0, f"promtool {' '.join(cmd)}:\n{result.stdout}{result.stderr}")
    # Debian's prometheus 2.42 has no Kubernetes discovery: check the rest of the
    # kubernetes_sd example with a static target in its place.
    config = yaml.safe_load((DEPLOY / "prometheus/prometheus-kubernetes.yml").read_text())
    for job in config["scrape_configs"]:
        if check("kubernetes_sd_configs" in job, f"prometheus-kubernetes.yml: job {job['job_name']} "
                 "without kubernetes_sd_configs"):
            del job["kubernetes_sd_configs"]
            job["static_configs"] = [{"targets": ["127.0.0.1:9464"]}]
        check(job["job_name"] == "sasrecllm", f"prometheus-kubernetes.yml: job {job['job_name']}")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(RULES, tmp)
        path = pathlib.Path(tmp) / "prometheus-kubernetes.yml"
        path.write_text(yaml.safe_dump(config))
        result = run([promtool, "check", "config", str(path)])
        check(result.returncode == 0, f"prometheus-kubernetes.yml (kubernetes_sd swapped for static):\n"
              f"{result.stdout}{result.stderr}")
    local = yaml.safe_load((DEPLOY / "prometheus/prometheus.yml").read_text())
    check([j["job_name"] for j in local["scrape_configs"]] == ["sasrecllm"], "prometheus.yml: job is not sasrecllm")
    # Every alert has a severity and a summary, and is tested by rules_test.yml.
    tests = yaml.safe_load((DEPLOY / "prometheus/rules_test.yml").read_text())
    fired = {t["alertname"] for case in tests["tests"] for t in case.get("alert_rule_test", []) if t.get("exp_alerts")}
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            name = rule.get("alert")
            check(rule.get("labels", {}).get("severity") in ("page", "ticket"), f"rules.yml: {name} severity")
            check(rule.get("annotations", {}).get("summary"), f"rules.yml: {name} has no summary")
            check(name in fired, f"rules_test.yml never makes {name} fire")
            unknown = metric_names(str(rule["expr"])) - METRICS
            check(not unknown, f"rules.yml: {name} uses unknown metrics {unknown}")


# ----------------------------------------------------------------------------- grafana

def check_grafana():
    try:
        dashboard = json.loads(DASHBOARD.read_text())
    except json.JSONDecodeError as e:
        check(False, f"{rel(DASHBOARD)}: {e}")
        return
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
          f"{rel(DASHBOARD)}: no Prometheus datasource variable named datasource")
    ds_refs = ("${datasource}", "$datasource")
    for v in variables.values():
        if v.get("type") == "query":
            check((v.get("datasource") or {}).get("uid") in ds_refs,
                  f"variable {v['name']}: datasource not ${{datasource}}")
    ids, used = set(), set()

    def walk(panels):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    panels = list(walk(dashboard.get("panels", [])))
    exprs = []
    for panel in panels:
        title = panel.get("title", "?")
        check(panel.get("id") not in ids, f"panel id {panel.get('id')} used twice")
        ids.add(panel.get("id"))
        if panel.get("type") == "row":
            continue
        check((panel.get("datasource") or {}).get("uid") in ds_refs, f"panel {title!r}: datasource not ${{datasource}}")
        targets = panel.get("targets", [])
        check(targets and all(t.get("expr", "").strip() for t in targets), f"panel {title!r} has no PromQL target")
        for t in targets:
            check((t.get("datasource") or {}).get("uid") in ds_refs, f"panel {title!r}: target datasource")
            if t.get("expr"):
                expr = promql_exprs.substitute(t["expr"], promql_exprs.DEFAULT_VARS)
                exprs.append(expr)
                names = metric_names(expr)
                check(not names - METRICS, f"panel {title!r} uses unknown metrics {names - METRICS}")
                used |= names
    promtool_check_exprs(exprs, "dashboard")
    wanted = METRICS
    check(not wanted - used, f"no panel shows {sorted(wanted - used)}")
    print(f"{rel(DASHBOARD)}: {len(panels)} panels, {len(exprs)} PromQL targets")

    datasources = yaml.safe_load((DEPLOY / "grafana/provisioning/datasources/prometheus.yaml").read_text())
    check(any(d.get("type") == "prometheus" for d in datasources.get("datasources", [])),
          "grafana provisioning: no Prometheus datasource")
    providers = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/sasrecllm.yaml").read_text())
    check(providers.get("providers"), "grafana provisioning: no dashboard provider")


# ----------------------------------------------------------------------------- compose

def check_compose():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose.get("services", {})
    check({"sasrecllm", "prometheus", "grafana"} <= set(services), f"compose services {sorted(services)}")
    server = services.get("sasrecllm", {})
    flags = server_flags()
    env = server.get("environment", {})
    check(server.get("image") == "sasrecllm:cpu", f"compose: server image {server.get('image')}")
    check(server.get("entrypoint") == ["sasrecllm-server"] and not server.get("command"),
          "compose: the server must run the binary alone (entrypoint [sasrecllm-server], no command)")
    for name in env:
        check(name in flags, f"compose: env {name} is not a server flag")
    mounts = {m["target"]: m for m in server.get("volumes", []) if isinstance(m, dict)}
    bundle = mounts.get(env.get("SASRECLLM_BUNDLE"))
    check(bundle and bundle.get("read_only") is True, "compose: the bundle is not bind-mounted read-only "
          "at SASRECLLM_BUNDLE")
    grace = str(server.get("stop_grace_period", "10s"))
    check(grace.endswith("s") and int(grace[:-1]) > int(env.get("SASRECLLM_DRAIN_TIMEOUT_S", 30)),
          f"compose: stop_grace_period {grace} not longer than the drain")
    # Every relative bind-mount source exists; the dashboard lands where the provider looks.
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source.startswith("."):
                check((DEPLOY / source).exists(), f"compose: {name} mounts {source}, which does not exist")
    provider = yaml.safe_load((DEPLOY / "grafana/provisioning/dashboards/sasrecllm.yaml").read_text())
    path = provider["providers"][0]["options"]["path"]
    grafana_targets = [v.split(":")[1] for v in services.get("grafana", {}).get("volumes", []) if isinstance(v, str)]
    check(any(t.startswith(path + "/") and t.endswith(".json") for t in grafana_targets),
          f"compose: no dashboard mounted under the provider's path {path}")
    check(any(t == "/etc/grafana/provisioning" for t in grafana_targets), "compose: grafana provisioning not mounted")
    for name in ("prometheus", "grafana"):
        check(services.get(name, {}).get("network_mode") == "service:sasrecllm",
              f"compose: {name} does not share the server's network (its configs use 127.0.0.1)")
    published = {str(p).split(":")[-1] for p in server.get("ports", [])}
    check({"50051", "9464", "9090", "3000"} <= published, f"compose: published ports {sorted(published)}")


# ------------------------------------------------------------------------ promql_exprs

def check_promql_exprs():
    result = run([sys.executable, str(ROOT / "tests/deploy/promql_exprs.py")])
    if not check(result.returncode == 0, f"promql_exprs.py failed:\n{result.stderr}"):
        return
    lines = result.stdout.splitlines()
    dashboard = {promql_exprs.one_line(promql_exprs.substitute(e, promql_exprs.DEFAULT_VARS))
                 for _, e in promql_exprs.dashboard_exprs(DASHBOARD)}
    rules = {promql_exprs.one_line(e) for _, e in promql_exprs.rule_exprs(RULES)}
    check(set(lines) == dashboard | rules and len(lines) == len(set(lines)),
          "promql_exprs.py does not print each dashboard and rule expression once")
    check(all("$" not in line for line in lines), "promql_exprs.py left a Grafana variable unreplaced")
    rule_count = sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text())["groups"])
    check(len(rules) == rule_count, f"rules.yml has {rule_count} rules but {len(rules)} distinct expressions")
    promtool_check_exprs(lines, "promql_exprs.py")
    print(f"promql_exprs.py: {len(lines)} expressions ({len(dashboard)} dashboard, {len(rules)} rules)")


CHECKS = {
    "kustomize": check_kustomize, "yamllint": check_yamllint, "manifests": check_manifests,
    "promtool": check_promtool, "grafana": check_grafana, "compose": check_compose,
    "promql_exprs": check_promql_exprs,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubectl", default=shutil.which("kubectl"))
    parser.add_argument("--yamllint", default=shutil.which("yamllint"))
    parser.add_argument("--promtool", default=shutil.which("promtool"))
    parser.add_argument("checks", nargs="+", choices=sorted(CHECKS) + ["all"])
    args = parser.parse_args()
    TOOLS.update(kubectl=args.kubectl, yamllint=args.yamllint, promtool=args.promtool)
    names = sorted(CHECKS) if "all" in args.checks else args.checks
    failed = 0
    for name in names:
        before = len(FAILURES)
        CHECKS[name]()
        new = FAILURES[before:]
        for message in new:
            print(f"FAIL [{name}] {message}", file=sys.stderr)
        print(f"{name}: {'FAILED' if new else 'ok'}")
        failed += bool(new)
    print(f"{len(names) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
