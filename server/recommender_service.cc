#include "server/recommender_service.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/status_util.h"

namespace sasrecllm::server {

namespace {

constexpr char kRecommend[] = "Recommend";
constexpr char kScore[] = "Score";
constexpr char kGetModelInfo[] = "GetModelInfo";

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  if (deadline == std::chrono::system_clock::time_point::max()) return absl::InfiniteFuture();
  return absl::FromChrono(deadline);
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

}  // namespace

// The reactor of one RPC: records its metrics and finishes it exactly once.
// Deletes itself when gRPC is done with it.
class RecommenderService::Call : public grpc::ServerUnaryReactor {
 public:
  Call(RecommenderService* service, grpc::CallbackServerContext* context, const char* method)
      : service_(service), context_(context), method_(method), start_(absl::Now()) {
    service_->metrics_->IncrementInflight();
  }

  grpc::CallbackServerContext* context() const { return context_; }

  void FinishWith(const absl::Status& status) {
    service_->metrics_->RecordRequest(method_, status.code(), absl::Now() - start_);
    service_->metrics_->DecrementInflight();
    Finish(ToGrpcStatus(status));
  }

  // Called by the handler right after a successful enqueue. gRPC calls
  // OnCancel only after the handler returned, so no race with it.
  void set_ticket(uint64_t ticket) { ticket_.store(ticket, std::memory_order_release); }

  void OnCancel() override {
    const uint64_t ticket = ticket_.load(std::memory_order_acquire);
    // Still queued: drop it now (finished as CANCELLED). Already in a batch:
    // the batch finishes it.
    if (ticket != 0) service_->batcher_->Cancel(ticket);
  }

  void OnDone() override { delete this; }

 private:
  RecommenderService* const service_;
  grpc::CallbackServerContext* const context_;
  const char* const method_;
  const absl::Time start_;
  std::atomic<uint64_t> ticket_{0};
};

absl::StatusOr<std::unique_ptr<RecommenderService>> RecommenderService::Create(
    const ServiceOptions& options, std::shared_ptr<const model::Bundle> bundle, Metrics* metrics,
    Clock* clock, std::shared_ptr<hybrid::HybridModel> llm) {
  if (bundle == nullptr) return absl::InvalidArgumentError("no bundle");
  if (metrics == nullptr) return absl::InvalidArgumentError("no metrics");
  ServiceOptions resolved = options;
  resolved.limits.max_history = bundle->manifest().max_history;
  if (absl::Status s = resolved.limits.Validate(); !s.ok()) return s;
  if (absl::Status s = resolved.batcher.Validate(); !s.ok()) return s;
  if (resolved.retrieval_k < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("retrieval_k must be >= 1, got ", resolved.retrieval_k));
  }

  std::unique_ptr<RecommenderService> service(
      new RecommenderService(resolved, std::move(bundle), metrics));
  RecommenderService* self = service.get();
  Batcher<Work>::Callbacks callbacks;
  callbacks.run_batch = [self](std::vector<Work> batch) { self->RunBatch(std::move(batch)); };
  callbacks.reject = [](Work work, absl::Status status) { work.call->FinishWith(status); };
  callbacks.is_cancelled = [](const Work& work) { return work.call->context()->IsCancelled(); };
  callbacks.on_queue_wait = [metrics](absl::Duration d) { metrics->ObserveQueueWait(d); };
  callbacks.on_batch = [metrics](size_t n) { metrics->ObserveBatchSize(kStageSasrec, n); };
  callbacks.on_queue_depth = [metrics](size_t n) { metrics->SetQueueDepth(n); };
  service->batcher_ =
      std::make_unique<Batcher<Work>>(resolved.batcher, std::move(callbacks), clock);
  if (llm != nullptr) {
    for (const auto& [name, tensor] : llm->parts().llm->Weights()) {
      service->llm_parameters_ += tensor.numel();
    }
    absl::StatusOr<std::unique_ptr<LlmStage>> stage =
        LlmStage::Create(resolved.llm, std::move(llm), metrics, clock);
    if (!stage.ok()) return stage.status();
    service->llm_stage_ = std::move(stage).value();
  }
  return service;
}

RecommenderService::RecommenderService(const ServiceOptions& options,
                                       std::shared_ptr<const model::Bundle> bundle,
                                       Metrics* metrics)
    : options_(options),
      bundle_(std::move(bundle)),
      metrics_(metrics),
      ranker_(bundle_->sasrec(), bundle_->options().device) {
  for (const torch::Tensor& p : bundle_->sasrec()->parameters()) sasrec_parameters_ += p.numel();
}

RecommenderService::~RecommenderService() { Drain(); }

void RecommenderService::Drain() {
  draining_.store(true);
  // Stage 1 first: what it still runs may hand work to stage 2.
  if (batcher_ != nullptr) batcher_->Shutdown();
  if (llm_stage_ != nullptr) llm_stage_->Shutdown();
}

absl::Status RecommenderService::Warmup() {
  const model::Catalog& catalog = bundle_->catalog();
  model::RankQuery query;
  for (const model::CatalogEntry& e : catalog.entries()) {
    if (e.index > 0 && static_cast<int64_t>(query.history.size()) < options_.limits.max_history) {
      query.history.push_back(e.index);
    }
  }
  query.top_k = kDefaultTopK;
  torch::NoGradGuard no_grad;
  try {
    auto ranked = ranker_.Rank({query, query});
    if (!ranked.ok()) return FromModelStatus(ranked.status());
    if (!query.history.empty()) {
      query.candidates = {query.history.front()};
      auto scored = ranker_.Score({query});
      if (!scored.ok()) return FromModelStatus(scored.status());
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("warm-up failed: ", e.what()));
  }
  if (llm_stage_ != nullptr) {
    hybrid::RerankQuery llm_query;
    for (const model::CatalogEntry& e : catalog.entries()) {
      if (llm_query.history.size() < 3) {
        llm_query.history.push_back(e.index);
        llm_query.history_titles.push_back(e.title);
      } else if (llm_query.candidates.size() < 2) {
        llm_query.candidates.push_back({e.index, e.title});
      }
    }
    if (absl::Status s = llm_stage_->Warmup(llm_query); !s.ok()) return s;
  }
  return absl::OkStatus();
}

int RecommenderService::MapHistory(const google::protobuf::RepeatedPtrField<std::string>& history,
                                   std::vector<int64_t>* indices,
                                   std::vector<std::string>* titles) const {
  int unknown = 0;
  indices->reserve(history.size());
  for (const std::string& id : history) {
    const model::CatalogEntry* entry = bundle_->catalog().FindById(id);
    if (entry == nullptr) {
      ++unknown;
      continue;
    }
    if (entry->index > 0) indices->push_back(entry->index);  // cold items mean nothing to SASRec
    if (titles != nullptr) titles->push_back(entry->title);  // but their titles go in the prompt
  }
  return unknown;
}

void RecommenderService::Enqueue(Work work) {
  Call* call = work.call;
  const absl::Time deadline = DeadlineOf(*call->context());
  absl::StatusOr<Batcher<Work>::Ticket> ticket = batcher_->Enqueue(std::move(work), deadline);
  if (!ticket.ok()) {
    call->FinishWith(ticket.status());
    return;
  }
  call->set_ticket(*ticket);
}

absl::StatusOr<v1::RankingMode> RecommenderService::Admit(const absl::Status& validation,
                                                          v1::RankingMode requested) const {
  if (draining_.load()) return absl::UnavailableError("the server is shutting down");
  if (!validation.ok()) return validation;
  return ResolveMode(requested, /*has_llm=*/llm_stage_ != nullptr);
}

grpc::ServerUnaryReactor* RecommenderService::Recommend(grpc::CallbackServerContext* context,
                                                        const v1::RecommendRequest* request,
                                                        v1::RecommendResponse* response) {
  Call* call = new Call(this, context, kRecommend);
  absl::StatusOr<v1::RankingMode> mode =
      Admit(ValidateRecommendRequest(*request, options_.limits), request->mode());
  if (!mode.ok()) {
    call->FinishWith(mode.status());
    return call;
  }

  Work work;
  work.call = call;
  work.mode = *mode;
  work.recommend_response = response;
  const bool hybrid = *mode == v1::RANKING_MODE_HYBRID;
  const int unknown = MapHistory(request->history(), &work.query.history,
                                 hybrid ? &work.history_titles : nullptr);
  for (int i = 0; i < request->candidates_size(); ++i) {
    const std::string& id = request->candidates(i);
    const model::CatalogEntry* entry = bundle_->catalog().FindById(id);
    if (entry != nullptr && entry->index == 0 && hybrid) {
      work.cold_candidates.push_back(entry);  // scored by the LLM from its title
      continue;
    }
    if (entry == nullptr || entry->index == 0) {
      call->FinishWith(absl::InvalidArgumentError(
          absl::StrCat("candidates[", i, "]=\"", id, "\" ",
                       entry == nullptr ? "is not in the catalog"
                                        : "has no SASRec embedding (cold item); only "
                                          "RANKING_MODE_HYBRID can score it")));
      return call;
    }
    work.query.candidates.push_back(entry->index);
  }
  if (!request->has_exclude_history() || request->exclude_history()) {
    work.query.exclude = work.query.history;
  }
  work.top_k = EffectiveTopK(*request);
  if (!hybrid) {
    work.query.top_k = work.top_k;
  } else if (!work.query.candidates.empty()) {
    work.query.top_k = static_cast<int64_t>(work.query.candidates.size());  // score them all
  } else {
    work.query.top_k = std::max(options_.retrieval_k, work.top_k);
  }
  response->set_model_version(bundle_->manifest().model_version);
  response->set_unknown_history_items(unknown);
  response->set_mode(*mode);
  if (hybrid && work.query.candidates.empty() && !work.cold_candidates.empty()) {
    RerankWithLlm(std::move(work), {});  // only cold candidates: nothing for SASRec
    return call;
  }
  Enqueue(std::move(work));
  return call;
}

grpc::ServerUnaryReactor* RecommenderService::Score(grpc::CallbackServerContext* context,
                                                    const v1::ScoreRequest* request,
                                                    v1::ScoreResponse* response) {
  Call* call = new Call(this, context, kScore);
  absl::StatusOr<v1::RankingMode> mode =
      Admit(ValidateScoreRequest(*request, options_.limits), request->mode());
  if (!mode.ok()) {
    call->FinishWith(mode.status());
    return call;
  }

  Work work;
  work.call = call;
  work.mode = *mode;
  work.score_response = response;
  const bool hybrid = *mode == v1::RANKING_MODE_HYBRID;
  const int unknown = MapHistory(request->history(), &work.query.history,
                                 hybrid ? &work.history_titles : nullptr);
  response->set_model_version(bundle_->manifest().model_version);
  response->set_unknown_history_items(unknown);
  response->set_mode(*mode);
  for (int i = 0; i < request->candidates_size(); ++i) {
    const std::string& id = request->candidates(i);
    v1::ScoredCandidate* scored = response->add_scores();
    scored->set_item_id(id);
    const model::CatalogEntry* entry = bundle_->catalog().FindById(id);
    // SASRec cannot score cold items (index 0); the LLM scores them by title.
    if (entry == nullptr || (entry->index == 0 && !hybrid)) {
      scored->set_known(false);  // probability and logit stay 0
      continue;
    }
    scored->set_known(true);
    if (entry->index == 0) {
      work.cold_candidates.push_back(entry);
    } else {
      work.query.candidates.push_back(entry->index);
    }
    work.score_positions.push_back(i);
  }
  if (work.score_positions.empty()) {  // nothing for the model to do
    call->FinishWith(absl::OkStatus());
    return call;
  }
  if (hybrid) {
    ScoreWithLlm(std::move(work));
    return call;
  }
  Enqueue(std::move(work));
  return call;
}

grpc::ServerUnaryReactor* RecommenderService::GetModelInfo(
    grpc::CallbackServerContext* context, const v1::GetModelInfoRequest* /*request*/,
    v1::GetModelInfoResponse* response) {
  Call* call = new Call(this, context, kGetModelInfo);
  if (draining_.load()) {
    call->FinishWith(absl::UnavailableError("the server is shutting down"));
    return call;
  }
  const model::BundleManifest& manifest = bundle_->manifest();
  const model::SasrecConfig& config = manifest.sasrec;
  response->set_model_version(manifest.model_version);
  v1::ComponentInfo* sasrec = response->add_components();
  sasrec->set_name("sasrec");
  sasrec->set_config(absl::StrCat("items=", config.item_num, " hidden=", config.hidden_units,
                                  " blocks=", config.num_blocks, " heads=", config.num_heads,
                                  " maxlen=", config.maxlen,
                                  " norm_first=", config.norm_first ? "true" : "false"));
  sasrec->set_parameters(sasrec_parameters_);
  response->set_sasrec_hidden_units(static_cast<int32_t>(config.hidden_units));
  response->set_llm_hidden_size(0);
  if (llm_stage_ != nullptr) {
    const hybrid::HybridModel& hybrid_model = llm_stage_->model();
    const llm::LlamaConfig& llm_config = hybrid_model.parts().llm->config();
    v1::ComponentInfo* llm = response->add_components();
    llm->set_name("llm");
    llm->set_config(absl::StrCat(
        "layers=", llm_config.num_hidden_layers, " hidden=", llm_config.hidden_size,
        " heads=", llm_config.num_attention_heads, " kv_heads=", llm_config.num_key_value_heads,
        " vocab=", llm_config.vocab_size, " yes_token_id=", hybrid_model.yes_token_id(),
        " retrieval_k=", options_.retrieval_k,
        " max_batch_tokens=", options_.llm.rerank.max_batch_tokens,
        " prefix_sharing=", options_.llm.rerank.share_prefix ? "true" : "false"));
    llm->set_parameters(llm_parameters_);
    if (hybrid_model.uses_sasrec()) {
      v1::ComponentInfo* mapping = response->add_components();
      mapping->set_name("mapping");
      mapping->set_config(absl::StrCat("d_rec=", hybrid_model.parts().mapping->d_rec(),
                                       " d_llm=", hybrid_model.parts().mapping->d_llm()));
      int64_t mapping_parameters = 0;
      for (const torch::Tensor& p : hybrid_model.parts().mapping->parameters()) {
        mapping_parameters += p.numel();
      }
      mapping->set_parameters(mapping_parameters);
    }
    response->set_llm_hidden_size(static_cast<int32_t>(llm_config.hidden_size));
  }
  response->set_catalog_size(bundle_->catalog().size());
  response->set_max_history(static_cast<int32_t>(options_.limits.max_history));
  response->set_max_top_k(options_.limits.max_top_k);
  response->set_max_candidates(options_.limits.max_candidates);
  response->set_device(options_.device);
  response->set_dtype(options_.dtype);
  response->set_has_llm(llm_stage_ != nullptr);
  call->FinishWith(absl::OkStatus());
  return call;
}

void RecommenderService::RunBatch(std::vector<Work> batch) {
  std::vector<Work*> recommends, scores;
  std::vector<model::RankQuery> rank_queries, score_queries;
  for (Work& work : batch) {
    if (work.recommend_response != nullptr) {
      recommends.push_back(&work);
      // A hybrid request still needs its history in stage 2.
      rank_queries.push_back(work.mode == v1::RANKING_MODE_HYBRID ? work.query
                                                                   : std::move(work.query));
    } else {
      scores.push_back(&work);
      score_queries.push_back(std::move(work.query));
    }
  }

  const absl::Time start = absl::Now();
  absl::Status rank_status, score_status;
  std::vector<std::vector<model::ScoredItem>> ranked;
  std::vector<std::vector<float>> scored;
  {
    torch::NoGradGuard no_grad;
    try {
      if (!rank_queries.empty()) {
        auto result = ranker_.Rank(rank_queries);
        rank_status = FromModelStatus(result.status());
        if (result.ok()) ranked = std::move(result).value();
      }
      if (!score_queries.empty()) {
        auto result = ranker_.Score(score_queries);
        score_status = FromModelStatus(result.status());
        if (result.ok()) scored = std::move(result).value();
      }
    } catch (const std::exception& e) {
      const absl::Status internal = absl::InternalError(absl::StrCat("model error: ", e.what()));
      if (rank_status.ok()) rank_status = internal;
      if (score_status.ok()) score_status = internal;
    }
  }
  metrics_->ObserveInference(kStageSasrec, absl::Now() - start);

  const model::Catalog& catalog = bundle_->catalog();
  if (rank_status.ok() && ranked.size() != recommends.size()) {
    rank_status = absl::InternalError("the ranker answered a different number of queries");
  }
  for (size_t i = 0; i < recommends.size(); ++i) {
    Work& work = *recommends[i];
    if (!rank_status.ok()) {
      work.call->FinishWith(rank_status);
      continue;
    }
    if (work.mode == v1::RANKING_MODE_HYBRID) {
      RerankWithLlm(std::move(work), std::move(ranked[i]));
      continue;
    }
    for (const model::ScoredItem& item : ranked[i]) {
      v1::RankedItem* out = work.recommend_response->add_items();
      if (const model::CatalogEntry* entry = catalog.FindByIndex(item.index)) {
        out->set_item_id(entry->item_id);
        out->set_title(entry->title);
      } else {  // an index the catalog lacks (the bundle's catalog is partial)
        work.recommend_response->mutable_items()->RemoveLast();
        continue;
      }
      out->set_score(item.score);
      out->set_retrieval_score(item.score);
    }
    work.call->FinishWith(absl::OkStatus());
  }

  if (score_status.ok() && scored.size() != scores.size()) {
    score_status = absl::InternalError("the ranker answered a different number of queries");
  }
  for (size_t i = 0; i < scores.size(); ++i) {
    Work& work = *scores[i];
    if (score_status.ok() && scored[i].size() != work.score_positions.size()) {
      work.call->FinishWith(absl::InternalError("the ranker answered a different number of scores"));
      continue;
    }
    if (!score_status.ok()) {
      work.call->FinishWith(score_status);
      continue;
    }
    for (size_t j = 0; j < work.score_positions.size(); ++j) {
      v1::ScoredCandidate* out = work.score_response->mutable_scores(work.score_positions[j]);
      out->set_logit(scored[i][j]);
      out->set_probability(Sigmoid(scored[i][j]));
    }
    work.call->FinishWith(absl::OkStatus());
  }
}

void RecommenderService::RerankWithLlm(Work work, std::vector<model::ScoredItem> retrieved) {
  const model::Catalog& catalog = bundle_->catalog();
  struct Candidate {
    const model::CatalogEntry* entry;
    float retrieval_score;  // 0 for cold items: SASRec cannot score them
  };
  auto candidates = std::make_shared<std::vector<Candidate>>();
  LlmWork llm;
  for (const model::ScoredItem& item : retrieved) {
    if (const model::CatalogEntry* entry = catalog.FindByIndex(item.index)) {
      candidates->push_back({entry, item.score});
    }
  }
  for (const model::CatalogEntry* entry : work.cold_candidates) candidates->push_back({entry, 0.0f});
  if (candidates->empty()) {
    work.call->FinishWith(absl::OkStatus());
    return;
  }
  for (const Candidate& c : *candidates) {
    llm.query.candidates.push_back({c.entry->index, c.entry->title});
  }
  llm.query.history = std::move(work.query.history);
  llm.query.history_titles = std::move(work.history_titles);
  grpc::CallbackServerContext* context = work.call->context();
  llm.deadline = DeadlineOf(*context);
  llm.is_cancelled = [context] { return context->IsCancelled(); };
  llm.done = [call = work.call, response = work.recommend_response, candidates,
              top_k = work.top_k](absl::StatusOr<std::vector<float>> logits) {
    if (!logits.ok()) {
      call->FinishWith(logits.status());
      return;
    }
    std::vector<size_t> order(candidates->size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return (*logits)[a] > (*logits)[b]; });
    if (order.size() > static_cast<size_t>(top_k)) order.resize(top_k);
    for (size_t i : order) {
      const Candidate& c = (*candidates)[i];
      v1::RankedItem* out = response->add_items();
      out->set_item_id(c.entry->item_id);
      out->set_title(c.entry->title);
      out->set_score((*logits)[i]);
      out->set_retrieval_score(c.retrieval_score);
      out->set_llm_score((*logits)[i]);
    }
    call->FinishWith(absl::OkStatus());
  };
  llm_stage_->Enqueue(std::move(llm));
}

void RecommenderService::ScoreWithLlm(Work work) {
  const model::Catalog& catalog = bundle_->catalog();
  LlmWork llm;
  // The known candidates, in request order (cold ones too: scored by title).
  for (int position : work.score_positions) {
    const model::CatalogEntry* entry =
        catalog.FindById(work.score_response->scores(position).item_id());
    llm.query.candidates.push_back({entry->index, entry->title});
  }
  llm.query.history = std::move(work.query.history);
  llm.query.history_titles = std::move(work.history_titles);
  grpc::CallbackServerContext* context = work.call->context();
  llm.deadline = DeadlineOf(*context);
  llm.is_cancelled = [context] { return context->IsCancelled(); };
  llm.done = [call = work.call, out = work.score_response,
              positions = std::move(work.score_positions)](
                 absl::StatusOr<std::vector<float>> logits) {
    if (!logits.ok()) {
      call->FinishWith(logits.status());
      return;
    }
    for (size_t j = 0; j < positions.size(); ++j) {
      v1::ScoredCandidate* scored = out->mutable_scores(positions[j]);
      scored->set_logit((*logits)[j]);
      scored->set_probability(Sigmoid((*logits)[j]));
    }
    call->FinishWith(absl::OkStatus());
  };
  llm_stage_->Enqueue(std::move(llm));
}

}  // namespace sasrecllm::server
