// What this CPU can do natively, as far as the choice of compute path depends on it.
#pragma once

namespace pb {

// Whether the kernel lists amx_bf16 or avx512_bf16 among this CPU's flags (/proc/cpuinfo; false where
// that file does not exist). Without them LibTorch 1.13 runs bf16 GEMMs on its own fallback kernels:
// much slower than fp32, and accumulating in bf16 in one layout (see attention_values in
// models/layers.h). Read once per process.
bool cpu_has_native_bf16();

}  // namespace pb
