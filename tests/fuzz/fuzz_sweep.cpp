// A sweep config (load_sweep): axes, zip/product, include/exclude, then sharding of the points.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "fuzz_input.h"
#include "sweep/sweep_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const pb::fuzz::MemoryFile file(data, size);
  try {
    const pb::SweepPlan plan = pb::load_sweep(file.path());
    (void)pb::shard_points(plan.points, 1, 3);
  } catch (const pb::Error&) {
  }
  return 0;
}
