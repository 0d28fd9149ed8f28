#include "core/embedded_defaults.h"

namespace pb {

// PB_SOURCE_ROOT is this checkout (lib/CMakeLists.txt): the defaults are the repository's own files.
std::string embedded_model_dir() { return std::string(PB_SOURCE_ROOT) + "/models/synthvqa-tiny"; }
std::string embedded_dataset_root() { return std::string(PB_SOURCE_ROOT) + "/datasets/synthvqa"; }

}  // namespace pb
