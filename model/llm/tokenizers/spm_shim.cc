// The only code that links libsentencepiece: a plugin (MODULE library) that
// SpmTokenizer dlopen()s with RTLD_LOCAL | RTLD_DEEPBIND.
//
// Why: Debian's libsentencepiece.so.0 carries its own protobuf-lite 3.14 with
// exported symbols, while libtorch_cpu needs libprotobuf 3.21. Linked into
// one executable the two interpose each other and the process dies before
// main() (or protobuf aborts with a version mismatch). Loaded locally and
// deep-bound, sentencepiece sees only its own protobuf and nobody sees it.
// C++ types cross the boundary: both sides use the same libstdc++.
#include <sentencepiece_processor.h>

#include <string>
#include <vector>

extern "C" {

// A new processor for `path`, or nullptr with the reason in *error.
void* SasrecllmSpmLoad(const char* path, std::string* error) {
  auto* processor = new sentencepiece::SentencePieceProcessor();
  const sentencepiece::util::Status s = processor->Load(path);
  if (!s.ok()) {
    *error = s.ToString();
    delete processor;
    return nullptr;
  }
  return processor;
}

void SasrecllmSpmFree(void* processor) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(processor);
}

bool SasrecllmSpmEncode(const void* processor, const std::string* text, std::vector<int>* ids) {
  return static_cast<const sentencepiece::SentencePieceProcessor*>(processor)
      ->Encode(*text, ids)
      .ok();
}

bool SasrecllmSpmDecode(const void* processor, const std::vector<int>* ids, std::string* text) {
  return static_cast<const sentencepiece::SentencePieceProcessor*>(processor)
      ->Decode(*ids, text)
      .ok();
}

// {piece count, BOS id, EOS id}.
void SasrecllmSpmInfo(const void* processor, int* vocab_size, int* bos, int* eos) {
  const auto* p = static_cast<const sentencepiece::SentencePieceProcessor*>(processor);
  *vocab_size = p->GetPieceSize();
  *bos = p->bos_id();
  *eos = p->eos_id();
}

// The id of `piece`, -1 when it is not in the vocabulary (SentencePiece
// itself answers unk_id for those).
int SasrecllmSpmPieceToId(const void* processor, const std::string* piece) {
  const auto* p = static_cast<const sentencepiece::SentencePieceProcessor*>(processor);
  const int id = p->PieceToId(*piece);
  return id >= 0 && id < p->GetPieceSize() && p->IdToPiece(id) == *piece ? id : -1;
}

}  // extern "C"
