// The request path from raw protobuf bytes to a validated pipeline request:
// the input's first byte picks the RPC (Recommend or Score) and whether the
// server has an LLM stage, the rest is the RPC's wire bytes, parsed as gRPC
// would, then validated and mapped by the RequestBuilder over a small catalog
// (items "1".."20" plus a cold "cold"). Only errors may come back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "proto/sasrecllm.pb.h"
#include "server/request_builder.h"

namespace {

const sasrecllm::model::Catalog& TestCatalog() {
  static const sasrecllm::model::Catalog catalog = [] {
    std::vector<sasrecllm::model::CatalogEntry> entries;
    for (int i = 1; i <= 20; ++i) entries.push_back({i, std::to_string(i), "Title"});
    entries.push_back({0, "cold", "A cold item"});
    return *sasrecllm::model::Catalog::FromEntries(std::move(entries));
  }();
  return catalog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using sasrecllm::server::RequestBuilder;
  RequestBuilder::Options options;
  options.limits = {.max_top_k = 100, .max_candidates = 10, .max_history = 8};
  options.has_llm = (data[0] & 2) != 0;
  const RequestBuilder builder(&TestCatalog(), options);
  if (data[0] & 1) {
    sasrecllm::v1::ScoreRequest rpc;
    if (rpc.ParseFromArray(data + 1, static_cast<int>(size - 1))) (void)builder.FromScore(rpc);
  } else {
    sasrecllm::v1::RecommendRequest rpc;
    if (rpc.ParseFromArray(data + 1, static_cast<int>(size - 1))) (void)builder.FromRecommend(rpc);
  }
  return 0;
}
