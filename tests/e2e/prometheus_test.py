#!/usr/bin/env python3
"""The monitoring configuration against a real Prometheus (Debian's `prometheus`)
scraping the real sasrecllm-server under load, serving a tiny hybrid bundle
(both stages run, so the LLM stage's series carry real samples):

1. `promtool check metrics` passes on the server's /metrics;
2. Prometheus scrapes it (`up == 1`) with deploy/prometheus/rules.yml loaded,
   and every rule evaluates without error (/api/v1/rules: health "ok");
3. every query of the Grafana dashboard and of the rules
   (tests/deploy/promql_exprs.py) runs without error, and every dashboard
   query returns data;
4. the LLM stage's series are live in Prometheus: LLM batches, prefill
   tokens and the LLM queue's capacity are above zero.

  tests/e2e/prometheus_test.py BUILD_DIR [--keep]

Exit 0 when every check passed, 1 otherwise; never skips.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import (FAILURES, Client, Fatal, Server, check, free_port, log,  # noqa: E402
                      make_bundle, make_collm_split, make_hybrid_bundle, report, start)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def api(port, path, **params):
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read().decode())


def main():
    for tool in ("prometheus", "promtool"):
        if shutil.which(tool) is None:
            log(f"FAIL: {tool} is missing (scripts/setup.sh installs Debian's prometheus)")
            return 1
    build, keep, work, rc = start(__doc__, "sasrecllm-prom-")
    if rc is not None:
        return rc
    server = prom = bench = None
    try:
        _, _, data, model = make_bundle(build, work)
        split, _ = make_collm_split(data, work)
        bundle, _ = make_hybrid_bundle(build, model, split, work)
        server = Server(os.path.join(build, "sasrecllm-server"), bundle, ["--threads", "1"],
                        os.path.join(work, "server.log"))
        target = server.wait_listening()
        client = Client(os.path.join(build, "sasrecllm-client"), target)
        # Some failed calls, so that the error panels have series.
        for _ in range(3):
            client("recommend", "--history", "1", "--top-k", "-1")
        bench = subprocess.Popen(
            [os.path.join(build, "sasrecllm-client"), "--target", target, "bench",
             "--concurrency", "2", "--warmup-s", "0", "--duration-s", "40", "--history-len", "10"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.metrics_port}/metrics",
                                         timeout=10).read()
        p = subprocess.run(["promtool", "check", "metrics"], input=metrics,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        check(p.returncode == 0, f"promtool check metrics passes on /metrics: {p.stdout.decode()}")

        prom_port = free_port()
        config = os.path.join(work, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {ROOT}/deploy/prometheus/rules.yml
scrape_configs:
  - job_name: sasrecllm
    static_configs:
      - targets: ["127.0.0.1:{server.metrics_port}"]
""")
        prom_log = open(os.path.join(work, "prometheus.log"), "w")
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
             f"--web.listen-address=127.0.0.1:{prom_port}"],
            stdout=prom_log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        up = None
        while time.time() < deadline:
            time.sleep(1)
            try:
                r = api(prom_port, "query", query='up{job="sasrecllm"}')
                if r["data"]["result"] and r["data"]["result"][0]["value"][1] == "1":
                    up = True
                    break
            except OSError:
                pass
        if not check(up is True, "Prometheus scrapes the server (up == 1)"):
            raise Fatal("no scrape")
        time.sleep(20)  # a few rule evaluations, and enough samples for [1m] rates

        rules = api(prom_port, "rules")["data"]["groups"]
        evaluated = [r for g in rules for r in g["rules"]]
        bad = [(r["name"], r.get("lastError")) for r in evaluated if r.get("health") != "ok"]
        check(len(evaluated) >= 10 and not bad,
              f"{len(evaluated)} rules loaded, every one evaluates (health ok): {bad}")

        lines = subprocess.run([sys.executable, os.path.join(ROOT, "tests/deploy/promql_exprs.py"),
                                "--sources"], stdout=subprocess.PIPE, text=True,
                               check=True).stdout.splitlines()
        empty, errors = [], []
        for line in lines:
            source, expr = line.split("\t", 1)
            r = api(prom_port, "query", query=expr)
            if r.get("status") != "success":
                errors.append((source, r.get("error")))
            elif source.startswith("sasrecllm.json") and not r["data"]["result"]:
                empty.append(source)
        check(not errors, f"all {len(lines)} dashboard and rule queries run: {errors}")
        check(not empty, f"every dashboard query returns data: empty {empty}")
        for query in ('sasrecllm_batch_size_count{stage="llm"}',
                      'sasrecllm_llm_tokens_total{kind="prefill"}',
                      'sasrecllm_queue_capacity{stage="llm"}'):
            result = api(prom_port, "query", query=query)["data"]["result"]
            value = float(result[0]["value"][1]) if result else 0.0
            check(value > 0, f"{query} = {value} > 0 in Prometheus")
    except (Fatal, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        FAILURES.append(f"fatal: {e}")
        log(f"FATAL: {e}")
    finally:
        for proc in (bench, prom):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        if server is not None:
            server.kill()
    return report(work, keep, "Prometheus")


if __name__ == "__main__":
    sys.exit(main())
