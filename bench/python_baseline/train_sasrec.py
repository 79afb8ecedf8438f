#!/usr/bin/env python3
"""SASRec training the way pmixer/SASRec.pytorch does it (model.py, utils.py,
main.py), the Python anchor of bench/train-sasrec-speed.sh.

    train_sasrec.py --data Video.txt --out DIR [--epochs 5] [--threads 2] ...

What is the same as pmixer's project: the model (torch.nn.MultiheadAttention,
Conv1d feed-forward, post-LayerNorm, learned positions, xavier_normal_ init),
the data split (last item test, second-to-last valid), the sampler
(multiprocessing WarpSampler: a user with >= 2 train items drawn uniformly,
seq/pos/neg of maxlen with negatives outside the user's items), the loss (BCE
with logits on positive and negative logits where pos != 0, optional L2 on the
item embeddings), Adam(lr, betas 0.9/0.98), one epoch = num_users // batch
steps. The C++ trainer (model/sasrec_trainer.h) follows the same protocol.

Writes DIR/config.json + DIR/model.safetensors in pmixer's tensor names, which
`sasrecllm eval-sasrec --model DIR` reads, so both trainers are evaluated by
one evaluator, and DIR/train_log.json (seconds and sequences/s per epoch).
Needs Debian's python3-torch and python3-numpy
(SETUP_BENCH_TOOLS=1 scripts/setup.sh --no-build).
"""
import argparse
import json
import os
import struct
import sys
import time
from collections import defaultdict
from multiprocessing import Process, Queue

import numpy as np
import torch


# ---------------------------------------------------------------------------
# utils.py

def data_partition(path):
    """user -> items in file order; the last item is test, the one before valid."""
    users = defaultdict(list)
    usernum = itemnum = 0
    with open(path) as f:
        for line in f:
            u, i = line.rstrip().split(" ")
            u, i = int(u), int(i)
            usernum, itemnum = max(u, usernum), max(i, itemnum)
            users[u].append(i)
    user_train = {}
    for user, items in users.items():
        user_train[user] = items if len(items) < 3 else items[:-2]
    return user_train, usernum, itemnum


def random_neq(lo, hi, s):
    t = np.random.randint(lo, hi)
    while t in s:
        t = np.random.randint(lo, hi)
    return t


def sample_function(user_train, usernum, itemnum, batch_size, maxlen, result_queue, seed):
    def sample(uid):
        while len(user_train[uid]) <= 1:  # pmixer: redraw users with < 2 train items
            uid = np.random.randint(1, usernum + 1)
        seq = np.zeros([maxlen], dtype=np.int32)
        pos = np.zeros([maxlen], dtype=np.int32)
        neg = np.zeros([maxlen], dtype=np.int32)
        nxt = user_train[uid][-1]
        idx = maxlen - 1
        ts = set(user_train[uid])
        for i in reversed(user_train[uid][:-1]):
            seq[idx] = i
            pos[idx] = nxt
            if nxt != 0:
                neg[idx] = random_neq(1, itemnum + 1, ts)
            nxt = i
            idx -= 1
            if idx == -1:
                break
        return uid, seq, pos, neg

    np.random.seed(seed)
    uids = np.arange(1, usernum + 1, dtype=np.int32)
    counter = 0
    while True:
        if counter % usernum == 0:
            np.random.shuffle(uids)
        one_batch = []
        for _ in range(batch_size):
            one_batch.append(sample(uids[counter % usernum]))
            counter += 1
        result_queue.put(zip(*one_batch))


class WarpSampler:
    def __init__(self, user_train, usernum, itemnum, batch_size, maxlen, n_workers, seed):
        self.result_queue = Queue(maxsize=n_workers * 10)
        self.processors = []
        for i in range(n_workers):
            p = Process(target=sample_function,
                        args=(user_train, usernum, itemnum, batch_size, maxlen,
                              self.result_queue, seed + i))
            p.daemon = True
            p.start()
            self.processors.append(p)

    def next_batch(self):
        return self.result_queue.get()

    def close(self):
        for p in self.processors:
            p.terminate()
            p.join()


# ---------------------------------------------------------------------------
# model.py

class PointWiseFeedForward(torch.nn.Module):
    def __init__(self, hidden_units, dropout_rate):
        super().__init__()
        self.conv1 = torch.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
        self.dropout1 = torch.nn.Dropout(p=dropout_rate)
        self.relu = torch.nn.ReLU()
        self.conv2 = torch.nn.Conv1d(hidden_units, hidden_units, kernel_size=1)
        self.dropout2 = torch.nn.Dropout(p=dropout_rate)

    def forward(self, inputs):  # [B, T, H] -> [B, T, H]
        outputs = self.dropout2(self.conv2(self.relu(
            self.dropout1(self.conv1(inputs.transpose(-1, -2))))))
        return outputs.transpose(-1, -2)


class SASRec(torch.nn.Module):
    def __init__(self, item_num, args):
        super().__init__()
        h = args.hidden_units
        self.item_emb = torch.nn.Embedding(item_num + 1, h, padding_idx=0)
        self.pos_emb = torch.nn.Embedding(args.maxlen + 1, h, padding_idx=0)
        self.emb_dropout = torch.nn.Dropout(p=args.dropout_rate)
        self.attention_layernorms = torch.nn.ModuleList()
        self.attention_layers = torch.nn.ModuleList()
        self.forward_layernorms = torch.nn.ModuleList()
        self.forward_layers = torch.nn.ModuleList()
        self.last_layernorm = torch.nn.LayerNorm(h, eps=1e-8)
        for _ in range(args.num_blocks):
            self.attention_layernorms.append(torch.nn.LayerNorm(h, eps=1e-8))
            self.attention_layers.append(
                torch.nn.MultiheadAttention(h, args.num_heads, args.dropout_rate))
            self.forward_layernorms.append(torch.nn.LayerNorm(h, eps=1e-8))
            self.forward_layers.append(PointWiseFeedForward(h, args.dropout_rate))

    def log2feats(self, log_seqs):  # [B, T] int64 -> [B, T, H]
        seqs = self.item_emb(log_seqs) * self.item_emb.embedding_dim ** 0.5
        poss = torch.arange(1, log_seqs.shape[1] + 1).unsqueeze(0) * (log_seqs != 0)
        seqs = self.emb_dropout(seqs + self.pos_emb(poss))
        tl = seqs.shape[1]
        attention_mask = ~torch.tril(torch.ones((tl, tl), dtype=torch.bool))
        for i in range(len(self.attention_layers)):
            seqs = torch.transpose(seqs, 0, 1)  # [T, B, H]: MultiheadAttention's layout
            mha_outputs, _ = self.attention_layers[i](seqs, seqs, seqs, attn_mask=attention_mask)
            seqs = self.attention_layernorms[i](seqs + mha_outputs)
            seqs = torch.transpose(seqs, 0, 1)
            seqs = self.forward_layernorms[i](seqs + self.forward_layers[i](seqs))
        return self.last_layernorm(seqs)

    def forward(self, log_seqs, pos_seqs, neg_seqs):  # -> ([B, T], [B, T])
        log_feats = self.log2feats(log_seqs)
        pos_logits = (log_feats * self.item_emb(pos_seqs)).sum(dim=-1)
        neg_logits = (log_feats * self.item_emb(neg_seqs)).sum(dim=-1)
        return pos_logits, neg_logits


# ---------------------------------------------------------------------------
# Checkpoint in the layout `sasrecllm eval-sasrec --model` reads.

def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def save(out, model, itemnum, usernum, args):
    os.makedirs(out, exist_ok=True)
    config = {"source": "bench/python_baseline/train_sasrec.py (pmixer/SASRec.pytorch)",
              "item_num": itemnum, "user_num": usernum, "maxlen": args.maxlen,
              "hidden_units": args.hidden_units, "num_blocks": args.num_blocks,
              "num_heads": args.num_heads, "dropout_rate": args.dropout_rate,
              "norm_first": False, "layernorm_eps": 1e-8}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    save_safetensors(os.path.join(out, "model.safetensors"), model.state_dict())


# ---------------------------------------------------------------------------
# main.py

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="'user item' lines, in time order per user")
    parser.add_argument("--out", required=True, help="output folder (config.json, model.safetensors)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.001)
    parser.add_argument("--maxlen", type=int, default=50)
    parser.add_argument("--hidden-units", type=int, default=50)
    parser.add_argument("--num-blocks", type=int, default=2)
    parser.add_argument("--num-heads", type=int, default=1)
    parser.add_argument("--dropout-rate", type=float, default=0.5)
    parser.add_argument("--l2-emb", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch's default)")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    user_train, usernum, itemnum = data_partition(args.data)
    num_batch = len(user_train) // args.batch_size
    print("%d users, %d items, %d batches per epoch, %d torch threads"
          % (usernum, itemnum, num_batch, torch.get_num_threads()), file=sys.stderr)
    sampler = WarpSampler(user_train, usernum, itemnum, args.batch_size, args.maxlen,
                          n_workers=3, seed=args.seed)
    model = SASRec(itemnum, args)
    for _, param in model.named_parameters():
        try:
            torch.nn.init.xavier_normal_(param.data)
        except ValueError:
            pass  # 1-d parameters keep their defaults (pmixer: "just ignore those failed init layers")
    model.pos_emb.weight.data[0, :] = 0
    model.item_emb.weight.data[0, :] = 0
    model.train()
    bce = torch.nn.BCEWithLogitsLoss()
    adam = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.98))

    log = {"epochs": []}
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        total = 0.0
        for _ in range(num_batch):
            u, seq, pos, neg = sampler.next_batch()
            seq, pos, neg = (torch.from_numpy(np.array(x)).long() for x in (seq, pos, neg))
            pos_logits, neg_logits = model(seq, pos, neg)
            indices = torch.where(pos != 0)
            adam.zero_grad()
            loss = bce(pos_logits[indices], torch.ones_like(pos_logits[indices]))
            loss = loss + bce(neg_logits[indices], torch.zeros_like(neg_logits[indices]))
            if args.l2_emb > 0:
                for param in model.item_emb.parameters():
                    loss = loss + args.l2_emb * torch.norm(param)
            loss.backward()
            adam.step()
            total += loss.item()
        seconds = time.perf_counter() - start
        rate = num_batch * args.batch_size / seconds
        log["epochs"].append({"epoch": epoch, "loss": total / num_batch, "seconds": seconds,
                              "sequences_per_s": rate})
        print("epoch %d: loss %.4f, %.1f s (%.0f sequences/s)"
              % (epoch, total / num_batch, seconds, rate), file=sys.stderr)
    sampler.close()
    save(args.out, model, itemnum, usernum, args)
    with open(os.path.join(args.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()
