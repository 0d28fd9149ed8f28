// The pickle machine behind read_torch_pickle: a stack, a mark stack and a memo, as Python's
// Lib/pickle.py `_Unpickler` keeps them, over an arena of plain values. Opcode semantics follow
// Lib/pickletools.py; only the opcodes torch.save writes (protocols 2 to 4) are accepted.
#include "io/torch_pickle.h"

#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "core/error.h"

namespace pb {
namespace {

// Bounds the values, memo entries and stack depth an input may create. A state dict costs about 15
// values per tensor (tests/data/torch_bin/state_dict.bin: 201 memo entries for 28 tensors), so this
// admits some 250k tensors; a 13B LLaVA has about 400. Worst case ~80 bytes per value: ~320 MB.
constexpr size_t kMaxValues = size_t{1} << 22;

// Pickle protocols torch.save may write: 2 is its default (torch/serialization.py DEFAULT_PROTOCOL),
// `pickle_protocol=` picks another; 5 only adds out-of-band buffers, which torch does not use.
constexpr int kMinProtocol = 2;
constexpr int kMaxProtocol = 5;

// Names from the file, printed with control bytes escaped and cut short: errors stay one line.
std::string printable(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 100; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out += (c < 0x20 || c == 0x7F) ? fmt::format("\\x{:02x}", c) : std::string(1, static_cast<char>(c));
  }
  if (s.size() > 100) out += "...";
  return out;
}

struct StorageType {
  const char* name;
  DType dtype;
};

// The torch.<T>Storage names torch.save pickles for each dtype (torch/storage.py
// _dtype_to_storage_type_map), for the dtypes safetensors can hold.
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::kF32}, {"HalfStorage", DType::kF16},  {"BFloat16Storage", DType::kBF16},
    {"DoubleStorage", DType::kF64}, {"LongStorage", DType::kI64}, {"IntStorage", DType::kI32},
    {"ShortStorage", DType::kI16}, {"CharStorage", DType::kI8},   {"ByteStorage", DType::kU8},
    {"BoolStorage", DType::kBool},
};

class Machine {
 public:
  Machine(std::string_view pickle, const std::string& file) : in_(pickle), file_(file) {}

  TorchPickle run() {
    for (;;) {
      op_pos_ = pos_;
      const uint8_t op = u8();
      if (op == '.') break;  // STOP
      step(op);
    }
    out_.root = pop();
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(fmt::format("{}: data.pkl byte {}: {}", file_, op_pos_, what));
  }

  // ---- input -----------------------------------------------------------------------------------
  std::string_view take(uint64_t n) {
    if (n > in_.size() - pos_) fail(fmt::format("needs {} more bytes but the pickle ends (truncated?)", n));
    const std::string_view s = in_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  uint64_t le(size_t bytes) {
    const std::string_view s = take(bytes);
    uint64_t v = 0;
    for (size_t i = bytes; i-- > 0;) v = (v << 8) | static_cast<unsigned char>(s[i]);
    return v;
  }
  uint8_t u8() {
    if (pos_ >= in_.size()) fail("the pickle ends without STOP (truncated?)");
    return static_cast<uint8_t>(in_[pos_++]);
  }
  std::string_view line() {  // GLOBAL's arguments: text up to '\n'
    const size_t end = in_.find('\n', pos_);
    if (end == std::string_view::npos) fail("GLOBAL name runs to the end of the pickle (truncated?)");
    const std::string_view s = in_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  // ---- values and stacks -----------------------------------------------------------------------
  uint32_t add(PickleValue v) {
    if (out_.values.size() >= kMaxValues) fail(fmt::format("more than {} values (limit for a state dict)", kMaxValues));
    out_.values.push_back(std::move(v));
    return static_cast<uint32_t>(out_.values.size() - 1);
  }
  void push(uint32_t index) {
    if (stack_.size() >= kMaxValues) fail(fmt::format("stack deeper than {} (limit for a state dict)", kMaxValues));
    stack_.push_back(index);
  }
  void push_new(PickleValue v) { push(add(std::move(v))); }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // As in Python, a MARK starts a fresh stack: nothing below it can be popped until it is closed.
  uint32_t pop() {
    if (stack_.size() <= floor()) fail("pops an empty stack");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() {
    if (stack_.size() <= floor()) fail("reads an empty stack");
    return stack_.back();
  }
  std::vector<uint32_t> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(marks_.back()), stack_.end());
    stack_.resize(marks_.back());
    marks_.pop_back();
    return items;
  }
  PickleValue& at(uint32_t index) { return out_.values[index]; }
  void memo_put(uint64_t key) {
    if (memo_.size() >= kMaxValues) fail(fmt::format("more than {} memo entries", kMaxValues));
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail(fmt::format("memo entry {} was never stored", key));
    push(it->second);
  }

  // ---- values of kinds ---------------------------------------------------------------------------
  static PickleValue scalar(PickleKind kind, int64_t number) {
    PickleValue v;
    v.kind = kind;
    v.number = number;
    return v;
  }
  static PickleValue string(std::string_view s) {
    PickleValue v;
    v.kind = PickleKind::kString;
    v.text = std::string(s);
    return v;
  }
  static PickleValue container(PickleKind kind, std::vector<uint32_t> items = {}) {
    PickleValue v;
    v.kind = kind;
    v.items = std::move(items);
    return v;
  }
  PickleValue& expect(uint32_t index, PickleKind kind, const char* role) {
    PickleValue& v = at(index);
    if (v.kind != kind) {
      fail(fmt::format("{} must be {}, got {}", role, pickle_kind_name(kind), pickle_kind_name(v.kind)));
    }
    return v;
  }
  int64_t expect_int(uint32_t index, const char* role) {
    const PickleValue& v = at(index);
    if (v.kind != PickleKind::kInt) fail(fmt::format("{} must be an int, got {}", role, pickle_kind_name(v.kind)));
    return v.number;
  }

  // ---- the allow-list ----------------------------------------------------------------------------
  void push_global(std::string_view module, std::string_view name) {
    PickleValue v;
    v.kind = PickleKind::kGlobal;
    v.text = fmt::format("{}.{}", module, name);
    if (module == "collections" && name == "OrderedDict") {
      v.number = static_cast<int64_t>(PickleGlobal::kOrderedDict);
    } else if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
      v.number = static_cast<int64_t>(PickleGlobal::kRebuildTensorV2);
    } else if (module == "torch._utils" && name == "_rebuild_parameter") {
      v.number = static_cast<int64_t>(PickleGlobal::kRebuildParameter);
    } else {
      bool storage = false;
      for (const StorageType& t : kStorageTypes) {
        if (module == "torch" && name == t.name) {
          v.number = static_cast<int64_t>(PickleGlobal::kStorageType);
          v.dtype = t.dtype;
          storage = true;
        }
      }
      if (!storage && module == "torch" && name.size() > 7 && name.substr(name.size() - 7) == "Storage") {
        throw Error(fmt::format("{}: tensor storage type torch.{} has no safetensors dtype; convert the tensors to "
                                "a supported dtype before saving",
                                file_, printable(name)));
      }
      if (!storage) {
        throw Error(fmt::format("refusing to unpickle {}.{} in {}: only tensors, storages, dicts and OrderedDicts "
                                "are allowed",
                                printable(module), printable(name), file_));
      }
    }
    push_new(std::move(v));
  }

  // BINPERSID: torch.save's persistent id ('storage', torch.<T>Storage, key, location, numel)
  // (torch/serialization.py _save, persistent_id).
  void persistent_load() {
    const PickleValue& pid = expect(pop(), PickleKind::kTuple, "a persistent id");
    if (pid.items.size() != 5 || at(pid.items[0]).kind != PickleKind::kString || at(pid.items[0]).text != "storage") {
      fail("a persistent id must be ('storage', type, key, location, numel), as torch.save writes");
    }
    const PickleValue& type = expect(pid.items[1], PickleKind::kGlobal, "the storage type of a persistent id");
    if (type.number != static_cast<int64_t>(PickleGlobal::kStorageType)) {
      fail(fmt::format("the storage type of a persistent id is {}, not a torch storage", type.text));
    }
    const std::string& key = expect(pid.items[2], PickleKind::kString, "a storage key").text;
    const std::string& location = expect(pid.items[3], PickleKind::kString, "a storage location").text;
    const int64_t numel = expect_int(pid.items[4], "a storage's element count");
    if (numel < 0) fail(fmt::format("storage '{}' has {} elements", printable(key), numel));
    out_.storages.push_back(TorchStorageRef{key, type.dtype, static_cast<uint64_t>(numel), location});
    push_new(scalar(PickleKind::kStorage, static_cast<int64_t>(out_.storages.size() - 1)));
  }

  std::vector<int64_t> dims(uint32_t index, const char* role) {
    const PickleValue& t = expect(index, PickleKind::kTuple, role);
    if (t.items.size() > kMaxTensorDims) {
      fail(fmt::format("a tensor's {} has {} dims, more than the {} allowed", role, t.items.size(), kMaxTensorDims));
    }
    std::vector<int64_t> out;
    for (uint32_t item : t.items) {
      const int64_t d = expect_int(item, role);
      if (d < 0) fail(fmt::format("a tensor's {} holds the negative value {}", role, d));
      out.push_back(d);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  // (torch/_utils.py); requires_grad and the (always empty) hooks do not change the data.
  void rebuild_tensor(const std::vector<uint32_t>& args) {
    if (args.size() != 6 && args.size() != 7) {
      fail(fmt::format("_rebuild_tensor_v2 takes 6 or 7 arguments, got {}", args.size()));
    }
    TorchTensorRef t;
    t.storage = static_cast<uint32_t>(expect(args[0], PickleKind::kStorage, "a tensor's storage").number);
    t.offset = expect_int(args[1], "a tensor's storage offset");
    if (t.offset < 0) fail(fmt::format("a tensor's storage offset is negative ({})", t.offset));
    t.shape = dims(args[2], "size");
    t.strides = dims(args[3], "stride");
    if (t.shape.size() != t.strides.size()) {
      fail(fmt::format("a tensor has {} sizes but {} strides", t.shape.size(), t.strides.size()));
    }
    expect(args[4], PickleKind::kBool, "requires_grad");
    expect(args[5], PickleKind::kDict, "a tensor's backward hooks");
    if (args.size() == 7) {
      const PickleValue& meta = at(args[6]);
      if (meta.kind != PickleKind::kNone && !(meta.kind == PickleKind::kDict && meta.items.empty())) {
        fail("tensor metadata (the 7th argument of _rebuild_tensor_v2) is not supported");
      }
    }
    out_.tensors.push_back(std::move(t));
    push_new(scalar(PickleKind::kTensor, static_cast<int64_t>(out_.tensors.size() - 1)));
  }

  void reduce() {
    const std::vector<uint32_t> args = expect(pop(), PickleKind::kTuple, "REDUCE's arguments").items;
    const PickleValue& callable = expect(pop(), PickleKind::kGlobal, "REDUCE's callable");
    const auto global = static_cast<PickleGlobal>(callable.number);
    const std::string name = callable.text;  // `callable` dangles once a value is added
    switch (global) {
      case PickleGlobal::kOrderedDict:
        // OrderedDict.__reduce__ pickles OrderedDict() and then SETITEMS (Lib/collections/__init__.py).
        if (!args.empty()) fail("OrderedDict is called with arguments; torch.save calls it with none");
        push_new(container(PickleKind::kDict));
        return;
      case PickleGlobal::kRebuildTensorV2:
        rebuild_tensor(args);
        return;
      case PickleGlobal::kRebuildParameter:
        // _rebuild_parameter(data, requires_grad, backward_hooks) wraps a tensor as nn.Parameter.
        if (args.size() != 3) fail(fmt::format("_rebuild_parameter takes 3 arguments, got {}", args.size()));
        expect(args[0], PickleKind::kTensor, "a parameter's data");
        push(args[0]);
        return;
      case PickleGlobal::kStorageType:
        fail(fmt::format("{} is called; torch.save only names storage types in persistent ids", name));
    }
    fail("unknown callable");
  }

  // BUILD sets attributes: torch.save uses it for a state dict's `_metadata` (module versions), which
  // do not change tensors, so the state is checked to be plain and dropped.
  void build() {
    const uint32_t state = pop();
    const PickleValue& target = at(top());
    if (target.kind != PickleKind::kDict) {
      fail(fmt::format("BUILD sets attributes of {}", pickle_kind_name(target.kind)));
    }
    const PickleKind k = at(state).kind;
    if (k != PickleKind::kDict && k != PickleKind::kNone) {
      fail(fmt::format("BUILD state of a dict must be a dict, got {}", pickle_kind_name(k)));
    }
  }

  void set_items(const std::vector<uint32_t>& items) {
    if (items.size() % 2 != 0) fail("SETITEMS has a key without a value");
    PickleValue& dict = expect(top(), PickleKind::kDict, "SETITEM's target");
    dict.items.insert(dict.items.end(), items.begin(), items.end());
  }

  void append_items(const std::vector<uint32_t>& items) {
    PickleValue& list = expect(top(), PickleKind::kList, "APPEND's target");
    list.items.insert(list.items.end(), items.begin(), items.end());
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: {  // PROTO
        const int protocol = u8();
        if (protocol < kMinProtocol || protocol > kMaxProtocol) {
          fail(fmt::format("pickle protocol {} is not supported (torch.save writes 2 to 5)", protocol));
        }
        return;
      }
      case 0x95: take(8); return;  // FRAME: a length hint for buffered readers
      case '(':  // MARK
        if (marks_.size() >= kMaxValues) fail(fmt::format("more than {} open MARKs", kMaxValues));
        marks_.push_back(stack_.size());
        return;
      case 'N': push_new(PickleValue{}); return;
      case 0x88: push_new(scalar(PickleKind::kBool, 1)); return;  // NEWTRUE
      case 0x89: push_new(scalar(PickleKind::kBool, 0)); return;  // NEWFALSE
      case 'K': push_new(scalar(PickleKind::kInt, static_cast<int64_t>(le(1)))); return;  // BININT1
      case 'M': push_new(scalar(PickleKind::kInt, static_cast<int64_t>(le(2)))); return;  // BININT2
      case 'J': push_new(scalar(PickleKind::kInt, static_cast<int32_t>(le(4)))); return;  // BININT
      case 0x8a: {  // LONG1: n-byte little-endian two's complement
        const uint8_t n = u8();
        if (n > 8) fail(fmt::format("a {}-byte integer is larger than 64 bits", n));
        uint64_t v = le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) != 0) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push_new(scalar(PickleKind::kInt, static_cast<int64_t>(v)));
        return;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE 754 double
        const std::string_view s = take(8);
        uint64_t bits = 0;
        for (char c : s) bits = (bits << 8) | static_cast<unsigned char>(c);
        PickleValue v;
        v.kind = PickleKind::kFloat;
        std::memcpy(&v.real, &bits, sizeof bits);
        push_new(std::move(v));
        return;
      }
      case 'X': push_new(string(take(le(4)))); return;     // BINUNICODE
      case 0x8c: push_new(string(take(le(1)))); return;    // SHORT_BINUNICODE
      case 0x8d: push_new(string(take(le(8)))); return;    // BINUNICODE8
      case ')': push_new(container(PickleKind::kTuple)); return;  // EMPTY_TUPLE
      case 't': push_new(container(PickleKind::kTuple, pop_mark())); return;
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        std::vector<uint32_t> items(static_cast<size_t>(op - 0x84));
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push_new(container(PickleKind::kTuple, std::move(items)));
        return;
      }
      case ']': push_new(container(PickleKind::kList)); return;  // EMPTY_LIST
      case '}': push_new(container(PickleKind::kDict)); return;  // EMPTY_DICT
      case 'a': {  // APPEND
        const uint32_t v = pop();
        append_items({v});
        return;
      }
      case 'e': append_items(pop_mark()); return;  // APPENDS
      case 's': {  // SETITEM
        const uint32_t value = pop(), key = pop();
        set_items({key, value});
        return;
      }
      case 'u': set_items(pop_mark()); return;  // SETITEMS
      case 'q': memo_put(le(1)); return;        // BINPUT
      case 'r': memo_put(le(4)); return;        // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); return;  // MEMOIZE
      case 'h': memo_get(le(1)); return;        // BINGET
      case 'j': memo_get(le(4)); return;        // LONG_BINGET
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string_view module = line();
        push_global(module, line());
        return;
      }
      case 0x93: {  // STACK_GLOBAL
        const std::string name = expect(pop(), PickleKind::kString, "STACK_GLOBAL's name").text;
        push_global(expect(pop(), PickleKind::kString, "STACK_GLOBAL's module").text, name);
        return;
      }
      case 'Q': persistent_load(); return;  // BINPERSID
      case 'R': reduce(); return;
      case 'b': build(); return;
      default:
        fail(fmt::format("opcode 0x{:02x}{} is not one torch.save writes for a state dict", op,
                         op >= 0x20 && op < 0x7F ? fmt::format(" ('{}')", static_cast<char>(op)) : ""));
    }
  }

  std::string_view in_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  const std::string& file_;
  TorchPickle out_;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

}  // namespace

const char* pickle_kind_name(PickleKind kind) {
  switch (kind) {
    case PickleKind::kNone: return "None";
    case PickleKind::kBool: return "a bool";
    case PickleKind::kInt: return "an int";
    case PickleKind::kFloat: return "a float";
    case PickleKind::kString: return "a string";
    case PickleKind::kTuple: return "a tuple";
    case PickleKind::kList: return "a list";
    case PickleKind::kDict: return "a dict";
    case PickleKind::kGlobal: return "a class or function";
    case PickleKind::kStorage: return "a storage";
    case PickleKind::kTensor: return "a tensor";
  }
  return "a value";
}

TorchPickle read_torch_pickle(std::string_view pickle, const std::string& file) {
  return Machine(pickle, file).run();
}

}  // namespace pb
