// Options shared by the commands that run a model.
#pragma once

#include <CLI/CLI.hpp>

#include "pipeline/model_loader.h"

namespace pb::app {

void add_model_options(CLI::App& cmd, ModelSource& args);

}  // namespace pb::app
