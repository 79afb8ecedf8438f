// The offline tool's subcommands. Each takes the whole argv and the index of
// its first own argument, and returns the process exit code (0 ok, 1 error,
// 2 usage).
#ifndef SASRECLLM_CLI_COMMANDS_H_
#define SASRECLLM_CLI_COMMANDS_H_

namespace sasrecllm::cli {

int RunData(int argc, char** argv, int first);          // data synthesize|import-movielens|convert-collm
int RunTrainSasrec(int argc, char** argv, int first);   // train-sasrec
int RunEvalSasrec(int argc, char** argv, int first);    // eval-sasrec
int RunExport(int argc, char** argv, int first);        // export
int RunBenchSasrec(int argc, char** argv, int first);   // bench-sasrec
int RunTrainHybrid(int argc, char** argv, int first);   // train-hybrid
int RunEvalHybrid(int argc, char** argv, int first);    // eval-hybrid
int RunExportHybrid(int argc, char** argv, int first);  // export --hybrid

}  // namespace sasrecllm::cli

#endif  // SASRECLLM_CLI_COMMANDS_H_
