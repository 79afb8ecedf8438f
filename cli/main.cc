// sasrecllm: the offline tool (data preparation, SASRec training, evaluation,
// bundle export, the LLM runtime's commands). Run `sasrecllm --help` or
// `sasrecllm COMMAND --help`. Exit codes: 0 ok, 1 error, 2 usage error.
#include <malloc.h>

#include <CLI/CLI.hpp>
#include <climits>
#include <vector>

#include "cli/command.h"
#include "cli/commands.h"
#include "cli/llm_commands.h"
#include "model/torch_device.h"

int main(int argc, char** argv) {
  using namespace sasrecllm::cli;  // NOLINT(build/namespaces): main only
  CLI::App app("The SASRecLLM offline tool.", "sasrecllm");
  app.option_defaults()->always_capture_default();
  app.require_subcommand(1);
  app.footer("Run `sasrecllm COMMAND --help` for a command's flags.\n"
             "Exit codes: 0 ok, 1 error, 2 usage error.");
  std::vector<Command> commands = AddData(app);
  for (Command c : {AddTrainSasrec(app), AddEvalSasrec(app), AddExport(app),
                    AddBenchSasrec(app), AddTrainHybrid(app), AddEvalHybrid(app),
                    AddFuseHybrid(app),
                    AddConvertLlama2c(app), AddGenerate(app), AddTokenize(app),
                    AddInitLlm(app), AddBenchLlm(app), AddLlmMemory(app),
                    AddSynthesizeBundle(app)}) {
    commands.push_back(std::move(c));
  }
#ifdef SASRECLLM_HAVE_ANN
  commands.push_back(AddBuildIndex(app));
  commands.push_back(AddBenchRetrieval(app));
#endif
  // Training allocates and frees large activation tensors at every step;
  // glibc would mmap() and munmap() each one and fault its pages in again
  // (half the wall time of train-hybrid on this machine). Keep freed memory
  // in the heap for reuse instead.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  sasrecllm::model::FlushDenormalsToZero();  // before any thread exists: they inherit it
  return ParseAndRun(app, commands, argc, argv);
}
