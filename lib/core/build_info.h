// Which code produced a result: filled in at build time by cmake/pb_build_info.cmake.
#pragma once

namespace pb {

const char* build_git_sha();    // "unknown" outside a git checkout
bool build_git_dirty();         // uncommitted changes to tracked files at build time
const char* build_version();    // prune-bench's own version (project VERSION)

}  // namespace pb
