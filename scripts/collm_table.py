#!/usr/bin/env python3
"""The results table of scripts/train-collm.sh (CoLLM ML-1M test split).

    collm_table.py OUT ENCODER SAMPLES VALID_SAMPLES EPOCHS

Reads OUT/results/ (the two SASRec baselines) and OUT/hybrid-<encoder>/ (the
hybrid runs on each SASRec encoder that has any), prints the Markdown table
and writes it to OUT/results.md. The hybrid strategy with the best VALIDATION
AUC on ENCODER goes to OUT/hybrid-ENCODER/best-strategy (what is exported);
test figures are never used to choose.
"""
import json
import os
import sys

# CoLLM, Table II (ML-1M, Vicuna-7B): AUC, UAUC.
PAPER = [("SASRec", ".7078", ".6884"), ("TALLRec", ".7097", ".6818"),
         ("CoLLM-SASRec", ".7235", ".6990"), ("CoLLM-MF", ".7295", "")]
STRATEGIES = ["two-stage", "two-stage-tune-encoder", "joint"]


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def seconds(path):
    return int(open(path).read()) if os.path.exists(path) else None


def baseline_rows(out):
    rows = []  # (label, valid AUC, test report, train seconds, training rows/s)
    res = os.path.join(out, "results")
    for name, label, log in [
            ("sasrec", "SASRec next-item (maxlen 50)", None),
            ("sasrec-pointwise", "SASRec point-wise (CoLLM's baseline, maxlen 25)",
             os.path.join(out, "sasrec-pointwise", "train_log.json"))]:
        test = load(os.path.join(res, name + "-test.json"))
        if not test:
            continue
        valid = load(os.path.join(res, name + "-valid.json"))
        rate = None
        epochs = (load(log) or {}).get("epochs", []) if log else []
        if epochs:
            rate = sum(e["rows_per_s"] for e in epochs) / len(epochs)
        rows.append((label, valid["all"]["auc"] if valid else None, test,
                     seconds(os.path.join(res, name + ".seconds")), rate))
    return rows


def hybrid_rows(out, encoder):
    """The text-only row and one row per strategy trained on `encoder`."""
    hyb = os.path.join(out, "hybrid-" + encoder)
    rows, best = [], None
    two_stage = load(os.path.join(hyb, "two-stage", "result.json"))
    tallrec = load(os.path.join(hyb, "results", "tallrec-test.json"))
    if tallrec and two_stage:
        stage1 = two_stage["stages"][0]
        rows.append(("text-only LoRA, TALLRec-style (two-stage's stage 1)",
                     stage1["best_valid_auc"], tallrec, int(stage1["seconds"]),
                     stage1["train_samples_per_s"]))
    for s in STRATEGIES:
        test = load(os.path.join(hyb, "results", s + "-test.json"))
        result = load(os.path.join(hyb, s, "result.json"))
        if not test or not result:
            continue
        last = result["stages"][-1]
        rate = sum(st["train_samples_per_s"] for st in result["stages"]) / len(result["stages"])
        rows.append(("SASRecLLM %s (SASRec %s)" % (s, encoder), last["best_valid_auc"], test,
                     seconds(os.path.join(hyb, "results", s + ".seconds")), rate))
        if best is None or last["best_valid_auc"] > best[1]:
            best = (s, last["best_valid_auc"])
    # The late fusion (fuse-hybrid): its weights are fitted on validation, so
    # its validation AUC is the 5-fold cross-validated one, not the in-sample.
    fit = load(os.path.join(hyb, "results", "fusion-fit.json"))
    test = load(os.path.join(hyb, "results", "fusion-test.json"))
    if fit and test:
        valid = fit["cross_validated_valid_auc"]
        rows.append(("late fusion: text-only LoRA + SASRec %s (weights fitted on valid; "
                     "valid AUC cross-validated)" % encoder, valid, test,
                     int(fit["seconds"]), None))
        if best is None or valid > best[1]:
            best = ("fusion", valid)
    return rows, best


def cell(report, subset, metric):
    value = (report or {}).get(subset, {}).get(metric)
    return "%.4f" % value if value is not None else "-"


def main():
    out, encoder, samples, valid_samples, epochs = sys.argv[1:6]
    rows = baseline_rows(out)
    chosen_best = None
    # The chosen encoder first; the other one's hybrids too when they exist.
    for enc in [encoder] + [e for e in ("pointwise", "next-item") if e != encoder]:
        enc_rows, best = hybrid_rows(out, enc)
        rows += enc_rows
        if enc == encoder:
            chosen_best = best
    lines = ["| model | valid AUC | test AUC | test UAUC | warm AUC | warm UAUC | cold AUC | "
             "cold UAUC | train time | train rows/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for label, valid, test, secs, rate in rows:
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, "%.4f" % valid if valid is not None else "-",
            cell(test, "all", "auc"), cell(test, "all", "uauc"),
            cell(test, "warm", "auc"), cell(test, "warm", "uauc"),
            cell(test, "cold", "auc"), cell(test, "cold", "uauc"),
            "%d s" % secs if secs is not None else "-", "%.1f" % rate if rate else "-"))
    for label, auc, uauc in PAPER:
        lines.append("| CoLLM paper (Table II, Vicuna-7B): %s | | %s | %s | | | | | | |"
                     % (label, auc, uauc or "-"))
    note = ("Hybrid rows: %s training rows (0 = all 33,891), %s validation rows for selection "
            "(0 = all 10,401), %s epoch(s) per stage; the test split is always whole."
            % (samples, valid_samples, epochs))
    table = "\n".join(lines) + "\n\n" + note
    print(table)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(table + "\n")
    if chosen_best:
        with open(os.path.join(out, "hybrid-" + encoder, "best-strategy"), "w") as f:
            f.write(chosen_best[0] + "\n")


if __name__ == "__main__":
    main()
