"""The sasrecllm.v1.Recommender methods, written the way most teams would
first write them: each request runs the models itself, on the gRPC worker
thread that received it, one request at a time per thread. No cross-request
batching, no KV cache, no prompt-prefix reuse: every candidate's whole prompt
goes through the LLM.

Behaviour follows the C++ server (server/recommender_service.cc,
server/validation.cc) where it exists, and the design for the LLM stage:
  - history ids unknown to the catalog are skipped and counted; cold catalog
    items (index 0) give their title to the prompt but nothing to SASRec;
  - Recommend HYBRID/AUTO: stage 1 = SASRec top max(retrieval_k, top_k) over
    the catalog (history excluded unless exclude_history=false) or the
    request's candidates; stage 2 = the "Yes" logit of each candidate's
    prompt; top_k by that logit;
  - Recommend SEQUENTIAL_ONLY: SASRec's top_k;
  - Score: P(like) = sigmoid(logit), logit = the "Yes" logit (HYBRID) or the
    SASRec dot product (SEQUENTIAL_ONLY). Unknown candidates get known=false;
    cold candidates too in SEQUENTIAL_ONLY (no embedding), while HYBRID scores
    them from their title (item slot = mapping(item_emb[0]), as eval-hybrid).

Thread safety: the bundle is immutable; every method may run on many threads.
"""

import math

import grpc
import torch

DEFAULT_TOP_K = 10


class RpcError(Exception):
    """A request failure: the gRPC status code and a message naming the field."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _invalid(message):
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


class RecommenderService:
    def __init__(self, bundle, pb2, retrieval_k=20, max_top_k=1000, max_candidates=1000,
                 max_history=None):
        self.bundle = bundle
        self.pb2 = pb2
        self.retrieval_k = retrieval_k
        self.max_top_k = max_top_k
        self.max_candidates = max_candidates
        self.max_history = max_history if max_history is not None else bundle.max_history

    # -- validation (server/validation.cc) ----------------------------------

    def _check_history(self, history):
        if len(history) > self.max_history:
            raise _invalid(f"history has {len(history)} items; the limit is max_history={self.max_history}")
        for i, item_id in enumerate(history):
            if not item_id:
                raise _invalid(f"history[{i}] is an empty item id")

    def _check_candidates(self, candidates):
        if len(candidates) > self.max_candidates:
            raise _invalid(f"candidates has {len(candidates)} items; the limit is "
                           f"max_candidates={self.max_candidates}")
        for i, item_id in enumerate(candidates):
            if not item_id:
                raise _invalid(f"candidates[{i}] is an empty item id")

    def _resolve_mode(self, requested):
        m = self.pb2
        if requested == m.RANKING_MODE_AUTO:
            return m.RANKING_MODE_HYBRID if self.bundle.has_llm else m.RANKING_MODE_SEQUENTIAL_ONLY
        if requested == m.RANKING_MODE_SEQUENTIAL_ONLY:
            return requested
        if requested == m.RANKING_MODE_HYBRID:
            if not self.bundle.has_llm:
                raise RpcError(grpc.StatusCode.FAILED_PRECONDITION,
                               "mode=RANKING_MODE_HYBRID but the bundle has no LLM")
            return requested
        raise _invalid(f"mode={requested} is not a known RankingMode")

    # -- model steps ---------------------------------------------------------

    def _map_history(self, history):
        """Catalog entries of the known history ids, and how many were unknown."""
        entries = [self.bundle.catalog.get(i) for i in history]
        known = [e for e in entries if e is not None]
        return known, len(entries) - len(known)

    def _user_vector(self, history_entries):
        """SASRec's user representation of the known, non-cold items: [H]."""
        sasrec = self.bundle.sasrec
        return sasrec.user_representation(sasrec.padded([e.index for e in history_entries]))[0]

    def _yes_logits(self, history_entries, user_vector, candidate_entries):
        """The "Yes" logit of each candidate's full prompt, all candidates in
        one right-padded batch: [C] float32."""
        b = self.bundle
        titles = [e.title for e in history_entries]
        prompts = [b.prompt.encode(titles, c.title) for c in candidate_entries]
        t_max = max(len(ids) for ids, _, _ in prompts)
        ids = torch.zeros(len(prompts), t_max, dtype=torch.long)  # [C, T], 0-padded on the right
        for row, (p, _, _) in enumerate(prompts):
            ids[row, :len(p)] = torch.tensor(p, dtype=torch.long)
        last = torch.tensor([len(p) - 1 for p, _, _ in prompts], dtype=torch.long)  # [C]
        embeds = torch.nn.functional.embedding(ids, b.llm.embed)                     # [C, T, D]
        # Feature slots: mapped SASRec vectors replace the slot tokens' embeddings.
        targets = torch.tensor([c.index for c in candidate_entries], dtype=torch.long)  # [C], 0 = cold
        mapped = b.mapping(torch.cat([user_vector.unsqueeze(0), b.sasrec.item_emb[targets]], 0))  # [1 + C, D]
        rows = torch.arange(len(prompts))
        user_slots = torch.tensor([u for _, u, _ in prompts])
        item_slots = torch.tensor([i for _, _, i in prompts])
        if (user_slots >= 0).all():
            embeds[rows, user_slots] = mapped[0]
        if (item_slots >= 0).all():
            embeds[rows, item_slots] = mapped[1:]
        return b.llm.yes_logits(embeds, last, b.yes_token_id)

    # -- RPCs ----------------------------------------------------------------

    def recommend(self, request):
        m = self.pb2
        if request.top_k < 0 or request.top_k > self.max_top_k:
            raise _invalid(f"top_k={request.top_k} is out of range [0, {self.max_top_k}] "
                           f"(0 means {DEFAULT_TOP_K})")
        self._check_history(request.history)
        self._check_candidates(request.candidates)
        mode = self._resolve_mode(request.mode)
        top_k = request.top_k or DEFAULT_TOP_K
        catalog = self.bundle.catalog
        candidates = []
        for i, item_id in enumerate(request.candidates):
            e = catalog.get(item_id)
            if e is None or e.index == 0:
                raise _invalid(f'candidates[{i}]="{item_id}" ' +
                               ("is not in the catalog" if e is None else
                                "has no SASRec embedding (cold item)"))
            candidates.append(e.index)
        history, unknown = self._map_history(request.history)
        exclude = ({e.index for e in history if e.index > 0}
                   if not request.HasField("exclude_history") or request.exclude_history else set())

        with torch.inference_mode():
            user = self._user_vector(history)  # [H]
            item_emb = self.bundle.sasrec.item_emb
            hybrid = mode == m.RANKING_MODE_HYBRID
            want = max(self.retrieval_k, top_k) if hybrid else top_k
            if candidates:
                # Best first by SASRec, each candidate once, excluded ones dropped.
                scores = torch.mv(item_emb[torch.tensor(candidates)], user).tolist()  # [C]
                order = sorted(range(len(candidates)), key=lambda j: -scores[j])  # stable
                retrieved, seen = [], set()
                for j in order:
                    idx = candidates[j]
                    if idx in exclude or idx in seen:
                        continue
                    seen.add(idx)
                    retrieved.append((idx, scores[j]))
                if not hybrid:
                    retrieved = retrieved[:want]
            else:
                # As SasrecRanker::Rank: [1, H] x [H, N + 1], so ties break the same way.
                scores = torch.matmul(user.unsqueeze(0), item_emb.t())[0]  # [N + 1]
                scores[0] = -math.inf                  # padding is never an answer
                if exclude:
                    scores[torch.tensor(sorted(exclude))] = -math.inf
                top_scores, top_idx = torch.topk(scores, min(want, self.bundle.sasrec.item_num))
                retrieved = [(i, s) for i, s in zip(top_idx.tolist(), top_scores.tolist())
                             if s != -math.inf]
            retrieved = [(catalog.by_index[i], s) for i, s in retrieved if i in catalog.by_index]

            response = m.RecommendResponse(model_version=self.bundle.model_version,
                                           unknown_history_items=unknown, mode=mode)
            if hybrid and retrieved:
                llm = self._yes_logits(history, user, [e for e, _ in retrieved]).tolist()
                ranked = sorted(zip(retrieved, llm), key=lambda r: -r[1])[:top_k]  # stable
                for (e, s), y in ranked:
                    response.items.add(item_id=e.item_id, title=e.title, score=y,
                                       retrieval_score=s, llm_score=y)
            else:
                for e, s in retrieved[:top_k]:
                    response.items.add(item_id=e.item_id, title=e.title, score=s, retrieval_score=s)
        return response

    def score(self, request):
        m = self.pb2
        self._check_history(request.history)
        if not request.candidates:
            raise _invalid("candidates is empty; Score needs at least one")
        self._check_candidates(request.candidates)
        mode = self._resolve_mode(request.mode)
        hybrid = mode == m.RANKING_MODE_HYBRID
        history, unknown = self._map_history(request.history)
        response = m.ScoreResponse(model_version=self.bundle.model_version,
                                   unknown_history_items=unknown, mode=mode)
        positions, entries = [], []
        for i, item_id in enumerate(request.candidates):
            e = self.bundle.catalog.get(item_id)
            known = e is not None and (hybrid or e.index > 0)
            response.scores.add(item_id=item_id, known=known)  # probability, logit stay 0
            if known:
                positions.append(i)
                entries.append(e)
        if not entries:
            return response
        with torch.inference_mode():
            user = self._user_vector(history)  # [H]
            if hybrid:
                logits = self._yes_logits(history, user, entries)  # [C]
            else:
                # As SasrecRanker::Score: an element-wise product summed (not mv).
                items = self.bundle.sasrec.item_emb[torch.tensor([e.index for e in entries])]  # [C, H]
                logits = (items * user.unsqueeze(0)).sum(-1)  # [C]
            probs = torch.sigmoid(logits)
        for pos, logit, p in zip(positions, logits.tolist(), probs.tolist()):
            response.scores[pos].logit = logit
            response.scores[pos].probability = p
        return response

    def get_model_info(self, _request):
        b = self.bundle
        c = b.manifest["sasrec"]
        info = self.pb2.GetModelInfoResponse(
            model_version=b.model_version, sasrec_hidden_units=b.sasrec.hidden,
            llm_hidden_size=b.llm.d if b.has_llm else 0, catalog_size=len(b.catalog.entries),
            max_history=self.max_history, max_top_k=self.max_top_k,
            max_candidates=self.max_candidates, device="cpu", dtype="float32", has_llm=b.has_llm)
        info.components.add(
            name="sasrec",
            config=(f"items={c['item_num']} hidden={c['hidden_units']} blocks={c['num_blocks']} "
                    f"heads={c['num_heads']} maxlen={c['maxlen']} "
                    f"norm_first={'true' if c.get('norm_first') else 'false'}"),
            parameters=sum(t.numel() for t in b.sasrec.t.values()))
        if b.has_llm:
            mp = b.mapping
            info.components.add(name="mapping",
                                config=f"d_rec={mp.w0.shape[1]} hidden={mp.w0.shape[0]} d_llm={mp.w2.shape[0]}",
                                parameters=sum(t.numel() for t in (mp.w0, mp.b0, mp.w2, mp.b2)))
            lc = b.llm_config
            params = b.llm.embed.numel() + b.llm.norm.numel() + sum(
                t.numel() for layer in b.llm.layers for t in layer.values() if t is not None)
            if b.llm.lm_head is not b.llm.embed:
                params += b.llm.lm_head.numel()
            info.components.add(
                name="llm",
                config=(f"hidden={lc['hidden_size']} layers={lc['num_hidden_layers']} "
                        f"heads={lc['num_attention_heads']} kv_heads={lc.get('num_key_value_heads')} "
                        f"vocab={lc['vocab_size']} (python baseline: no KV cache, no batching)"),
                parameters=params)
        return info
