#!/usr/bin/python3
"""Checks of the Python baseline that need no server:
  - the fast BPE encode equals the literal port of run.c's loop on every
    catalog title and on whole prompt pieces;
  - encode equals `build/sasrecllm tokenize` (the C++ tokenizer) on titles;
  - SASRec + mapping + LLM load and give finite logits.

    /usr/bin/python3 bench/python_baseline/test_baseline.py [--bundle DIR]

Fixtures: the bundle (default build-collm/collm/bundle, made by
`sasrecllm export --hybrid`); the C++ comparison is skipped when the binary is
missing.
"""

import argparse
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from bundle import Bundle  # noqa: E402

BUNDLE = os.path.join(ROOT, "build-collm", "collm", "bundle")
CLI = os.path.join(ROOT, "build", "sasrecllm")


class BaselineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.bundle = Bundle.load(BUNDLE)
        cls.tok = cls.bundle.prompt.tokenizer

    def test_fast_encode_matches_reference_on_titles(self):
        for e in self.bundle.catalog.entries:
            for first in (True, False):
                self.assertEqual(self.tok.encode(e.title, first, False, first),
                                 self.tok.encode_reference(e.title, first, False, first), e.title)

    def test_fast_encode_matches_reference_on_prompts(self):
        titles = [e.title for e in self.bundle.catalog.entries]
        prompt = self.bundle.prompt
        for start in range(0, 400, 37):
            history = titles[start:start + 12]
            text = prompt.prefix_text.replace("<ItemTitleList>", prompt.title_list(history))
            self.assertEqual(self.tok.encode(text, True, False), self.tok.encode_reference(text, True, False))

    def test_encode_matches_cpp_tokenizer(self):
        if not os.access(CLI, os.X_OK):
            self.skipTest(f"{CLI} not built")
        tokenizer = os.path.join(BUNDLE, "llm", "tokenizer.bin")
        entries = self.bundle.catalog.entries
        for e in entries[::160] + [x for x in entries if any(ord(c) > 127 for c in x.title)][:5]:
            out = subprocess.run([CLI, "tokenize", "--tokenizer", tokenizer, "--vocab-size", "512",
                                  "--bos", e.title], capture_output=True, text=True, check=True)
            cpp = [int(x) for x in out.stdout.split()]
            self.assertEqual(self.tok.encode(e.title, True, False), cpp, e.title)

    def test_prompt_has_one_slot_each(self):
        ids, user_slot, item_slot = self.bundle.prompt.encode(["Heat (1995)", "<UserID>"], "Alien (1979)")
        self.assertEqual(ids[0], 1)  # BOS
        self.assertEqual([user_slot, item_slot], [i for i, t in enumerate(ids) if t == 1 and i > 0])

    def test_yes_logits_are_finite(self):
        b = self.bundle
        with torch.inference_mode():
            ids, _, _ = b.prompt.encode(["Heat (1995)"], "Alien (1979)")
            embeds = torch.nn.functional.embedding(torch.tensor([ids]), b.llm.embed)
            y = b.llm.yes_logits(embeds, torch.tensor([len(ids) - 1]), b.yes_token_id)
        self.assertTrue(torch.isfinite(y).all())


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", default=BUNDLE)
    args, rest = parser.parse_known_args()
    BUNDLE = args.bundle
    unittest.main(argv=[sys.argv[0]] + rest)
