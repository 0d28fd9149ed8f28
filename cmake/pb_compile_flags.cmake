# pb_add_compile_flags(target): warnings and sanitizers for project code only.
# Third-party headers (LibTorch above all) are included as SYSTEM so their warnings stay out.
function(pb_add_compile_flags target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(PB_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

if(PB_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "PB_FUZZ needs clang (libFuzzer): configure with CXX=clang++")
  endif()
  # Every library is instrumented for coverage and checked; the targets add -fsanitize=fuzzer (main).
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined -g)
  add_link_options(-fsanitize=address,undefined)
endif()

if(PB_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# LibTorch as an imported target whose include dirs are SYSTEM (no warnings from its headers).
function(pb_torch_target)
  if(TARGET pb_torch)
    return()
  endif()
  add_library(pb_torch INTERFACE)
  target_include_directories(pb_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  target_link_libraries(pb_torch INTERFACE ${TORCH_LIBRARIES})
  target_compile_options(pb_torch INTERFACE ${TORCH_CXX_FLAGS})
endfunction()

# pb_use_torch_pch(target): reuse pb_models' precompiled LibTorch headers (built once) in another
# target that includes LibTorch; torch-free targets never pay for it.
function(pb_use_torch_pch target)
  if(PB_USE_PCH)
    target_precompile_headers(${target} REUSE_FROM pb_models)
  endif()
endfunction()
