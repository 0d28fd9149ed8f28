// Helpers for the pb_datasets tests (shared with the other test binaries).
#pragma once

#include "test_files.h"
