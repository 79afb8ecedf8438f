// The offline tool's SASRec, hybrid and data commands (see cli/command.h for
// how they plug into the app, cli/llm_commands.h for the LLM ones).
#ifndef SASRECLLM_CLI_COMMANDS_H_
#define SASRECLLM_CLI_COMMANDS_H_

#include <string>
#include <vector>

#include "cli/command.h"

namespace sasrecllm::cli {

std::vector<Command> AddData(CLI::App& app);  // data synthesize|import-movielens|convert-collm
Command AddTrainSasrec(CLI::App& app);        // train-sasrec
Command AddEvalSasrec(CLI::App& app);         // eval-sasrec
Command AddExport(CLI::App& app);             // export (SASRec folder or --hybrid checkpoint)
Command AddBenchSasrec(CLI::App& app);        // bench-sasrec
Command AddTrainHybrid(CLI::App& app);        // train-hybrid
Command AddEvalHybrid(CLI::App& app);         // eval-hybrid
Command AddFuseHybrid(CLI::App& app);         // fuse-hybrid
Command AddSynthesizeBundle(CLI::App& app);   // synthesize-bundle
#ifdef SASRECLLM_HAVE_ANN
Command AddBuildIndex(CLI::App& app);         // build-index (FAISS, cli/ann_commands.cc)
Command AddBenchRetrieval(CLI::App& app);     // bench-retrieval
#endif

// `export`'s flags; --hybrid selects the SASRecLLM bundle.
struct ExportFlags {
  std::string sasrec;         // pmixer-layout SASRec folder
  std::string hybrid;         // hybrid checkpoint folder
  std::string out;            // bundle folder to write (required)
  std::string items;          // items.tsv with titles; Default: none
  std::string model_version;  // Default: derived from the source's name
};
int RunExportHybrid(const ExportFlags& flags);  // export --hybrid (hybrid_commands.cc)

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_COMMANDS_H_
