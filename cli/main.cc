// sasrecllm: the offline tool (data preparation, SASRec training, evaluation,
// bundle export). Run `sasrecllm --help` or `sasrecllm COMMAND --help`.
#include <malloc.h>

#include <climits>
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "cli/flags.h"
#include "model/llm/commands.h"

namespace {

constexpr char kHelp[] =
    "usage: sasrecllm COMMAND [flags]\n"
    "\n"
    "The SASRecLLM offline tool.\n"
    "\n"
    "commands:\n"
    "  data synthesize         write synthetic sequences with planted structure\n"
    "  data import-movielens   convert raw MovieLens ratings.dat + movies.dat\n"
    "  data convert-collm      convert the CoLLM TSV split's positive train rows\n"
    "  train-sasrec            train SASRec (paper protocol), pmixer-layout checkpoints\n"
    "  eval-sasrec             HR@10 / NDCG@10 of a SASRec checkpoint (paper protocol), or\n"
    "                          AUC / UAUC on CoLLM rows with --pointwise\n"
    "  export                  write a serving bundle (SASRec folder, or --hybrid checkpoint)\n"
    "  bench-sasrec            raw batched SASRec ranking throughput of a bundle (no gRPC)\n"
    "  train-hybrid            train SASRecLLM (LoRA + mapping layer) with one of three strategies\n"
    "  eval-hybrid             AUC / UAUC (all, warm, cold rows) of a hybrid checkpoint\n"
    "  convert-llama2c         llama2.c checkpoint + tokenizer -> Hugging Face-layout LLM folder\n"
    "  generate                greedy or sampled text from an LLM folder (as llama2.c's run)\n"
    "  tokenize                text -> token ids, or ids -> text with --decode\n"
    "  init-llm                write a randomly initialised Llama (HF layout), e.g. a re-ranker\n"
    "  bench-llm               LLM prefill / decode / prefix-sharing throughput vs matmul peak\n"
    "\n"
    "Run `sasrecllm COMMAND --help` for a command's flags.\n"
    "Exit codes: 0 ok, 1 error, 2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace sasrecllm::cli;
  if (argc < 2) {
    std::cerr << kHelp;
    return kExitUsage;
  }
  // Training allocates and frees large activation tensors at every step;
  // glibc would mmap() and munmap() each one and fault its pages in again
  // (half the wall time of train-hybrid on this machine). Keep freed memory
  // in the heap for reuse instead.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
  const std::string command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kHelp;
    return kExitOk;
  }
  if (command == "data") return RunData(argc, argv, 2);
  if (command == "train-sasrec") return RunTrainSasrec(argc, argv, 2);
  if (command == "eval-sasrec") return RunEvalSasrec(argc, argv, 2);
  if (command == "export") return RunExport(argc, argv, 2);
  if (command == "bench-sasrec") return RunBenchSasrec(argc, argv, 2);
  if (command == "train-hybrid") return RunTrainHybrid(argc, argv, 2);
  if (command == "eval-hybrid") return RunEvalHybrid(argc, argv, 2);
  if (command == "convert-llama2c") return sasrecllm::llm::RunConvertLlama2c(argc, argv, 2);
  if (command == "generate") return sasrecllm::llm::RunGenerate(argc, argv, 2);
  if (command == "tokenize") return sasrecllm::llm::RunTokenize(argc, argv, 2);
  if (command == "init-llm") return sasrecllm::llm::RunInitLlm(argc, argv, 2);
  if (command == "bench-llm") return sasrecllm::llm::RunBenchLlm(argc, argv, 2);
  std::cerr << "error: unknown command \"" << command << "\"\n\n" << kHelp;
  return kExitUsage;
}
