// A FitPrune recipe file (read_fitprune_recipe) and, from the same bytes, a per-layer schedule
// (parse_schedule for a 32-layer, 576-token model, the `schedule:FILE` budget).
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "flops/schedule.h"
#include "fuzz_input.h"
#include "io/json_file.h"
#include "pruners/fitprune_recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  try {
    const pb::FitpruneRecipe recipe = pb::read_fitprune_recipe(file.path());
    (void)pb::fitprune_deletions(recipe, 576);
  } catch (const pb::Error&) {
  }
  try {
    (void)pb::parse_schedule(pb::read_json_file(file.path()), 32, 576, "fuzz input");
  } catch (const pb::Error&) {
  }
  return 0;
}
