#!/usr/bin/env python3
"""Writes the seed corpus, fuzz/corpus/<target>/, from small inputs made here
(nothing from ../shared is copied): the files a tiny synthetic run of the
project's own tool writes (BUILD_DIR/sasrecllm: a data set, a SASRec, a
bundle, an LLM folder) and hand-made ones (a llama2.c checkpoint and
tokenizer, MovieLens lines, protobuf requests, a minimal tokenizer.json).

  fuzz/make_seed_corpus.py BUILD_DIR

Rerun it when a format changes; the corpus is committed.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEPARATOR = b"\n--\n"  # between the files of one input (fuzz_input.h: SplitInParts)


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tool_outputs(build, work):
    tool = os.path.join(build, "sasrecllm")

    def run(*args):
        subprocess.run([tool, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)

    run("data", "synthesize", "--out", f"{work}/data", "--users", "30", "--items", "20",
        "--seed", "3")
    run("train-sasrec", "--data", f"{work}/data/sequences.txt", "--out", f"{work}/sasrec",
        "--epochs", "1", "--hidden-units", "8", "--maxlen", "5", "--eval-users", "10",
        "--threads", "1", "--seed", "1")
    run("export", "--sasrec", f"{work}/sasrec", "--items", f"{work}/data/items.tsv", "--out",
        f"{work}/bundle", "--model-version", "seed")
    run("init-llm", "--out", f"{work}/llm", "--hidden-size", "8", "--layers", "1", "--heads",
        "2", "--intermediate-size", "16", "--vocab-size", "16", "--max-positions", "8")
    return lambda *p: open(os.path.join(work, *p), "rb").read()


def llama2c_checkpoint(dim=8, hidden=16, layers=1, heads=2, kv_heads=2, vocab=4, seq=4):
    """llama2.c's layout: 7 int32 (a negative vocab: untied wcls), then float32."""
    hd = dim // heads
    n = (vocab * dim + layers * dim + layers * dim * dim + 2 * layers * dim * kv_heads * hd
         + layers * dim * dim + layers * dim + 3 * layers * dim * hidden + dim + seq * hd)
    header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads, vocab, seq)
    return header + struct.pack(f"<{n}f", *[(i % 7 - 3) / 10 for i in range(n)])


def llama2c_tokenizer(pieces):
    out = struct.pack("<i", max(len(p.encode()) for p in pieces))
    for i, p in enumerate(pieces):
        out += struct.pack("<fi", float(-i), len(p.encode())) + p.encode()
    return out


def read_safetensors(data):
    """{name: (dtype, shape, bytes)} of a .safetensors file, in file order."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    header.pop("__metadata__", None)
    body = data[8 + n:]
    return {k: (v["dtype"], v["shape"], body[v["data_offsets"][0]:v["data_offsets"][1]])
            for k, v in header.items()}


def write_safetensors(tensors):
    header, body = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(body), len(body) + len(raw)]}
        body += raw
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


def sharded_llm(model_safetensors):
    """The tiny LLM's weights as two shards and their index, one fuzz input."""
    tensors = read_safetensors(model_safetensors)
    names = list(tensors)
    half = len(names) // 2
    files = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    shards = [dict((k, tensors[k]) for k in names[:half]), dict((k, tensors[k]) for k in names[half:])]
    index = {"metadata": {"total_size": sum(len(t[2]) for t in tensors.values())},
             "weight_map": {k: files[0] if i < half else files[1] for i, k in enumerate(names)}}
    parts = [json.dumps(index).encode(), write_safetensors(shards[0]), write_safetensors(shards[1])]
    assert all(SEPARATOR not in p for p in parts[:-1]), "a part holds the separator"
    return SEPARATOR.join(parts)


def peft_adapter(r, modules, hidden=8, layers=1, default_name=False):
    """A PEFT LoRA adapter for fuzz/tiny_llama.h's model (hidden 8, kv width 8),
    adapter_config.json and adapter_model.safetensors as one fuzz input."""
    config = {"peft_type": "LORA", "r": r, "lora_alpha": 2 * r, "lora_dropout": 0.0,
              "target_modules": modules, "bias": "none"}
    tensors = {}
    for layer in range(layers):
        for m in modules:
            path = f"base_model.model.model.layers.{layer}.self_attn.{m}"
            suffix = ".default.weight" if default_name else ".weight"
            a = [(i % 5 - 2) / 10 for i in range(r * hidden)]
            b = [(i % 3 - 1) / 10 for i in range(hidden * r)]
            tensors[path + ".lora_A" + suffix] = ("F32", [r, hidden], struct.pack(f"<{len(a)}f", *a))
            tensors[path + ".lora_B" + suffix] = ("F32", [hidden, r], struct.pack(f"<{len(b)}f", *b))
    config = json.dumps(config).encode()
    assert SEPARATOR not in config
    return config + SEPARATOR + write_safetensors(tensors)


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        out += bytes([b | (0x80 if n else 0)])
        if not n:
            return out


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    data = value.encode()
    return varint(number << 3 | 2) + varint(len(data)) + data


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    work = tempfile.mkdtemp(prefix="sasrecllm-seeds-")
    try:
        read = tool_outputs(os.path.abspath(sys.argv[1]), work)
        put("json_configs", "llm_config.json", read("llm", "config.json"))
        put("json_configs", "manifest.json", read("bundle", "manifest.json"))
        put("json_configs", "sasrec_config.json", read("sasrec", "config.json"))
        put("json_configs", "adapter_config.json", json.dumps(
            {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "lora_dropout": 0.05,
             "target_modules": ["q_proj", "v_proj"], "bias": "none"}))
        put("json_configs", "nested.json", '{"a": [1, 2.5e3, -0, true, null, "\\u00e9"], "b": {}}')
        seqs = read("data", "sequences.txt").decode().splitlines()
        put("sequences", "lists.txt", "\n".join(seqs[:6]) + "\n")
        put("sequences", "pairs.txt", "".join(f"{l.split()[0]} {i}\n"
                                              for l in seqs[:4] for i in l.split()[1:4]))
        put("catalog_tsv", "catalog.tsv", read("bundle", "catalog.tsv"))
        put("catalog_tsv", "items.tsv", read("data", "items.tsv"))
        put("safetensors", "sasrec.safetensors", read("bundle", "sasrec.safetensors"))
        put("safetensors", "llm.safetensors", read("llm", "model.safetensors"))
        put("sharded_index", "two_shards", sharded_llm(read("llm", "model.safetensors")))
        header = json.dumps({"__metadata__": {"format": "pt"},
                             "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})
        put("safetensors", "one_tensor.safetensors",
            struct.pack("<Q", len(header)) + header.encode() + struct.pack("<2f", 1, 2))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    header = "user_id\titem_id\tlabel\ttimestamp\twarm\thistory\n"
    put("collm_split", "split.tsv", header + "1\t10\t1\t978300760\t1\t3,5,7\n"
        "1\t11\t0\t978300761\t0\t\n2\t3\t1\t978300762\t1\t10\n")
    put("movielens", "ml.dat", "1::1193::5::978300760\n1::661::3::978302109\n"
        "2::1193::4::978298413\n--\n661::James and the Giant Peach (1996)::Animation|Children's\n"
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n")
    put("peft_adapter", "q_v_r2", peft_adapter(2, ["q_proj", "v_proj"]))
    put("peft_adapter", "k_o_r1_default_names", peft_adapter(1, ["k_proj", "o_proj"], default_name=True))
    put("llama2c_checkpoint", "tiny.bin", llama2c_checkpoint())
    put("llama2c_checkpoint", "untied.bin", llama2c_checkpoint(vocab=-4)[:28]
        + llama2c_checkpoint()[28:] + struct.pack("<32f", *[0.1] * 32))
    pieces = ["<unk>", "\n<s>\n", "\n</s>\n"] + [f"<0x{b:02X}>" for b in range(256)] + [" ", "he", "llo"]
    put("tokenizer_files", "tokenizer.bin", llama2c_tokenizer(pieces))
    put("tokenizer_files", "tokenizer.json", json.dumps({
        "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "Ġ": 3},
                  "merges": ["a b"], "byte_fallback": False},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True},
        "decoder": {"type": "ByteLevel"},
        "added_tokens": [{"id": 4, "content": "<|end|>", "special": True}]}))
    put("tokenizer_files", "gpt2.txt", json.dumps({"a": 0, "b": 1, "ab": 2}) + "\n--\n#version: 0.2\na b\n")
    for i, text in enumerate(["hello world", " Yes", "Ünïcödé ✓ 漢字 🙂", "\xff\xfe bad utf-8",
                              "a\tb\nc  d", ""]):
        put("tokenize_text", f"text{i}", text.encode("utf-8", "surrogateescape")
            if "\xff" not in text else b"\xff\xfe bad utf-8")
    recommend = field(1, "u1") + field(2, "1") + field(2, "2") + field(3, 5) + field(6, 2)
    put("request", "recommend.pb", b"\x02" + recommend)
    put("request", "recommend_candidates.pb", b"\x00" + field(2, "3") + field(4, "cold")
        + field(4, "4") + field(5, 0))
    put("request", "score.pb", b"\x03" + field(2, "1") + field(3, "2") + field(3, "cold")
        + field(4, 2))
    put("request", "empty.pb", b"\x00")
    return 0


if __name__ == "__main__":
    sys.exit(main())
