"""The three networks of a SASRecLLM bundle in plain torch, written to compute
exactly what the C++ model/ library computes (same op order, float32):

  Sasrec   model/sasrec.cc: pmixer/SASRec.pytorch's parameters, the C++
           block order (post-LN: LN(x + attn(x)), LN(x + ffn(x)), or pre-LN),
           causal mask only, position ids 1..T on real items, 0 on padding.
  Mapping  model/hybrid/mapping.cc: Linear(d_rec, 5 d_rec) -> ReLU -> Linear(5 d_rec, d_llm).
  Llama    model/llm/llama_model.cc: RMSNorm (float32), RoPE in HF's
           rotate_half layout, grouped-query attention, SwiGLU, tied or
           separate lm_head; no KV cache (the naive baseline runs every prompt
           in full).

Every class holds plain tensors (no nn.Module): weights are immutable after
construction, forward passes only read them, so one instance serves all
gRPC threads. Call under torch.inference_mode().
"""

import math

import torch
import torch.nn.functional as F


# ---------------------------------------------------------------------------
# SASRec


class Sasrec:
    def __init__(self, config, tensors):
        """config: the manifest's "sasrec" object; tensors: pmixer names ->
        float32 tensors (sasrec.safetensors)."""
        self.maxlen = int(config["maxlen"])
        self.hidden = int(config["hidden_units"])
        self.num_blocks = int(config["num_blocks"])
        self.num_heads = int(config["num_heads"])
        self.norm_first = bool(config.get("norm_first", False))
        self.eps = float(config.get("layernorm_eps", 1e-8))
        self.item_num = int(config["item_num"])
        assert self.hidden % self.num_heads == 0, "num_heads must divide hidden_units"
        self.t = tensors
        expect = {"item_emb.weight": (self.item_num + 1, self.hidden),
                  "pos_emb.weight": (self.maxlen + 1, self.hidden)}
        for name, shape in expect.items():
            if tuple(tensors[name].shape) != shape:
                raise ValueError(f"sasrec.safetensors: {name} has shape "
                                 f"{tuple(tensors[name].shape)}, expected {shape}")
        self.item_emb = tensors["item_emb.weight"]  # [N + 1, H], row 0 = padding

    def _layer_norm(self, x, prefix):
        return F.layer_norm(x, (self.hidden,), self.t[prefix + ".weight"],
                            self.t[prefix + ".bias"], self.eps)

    def _attention(self, x, i, causal_mask):
        # x: [B, T, H] -> [B, T, H]; torch.nn.MultiheadAttention's math by hand.
        b, t, h = x.shape
        nh, hd = self.num_heads, h // self.num_heads
        p = f"attention_layers.{i}."
        qkv = F.linear(x, self.t[p + "in_proj_weight"], self.t[p + "in_proj_bias"])  # [B, T, 3H]
        q, k, v = qkv.chunk(3, dim=-1)

        def split_heads(z):  # [B, T, H] -> [B * nh, T, hd]
            return z.view(b, t, nh, hd).transpose(1, 2).reshape(b * nh, t, hd)

        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        scores = torch.baddbmm(causal_mask, q, k.transpose(1, 2),
                               beta=1.0, alpha=1.0 / math.sqrt(hd))  # [B * nh, T, T]
        probs = torch.softmax(scores, -1)
        out = torch.bmm(probs, v)  # [B * nh, T, hd]
        out = out.view(b, nh, t, hd).transpose(1, 2).reshape(b, t, h)
        return F.linear(out, self.t[p + "out_proj.weight"], self.t[p + "out_proj.bias"])

    def _feed_forward(self, x, i):
        # pmixer's two kernel-1 Conv1d as linears on the [H, H] views; no residual here.
        p = f"forward_layers.{i}."
        h = F.linear(x, self.t[p + "conv1.weight"].squeeze(-1), self.t[p + "conv1.bias"])
        h = torch.relu(h)
        return F.linear(h, self.t[p + "conv2.weight"].squeeze(-1), self.t[p + "conv2.bias"])

    def user_representation(self, log_seqs):
        """log_seqs: [B, maxlen] int64, left-padded with 0. Returns [B, H]:
        the last LayerNorm's output at the last position."""
        t = log_seqs.shape[1]
        seqs = F.embedding(log_seqs, self.item_emb) * math.sqrt(self.hidden)  # [B, T, H]
        poss = torch.arange(1, t + 1, dtype=torch.long).unsqueeze(0) * log_seqs.ne(0).long()
        seqs = seqs + F.embedding(poss, self.t["pos_emb.weight"])  # [B, T, H]
        causal_mask = torch.full((t, t), -math.inf).triu(1)  # [T, T] additive
        for i in range(self.num_blocks):
            if self.norm_first:
                x = self._layer_norm(seqs, f"attention_layernorms.{i}")
                seqs = seqs + self._attention(x, i, causal_mask)
                seqs = seqs + self._feed_forward(self._layer_norm(seqs, f"forward_layernorms.{i}"), i)
            else:
                seqs = self._layer_norm(seqs + self._attention(seqs, i, causal_mask),
                                        f"attention_layernorms.{i}")
                seqs = self._layer_norm(seqs + self._feed_forward(seqs, i), f"forward_layernorms.{i}")
        return self._layer_norm(seqs, "last_layernorm")[:, -1]  # [B, H]

    def padded(self, history):
        """The last maxlen indices of `history` (known items only, oldest
        first), left-padded with 0: [1, maxlen] int64."""
        known = [i for i in history if 1 <= i <= self.item_num][-self.maxlen:]
        return torch.tensor([[0] * (self.maxlen - len(known)) + known], dtype=torch.long)


# ---------------------------------------------------------------------------
# Mapping layer


class Mapping:
    def __init__(self, tensors):
        self.w0 = tensors["mapping.0.weight"]  # [5 d_rec, d_rec]
        self.b0 = tensors["mapping.0.bias"]    # [5 d_rec]
        self.w2 = tensors["mapping.2.weight"]  # [d_llm, 5 d_rec]
        self.b2 = tensors["mapping.2.bias"]    # [d_llm]

    def __call__(self, x):  # [..., d_rec] -> [..., d_llm]
        return F.linear(torch.relu(F.linear(x, self.w0, self.b0)), self.w2, self.b2)


# ---------------------------------------------------------------------------
# Llama


class Llama:
    def __init__(self, config, tensors):
        """config: llm/config.json; tensors: HF names (LoRA already merged)."""
        self.d = int(config["hidden_size"])
        self.n_heads = int(config["num_attention_heads"])
        self.n_kv = int(config.get("num_key_value_heads", self.n_heads))
        self.hd = int(config.get("head_dim") or self.d // self.n_heads)
        self.n_layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("rms_norm_eps", 1e-6))
        self.vocab_size = int(config["vocab_size"])
        if config.get("rope_scaling"):
            raise ValueError("llm/config.json: rope_scaling is not supported by the Python baseline")
        self.embed = tensors["model.embed_tokens.weight"]  # [V, D]
        self.norm = tensors["model.norm.weight"]           # [D]
        self.lm_head = (self.embed if config.get("tie_word_embeddings", False)
                        else tensors["lm_head.weight"])   # [V, D]
        bias = bool(config.get("attention_bias", False))
        self.layers = []
        for l in range(self.n_layers):
            p = f"model.layers.{l}."
            self.layers.append({
                "input_layernorm": tensors[p + "input_layernorm.weight"],      # [D]
                "q": tensors[p + "self_attn.q_proj.weight"],                   # [H*hd, D]
                "k": tensors[p + "self_attn.k_proj.weight"],                   # [KV*hd, D]
                "v": tensors[p + "self_attn.v_proj.weight"],                   # [KV*hd, D]
                "qb": tensors[p + "self_attn.q_proj.bias"] if bias else None,  # [H*hd]
                "kb": tensors[p + "self_attn.k_proj.bias"] if bias else None,  # [KV*hd]
                "vb": tensors[p + "self_attn.v_proj.bias"] if bias else None,  # [KV*hd]
                "o": tensors[p + "self_attn.o_proj.weight"],                   # [D, H*hd]
                "post_attention_layernorm": tensors[p + "post_attention_layernorm.weight"],
                "gate": tensors[p + "mlp.gate_proj.weight"],                   # [F, D]
                "up": tensors[p + "mlp.up_proj.weight"],                       # [F, D]
                "down": tensors[p + "mlp.down_proj.weight"],                   # [D, F]
            })
        theta = float(config.get("rope_theta", 10000.0))
        # inv_freq[i] = 1 / theta^(2i / hd), float32, as HF and the C++ code.
        self.inv_freq = 1.0 / torch.pow(theta, torch.arange(0, self.hd, 2).float() / self.hd)

    def _rms_norm(self, x, weight):
        variance = x.pow(2).mean(-1, keepdim=True)       # [..., 1]
        return weight * (x * torch.rsqrt(variance + self.eps))

    @staticmethod
    def _rotate_half(x):
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), -1)

    def yes_logits(self, inputs_embeds, last_positions, token_id):
        """inputs_embeds: [B, T, D] float32, rows right-padded (causal
        attention: a real token never sees the padding after it, so no
        padding mask). last_positions: [B] int64, each row's last real token.
        Returns [B] float32: the logit of `token_id` there."""
        x = inputs_embeds
        b, t, _ = x.shape
        n_rep = self.n_heads // self.n_kv
        positions = torch.arange(t, dtype=torch.long).unsqueeze(0).expand(b, t)  # [B, T]
        freqs = positions.float().unsqueeze(-1) * self.inv_freq                  # [B, T, hd/2]
        emb = torch.cat((freqs, freqs), -1)                                      # [B, T, hd]
        cos, sin = emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)                # [B, 1, T, hd]
        allowed = torch.arange(t).unsqueeze(0) <= torch.arange(t).unsqueeze(1)   # [T, S] bool
        blocked = allowed.logical_not().view(1, 1, 1, t, t)
        scale = 1.0 / math.sqrt(self.hd)
        lowest = torch.finfo(torch.float32).min
        for w in self.layers:
            h = self._rms_norm(x, w["input_layernorm"])                                  # [B, T, D]
            q = F.linear(h, w["q"], w["qb"]).view(b, t, self.n_heads, self.hd).transpose(1, 2)  # [B, H, T, hd]
            k = F.linear(h, w["k"], w["kb"]).view(b, t, self.n_kv, self.hd).transpose(1, 2)     # [B, KV, T, hd]
            v = F.linear(h, w["v"], w["vb"]).view(b, t, self.n_kv, self.hd).transpose(1, 2)     # [B, KV, T, hd]
            q = q * cos + self._rotate_half(q) * sin
            k = k * cos + self._rotate_half(k) * sin
            # GQA: query head kv * n_rep + r reads kv head kv (HF repeat_kv).
            qg = (q * scale).reshape(b, self.n_kv, n_rep, t, self.hd)                    # [B, KV, rep, T, hd]
            scores = torch.matmul(qg, k.unsqueeze(2).transpose(-1, -2))                  # [B, KV, rep, T, S]
            scores = scores.masked_fill(blocked, lowest)
            probs = torch.softmax(scores, -1)
            attn = torch.matmul(probs, v.unsqueeze(2))                                   # [B, KV, rep, T, hd]
            attn = attn.reshape(b, self.n_heads, t, self.hd).transpose(1, 2).reshape(b, t, self.n_heads * self.hd)
            x = x + F.linear(attn, w["o"])                                               # [B, T, D]
            h = self._rms_norm(x, w["post_attention_layernorm"])
            x = x + F.linear(F.silu(F.linear(h, w["gate"])) * F.linear(h, w["up"]), w["down"])
        index = last_positions.view(b, 1, 1).expand(b, 1, self.d)                        # [B, 1, D]
        x = self._rms_norm(x.gather(1, index), self.norm)                                # [B, 1, D]
        row = self.lm_head[token_id:token_id + 1]                                        # [1, D]
        return F.linear(x, row).view(b)                                                  # [B]
