#!/usr/bin/python3
"""Compares the baseline's scores with the C++ implementation's, row by row.

  C++:    sasrecllm eval-hybrid --merge-lora --scores CPP.txt  (one P(like) per
          row, printed with 6 decimals)
  Python: sasrecllm-client score --input REQ.tsv --output PY.tsv --mode hybrid
          against server.py (PY.tsv: candidates, probabilities, logits, unknown)

    /usr/bin/python3 bench/python_baseline/compare_scores.py --cpp CPP.txt --py PY.tsv

Prints the largest probability difference, and the logit difference it
implies (logit(p_cpp) - logit_py) where p_cpp is not too close to 0 or 1 for
6 decimals to pin the logit down. make_score_requests writes REQ.tsv from a
CoLLM split file.
"""

import argparse
import math


def make_score_requests(split_tsv, out_tsv):
    """One Score request per split row: history -> the row's item."""
    with open(split_tsv, encoding="utf-8") as f, open(out_tsv, "w", encoding="utf-8") as out:
        next(f)  # header: user_id item_id label timestamp warm history
        for line in f:
            cols = line.rstrip("\n").split("\t")
            history = cols[5].split() if len(cols) > 5 else []
            out.write(",".join(history) + "\t" + cols[1] + "\tu" + cols[0] + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpp", help="eval-hybrid --scores file")
    p.add_argument("--py", help="sasrecllm-client score --output file")
    p.add_argument("--make-requests", nargs=2, metavar=("SPLIT_TSV", "OUT_TSV"),
                   help="write the Score requests for a CoLLM split file and exit")
    a = p.parse_args()
    if a.make_requests:
        make_score_requests(*a.make_requests)
        return
    cpp = [float(x) for x in open(a.cpp) if x.strip()]
    py = [line.rstrip("\n").split("\t") for line in open(a.py) if line.strip()]
    assert len(cpp) == len(py), f"{len(cpp)} C++ rows, {len(py)} Python rows"
    dp = [abs(c - float(r[1])) for c, r in zip(cpp, py)]
    # Logit diffs only where the 6-decimal probability keeps ~1e-4 logit resolution.
    dl = [abs(math.log(c / (1 - c)) - float(r[2])) for c, r in zip(cpp, py) if 0.01 < c < 0.99]
    worst = max(range(len(dp)), key=dp.__getitem__)
    print(f"rows: {len(cpp)}")
    print(f"max |P_cpp - P_py|: {max(dp):.3g} (row {worst + 1}: {cpp[worst]} vs {py[worst][1]}); "
          f"mean {sum(dp) / len(dp):.3g}")
    print(f"max |logit(P_cpp) - logit_py| over {len(dl)} rows with 0.01 < P < 0.99: {max(dl):.3g} "
          f"(6-decimal rounding of P alone allows up to ~{5e-7 / (0.01 * 0.99):.1g})")


if __name__ == "__main__":
    main()
