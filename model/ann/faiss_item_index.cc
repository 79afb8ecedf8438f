#include "model/ann/faiss_item_index.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IVFlib.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <random>

namespace sasrecllm::ann {

namespace {

// Below this many items an exact "Flat" index is as fast as any other.
constexpr int64_t kAutoFlatBelow = 20000;

std::string FaissError(const std::exception& e) {
  std::string what = e.what();
  // FAISS's messages carry a "Error in <function> at <file>:<line>: " prefix.
  const size_t colon = what.rfind(": ");
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

Status FaissIndexBuildOptions::Validate() const {
  if (factory.empty()) return InvalidArgumentError("index factory is empty (use \"auto\")");
  if (train_size < 0) {
    return InvalidArgumentError("train_size " + std::to_string(train_size) + " must be >= 0");
  }
  return OkStatus();
}

std::string AutoFactory(int64_t num_items) {
  if (num_items < kAutoFlatBelow) return "Flat";
  const double root = std::sqrt(static_cast<double>(num_items));
  const int64_t lists = int64_t{1} << static_cast<int>(std::lround(std::log2(root)));
  return "IVF" + std::to_string(lists) + ",Flat";
}

FaissItemIndex::FaissItemIndex(std::unique_ptr<faiss::Index> index) : index_(std::move(index)) {}
FaissItemIndex::~FaissItemIndex() = default;

StatusOr<std::unique_ptr<FaissItemIndex>> FaissItemIndex::Build(
    const torch::Tensor& item_emb, const FaissIndexBuildOptions& options) {
  SASRECLLM_RETURN_IF_ERROR(options.Validate());
  if (item_emb.dim() != 2 || item_emb.size(0) < 2 || item_emb.size(1) < 1) {
    return InvalidArgumentError("item embeddings must be [N + 1, H] with N >= 1, got " +
                                std::string(item_emb.sizes().vec().empty() ? "a scalar" : "") +
                                c10::str(item_emb.sizes()));
  }
  // [N, H] float32 on the CPU, padding row 0 left out: FAISS id i = item i + 1.
  const torch::Tensor items =
      item_emb.slice(0, 1).to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = items.size(0);
  const int64_t d = items.size(1);
  const std::string factory = options.factory == "auto" ? AutoFactory(n) : options.factory;
  try {
    std::unique_ptr<faiss::Index> index(
        faiss::index_factory(static_cast<int>(d), factory.c_str(), faiss::METRIC_INNER_PRODUCT));
    if (auto* ivf = faiss::ivflib::try_extract_index_ivf(index.get()); ivf != nullptr) {
      ivf->cp.seed = static_cast<int>(options.seed & 0x7fffffff);
      ivf->cp.verbose = false;
      if (static_cast<int64_t>(ivf->nlist) > n) {
        return InvalidArgumentError("index \"" + factory + "\" has " + std::to_string(ivf->nlist) +
                                    " lists but there are only " + std::to_string(n) + " items");
      }
    }
    if (!index->is_trained) {
      int64_t train_n = options.train_size;
      if (train_n == 0) {
        const auto* ivf = faiss::ivflib::try_extract_index_ivf(index.get());
        train_n = ivf != nullptr ? 64 * static_cast<int64_t>(ivf->nlist) : 100000;
      }
      train_n = std::min(train_n, n);
      // A seeded sample of the items, in index order (cache-friendly gather).
      std::vector<int64_t> order(n);
      std::iota(order.begin(), order.end(), 0);
      std::mt19937_64 rng(options.seed);
      std::shuffle(order.begin(), order.end(), rng);
      order.resize(train_n);
      std::sort(order.begin(), order.end());
      const torch::Tensor sample =
          items.index_select(0, torch::tensor(order, torch::kLong)).contiguous();  // [train_n, H]
      index->train(train_n, sample.data_ptr<float>());
    }
    index->add(n, items.data_ptr<float>());
    std::unique_ptr<FaissItemIndex> result(new FaissItemIndex(std::move(index)));
    result->factory_ = factory;
    return result;
  } catch (const std::exception& e) {
    return InvalidArgumentError("cannot build FAISS index \"" + factory + "\": " + FaissError(e));
  }
}

StatusOr<std::unique_ptr<FaissItemIndex>> FaissItemIndex::Load(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFoundError(path + ": no such file");
  }
  std::unique_ptr<faiss::Index> index;
  try {
    index.reset(faiss::read_index(path.c_str()));
  } catch (const std::exception& e) {
    return DataLossError(path + ": not a readable FAISS index: " + FaissError(e));
  }
  if (index->metric_type != faiss::METRIC_INNER_PRODUCT) {
    return InvalidArgumentError(path + ": the index does not use the inner-product metric");
  }
  return std::unique_ptr<FaissItemIndex>(new FaissItemIndex(std::move(index)));
}

Status FaissItemIndex::Save(const std::string& path) const {
  try {
    faiss::write_index(index_.get(), path.c_str());
  } catch (const std::exception& e) {
    return InternalError(path + ": cannot write the FAISS index: " + FaissError(e));
  }
  return OkStatus();
}

Status FaissItemIndex::SetSearchParams(const std::string& params) {
  if (params.empty()) return OkStatus();
  try {
    faiss::ParameterSpace().set_index_parameters(index_.get(), params.c_str());
  } catch (const std::exception& e) {
    return InvalidArgumentError("search parameters \"" + params + "\" for index \"" + factory_ +
                                "\": " + FaissError(e));
  }
  search_params_ = params;
  return OkStatus();
}

std::vector<std::string> FaissItemIndex::SearchParamLadder() const {
  std::vector<std::string> ladder;
  if (const auto* ivf = faiss::ivflib::try_extract_index_ivf(index_.get()); ivf != nullptr) {
    for (size_t nprobe = 1;; nprobe *= 2) {
      ladder.push_back("nprobe=" + std::to_string(std::min(nprobe, ivf->nlist)));
      if (nprobe >= ivf->nlist) break;
    }
  } else if (dynamic_cast<const faiss::IndexHNSW*>(index_.get()) != nullptr) {
    for (int ef = 16; ef <= 4096; ef *= 2) ladder.push_back("efSearch=" + std::to_string(ef));
  } else {
    ladder.push_back("");
  }
  return ladder;
}

StatusOr<std::vector<std::vector<model::ScoredItem>>> FaissItemIndex::Search(
    const torch::Tensor& users, int64_t k) const {
  if (users.dim() != 2 || users.size(1) != dim() || users.scalar_type() != torch::kFloat32 ||
      !users.device().is_cpu() || !users.is_contiguous()) {
    return InvalidArgumentError("FaissItemIndex::Search: users must be [B, " +
                                std::to_string(dim()) + "] float32 contiguous on the CPU, got " +
                                c10::str(users.sizes(), " ", users.scalar_type(), " on ",
                                         users.device()));
  }
  const int64_t b = users.size(0);
  std::vector<std::vector<model::ScoredItem>> results(b);
  k = std::min(k, size());
  if (b == 0 || k < 1) return results;
  std::vector<float> scores(b * k);
  std::vector<faiss::Index::idx_t> labels(b * k);
  try {
    index_->search(b, users.data_ptr<float>(), k, scores.data(), labels.data());
  } catch (const std::exception& e) {
    return InternalError("FAISS search: " + FaissError(e));
  }
  for (int64_t r = 0; r < b; ++r) {
    results[r].reserve(k);
    for (int64_t j = 0; j < k; ++j) {
      const faiss::Index::idx_t label = labels[r * k + j];
      if (label < 0) break;  // fewer than k found (too few lists probed)
      results[r].push_back({static_cast<int64_t>(label) + 1, scores[r * k + j]});
    }
  }
  return results;
}

int64_t FaissItemIndex::size() const { return index_->ntotal; }
int64_t FaissItemIndex::dim() const { return index_->d; }

std::string FaissItemIndex::Describe() const {
  std::string text = "faiss " + (factory_.empty() ? std::string("index") : factory_);
  if (!search_params_.empty()) text += " " + search_params_;
  return text;
}

}  // namespace sasrecllm::ann
