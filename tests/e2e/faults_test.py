#!/usr/bin/env python3
"""Faults end to end, with the real sasrecllm, sasrecllm-server and
sasrecllm-client:

1. A broken bundle never half-starts: for every file the manifest lists, the
   file missing, one byte short, and with one byte changed. The server exits
   non-zero without listening, and its error names the file.
2. A full disk during `sasrecllm export` (RLIMIT_FSIZE, so that a write past
   a few KiB fails as on a full disk) over an existing bundle: the export
   fails with a clear error, the previous bundle is byte for byte as it was,
   no staging folder is left, and the server serves the previous bundle.
3. SIGTERM under load loses no accepted request: a server under closed-loop
   load (32 calls in flight) gets SIGTERM and exits 0. Every call the server
   took (its access log, every call logged) finished OK or was refused
   UNAVAILABLE; the client got exactly as many OK replies as the server sent;
   and the client's failures are UNAVAILABLE (refused while draining, or no
   server any more), or CANCELLED for streams gRPC's shutdown cancelled
   before the service took them (none of them in the access log: no work
   lost).
4. A client that disconnects costs no model work: a client whose 256 calls
   all wait in the queue (batches that wait 3 s to fill) is killed (SIGKILL:
   its connection closes). The server counts all 256 CANCELLED and computes
   none of them.

  tests/e2e/faults_test.py BUILD_DIR [--keep]

Exit 0 when every check passed, 1 otherwise; never skips.
"""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_test import (FAILURES, Fatal, Server, check, log, make_bundle,  # noqa: E402
                      report, run, start)
from operations_test import metric_value, served_version, wait_for, wait_serving_traffic  # noqa: E402


def files_of(bundle):
    with open(os.path.join(bundle, "manifest.json")) as f:
        return json.load(f)["files"]


def tree_bytes(folder):
    """{relative path: bytes} of every file under `folder`."""
    out = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, folder)] = f.read()
    return out


def start_fails(server_binary, bundle, work, tag):
    """Starts the server on `bundle`; (rc, stderr) once it exited (it must)."""
    proc = subprocess.run([server_binary, "--bundle", bundle, "--host", "127.0.0.1", "--port",
                           "0", "--metrics-port", "0"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    with open(os.path.join(work, f"broken-{tag}.log"), "w") as f:
        f.write(proc.stderr)
    return proc.returncode, proc.stderr


def check_broken_bundles(server_binary, bundle, work):
    log("== a bundle with a file missing, truncated or corrupted never half-starts")
    files = files_of(bundle)
    check(set(files) == {"catalog.tsv", "sasrec.safetensors"},
          f"the manifest lists every file of a SASRec bundle: {sorted(files)}")
    for name in sorted(files):
        for fault in ("missing", "truncated", "corrupted"):
            broken = os.path.join(work, "broken")
            shutil.rmtree(broken, ignore_errors=True)
            shutil.copytree(bundle, broken)
            path = os.path.join(broken, name)
            if fault == "missing":
                os.remove(path)
            elif fault == "truncated":
                with open(path, "r+b") as f:
                    f.truncate(os.path.getsize(path) - 1)
            else:
                with open(path, "r+b") as f:
                    f.seek(os.path.getsize(path) // 2)
                    b = f.read(1)
                    f.seek(-1, os.SEEK_CUR)
                    f.write(bytes([b[0] ^ 0x01]))
            rc, err = start_fails(server_binary, broken, work, f"{name}-{fault}")
            check(rc not in (0, None) and "listening on" not in err and path in err,
                  f"{name} {fault}: exit {rc} before listening, naming {name}: "
                  f"{err.strip().splitlines()[-1] if err.strip() else ''}")


def limit_file_size(max_bytes):
    """A preexec_fn: no file of the child may grow past max_bytes (EFBIG)."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, resource.RLIM_INFINITY))
    return apply


def check_full_disk_export(build, server_binary, bundle, model, data, work):
    log("== a full disk during export leaves the previous bundle")
    before = tree_bytes(bundle)
    args = [os.path.join(build, "sasrecllm"), "export", "--sasrec", model, "--items",
            os.path.join(data, "items.tsv"), "--out", bundle, "--model-version", "e2e-next"]
    log("$ (file size limit 4 KiB) " + " ".join(args))
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300, preexec_fn=limit_file_size(4096))
    check(proc.returncode != 0 and "File too large" in proc.stderr,
          f"export fails, saying why (exit {proc.returncode}: "
          f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''})")
    check(tree_bytes(bundle) == before, "the previous bundle is byte for byte as it was")
    parent = os.path.dirname(bundle)
    leftovers = [n for n in os.listdir(parent) if n.startswith(os.path.basename(bundle) + ".")]
    check(not leftovers, f"no staging folder left beside the bundle ({leftovers})")
    server = Server(server_binary, bundle, ["--threads", "1"],
                    os.path.join(work, "after-full-disk.log"))
    try:
        server.wait_listening()
        versions = served_version(server)
        check(versions == ["e2e-tiny"], f"the server serves the previous bundle ({versions})")
    finally:
        server.kill()


def bench(client_binary, target, work, name, *args):
    out = os.path.join(work, f"{name}.json")
    cmd = [client_binary, "--target", target, "--timeout-ms", "30000", "bench", "--warmup-s",
           "0", "--history-len", "10", "--json", out] + list(args)
    log("$ sasrecllm-client " + " ".join(cmd[3:]))
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True), out


def access_log_codes(path, method="Recommend"):
    """{code: count} of `method`'s calls in an access log (JSON lines)."""
    codes = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("method") == method:
                    codes[entry["code"]] = codes.get(entry["code"], 0) + 1
    return codes


def check_sigterm_under_load(server_binary, client_binary, bundle, work):
    log("== SIGTERM under load loses no accepted request")
    server = Server(server_binary, bundle, ["--threads", "1", "--max-batch-size", "8",
                                            "--access-log-sample-rate", "1"],
                    os.path.join(work, "sigterm-access.jsonl"))
    target = server.wait_listening()
    load, out = bench(client_binary, target, work, "sigterm-bench", "--concurrency", "32",
                      "--duration-s", "8")
    try:
        wait_serving_traffic(server, "the server")
        time.sleep(1)
        rc = server.terminate()
        check(rc == 0, f"the server drains and exits 0 on SIGTERM under load (got {rc})")
        load.communicate(timeout=120)
        with open(out) as f:
            result = json.load(f)
        served = access_log_codes(os.path.join(work, "sigterm-access.jsonl"))
        codes = result["errors_by_code"]
        check(set(served) <= {"OK", "UNAVAILABLE"},
              f"every call the server took finished OK or was refused UNAVAILABLE: {served}")
        check(result["ok"] > 50 and result["ok"] == served.get("OK", 0),
              f"the client got every OK reply the server sent: {result['ok']} at the client, "
              f"{served.get('OK', 0)} in the access log")
        # CANCELLED: streams gRPC's own Server::Shutdown cancels before they
        # reach the service. Their number is not bounded by the 32 calls in
        # flight: between gRPC's first GOAWAY and its final one (a ping round
        # trip later) the connection still takes new streams, and a worker
        # whose call was cancelled starts another at once, which can be
        # cancelled too (CI once saw 45). What matters is that the service
        # took none of them: the access log (every call logged) has no
        # CANCELLED, checked above, and every OK the server sent arrived.
        check(set(codes) <= {"UNAVAILABLE", "CANCELLED"},
              f"the client's failures are UNAVAILABLE, or CANCELLED by gRPC's shutdown "
              f"before the service took them: {codes}")
    finally:
        if load.poll() is None:
            load.kill()
        server.kill()


def check_disconnect_costs_no_work(server_binary, client_binary, bundle, work):
    log("== a client that disconnects costs no model work")
    # Batches of up to 512 that wait up to 3 s to fill: the client's 256 calls
    # all sit in the queue for those 3 s, long enough to kill the client while
    # every one of them is queued (and none computed yet).
    server = Server(server_binary, bundle,
                    ["--threads", "1", "--max-batch-size", "512", "--max-queue-delay-us", "3000000"],
                    os.path.join(work, "disconnect-server.log"))
    target = server.wait_listening()
    port = server.metrics_port
    depth = lambda: metric_value(port, r'sasrecllm_queue_depth\{stage="sasrec"\}') or 0  # noqa: E731
    rows = lambda: metric_value(port, r'sasrecllm_batch_size_sum\{stage="sasrec"\}') or 0  # noqa: E731
    answered = lambda code: metric_value(  # noqa: E731
        port, r'sasrecllm_requests_total\{code="%s",method="Recommend"\}' % code) or 0
    load, _ = bench(client_binary, target, work, "disconnect-bench", "--concurrency", "256",
                    "--duration-s", "60")
    try:
        queued = wait_for(lambda: depth() >= 256, timeout=2.5)
        computed_before = rows()
        load.send_signal(signal.SIGKILL)
        load.wait()
        check(queued and computed_before == 0,
              f"the client's 256 calls are queued, none computed yet (depth {depth():.0f}, "
              f"rows {computed_before:.0f})")
        # Past the 3 s queue delay: a batch of them would have run by now.
        wait_for(lambda: depth() == 0, timeout=10)
        time.sleep(4)
        computed, cancelled = rows(), answered("CANCELLED")
        check(cancelled == 256, f"all 256 queued calls are counted CANCELLED ({cancelled:.0f})")
        check(computed == 0, f"no model work for them: {computed:.0f} rows computed")
        rc = server.terminate()
        check(rc == 0, f"the server exits 0 afterwards (got {rc})")
    finally:
        if load.poll() is None:
            load.kill()
        server.kill()


def main():
    build, keep, work, rc = start(__doc__, "sasrecllm-faults-")
    if rc is not None:
        return rc
    server_binary = os.path.join(build, "sasrecllm-server")
    client_binary = os.path.join(build, "sasrecllm-client")
    try:
        bundle, _, data, model = make_bundle(build, work)
        check_broken_bundles(server_binary, bundle, work)
        check_full_disk_export(build, server_binary, bundle, model, data, work)
        check_sigterm_under_load(server_binary, client_binary, bundle, work)
        check_disconnect_costs_no_work(server_binary, client_binary, bundle, work)
    except (Fatal, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        FAILURES.append(f"fatal: {e}")
        log(f"FATAL: {e}")
    return report(work, keep, "fault")


if __name__ == "__main__":
    sys.exit(main())
