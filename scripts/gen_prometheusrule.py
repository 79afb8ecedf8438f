#!/usr/bin/env python3
"""Writes deploy/kubernetes/base/prometheusrule.yaml from deploy/prometheus/rules.yml.

The rules have one source, rules.yml (checked by promtool and its unit tests); the
Prometheus operator's PrometheusRule carries the same groups under `spec`. Run after
editing rules.yml; tests/deploy fails while the two differ.

  scripts/gen_prometheusrule.py            # rewrite the file
  scripts/gen_prometheusrule.py --check    # exit 1 if it is out of date
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
RULES = ROOT / "deploy/prometheus/rules.yml"
OUT = ROOT / "deploy/kubernetes/base/prometheusrule.yaml"

HEADER = """\
# GENERATED from deploy/prometheus/rules.yml by scripts/gen_prometheusrule.py: edit
# that file, then run the script. Your Prometheus must select this object (e.g. its
# ruleSelector matches a `release` label: add that label here).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: sasrecllm
  labels:
    app.kubernetes.io/name: sasrecllm
spec:
"""


def render() -> str:
    lines = RULES.read_text().splitlines()
    return HEADER + "".join(("  " + line if line else "") + "\n" for line in lines)


def main() -> int:
    text = render()
    if sys.argv[1:] == ["--check"]:
        if OUT.read_text() != text:
            print(f"{OUT.relative_to(ROOT)} is out of date: run {sys.argv[0]}", file=sys.stderr)
            return 1
        return 0
    if sys.argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    OUT.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
