#!/usr/bin/env python3
"""Prints every PromQL expression of the Grafana dashboard and of the alert rules, one
per line, ready to send to Prometheus's /api/v1/query: Grafana's variables are
replaced ($__rate_interval by 1m, $job by sasrecllm, $instance by .*) and each
multi-line expression is joined into one line. Duplicates are printed once.

  tests/deploy/promql_exprs.py [--sources] [--var NAME=VALUE ...] [--dashboard F] [--rules F]

--sources prefixes each line with where it comes from and a tab
("sasrecllm.json: Request rate by method" or "rules.yml: SasrecllmServerErrors").
Needs PyYAML (Debian: python3-yaml).
"""
import argparse
import json
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/sasrecllm.json"
RULES = ROOT / "deploy/prometheus/rules.yml"

# What Grafana would put in: ranges for its interval variables, the dashboard's
# defaults for its own (instance "All" is the regex .*).
DEFAULT_VARS = {
    "__rate_interval": "1m",
    "__interval": "1m",
    "__range": "1h",
    "job": "sasrecllm",
    "instance": ".*",
}


def substitute(expr: str, variables: dict) -> str:
    def value(match):
        name = match.group(1) or match.group(2)
        if name not in variables:
            raise KeyError(f"no value for Grafana variable ${name} in: {expr}")
        return variables[name]

    # $name and ${name}; longest names first is implied by \w+ being greedy.
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def one_line(expr: str) -> str:
    return " ".join(expr.split())


def dashboard_exprs(path: pathlib.Path):
    """(panel title, expr) for every target of every panel, rows included."""

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get("expr"):
                    yield panel.get("title", "?"), target["expr"]
            yield from walk(panel.get("panels", []))

    yield from walk(json.loads(path.read_text())["panels"])


def rule_exprs(path: pathlib.Path):
    """(alert or record name, expr) for every rule."""
    for group in yaml.safe_load(path.read_text())["groups"]:
        for rule in group["rules"]:
            yield rule.get("alert") or rule.get("record"), str(rule["expr"])


def collect(dashboard: pathlib.Path, rules: pathlib.Path, variables: dict):
    """(source, one-line expr) pairs, dashboard first, then rules."""
    out = []
    for title, expr in dashboard_exprs(dashboard):
        out.append((f"{dashboard.name}: {title}", one_line(substitute(expr, variables))))
    for name, expr in rule_exprs(rules):
        out.append((f"{rules.name}: {name}", one_line(expr)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", action="store_true", help="prefix each line with its source")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="value of a dashboard variable (repeatable)")
    parser.add_argument("--dashboard", type=pathlib.Path, default=DASHBOARD)
    parser.add_argument("--rules", type=pathlib.Path, default=RULES)
    args = parser.parse_args()
    variables = dict(DEFAULT_VARS)
    for item in args.var:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--var {item}: expected NAME=VALUE")
        variables[name.lstrip("$")] = value
    seen = set()
    for source, expr in collect(args.dashboard, args.rules, variables):
        if args.sources:
            print(f"{source}\t{expr}")
        elif expr not in seen:
            seen.add(expr)
            print(expr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
