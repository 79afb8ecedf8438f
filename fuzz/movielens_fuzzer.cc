// MovieLens-1M's ratings.dat and movies.dat from arbitrary bytes: the input
// up to "\n--\n" is ratings.dat, the rest movies.dat (fuzz_input.h).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_input.h"
#include "model/interaction_data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [ratings, movies] = sasrecllm::fuzz::SplitInTwo(sasrecllm::fuzz::AsText(data, size));
  const std::string ratings_path = sasrecllm::fuzz::WriteInput("ratings.dat", ratings);
  const std::string movies_path = sasrecllm::fuzz::WriteInput("movies.dat", movies);
  for (int min_rating : {0, 4}) {
    (void)sasrecllm::model::ReadMovieLens(ratings_path, movies_path, {.min_rating = min_rating});
  }
  return 0;
}
