"""llama2.c's BPE tokenizer (tokenizer.bin), encoding exactly as the C++
Llama2cTokenizer (model/llm/tokenizers/llama2c_tokenizer.cc), which follows run.c.

tokenizer.bin: int32 max_token_length, then per token: float32 score,
int32 byte length, the bytes. The file does not store the token count: it is
the model's vocab_size. Token 1 = BOS, 2 = EOS; byte-fallback tokens
"<0x00>".."<0xFF>" are ids 3..258.

All text is handled as UTF-8 bytes with C-string semantics (a piece or an
input ends at its first NUL byte), as in run.c.

    tok = Llama2cTokenizer.load("bundle/llm/tokenizer.bin", vocab_size=512)
    ids = tok.encode("Once upon", bos=True, eos=False)

Thread safety: immutable after load; encode may run on many threads.
"""

import heapq
import struct

BOS_ID = 1
EOS_ID = 2


class Llama2cTokenizer:
    def __init__(self, pieces, scores):
        self.pieces = pieces  # [V] bytes, cut at the first NUL
        self.scores = scores  # [V] float (float32 values)
        self.index = {}       # piece -> lowest id with that piece
        for i, piece in enumerate(pieces):
            self.index.setdefault(piece, i)

    @classmethod
    def load(cls, path, vocab_size):
        """Reads `vocab_size` tokens. Raises ValueError naming the file and
        token index for a truncated or malformed file."""
        with open(path, "rb") as f:
            data = f.read()
        if len(data) < 4:
            raise ValueError(f"{path}: too short for the max_token_length header")
        (max_len,) = struct.unpack_from("<i", data, 0)
        if max_len <= 0 or max_len > (1 << 20):
            raise ValueError(f"{path}: implausible max_token_length {max_len}")
        pos = 4
        pieces, scores = [], []
        for i in range(vocab_size):
            if pos + 8 > len(data):
                raise ValueError(f"{path}: truncated at token {i}, expected {vocab_size} tokens")
            score, length = struct.unpack_from("<fi", data, pos)
            pos += 8
            if length < 0 or length > max_len or pos + length > len(data):
                raise ValueError(f"{path}: token {i} has a bad length {length}")
            raw = data[pos:pos + length]
            pos += length
            pieces.append(raw.split(b"\0", 1)[0])  # run.c keeps C strings
            scores.append(score)
        return cls(pieces, scores)

    @property
    def vocab_size(self):
        return len(self.pieces)

    def _initial_tokens(self, text, dummy_prefix):
        """run.c's first pass: the dummy-prefix " " token, then one token per
        UTF-8 code point (at most 4 bytes), byte fallback (+3) when unknown."""
        tokens = []
        if dummy_prefix and text:
            tokens.append(self.index.get(b" ", ord(" ") + 3))
        buffer = bytearray()
        n = len(text)
        for i in range(n):
            c = text[i]
            if (c & 0xC0) != 0x80:  # not a continuation byte: a new code point
                buffer.clear()
            buffer.append(c)
            nxt = text[i + 1] if i + 1 < n else 0
            if (nxt & 0xC0) == 0x80 and len(buffer) < 4:
                continue
            piece_id = self.index.get(bytes(buffer), -1)
            if piece_id != -1:
                tokens.append(piece_id)
            else:
                tokens.extend(b + 3 for b in buffer)
            buffer.clear()
        return tokens

    def encode_reference(self, text, bos, eos, dummy_prefix=True):
        """The literal port of run.c's merge loop (quadratic): rescan every
        adjacent pair, merge the best-scoring one (leftmost on ties). Kept as
        the oracle that test_baseline.py checks `encode` against."""
        text = _c_string(text)
        tokens = [BOS_ID] if bos else []
        tokens += self._initial_tokens(text, dummy_prefix)
        while True:
            best_score, best_id, best_idx = -1e10, -1, -1
            for i in range(len(tokens) - 1):
                merged = self.index.get(self.pieces[tokens[i]] + self.pieces[tokens[i + 1]], -1)
                if merged != -1 and self.scores[merged] > best_score:
                    best_score, best_id, best_idx = self.scores[merged], merged, i
            if best_idx == -1:
                break
            tokens[best_idx] = best_id
            del tokens[best_idx + 1]
        if eos:
            tokens.append(EOS_ID)
        return tokens

    def encode(self, text, bos, eos, dummy_prefix=True):
        """The same result as encode_reference in O(n log n): candidate pairs
        sit in a heap keyed by (-score, position of the left token); merges
        keep the tokens' order, so the smallest position is the leftmost pair,
        which is run.c's tie-break. Stale heap entries are skipped.

        The speed-up is not a serving optimisation (the naive baseline still
        tokenizes every candidate's whole prompt): it only keeps a pure-Python
        BPE from costing more than a C tokenizer library would."""
        text = _c_string(text)
        head = [BOS_ID] if bos else []
        tokens = self._initial_tokens(text, dummy_prefix)
        n = len(tokens)
        pieces, index, scores = self.pieces, self.index, self.scores
        # Doubly linked list over positions; alive[i] = token i not merged away.
        nxt = list(range(1, n + 1))
        prv = list(range(-1, n - 1))
        alive = [True] * n
        heap = []

        def push(i):
            j = nxt[i]
            if j < n:
                merged = index.get(pieces[tokens[i]] + pieces[tokens[j]], -1)
                if merged != -1:
                    heapq.heappush(heap, (-scores[merged], i, j, merged))

        for i in range(n - 1):
            push(i)
        while heap:
            _, i, j, merged = heapq.heappop(heap)
            # Stale when either side was merged away or changed since the push.
            if not (alive[i] and alive[j] and nxt[i] == j):
                continue
            if index.get(pieces[tokens[i]] + pieces[tokens[j]], -1) != merged:
                continue
            tokens[i] = merged
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[j] < n:
                prv[nxt[j]] = i
            if prv[i] >= 0:
                push(prv[i])
            push(i)
        out = head + [tokens[i] for i in range(n) if alive[i]]
        if eos:
            out.append(EOS_ID)
        return out


def _c_string(text):
    """UTF-8 bytes of `text`, cut at the first NUL (C-string semantics)."""
    if isinstance(text, str):
        text = text.encode("utf-8")
    return text.split(b"\0", 1)[0]
