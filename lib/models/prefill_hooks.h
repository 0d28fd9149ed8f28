// What the decoder loop exposes between layers, so that pruning methods can drop visual tokens
// (rows of the hidden state, and of the KV cache) and read attention where they ask for it.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace pb {

class KvCache;
struct SequenceState;

// A read-only probe into the decoder for observers that need more than attention probabilities
// (PyramidDrop's next-layer query, DART's final norm). The model computes; it runs no layer and
// changes no cache.
class DecoderProbe {
 public:
  virtual ~DecoderProbe() = default;
  // Attention of the last row of `state` over all its rows as decoder layer `layer` would compute
  // it (its input RMSNorm, q_proj/k_proj, RoPE at state.positions, fp32 softmax): [H, T] fp32.
  virtual at::Tensor attention_of_last_query(int64_t layer, const SequenceState& state) const = 0;
  // The decoder's final RMSNorm (model.norm): [T, D] -> [T, D].
  virtual at::Tensor final_norm(const at::Tensor& hidden) const = 0;
};

struct SequenceState {
  at::Tensor hidden;         // [T, D] compute dtype
  at::Tensor positions;      // [T] int64: RoPE position of each row
  at::Tensor origin;         // [T] int64: index of each row in the unpruned spliced sequence
  int64_t image_begin = 0;   // first visual row in the current rows
  int64_t image_len = 0;     // number of visual rows
  KvCache* cache = nullptr;
  const DecoderProbe* probe = nullptr;  // set by the decoder loop for its observer
  // Set by reindex_positions(): when decoding, each layer's token takes that layer's KV-cache length
  // as its position (PyramidDrop shifts decode positions per stage, SparseVLM uses the layer's
  // cache length), instead of one position after the largest in use.
  bool decode_positions_from_cache = false;

  // Keeps only `rows` ([k] int64, ascending, indices into the current rows) of hidden, positions
  // and origin, and moves the image span accordingly. The KV cache of layers already run is left
  // alone: those layers did see the dropped rows (a method that also evicts them uses `cache`).
  void keep_rows(const at::Tensor& rows);
  // keep_rows(rows), then inserts `extra` ([m, D]) right after the kept image rows as new visual
  // rows (SparseVLM's recycled tokens). An inserted row has origin -1 (it is no original token, so
  // no kept-index record names it) and positions continuing from the row before it; methods that
  // re-index call reindex_positions() afterwards.
  void keep_rows_and_insert_visual(const at::Tensor& rows, const at::Tensor& extra);
  // Positions become 0..T-1 (PyramidDrop, SparseVLM v1/v1.5 truncate position_ids to the new length);
  // sets decode_positions_from_cache.
  void reindex_positions();
};

// Observer of the prefill layer loop. Attention probabilities are computed for the layers that
// wants_attention() names and for no others.
class PrefillObserver {
 public:
  virtual ~PrefillObserver() = default;
  virtual bool wants_attention(int64_t /*layer*/) const { return false; }
  // Before decoder layer 0, on the LLM input embeddings (SparseVLM chooses its text raters here).
  virtual void before_layers(SequenceState& /*state*/) {}
  // Inside decoder layer `layer`, after attention and before o_proj (FitPrune's pruning point):
  // returns the rows to keep ([k] int64 ascending), or an undefined tensor to keep all. The layer's own
  // KV cache keeps every row; o_proj, the MLP and later layers run on the kept rows.
  virtual at::Tensor after_attention(int64_t /*layer*/, const SequenceState& /*state*/,
                                     const at::Tensor& /*attention*/) {
    return {};
  }
  // After decoder layer `layer`; `attention` is its softmax [H, T, T] fp32 when asked, else undefined.
  virtual void after_layer(int64_t /*layer*/, SequenceState& /*state*/, const at::Tensor& /*attention*/) {}
};

}  // namespace pb
