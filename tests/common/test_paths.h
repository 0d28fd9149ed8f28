#pragma once

// Where a test finds the checkout, its fixtures and the prune-bench binary. The paths are compiled
// into one generated source file per build (test_paths.cpp.in, cli_path.cpp), not passed as -D flags
// to every test file: a flag holding the checkout's path makes each test file's compiler command
// differ between two clones, so ccache could never reuse a test object built in another folder, and
// CI builds a fresh clone in a new folder (its whole test build then missed the cache).
namespace pb::test {
const char* source_dir();     // the checkout
const char* test_data_dir();  // tests/data
const char* cli_path();       // prune-bench; only in the binaries that run it (tests/cli, tests/flops)
}  // namespace pb::test

#define PB_SOURCE_DIR (::pb::test::source_dir())
#define PB_TEST_DATA (::pb::test::test_data_dir())
#define PB_CLI_PATH (::pb::test::cli_path())
