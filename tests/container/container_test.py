#!/usr/bin/env python3
"""The container image, checked as an operator would run it (started by
scripts/container-test.sh, which builds the image, mounts its filesystem and
writes TEST_DIR/in-image, the chroot wrapper that runs a command in it with
the image's environment and user):

1. The image config: ENTRYPOINT the server, a non-root numeric user, a
   HEALTHCHECK, the SASRECLLM_* defaults, ports 50051 and 9464.
2. The image's own `sasrecllm` (as root, writing the test's files): the
   SentencePiece plugin loads from its installed path (tokenize with
   ../shared's llama2 tokenizer.model gives llama2's ids), and it makes a tiny
   hybrid bundle whose LLM uses that tokenizer.model: a synthetic data set, a
   one-epoch SASRec, a CoLLM-format split, init-llm, one train-hybrid epoch
   on 64 rows, export.
3. The bundle at /models/bundle (the image's default), the image's
   ENTRYPOINT and CMD started with its environment only, in a network
   namespace of its own (so on its default ports, as in a container): it runs
   as uid 65532, the image's HEALTHCHECK command passes, the image's client
   gets SERVING, GetModelInfo shows the LLM, a HYBRID Recommend re-ranks with
   it, /metrics counts the calls, and SIGTERM drains it to exit 0.

  tests/container/container_test.py TEST_DIR ROOT

Exit 0 when every check passed, 1 otherwise.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from e2e_test import FAILURES, Fatal, check, log, make_collm_split, report, run  # noqa: E402

SHARED = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                       "..", "shared"))
SPM = os.path.join(SHARED, "tokenizers", "llama2-spm", "tokenizer.model")


def check_config(config):
    log("== image config")
    check(config.get("Entrypoint") == ["sasrecllm-server"],
          f"ENTRYPOINT is the server ({config.get('Entrypoint')})")
    user = str(config.get("User", ""))
    check(re.fullmatch(r"[1-9][0-9]*(:[0-9]+)?", user) is not None,
          f"runs as a numeric non-root user ({user!r})")
    health = (config.get("Healthcheck") or {}).get("Test") or []
    check(health[:2] == ["CMD", "sasrecllm-client"], f"HEALTHCHECK runs the client ({health})")
    env = dict(e.split("=", 1) for e in config.get("Env") or [])
    check(env.get("SASRECLLM_BUNDLE") == "/models/bundle" and env.get("SASRECLLM_PORT") == "50051"
          and env.get("SASRECLLM_METRICS_PORT") == "9464",
          f"SASRECLLM_* defaults: bundle /models/bundle, ports 50051 / 9464")
    ports = set(config.get("ExposedPorts") or {})
    check({"50051/tcp", "9464/tcp"} <= ports, f"EXPOSE 50051 9464 ({sorted(ports)})")
    return health[1:]


def make_hybrid_bundle(tool, test):
    """The image's sasrecllm makes a hybrid bundle on SentencePiece's tokenizer.model."""
    log("== a hybrid bundle on tokenizer.model, made by the image's sasrecllm")
    _, ids, _ = run(tool + ["tokenize", "--tokenizer", SPM, "hello world"])
    check(ids.split() == ["22172", "3186"],
          f"the SentencePiece plugin loads in the image: 'hello world' -> {ids.strip()}")
    data, sasrec = os.path.join(test, "data"), os.path.join(test, "sasrec")
    run(tool + ["data", "synthesize", "--out", data, "--users", "300", "--items", "120",
                "--seed", "7"])
    run(tool + ["train-sasrec", "--data", os.path.join(data, "sequences.txt"), "--out", sasrec,
                "--epochs", "1", "--hidden-units", "16", "--maxlen", "20", "--eval-users", "50",
                "--threads", "2", "--seed", "7"])
    split, _ = make_collm_split(data, test)
    llm, hybrid = os.path.join(test, "llm"), os.path.join(test, "hybrid")
    bundle = os.path.join(test, "bundle")
    run(tool + ["init-llm", "--out", llm, "--hidden-size", "32", "--layers", "2", "--heads", "4",
                "--intermediate-size", "64", "--tokenizer", SPM, "--seed", "1"])
    run(tool + ["train-hybrid", "--data", split, "--llm", llm, "--sasrec", sasrec, "--strategy",
                "joint", "--out", hybrid, "--epochs", "1", "--max-train-samples", "64",
                "--max-valid-samples", "32", "--max-titles", "3", "--threads", "2", "--seed", "7"])
    run(tool + ["export", "--hybrid", os.path.join(hybrid, "final"), "--items",
                os.path.join(split, "items.tsv"), "--out", bundle, "--model-version",
                "container-hybrid"])
    with open(os.path.join(bundle, "manifest.json")) as f:
        manifest = json.load(f)
    files = os.listdir(bundle) + os.listdir(os.path.join(bundle, "llm"))
    check("llm" in manifest.get("components", []) and "tokenizer.model" in files,
          f"the bundle has an LLM with tokenizer.model ({sorted(files)})")
    items = [line.split("\t")[0] for line in open(os.path.join(split, "items.tsv"))
             if line.strip() and not line.startswith(("#", "item_id"))]
    return bundle, items


def metric(text, pattern):
    m = re.search(r"^" + pattern + r" (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def check_server(in_image, config, healthcheck, items):
    log("== the image's server, its ENTRYPOINT and CMD with the image's environment")
    command = in_image + ["SASRECLLM_THREADS=1", "--"] + config["Entrypoint"] + (config.get("Cmd") or [])
    log("$ " + " ".join(command))
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, access = [], []
    ready = threading.Event()

    def read_stderr():
        for line in server.stderr:
            lines.append(line)
            if "listening on" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read_stderr, daemon=True).start()
    threading.Thread(target=lambda: access.extend(server.stdout), daemon=True).start()
    try:
        if not ready.wait(300) or server.poll() is not None:
            raise Fatal("the server did not start:\n" + "".join(lines))
        check(any("listening on 0.0.0.0:50051" in l for l in lines),
              "listens on 0.0.0.0:50051 (the image's default)")
        check(any("LLM stage loaded" in l for l in lines), "the LLM stage loaded")
        with open(f"/proc/{server.pid}/status") as f:
            uid = re.search(r"^Uid:\s+(\d+)", f.read(), re.M).group(1)
        check(uid == "65532", f"the server runs as uid 65532 (got {uid})")

        client = in_image + ["--"] + ["sasrecllm-client", "--target", "127.0.0.1:50051"]
        rc, out, err = run(in_image + ["--"] + healthcheck, check_rc=False)
        check(rc == 0 and out.strip() == "SERVING",
              f"the HEALTHCHECK {' '.join(healthcheck)} passes ({rc}: {out.strip()}{err.strip()})")
        _, out, _ = run(client + ["info", "--json", "-"])
        info = json.loads(out)
        check(info.get("has_llm") is True and info.get("model_version") == "container-hybrid",
              f"GetModelInfo: has_llm {info.get('has_llm')}, model_version {info.get('model_version')}")
        _, out, _ = run(client + ["recommend", "--history", ",".join(items[:8]), "--top-k", "5",
                                  "--mode", "hybrid", "--user-id", "container-user", "--json", "-"])
        reply = json.loads(out)
        ranked = reply.get("items", [])
        check(reply.get("mode") == "RANKING_MODE_HYBRID" or reply.get("mode") == "hybrid",
              f"a HYBRID Recommend is served in hybrid mode ({reply.get('mode')})")
        check(len(ranked) == 5 and all("llm_score" in r for r in ranked),
              f"5 items, each with an llm_score ({ranked[:1]})")

        text = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=10).read().decode()
        ok = metric(text, r'sasrecllm_requests_total\{code="OK",method="Recommend"\}')
        prefill = metric(text, r'sasrecllm_llm_tokens_total\{kind="prefill"\}')
        check(ok is not None and ok >= 1, f"/metrics counts the OK Recommend ({ok})")
        check(prefill is not None and prefill > 0, f"/metrics counts LLM prefill tokens ({prefill})")
        check('version="container-hybrid"' in text, "sasrecllm_model_info names the bundle")

        server.send_signal(signal.SIGTERM)
        rc = server.wait(120)
        check(rc == 0, f"SIGTERM drains the server to exit 0 (got {rc})")
        logged = [json.loads(l) for l in access if l.startswith("{")]
        check(any(r.get("user_id") == "container-user" for r in logged),
              f"the access log (stdout) has the Recommend's user_id ({len(logged)} lines)")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def main():
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    test, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    in_image = [os.path.join(test, "in-image")]
    try:
        with open(os.path.join(test, "image-config.json")) as f:
            config = json.load(f)
        healthcheck = check_config(config)
        tool = in_image + ["--root", "--", "sasrecllm"]
        bundle, items = make_hybrid_bundle(tool, test)
        run(["mount", "--bind", bundle, os.path.join(root, "models", "bundle")])
        check_server(in_image, config, healthcheck, items)
    except (Fatal, subprocess.TimeoutExpired, OSError, ValueError, KeyError) as e:
        FAILURES.append(f"fatal: {e}")
        log(f"FATAL: {e}")
    return report(test, True, "container")


if __name__ == "__main__":
    sys.exit(main())
