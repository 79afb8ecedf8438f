// A tiny SASRec configuration for the model tests: 2 blocks of 2 heads over
// histories of at most `maxlen` items (Default: 4).
#ifndef SASRECLLM_TESTS_MODEL_TINY_SASREC_H_
#define SASRECLLM_TESTS_MODEL_TINY_SASREC_H_

#include <cstdint>

#include "model/sasrec.h"

namespace sasrecllm::model::testing {

inline SasrecConfig TinySasrecConfig(int64_t item_num, int64_t hidden_units, double dropout_rate,
                                     int64_t maxlen = 4) {
  SasrecConfig c;
  c.item_num = item_num;
  c.maxlen = maxlen;
  c.hidden_units = hidden_units;
  c.num_blocks = 2;
  c.num_heads = 2;
  c.dropout_rate = dropout_rate;
  return c;
}

}  // namespace sasrecllm::model::testing

#endif  // SASRECLLM_TESTS_MODEL_TINY_SASREC_H_
