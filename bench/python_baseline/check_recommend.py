#!/usr/bin/python3
"""Checks the baseline's Recommend and Score against the C++ server on the
parts the C++ server serves today (SASRec only), and that HYBRID answers.

    build/sasrecllm-server --bundle B --port 50062 --metrics-port 0 &
    /usr/bin/python3 bench/python_baseline/server.py --bundle B --port 50061 &
    /usr/bin/python3 bench/python_baseline/check_recommend.py \
        --py localhost:50061 --cpp localhost:50062 --split ../shared/data/collm-ml1m/test.tsv

For --requests rows of the split (histories cut to the last 50 ids, the
server limit): SEQUENTIAL_ONLY Recommend over the whole catalog, with and
without exclude_history, and with 30 explicit candidates, must return the same
items in the same order with retrieval scores within --tolerance; Score
SEQUENTIAL_ONLY logits likewise. HYBRID Recommend must return top_k items,
each with retrieval_score and llm_score, sorted by llm_score.
Assumes the CoLLM ML-1M bundle (items 1..3254 known to SASRec, 3255 cold).
"""

import argparse
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import grpc  # noqa: E402

import protos  # noqa: E402

pb2, _ = protos.load()


def stub(target):
    channel = grpc.insecure_channel(target)
    ser = lambda m: m.SerializeToString()  # noqa: E731
    return {
        "Recommend": channel.unary_unary("/sasrecllm.v1.Recommender/Recommend", ser,
                                         pb2.RecommendResponse.FromString),
        "Score": channel.unary_unary("/sasrecllm.v1.Recommender/Score", ser, pb2.ScoreResponse.FromString),
    }


def histories(split, n, seed):
    rows = [line.rstrip("\n").split("\t") for line in open(split, encoding="utf-8")][1:]
    rng = random.Random(seed)
    picked = rng.sample(rows, n)
    return [(r[5].split() if len(r) > 5 else [])[-50:] for r in picked]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--py", default="localhost:50061")
    p.add_argument("--cpp", default="localhost:50062")
    p.add_argument("--split", required=True)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=7)
    a = p.parse_args()
    py, cpp = stub(a.py), stub(a.cpp)
    rng = random.Random(a.seed)
    seq = pb2.RANKING_MODE_SEQUENTIAL_ONLY
    worst, order_mismatches, compared = 0.0, 0, 0
    for history in histories(a.split, a.requests, a.seed):
        cands = [str(rng.randint(1, 3254)) for _ in range(30)]
        requests = [pb2.RecommendRequest(history=history, top_k=10, mode=seq),
                    pb2.RecommendRequest(history=history, top_k=10, mode=seq, exclude_history=False),
                    pb2.RecommendRequest(history=history, top_k=10, mode=seq, candidates=cands)]
        for req in requests:
            a_items, b_items = py["Recommend"](req).items, cpp["Recommend"](req).items
            compared += 1
            if [x.item_id for x in a_items] != [x.item_id for x in b_items]:
                order_mismatches += 1
                print("order differs:", [x.item_id for x in a_items], [x.item_id for x in b_items])
            for x, y in zip(a_items, b_items):
                worst = max(worst, abs(x.retrieval_score - y.retrieval_score))
        sreq = pb2.ScoreRequest(history=history, candidates=cands + ["3255", "no-such-id"], mode=seq)
        a_s, b_s = py["Score"](sreq).scores, cpp["Score"](sreq).scores
        for x, y in zip(a_s, b_s):
            assert x.known == y.known, (x, y)
            worst = max(worst, abs(x.logit - y.logit), abs(x.probability - y.probability))
    print(f"SEQUENTIAL_ONLY: {compared} Recommend requests, {order_mismatches} with another order; "
          f"{a.requests} Score requests; max |score diff| {worst:.3g}")

    hybrid_ok = 0
    for history in histories(a.split, 10, a.seed + 1):
        r = py["Recommend"](pb2.RecommendRequest(history=history, mode=pb2.RANKING_MODE_HYBRID))
        llm = [x.llm_score for x in r.items]
        ok = (len(r.items) == 10 and all(x.HasField("llm_score") for x in r.items)
              and all(x.retrieval_score != 0 for x in r.items) and llm == sorted(llm, reverse=True)
              and all(x.score == x.llm_score for x in r.items) and r.mode == pb2.RANKING_MODE_HYBRID)
        hybrid_ok += ok
    print(f"HYBRID: {hybrid_ok}/10 responses with 10 items, both scores, sorted by llm_score")
    print("example HYBRID response (history of the last request):")
    for x in r.items:
        print(f"  {x.item_id:>5}  llm {x.llm_score:8.4f}  retrieval {x.retrieval_score:8.4f}  {x.title}")
    return 0 if order_mismatches == 0 and worst <= a.tolerance and hybrid_ok == 10 else 1


if __name__ == "__main__":
    sys.exit(main())
