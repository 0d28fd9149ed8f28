// Every method's info and factory, declared once for the registry (pruners/registry.cpp).
// A method lives in pruners/<name>.cpp.
#pragma once

#include <memory>

#include "pruners/pruner.h"

namespace pb {

PrunerInfo none_info();
std::unique_ptr<Pruner> make_none(const PrunerParams& params, const Budget& budget);
PrunerInfo random_info();
std::unique_ptr<Pruner> make_random(const PrunerParams& params, const Budget& budget);
PrunerInfo fastv_info();
std::unique_ptr<Pruner> make_fastv(const PrunerParams& params, const Budget& budget);
PrunerInfo fitprune_info();
std::unique_ptr<Pruner> make_fitprune(const PrunerParams& params, const Budget& budget);
PrunerInfo fopru_info();
std::unique_ptr<Pruner> make_fopru(const PrunerParams& params, const Budget& budget);
PrunerInfo gprune_info();
std::unique_ptr<Pruner> make_gprune(const PrunerParams& params, const Budget& budget);
PrunerInfo visionzip_info();
std::unique_ptr<Pruner> make_visionzip(const PrunerParams& params, const Budget& budget);
PrunerInfo fastervlm_info();
std::unique_ptr<Pruner> make_fastervlm(const PrunerParams& params, const Budget& budget);
PrunerInfo prumerge_plus_info();
std::unique_ptr<Pruner> make_prumerge_plus(const PrunerParams& params, const Budget& budget);
PrunerInfo tome_info();
std::unique_ptr<Pruner> make_tome(const PrunerParams& params, const Budget& budget);
PrunerInfo pool_info();
std::unique_ptr<Pruner> make_pool(const PrunerParams& params, const Budget& budget);
PrunerInfo pdrop_info();
std::unique_ptr<Pruner> make_pdrop(const PrunerParams& params, const Budget& budget);
PrunerInfo sparsevlm_info();
std::unique_ptr<Pruner> make_sparsevlm(const PrunerParams& params, const Budget& budget);
PrunerInfo dart_info();
std::unique_ptr<Pruner> make_dart(const PrunerParams& params, const Budget& budget);
PrunerInfo vtw_info();
std::unique_ptr<Pruner> make_vtw(const PrunerParams& params, const Budget& budget);

}  // namespace pb
