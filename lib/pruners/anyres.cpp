// The Pruner defaults for LLaVA-NeXT (anyres) images: which handling a method declares decides how a
// run resolves its budget (docs/llava_next.md, "Pruning methods on NeXT").
#include <fmt/format.h>

#include "core/error.h"
#include "flops/visual_tokens.h"
#include "pruners/pruner.h"

namespace pb {

const char* anyres_handling_name(AnyresHandling h) {
  switch (h) {
    case AnyresHandling::kRefused:
      return "refused";
    case AnyresHandling::kPackedSpan:
      return "packed-span";
    case AnyresHandling::kPerTile:
      return "per-tile";
    case AnyresHandling::kBaseAndGrid:
      return "base-and-grid";
  }
  return "?";
}

nlohmann::json Pruner::resolve_for_tokens(const LlavaConfig&, int64_t visual_tokens) {
  throw Error(fmt::format("{}: cannot be resolved for an image of {} visual tokens", info().name, visual_tokens));
}

nlohmann::json Pruner::resolve_anyres(const LlavaConfig& cfg) {
  const PrunerInfo& i = info();
  nlohmann::json out;
  switch (i.anyres) {
    case AnyresHandling::kRefused:
      throw Error(fmt::format("--pruner {}: not available on LLaVA-NeXT models: {}", i.name, i.anyres_note));
    case AnyresHandling::kPackedSpan:
      // Recorded for the papers' nominal 5 x 576; every image is resolved again for its real count.
      out = resolve_for_tokens(cfg, nominal_visual_tokens(cfg));
      break;
    case AnyresHandling::kPerTile:
    case AnyresHandling::kBaseAndGrid:
      out = resolve(cfg);
      break;
  }
  out["anyres"] = {{"handling", anyres_handling_name(i.anyres)}, {"note", i.anyres_note}};
  return out;
}

}  // namespace pb
