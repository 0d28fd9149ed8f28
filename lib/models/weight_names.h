// Maps the checkpoint naming schemes of LLaVA weights (llava-hf as published, transformers >= 4.52,
// original liuhaotian, LLaVA-HR's dual-path tower) onto the names of prune-bench's module tree.
#pragma once

#include <optional>
#include <string>

namespace pb {

// Module-tree name for a checkpoint tensor name, or nullopt for tensors that carry no weights
// (rotary inv_freq and position_ids buffers of older saves).
std::optional<std::string> canonical_weight_name(const std::string& checkpoint_name);

}  // namespace pb
