// `sasrecllm-client info`: the served model's version, components,
// dimensions and limits (GetModelInfo).
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/util.h"
#include "grpcpp/grpcpp.h"
#include "proto/sasrecllm.grpc.pb.h"

namespace sasrecllm::client {
namespace {

struct InfoFlags {
  std::string json;
};

int Info(const GlobalOptions& global, const InfoFlags& f) {
  const std::string command = "info";
  v1::GetModelInfoResponse info;
  grpc::Status status = CallRecommender(global, &v1::Recommender::Stub::GetModelInfo,
                                        v1::GetModelInfoRequest(), &info);
  if (!status.ok()) return RpcError(command, status);
  if (int rc = WriteJsonIfAsked(command, f.json, MessageJson(info)); rc != kExitOk) {
    return rc;
  }
  std::FILE* text = TextFile(f.json);
  std::fprintf(text, "model_version:       %s\n", info.model_version().c_str());
  std::fprintf(text, "device:              %s\n", info.device().c_str());
  std::fprintf(text, "dtype:               %s\n", info.dtype().c_str());
  std::fprintf(text, "has_llm:             %s\n", info.has_llm() ? "true" : "false");
  std::fprintf(text, "catalog_size:        %lld\n", static_cast<long long>(info.catalog_size()));
  std::fprintf(text, "sasrec_hidden_units: %d\n", info.sasrec_hidden_units());
  std::fprintf(text, "llm_hidden_size:     %d\n", info.llm_hidden_size());
  std::fprintf(text, "max_history:         %d\n", info.max_history());
  std::fprintf(text, "max_top_k:           %d\n", info.max_top_k());
  std::fprintf(text, "max_candidates:      %d\n", info.max_candidates());
  std::fprintf(text, "retrieval:           %s\n", info.retrieval().c_str());
  std::fprintf(text, "bundle_format:       %d\n", info.bundle_format_version());
  std::fprintf(text, "item_index:          %s\n",
               info.item_index().empty() ? "(none)" : info.item_index().c_str());
  std::fprintf(text, "components:\n");
  for (const v1::ComponentInfo& c : info.components()) {
    std::fprintf(text, "  %-8s %12lld params  %s\n", c.name().c_str(),
                static_cast<long long>(c.parameters()), c.config().c_str());
  }
  return kExitOk;
}

}  // namespace

Command AddInfo(CLI::App& app, Global global) {
  Subcommand<InfoFlags> sub(app, "info", "model version, components and limits (GetModelInfo)");
  InfoFlags& f = sub.flags();
  sub->add_option("--json", f.json, kJsonHelp)->type_name("FILE");
  return sub.RunWith([global](const InfoFlags& flags) { return Info(*global, flags); });
}

}  // namespace sasrecllm::client
