#!/usr/bin/env python3
"""The command-line layer of the three binaries, every command of each.

    python3 tests/cli/cli_test.py BUILD_DIR

The commands are read from the binaries' own --help (the "Subcommands:" list,
recursively: `sasrecllm data` has its own), so a new command is covered without
editing this file; the list must also hold the names DESIGN.md section 4 fixes.
For the binary and every (sub)command:
  * `--help` and `-h` exit 0 with the usage on stdout (nothing on stderr);
  * an unknown flag `--no-such-flag` (after the command's required flags, given
    dummy values read from its help) exits 2 and stderr names it.
Then every command that reads files, pointed at garbage written into a temp dir
(a corrupt config.json, bundle manifest, data file, tokenizer...), exits 1: a
run-time error, never a usage error. Last, sasrecllm-server's --help names the
environment variable of each flag.

Python 3 standard library only. Any mismatch exits 1.
"""

import os
import re
import subprocess
import sys
import tempfile

FAILURES = []

# DESIGN.md section 4 (names fixed), as command paths.
DESIGN_COMMANDS = {
    "sasrecllm": [
        ["data"], ["data", "synthesize"], ["data", "import-movielens"],
        ["data", "convert-collm"], ["train-sasrec"], ["eval-sasrec"], ["train-hybrid"],
        ["eval-hybrid"], ["export"], ["convert-llama2c"], ["generate"], ["tokenize"],
    ],
    "sasrecllm-client": [["recommend"], ["score"], ["info"], ["health"], ["bench"]],
    "sasrecllm-server": [],
}


def check(condition, message):
    print(f"  {'ok  ' if condition else 'FAIL'} {message}", flush=True)
    if not condition:
        FAILURES.append(message)


def run(args, timeout=120, env=None):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout, p.stderr


def subcommands(help_text):
    """The names listed under "Subcommands:" in CLI11's help."""
    names, inside = [], False
    for line in help_text.splitlines():
        if re.match(r"^subcommands:\s*$", line, re.IGNORECASE):
            inside = True
            continue
        if inside:
            m = re.match(r"^  (\S+)", line)
            if m:
                names.append(m.group(1))
            elif line.strip() == "" or not line.startswith(" "):
                inside = False
    return names


def enumerate_commands(binary):
    """Every command path of `binary` ([] = the binary itself), from --help."""
    paths, todo = [], [[]]
    while todo:
        path = todo.pop(0)
        paths.append(path)
        rc, out, _ = run([binary] + path + ["--help"])
        if rc == 0:
            todo.extend(path + [name] for name in subcommands(out))
    return paths


def required_args(help_text):
    """Dummy values for the required flags and positionals a help lists."""
    args, section = [], None
    for line in help_text.splitlines():
        if re.match(r"^(positionals|options):\s*$", line, re.IGNORECASE):
            section = line.strip().lower().rstrip(":")
            continue
        if not line.startswith("  ") or "REQUIRED" not in line:
            continue
        first = line.split()[0]
        choices = re.search(r":\{([^},]+)", line)  # TEXT:{a,b,c}: a valid value
        value = choices.group(1) if choices else "x"
        if section == "positionals":
            args.append(value)
        else:
            names = [n for n in first.split(",") if n.startswith("--")]
            if names:
                args += [names[0], value]
    return args


def check_command(binary, path):
    name = " ".join([os.path.basename(binary)] + path)
    for flag in ("--help", "-h"):
        rc, out, err = run([binary] + path + [flag])
        check(rc == 0 and "Usage:" in out and err == "",
              f"{name} {flag}: exit 0, usage on stdout (got exit {rc}, stderr {err.strip()!r})")
    _, help_text, _ = run([binary] + path + ["--help"])
    rc, _, err = run([binary] + path + ["--no-such-flag"])
    check(rc == 2 and "--no-such-flag" in err,
          f"{name} --no-such-flag (alone): exit 2 naming it (got exit {rc}: {err.strip()!r})")
    args = [binary] + path + required_args(help_text) + ["--no-such-flag"]
    rc, _, err = run(args)
    check(rc == 2 and "--no-such-flag" in err,
          f"{name} --no-such-flag: exit 2 naming it (got exit {rc}: {err.strip()!r})")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    return path


def check_corrupt_inputs(build, tmp):
    """Commands that read files exit 1 on garbage."""
    garbage = "this is not what you think \x01\x02 {{{ ]]\n"
    g = lambda rel: write(os.path.join(tmp, rel), garbage)
    folder = lambda rel, *files: ([g(os.path.join(rel, f)) for f in files],
                                  os.path.join(tmp, rel))[1]
    tool = os.path.join(build, "sasrecllm")
    client = os.path.join(build, "sasrecllm-client")
    server = os.path.join(build, "sasrecllm-server")
    out = lambda rel: os.path.join(tmp, "out", rel)
    bundle = folder("bundle", "manifest.json", "catalog.tsv", "sasrec.safetensors")
    sasrec = folder("sasrec", "config.json", "model.safetensors")
    llm = folder("llm", "config.json", "model.safetensors", "tokenizer.bin")
    hybrid = folder("hybrid", "hybrid.json")
    collm = folder("collm", "train.tsv", "valid.tsv", "test.tsv", "items.tsv")
    seqs = g("sequences.txt")
    cases = [
        ("sasrecllm-server --bundle (corrupt manifest.json)",
         [server, "--bundle", bundle, "--port", "0", "--metrics-port", "0"]),
        ("sasrecllm eval-sasrec (corrupt config.json)",
         [tool, "eval-sasrec", "--data", seqs, "--model", sasrec]),
        ("sasrecllm eval-sasrec --pointwise (corrupt config.json)",
         [tool, "eval-sasrec", "--pointwise", "--data", collm, "--model", sasrec]),
        ("sasrecllm train-sasrec (corrupt sequence file)",
         [tool, "train-sasrec", "--data", seqs, "--out", out("train"), "--epochs", "1"]),
        ("sasrecllm train-sasrec --objective pointwise (corrupt split)",
         [tool, "train-sasrec", "--objective", "pointwise", "--data", collm, "--out",
          out("pointwise"), "--epochs", "1"]),
        ("sasrecllm export (corrupt SASRec folder)",
         [tool, "export", "--sasrec", sasrec, "--out", out("bundle")]),
        ("sasrecllm export --hybrid (corrupt hybrid.json)",
         [tool, "export", "--hybrid", hybrid, "--out", out("hbundle")]),
        ("sasrecllm bench-sasrec (corrupt bundle)",
         [tool, "bench-sasrec", "--bundle", bundle, "--seconds", "0.1"]),
        ("sasrecllm train-hybrid (corrupt split)",
         [tool, "train-hybrid", "--data", collm, "--llm", llm, "--sasrec", sasrec,
          "--strategy", "joint", "--out", out("hyb")]),
        ("sasrecllm eval-hybrid (corrupt hybrid.json)",
         [tool, "eval-hybrid", "--model", hybrid, "--data", collm]),
        ("sasrecllm fuse-hybrid (corrupt hybrid.json)",
         [tool, "fuse-hybrid", "--model", hybrid, "--data", collm, "--out", out("fused")]),
        ("sasrecllm generate (corrupt config.json)",
         [tool, "generate", "--model", llm, "--steps", "4"]),
        ("sasrecllm tokenize (corrupt tokenizer.json)",
         [tool, "tokenize", "--tokenizer", g("tok/tokenizer.json"), "hello"]),
        ("sasrecllm convert-llama2c (corrupt checkpoint)",
         [tool, "convert-llama2c", g("ckpt.bin"), g("tok.bin"), out("conv")]),
        ("sasrecllm init-llm --tokenizer (corrupt tokenizer.json)",
         [tool, "init-llm", "--out", out("init"), "--hidden-size", "32", "--layers", "1",
          "--heads", "4", "--intermediate-size", "48", "--tokenizer", g("tok2/tokenizer.json")]),
        ("sasrecllm bench-llm --model (corrupt config.json)",
         [tool, "bench-llm", "--model", llm, "--skip-large", "--repeats", "1"]),
        ("sasrecllm data convert-collm (corrupt split)",
         [tool, "data", "convert-collm", "--in", collm, "--out", out("conv-collm")]),
        ("sasrecllm data import-movielens (corrupt ratings.dat)",
         [tool, "data", "import-movielens", "--ratings", g("ml/ratings.dat"),
          "--movies", g("ml/movies.dat"), "--out", out("ml")]),
        ("sasrecllm-client score-collm --data (corrupt split file)",
         [client, "--target", "127.0.0.1:1", "score-collm", "--data", g("split.tsv")]),
    ]
    for what, args in cases:
        rc, _, err = run(args, timeout=300)
        check(rc == 1, f"{what}: exit 1 (got exit {rc}: {err.strip()[-300:]!r})")


def check_server_env(server):
    rc, out, _ = run([server, "--help"])
    flags = re.findall(r"^\s+--([a-z][a-z0-9-]*)", out, re.MULTILINE)
    check(len(flags) >= 10 and "metrics-port" in flags and "bundle" in flags,
          f"sasrecllm-server --help lists the dashed flags ({len(flags)})")
    for flag in flags:
        if flag == "help":
            continue
        env = "SASRECLLM_" + flag.upper().replace("-", "_")
        check(env in out, f"sasrecllm-server --help names {env} for --{flag}")
    # A bad value from the environment is a usage error naming the variable.
    env = dict(os.environ, SASRECLLM_METRICS_PORT="not-a-port")
    rc, _, err = run([server, "--bundle", "/nonexistent"], env=env)
    check(rc == 2 and "SASRECLLM_METRICS_PORT" in err,
          f"SASRECLLM_METRICS_PORT=not-a-port: exit 2 naming it (got {rc}: {err.strip()!r})")
    # The environment supplies --bundle (the required flag): a missing folder is exit 1.
    env = dict(os.environ, SASRECLLM_BUNDLE="/nonexistent/bundle", SASRECLLM_PORT="0",
               SASRECLLM_METRICS_PORT="0")
    rc, _, err = run([server], env=env)
    check(rc == 1 and "/nonexistent/bundle" in err,
          f"SASRECLLM_BUNDLE sets --bundle: exit 1 naming the folder (got {rc}: {err.strip()!r})")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    build = os.path.abspath(sys.argv[1])
    listed = {}
    for name, design in DESIGN_COMMANDS.items():
        binary = os.path.join(build, name)
        if not os.access(binary, os.X_OK):
            check(False, f"{binary} is built")
            continue
        paths = enumerate_commands(binary)
        listed[name] = paths
        print(f"== {name}: " + ", ".join(" ".join(p) or "(binary)" for p in paths), flush=True)
        for path in design:
            check(path in paths, f"{name} lists `{' '.join(path)}` (DESIGN.md)")
        for path in paths:
            check_command(binary, path)
        rc, _, err = run([binary, "no-such-command"])
        check(rc == 2, f"{name} no-such-command: exit 2 (got {rc}: {err.strip()!r})")
    print("== corrupt inputs", flush=True)
    with tempfile.TemporaryDirectory(prefix="sasrecllm-cli-") as tmp:
        check_corrupt_inputs(build, tmp)
    print("== sasrecllm-server environment", flush=True)
    check_server_env(os.path.join(build, "sasrecllm-server"))
    total = sum(len(p) for p in listed.values())
    print(f"{total} command paths checked; {len(FAILURES)} failure(s)")
    for f in FAILURES:
        print("  FAIL " + f)
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
