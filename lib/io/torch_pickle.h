// The allow-listed unpickler for the data.pkl of a torch.save archive. It never executes anything:
// opcodes build plain values, GLOBAL resolves only the names torch.save uses for a state dict
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2 and _rebuild_parameter, the torch.*Storage
// types), and every other name is refused. Opcodes: Python's Lib/pickletools.py; rules: docs/convert.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.h"

namespace pb {

enum class PickleKind : uint8_t {
  kNone, kBool, kInt, kFloat, kString, kTuple, kList, kDict, kGlobal, kStorage, kTensor
};

// The callables GLOBAL may name (the allow-list); nothing else can be called.
enum class PickleGlobal : uint8_t { kOrderedDict, kRebuildTensorV2, kRebuildParameter, kStorageType };

// One value built by the machine. Values live in TorchPickle::values and refer to each other by index,
// so shared and even cyclic references (legal in pickles) cost nothing and never leak.
struct PickleValue {
  PickleKind kind = PickleKind::kNone;
  int64_t number = 0;           // kBool (0/1), kInt; kStorage/kTensor: index into storages/tensors;
                                // kGlobal: the PickleGlobal
  double real = 0;              // kFloat
  DType dtype = DType::kU8;     // kGlobal with kStorageType: the storage's element type
  std::string text;             // kString: the bytes as pickled (UTF-8); kGlobal: "module.name"
  std::vector<uint32_t> items;  // kTuple, kList: elements; kDict: key, value, key, value, ... in order
};

// A storage named by a persistent id ('storage', torch.<T>Storage, key, location, numel): its bytes
// are the archive entry data/<key>.
struct TorchStorageRef {
  std::string key;
  DType dtype;
  uint64_t numel;        // elements of dtype
  std::string location;  // "cpu", "cuda:0", ...: where torch would put it; the bytes are the same
};

// The arguments of one _rebuild_tensor_v2 call, as pickled: sizes and strides are >= 0 and at most
// kMaxTensorDims long, nothing more is checked here (the caller knows the tensor's name).
struct TorchTensorRef {
  uint32_t storage;              // index into TorchPickle::storages
  int64_t offset;                // elements into the storage
  std::vector<int64_t> shape;    // [] for a 0-d tensor
  std::vector<int64_t> strides;  // elements, one per dim
};

struct TorchPickle {
  std::vector<PickleValue> values;
  uint32_t root = 0;  // the unpickled object
  std::vector<TorchStorageRef> storages;
  std::vector<TorchTensorRef> tensors;
};

// "a dict", "an int", ...: for messages.
const char* pickle_kind_name(PickleKind kind);

// Dims a tensor may have: NumPy 2's NPY_MAXDIMS, twice NumPy 1's 32 (numpy/core/include/numpy/
// ndarraytypes.h); LLaVA checkpoints use at most 4. Bounds the copy of a shape referenced many times.
constexpr size_t kMaxTensorDims = 64;

// Runs `pickle` (the bytes of data.pkl). `file` names the checkpoint in errors. Throws pb::Error for a
// name outside the allow-list ("refusing to unpickle <module>.<name> in <file>: ..."), an opcode
// torch.save does not write, malformed or truncated input, and inputs past the size limits.
TorchPickle read_torch_pickle(std::string_view pickle, const std::string& file);

}  // namespace pb
