#!/usr/bin/env python3
"""Operations end to end, with the real sasrecllm-server and sasrecllm-client:

1. TLS: a server with --tls-cert/--tls-key answers a client that trusts its
   CA (--tls-ca), and refuses a plaintext client and one that trusts another
   CA. Certificates are made here with openssl (a CA, a server certificate for
   127.0.0.1 / localhost, a client certificate).
2. Mutual TLS: with --tls-client-ca too, a client without a certificate is
   refused and one with a certificate signed by that CA is served.
3. The access log: one JSON line per RPC on the server's stdout, with the
   client's x-request-id (--request-id), the user id, the code, the latency
   and the stages' timings; a failed call is logged too.
4. A rolling update: two replicas behind one client channel
   (`ipv4:127.0.0.1:P1,127.0.0.1:P2`, --lb-policy round_robin), closed-loop
   load running; one replica gets SIGTERM, exits 0 and is started again on its
   port, then the other: the load sees zero failed requests, and both replicas
   served before and after their restart.
5. Hot reload: one server under closed-loop load is sent SIGHUP three times,
   its --reload-path-file naming bundle B, A, B in turn (the same model
   exported with another model_version): every reload is counted ok, the
   load sees zero failed requests and replies from both versions. Then a
   bundle with a truncated weights file: the reload is counted failed, the
   log names the file, and the old model serves on.

  tests/e2e/operations_test.py BUILD_DIR [--keep]

Exit 0 when every check passed, 1 otherwise; never skips.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import (FAILURES, Client, Fatal, Server, check, free_port, log,  # noqa: E402
                      make_bundle, report, run, start)


def make_certificates(work):
    """A CA, a server certificate (127.0.0.1, localhost), a client certificate,
    and a second CA that signed neither; returns their paths."""
    d = os.path.join(work, "tls")
    os.makedirs(d)
    p = {name: os.path.join(d, name) for name in (
        "ca.pem", "ca.key", "other-ca.pem", "other-ca.key", "server.pem", "server.key",
        "client.pem", "client.key")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other-ca"):
        run(["openssl", "req", "-x509", *ec, "-keyout", p[f"{ca}.key"], "-out", p[f"{ca}.pem"],
             "-days", "2", "-subj", f"/CN=sasrecllm-test-{ca}"])
    for who, san in (("server", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
                     ("client", "extendedKeyUsage=clientAuth")):
        csr = os.path.join(d, f"{who}.csr")
        ext = os.path.join(d, f"{who}.ext")
        with open(ext, "w") as f:
            f.write(san + "\n")
        run(["openssl", "req", *ec, "-keyout", p[f"{who}.key"], "-out", csr,
             "-subj", f"/CN=sasrecllm-test-{who}"])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", p["ca.pem"], "-CAkey", p["ca.key"],
             "-CAcreateserial", "-out", p[f"{who}.pem"], "-days", "2", "-extfile", ext])
    return p


def health(client, *flags):
    return client(*flags, "--timeout-ms", "5000", "health")


def check_tls(server_binary, client_binary, bundle, work):
    log("== TLS")
    certs = make_certificates(work)
    server = Server(server_binary, bundle,
                    ["--tls-cert", certs["server.pem"], "--tls-key", certs["server.key"]],
                    os.path.join(work, "tls-server.log"))
    try:
        client = Client(client_binary, server.wait_listening())
        rc, out, err = health(client, "--tls-ca", certs["ca.pem"])
        check(rc == 0 and "SERVING" in out, f"TLS client trusting the CA: SERVING (rc {rc}: {err})")
        rc, out, err = client("--tls-ca", certs["ca.pem"], "recommend", "--history", "1,2,3",
                              "--top-k", "3")
        check(rc == 0, f"TLS Recommend answered (rc {rc}: {err.strip()})")
        rc, _, err = health(client)
        check(rc != 0, f"a plaintext client is refused by the TLS server (rc {rc})")
        rc, _, err = health(client, "--tls-ca", certs["other-ca.pem"])
        check(rc != 0, f"a client trusting another CA refuses the server (rc {rc})")
        rc = server.terminate()
        check(rc == 0, f"TLS server exits 0 on SIGTERM (got {rc})")
    finally:
        server.kill()

    log("== mutual TLS")
    server = Server(server_binary, bundle,
                    ["--tls-cert", certs["server.pem"], "--tls-key", certs["server.key"],
                     "--tls-client-ca", certs["ca.pem"]],
                    os.path.join(work, "mtls-server.log"))
    try:
        client = Client(client_binary, server.wait_listening())
        rc, _, err = health(client, "--tls-ca", certs["ca.pem"])
        check(rc != 0, f"mTLS: a client without a certificate is refused (rc {rc})")
        rc, out, err = health(client, "--tls-ca", certs["ca.pem"], "--tls-cert",
                              certs["client.pem"], "--tls-key", certs["client.key"])
        check(rc == 0 and "SERVING" in out,
              f"mTLS: a client with a certificate from the CA is served (rc {rc}: {err})")
        rc = server.terminate()
        check(rc == 0, f"mTLS server exits 0 on SIGTERM (got {rc})")
    finally:
        server.kill()

    rc, _, err = run([server_binary, "--bundle", bundle, "--port", "0", "--metrics-port", "0",
                      "--tls-cert", certs["server.pem"]], timeout=60, check_rc=False)
    check(rc != 0 and "--tls-key" in err,
          f"--tls-cert without --tls-key is refused, naming --tls-key (rc {rc}: {err.strip()})")


def check_access_log(server_binary, client_binary, bundle, work):
    log("== access log")
    log_path = os.path.join(work, "access-server.log")
    server = Server(server_binary, bundle, [], log_path)
    try:
        client = Client(client_binary, server.wait_listening())
        rc, _, err = client("--request-id", "e2e-req-7", "recommend", "--user-id", "u7",
                            "--history", "1,2,3", "--top-k", "4")
        check(rc == 0, f"Recommend with --request-id (rc {rc}: {err.strip()})")
        rc, _, _ = client("recommend", "--history", "1", "--top-k", "-1")
        check(rc == 1, f"a bad Recommend fails (rc {rc})")
        rc = server.terminate()
        check(rc == 0, f"server exits 0 on SIGTERM (got {rc})")
    finally:
        server.kill()
    with open(log_path) as f:
        records = [json.loads(line) for line in f if line.startswith("{")]
    ok = [r for r in records if r.get("request_id") == "e2e-req-7"]
    check(len(ok) == 1, f"one access line carries the client's request id ({len(ok)})")
    if ok:
        r = ok[0]
        check(r["method"] == "Recommend" and r["code"] == "OK" and r["user_id"] == "u7"
              and r["items"] == 4 and r["latency_ms"] > 0 and "sasrec" in r["stages"]
              and r["stages"]["sasrec"]["run_ms"] >= 0 and r["model_version"] == "e2e-tiny",
              f"the access line has method, code, user, items, latency and stage timings: {r}")
    bad = [r for r in records if r.get("code") == "INVALID_ARGUMENT"]
    check(len(bad) == 1 and len(bad[0]["request_id"]) == 32,
          f"the failed call is logged with a generated request id: {bad}")


def metrics_text(metrics_port):
    """The server's /metrics page."""
    return urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics",
                                  timeout=10).read().decode()


def ok_recommends(metrics_port):
    """The replica's count of OK Recommend calls."""
    text = metrics_text(metrics_port)
    m = re.search(r'^sasrecllm_requests_total\{(?=[^}]*method="Recommend")(?=[^}]*code="OK")'
                  r'[^}]*\} (\S+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def wait_serving_traffic(server, what, timeout=15):
    """Waits until `server` counts more OK Recommends than when called."""
    start = ok_recommends(server.metrics_port)
    deadline = time.time() + timeout
    while time.time() < deadline:
        time.sleep(0.2)
        if ok_recommends(server.metrics_port) > start:
            return check(True, f"{what} serves the load")
    return check(False, f"{what} serves the load within {timeout} s")


def check_rolling_update(server_binary, client_binary, bundle, work):
    log("== rolling update: two replicas, round_robin, SIGTERM + restart each under load")
    ports = [free_port(), free_port()]
    metrics_ports = [free_port(), free_port()]

    def start(i, generation):
        s = Server(server_binary, bundle, ["--threads", "1"],
                   os.path.join(work, f"replica{i}-{generation}.log"), port=ports[i],
                   metrics_port=metrics_ports[i])
        s.wait_listening()
        return s

    replicas = [start(0, 0), start(1, 0)]
    target = f"ipv4:127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}"
    bench_json = os.path.join(work, "rolling-bench.json")
    bench = subprocess.Popen(
        [client_binary, "--target", target, "--lb-policy", "round_robin", "--timeout-ms",
         "10000", "bench", "--concurrency", "4", "--warmup-s", "0", "--duration-s", "30",
         "--history-len", "10", "--json", bench_json],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for i in (0, 1):
            wait_serving_traffic(replicas[i], f"replica {i}")
        for i in (0, 1):
            rc = replicas[i].terminate()
            check(rc == 0, f"replica {i} drains and exits 0 on SIGTERM under load (got {rc})")
            replicas[i] = start(i, 1)
            wait_serving_traffic(replicas[i], f"replica {i} after its restart")
        out, err = bench.communicate(timeout=120)
        check(bench.returncode == 0, f"bench exits 0 (rc {bench.returncode}: {err.strip()[-300:]})")
        with open(bench_json) as f:
            result = json.load(f)
        check(result["ok"] > 100 and result["errors"] == 0,
              f"zero failed requests through two restarts: {result['ok']} ok, "
              f"{result['errors']} errors {result['errors_by_code']}")
    finally:
        if bench.poll() is None:
            bench.kill()
        for r in replicas:
            r.kill()


def metric_value(metrics_port, pattern):
    """The value of the first /metrics sample whose line matches `pattern`."""
    m = re.search(r"^" + pattern + r" (\S+)$", metrics_text(metrics_port), re.M)
    return float(m.group(1)) if m else None


def reloads(server, result):
    return metric_value(server.metrics_port,
                        r'sasrecllm_model_reloads_total\{result="' + result + r'"\}') or 0.0


def served_version(server):
    return re.findall(r'^sasrecllm_model_info\{[^}]*version="([^"]*)"',
                      metrics_text(server.metrics_port), re.M)


def wait_for(condition, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def check_hot_reload(server_binary, client_binary, build, bundle, model, data, work):
    log("== hot reload: SIGHUP x3 under load (bundles B, A, B), then a broken bundle")
    bundle_b = os.path.join(work, "bundle-b")
    run([os.path.join(build, "sasrecllm"), "export", "--sasrec", model, "--items",
         os.path.join(data, "items.tsv"), "--out", bundle_b, "--model-version", "e2e-tiny-b"])
    broken = os.path.join(work, "bundle-broken")
    shutil.copytree(bundle, broken)
    weights = max((os.path.join(broken, f) for f in os.listdir(broken)), key=os.path.getsize)
    with open(weights, "r+b") as f:
        f.truncate(os.path.getsize(weights) // 2)
    path_file = os.path.join(work, "reload-path")
    with open(path_file, "w") as f:
        f.write(bundle + "\n")

    server = Server(server_binary, bundle, ["--threads", "1", "--reload-path-file", path_file],
                    os.path.join(work, "reload-server.log"))
    target = server.wait_listening()
    bench_json = os.path.join(work, "reload-bench.json")
    bench = subprocess.Popen(
        [client_binary, "--target", target, "--timeout-ms", "10000", "bench", "--concurrency",
         "4", "--warmup-s", "0", "--duration-s", "20", "--history-len", "10", "--json",
         bench_json], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_serving_traffic(server, "the server")
        for i, (path, version) in enumerate([(bundle_b, "e2e-tiny-b"), (bundle, "e2e-tiny"),
                                             (bundle_b, "e2e-tiny-b")]):
            with open(path_file, "w") as f:
                f.write(path + "\n")
            server.proc.send_signal(signal.SIGHUP)
            ok = wait_for(lambda: reloads(server, "ok") >= i + 1)
            check(ok and served_version(server) == [version],
                  f"reload {i + 1} counted ok, sasrecllm_model_info says {version} only "
                  f"(got {served_version(server)})")
            wait_serving_traffic(server, f"the server after reload {i + 1}")
        with open(path_file, "w") as f:
            f.write(broken + "\n")
        server.proc.send_signal(signal.SIGHUP)
        failed = wait_for(lambda: reloads(server, "failed") >= 1)
        check(failed, "the broken bundle's reload is counted failed")
        check(served_version(server) == ["e2e-tiny-b"],
              f"the old model serves on ({served_version(server)})")
        logged = [line for line in server.lines if "reload failed" in line]
        check(bool(logged) and os.path.basename(weights) in logged[0]
              and "still serving model_version e2e-tiny-b" in logged[0],
              f"the log line names the file and the model serving on: {logged[:1]}")
        wait_serving_traffic(server, "the server after the failed reload")
        out, err = bench.communicate(timeout=120)
        check(bench.returncode == 0, f"bench exits 0 (rc {bench.returncode}: {err.strip()[-300:]})")
        with open(bench_json) as f:
            result = json.load(f)
        versions = result.get("model_versions", {})
        check(result["ok"] > 100 and result["errors"] == 0,
              f"zero failed requests through 4 reloads: {result['ok']} ok, "
              f"{result['errors']} errors {result['errors_by_code']}")
        check(versions.get("e2e-tiny", 0) > 0 and versions.get("e2e-tiny-b", 0) > 0,
              f"replies switch version: {versions}")
        rc = server.terminate()
        check(rc == 0, f"the server drains and exits 0 after the reloads (got {rc})")
    finally:
        if bench.poll() is None:
            bench.kill()
        server.kill()


def main():
    if shutil.which("openssl") is None:
        log("FAIL: openssl is missing (scripts/setup.sh installs it)")
        return 1
    build, keep, work, rc = start(__doc__, "sasrecllm-ops-")
    if rc is not None:
        return rc
    server_binary = os.path.join(build, "sasrecllm-server")
    client_binary = os.path.join(build, "sasrecllm-client")
    try:
        bundle, _, data, model = make_bundle(build, work)
        check_tls(server_binary, client_binary, bundle, work)
        check_access_log(server_binary, client_binary, bundle, work)
        check_rolling_update(server_binary, client_binary, bundle, work)
        check_hot_reload(server_binary, client_binary, build, bundle, model, data, work)
    except (Fatal, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        FAILURES.append(f"fatal: {e}")
        log(f"FATAL: {e}")
    return report(work, keep, "operations")


if __name__ == "__main__":
    sys.exit(main())
