"""Loads a SASRecLLM model bundle (what `sasrecllm export` writes; layout in
DESIGN.md section 3 and model/bundle.h):

  manifest.json        sasrec config, max_history, components, "hybrid" block
  catalog.tsv          index<TAB>item_id<TAB>title (index 0 = cold: title only)
  sasrec.safetensors   pmixer names
  mapping.safetensors  mapping.0.*, mapping.2.*           } with the "llm"
  llm/                 config.json, model.safetensors, tokenizer.bin } component

    bundle = Bundle.load("build-collm/collm/bundle")
    entry = bundle.catalog.get("1")   # CatalogEntry or None

Raises ValueError naming the file on anything missing or inconsistent.
Thread safety: immutable after load.
"""

import json
import os
import struct
from dataclasses import dataclass

import numpy as np
import torch

from model import Llama, Mapping, Sasrec
from prompt import PromptBuilder
from tokenizer import Llama2cTokenizer

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64,
           "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """name -> float32 CPU tensor. Format: u64 little-endian header length,
    a JSON header {name: {dtype, shape, data_offsets}}, then raw data."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors header")
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] == "BF16":
            raw = np.frombuffer(data, np.uint16, offset=base + info["data_offsets"][0],
                                count=int(np.prod(info["shape"], dtype=np.int64)))
            t = torch.from_numpy((raw.astype(np.uint32) << 16).view(np.float32).copy())
        elif info["dtype"] in _DTYPES:
            begin, end = info["data_offsets"]
            arr = np.frombuffer(data[base + begin:base + end], _DTYPES[info["dtype"]])
            t = torch.from_numpy(arr.astype(np.float32))  # a copy: writable, owned
        else:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        out[name] = t.reshape(info["shape"]).contiguous()
    return out


@dataclass(frozen=True)
class CatalogEntry:
    index: int     # SASRec item index 1..item_num; 0 = cold (no SASRec embedding)
    item_id: str   # external id (on the wire)
    title: str


class Catalog:
    def __init__(self, entries):
        self.entries = entries
        self.by_id = {e.item_id: e for e in entries}
        self.by_index = {e.index: e for e in entries if e.index != 0}

    @classmethod
    def read_tsv(cls, path):
        entries = []
        with open(path, encoding="utf-8", newline="\n") as f:
            for line_no, line in enumerate(f, 1):
                line = line.rstrip("\n").rstrip("\r")
                if line_no == 1:
                    if not line.startswith("index"):
                        raise ValueError(f"{path}:1: expected the header index<TAB>item_id<TAB>title")
                    continue
                if not line:
                    continue
                cols = line.split("\t")
                if len(cols) not in (2, 3) or not cols[1]:
                    raise ValueError(f"{path}:{line_no}: expected 3 tab-separated columns")
                entries.append(CatalogEntry(int(cols[0]), cols[1], cols[2] if len(cols) == 3 else ""))
        return cls(entries)

    def get(self, item_id):
        return self.by_id.get(item_id)


class Bundle:
    def __init__(self, **parts):
        self.__dict__.update(parts)

    @classmethod
    def load(cls, directory):
        manifest_path = os.path.join(directory, "manifest.json")
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        if manifest.get("format") != "sasrecllm-bundle" or manifest.get("format_version") != 1:
            raise ValueError(f"{manifest_path}: not a sasrecllm-bundle version 1")
        sasrec_config = manifest["sasrec"]
        catalog = Catalog.read_tsv(os.path.join(directory, "catalog.tsv"))
        sasrec = Sasrec(sasrec_config, read_safetensors(os.path.join(directory, "sasrec.safetensors")))
        parts = dict(directory=directory, manifest=manifest, catalog=catalog, sasrec=sasrec,
                     model_version=manifest["model_version"],
                     max_history=int(manifest.get("max_history", sasrec_config["maxlen"])),
                     has_llm="llm" in manifest.get("components", []),
                     llm=None, mapping=None, prompt=None, yes_token_id=None, llm_config=None)
        if parts["has_llm"]:
            hybrid = manifest["hybrid"]
            llm_dir = os.path.join(directory, "llm")
            with open(os.path.join(llm_dir, "config.json"), encoding="utf-8") as f:
                llm_config = json.load(f)
            llm = Llama(llm_config, read_safetensors(os.path.join(llm_dir, "model.safetensors")))
            tokenizer_file = hybrid.get("tokenizer", "tokenizer.bin")
            if tokenizer_file != "tokenizer.bin":
                raise ValueError(f"{manifest_path}: tokenizer {tokenizer_file} is not supported by "
                                 "the Python baseline (only llama2.c tokenizer.bin)")
            tokenizer = Llama2cTokenizer.load(os.path.join(llm_dir, tokenizer_file), llm.vocab_size)
            yes_id = int(hybrid["yes_token_id"])
            # HybridModel's YesTokenId: the first id of encode("Yes") (with the dummy prefix).
            if tokenizer.encode("Yes", bos=False, eos=False)[0] != yes_id:
                raise ValueError(f"{manifest_path}: yes_token_id {yes_id} disagrees with the tokenizer")
            mapping = Mapping(read_safetensors(os.path.join(directory, "mapping.safetensors")))
            if mapping.w0.shape[1] != sasrec.hidden or mapping.w2.shape[0] != llm.d:
                raise ValueError(f"{directory}/mapping.safetensors: shapes do not join SASRec "
                                 f"({sasrec.hidden}) to the LLM ({llm.d})")
            parts.update(llm=llm, mapping=mapping, llm_config=llm_config, yes_token_id=yes_id,
                         prompt=PromptBuilder(hybrid["template"], tokenizer,
                                              int(hybrid.get("max_titles", 10))))
        return cls(**parts)
