// safetensors reader (mmap + validation) and writer. The rules follow the reference implementation
// huggingface/safetensors safetensors/src/tensor.rs (read_metadata, Metadata::validate, prepare).
#include "io/safetensors.h"

#include "io/atomic_file.h"


#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/error.h"

namespace pb {
namespace {

using nlohmann::json;

// The reference reader refuses larger headers (MAX_HEADER_SIZE in tensor.rs) so that a corrupt
// or hostile length field cannot make it allocate or parse gigabytes.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
  // Position in the reference's Dtype enum, which is declared in increasing alignment order; its
  // writer sorts tensors by this, descending, then by name (tensor.rs `prepare`).
  int alignment_rank;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "BOOL", 1, 0},     {DType::kU8, "U8", 1, 1},       {DType::kI8, "I8", 1, 2},
    {DType::kF8E5M2, "F8_E5M2", 1, 3}, {DType::kF8E4M3, "F8_E4M3", 1, 4}, {DType::kI16, "I16", 2, 5},
    {DType::kU16, "U16", 2, 6},       {DType::kF16, "F16", 2, 7},     {DType::kBF16, "BF16", 2, 8},
    {DType::kI32, "I32", 4, 9},       {DType::kU32, "U32", 4, 10},    {DType::kF32, "F32", 4, 11},
    {DType::kF64, "F64", 8, 12},      {DType::kI64, "I64", 8, 13},    {DType::kU64, "U64", 8, 14},
};

const DTypeInfo& info_of(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  PB_CHECK(false, fmt::format("DType value {} out of range", static_cast<int>(dtype)));
  return kDTypes[0];  // unreachable
}

std::string shape_str(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// Checked numel and byte size; false on 64-bit overflow (tensor.rs: ValidationOverflow). The
// element count must also fit int64_t because TensorView::numel() returns one.
bool checked_sizes(const std::vector<int64_t>& shape, DType dtype, uint64_t* numel, uint64_t* nbytes) {
  uint64_t n = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<uint64_t>(d), &n)) return false;
  }
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
  uint64_t b = 0;
  if (__builtin_mul_overflow(n, static_cast<uint64_t>(dtype_size(dtype)), &b)) return false;
  *numel = n;
  *nbytes = b;
  return true;
}

// Returns the offset of the first byte that is not part of a well-formed UTF-8 sequence (overlong
// forms, surrogates and code points above U+10FFFF included), or npos.
size_t find_invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07u;
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    const uint32_t min_cp = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Parses the header, rejecting duplicate keys in any object: nlohmann keeps only one of them
// silently, and a duplicated tensor name would hide a tensor (the reference rejects duplicates).
json parse_header(std::string_view text, const std::string& path) {
  std::vector<std::set<std::string>> keys_per_object;
  std::string tensor;  // current top-level key, for messages
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        keys_per_object.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys_per_object.pop_back();
        break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!keys_per_object.back().insert(key).second) {
          if (depth == 1) throw Error(fmt::format("{}: duplicate tensor name '{}' in header", path, key));
          throw Error(fmt::format("{}: duplicate key '{}' in the header entry '{}'", path, key, tensor));
        }
        if (depth == 1) tensor = key;
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback);
  } catch (const json::parse_error& e) {
    // e.byte counts from 1 within the header; report the offset in the file (header starts at 8).
    throw Error(fmt::format("{}: header is not valid JSON (at header byte {}, file byte {}): {}", path,
                            e.byte == 0 ? 0 : e.byte - 1, e.byte == 0 ? 8 : e.byte + 7, e.what()));
  } catch (const json::out_of_range& e) {  // a number too large for a double (tests/fuzz)
    throw Error(fmt::format("{}: header is not valid JSON: {}", path, e.what()));
  }
}

uint64_t read_offset(const json& v, const std::string& where) {
  if (!v.is_number_unsigned()) {
    throw Error(fmt::format("{}: data_offsets must hold non-negative integers, got {}", where, v.dump()));
  }
  return v.get<uint64_t>();
}

struct Parsed {
  TensorView view;
  uint64_t begin;
  uint64_t end;
};

Parsed parse_entry(const std::string& name, const json& entry, const std::string& path, const char* data,
                   uint64_t data_bytes) {
  const std::string where = fmt::format("{}: tensor '{}'", path, name);
  if (!entry.is_object()) {
    throw Error(fmt::format("{}: header entry is {}, expected an object with dtype, shape, data_offsets",
                            where, entry.type_name()));
  }
  for (const auto& [key, value] : entry.items()) {
    (void)value;
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      throw Error(fmt::format("{}: unknown field '{}' in header entry", where, key));
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) throw Error(fmt::format("{}: header entry has no '{}'", where, key));
  }

  const json& jdtype = entry["dtype"];
  if (!jdtype.is_string()) throw Error(fmt::format("{}: dtype must be a string, got {}", where, jdtype.dump()));
  const DType dtype = dtype_from_name(jdtype.get<std::string>(), where);

  const json& jshape = entry["shape"];
  if (!jshape.is_array()) throw Error(fmt::format("{}: shape must be an array, got {}", where, jshape.dump()));
  std::vector<int64_t> shape;
  shape.reserve(jshape.size());
  for (const json& d : jshape) {
    if (d.is_number_unsigned()) {
      const auto u = d.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        throw Error(fmt::format("{}: dimension {} in shape {} is too large", where, u, jshape.dump()));
      }
      shape.push_back(static_cast<int64_t>(u));
    } else if (d.is_number_integer()) {
      throw Error(fmt::format("{}: negative dimension {} in shape {}", where, d.get<int64_t>(), jshape.dump()));
    } else {
      throw Error(fmt::format("{}: shape must hold non-negative integers, got {}", where, jshape.dump()));
    }
  }
  uint64_t numel = 0, nbytes = 0;
  if (!checked_sizes(shape, dtype, &numel, &nbytes)) {
    throw Error(fmt::format("{}: shape {} ({}) overflows 64-bit element or byte counts", where, shape_str(shape),
                            dtype_name(dtype)));
  }

  const json& joff = entry["data_offsets"];
  if (!joff.is_array() || joff.size() != 2) {
    throw Error(fmt::format("{}: data_offsets must be [begin, end], got {}", where, joff.dump()));
  }
  const uint64_t begin = read_offset(joff[0], where);
  const uint64_t end = read_offset(joff[1], where);
  if (begin > end) throw Error(fmt::format("{}: data_offsets begin {} > end {}", where, begin, end));
  if (end > data_bytes) {
    throw Error(fmt::format("{}: data_offsets end {} is past the end of the data section ({} bytes; truncated?)",
                            where, end, data_bytes));
  }
  if (end - begin != nbytes) {
    throw Error(fmt::format("{}: data_offsets [{}, {}) span {} bytes but {} {} needs {} bytes", where, begin, end,
                            end - begin, dtype_name(dtype), shape_str(shape), nbytes));
  }
  TensorView view{name, dtype, std::move(shape), data + begin, static_cast<size_t>(nbytes), path};
  return Parsed{std::move(view), begin, end};
}

std::map<std::string, std::string> parse_metadata(const json& j, const std::string& path) {
  std::map<std::string, std::string> out;
  if (j.is_null()) return out;  // the reference treats null as "no metadata" (Option)
  if (!j.is_object()) {
    throw Error(fmt::format("{}: __metadata__ must be an object of strings, got {}", path, j.type_name()));
  }
  for (const auto& [key, value] : j.items()) {
    if (!value.is_string()) {
      throw Error(fmt::format("{}: __metadata__ must map strings to strings; '{}' is {}", path, key,
                              value.type_name()));
    }
    out.emplace(key, value.get<std::string>());
  }
  return out;
}



}  // namespace

size_t dtype_size(DType dtype) { return info_of(dtype).size; }

const char* dtype_name(DType dtype) { return info_of(dtype).name; }

DType dtype_from_name(const std::string& name, const std::string& where) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return info.dtype;
  }
  // Newer writers know these (tensor.rs adds sub-byte and complex types); we cannot view them.
  for (const char* newer : {"F4", "F6_E2M3", "F6_E3M2", "F8_E8M0", "C64"}) {
    if (name == newer) throw Error(fmt::format("{}: dtype '{}' is not supported", where, name));
  }
  throw Error(fmt::format("{}: unknown dtype '{}'", where, name));
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool TensorView::is_aligned() const { return reinterpret_cast<uintptr_t>(data) % dtype_size(dtype) == 0; }

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  MappedFile mapped = MappedFile::open(path, "safetensors file");
  const uint64_t file_bytes = mapped.size();
  if (file_bytes < 8) {
    throw Error(fmt::format("{}: file is {} bytes, shorter than the 8-byte header length (truncated?)", path,
                            file_bytes));
  }

  // Header length: u64 little-endian. Checked against the limit and the file size before anything
  // is allocated.
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | mapped.data()[i];
  if (n > kMaxHeaderBytes) {
    throw Error(fmt::format("{}: header length {} bytes exceeds the {}-byte limit (corrupt or not safetensors)",
                            path, n, kMaxHeaderBytes));
  }
  if (n > file_bytes - 8) {
    throw Error(fmt::format("{}: header length {} runs past the end of the file ({} bytes; truncated?)", path, n,
                            file_bytes));
  }

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->mapping_ = std::move(mapped);
  file->file_bytes_ = file_bytes;
  file->header_bytes_ = n;
  const char* base = reinterpret_cast<const char*>(file->mapping_.data());

  const std::string_view text(base + 8, n);
  if (const size_t bad = find_invalid_utf8(text); bad != std::string_view::npos) {
    throw Error(fmt::format("{}: header is not valid UTF-8 (file byte {})", path, bad + 8));
  }
  const json header = parse_header(text, path);
  if (!header.is_object()) throw Error(fmt::format("{}: header is JSON {}, not an object", path, header.type_name()));

  const uint64_t data_bytes = file_bytes - 8 - n;
  const char* data = base + 8 + n;
  std::vector<Parsed> parsed;
  parsed.reserve(header.size());
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      file->metadata_ = parse_metadata(value, path);
    } else {
      parsed.push_back(parse_entry(key, value, path, data, data_bytes));
    }
  }

  // The reference (Metadata::validate) sorts by offsets and requires the tensors to tile the data
  // section exactly: no overlap, no gap, nothing after the last one. Same here.
  std::sort(parsed.begin(), parsed.end(), [](const Parsed& a, const Parsed& b) {
    return std::tie(a.begin, a.end, a.view.name) < std::tie(b.begin, b.end, b.view.name);
  });
  uint64_t covered = 0;
  for (size_t i = 0; i < parsed.size(); ++i) {
    const Parsed& p = parsed[i];
    if (p.begin < covered) {
      const Parsed& prev = parsed[i - 1];
      throw Error(fmt::format("{}: tensors '{}' [{}, {}) and '{}' [{}, {}) overlap", path, prev.view.name, prev.begin,
                              prev.end, p.view.name, p.begin, p.end));
    }
    if (p.begin > covered) {
      throw Error(fmt::format("{}: tensor '{}': {} unused bytes before its data_offsets [{}, {}) (gaps are not "
                              "allowed)",
                              path, p.view.name, p.begin - covered, p.begin, p.end));
    }
    covered = p.end;
  }
  if (covered != data_bytes) {
    throw Error(fmt::format("{}: {} trailing bytes after the last tensor (data section {} bytes, tensors cover {})",
                            path, data_bytes - covered, data_bytes, covered));
  }

  file->tensors_.reserve(parsed.size());
  for (Parsed& p : parsed) {
    file->index_.emplace(p.view.name, file->tensors_.size());
    file->tensors_.push_back(std::move(p.view));
  }
  return file;
}

void write_safetensors(const std::string& path, const std::vector<TensorWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<TensorSource> sources;
  sources.reserve(tensors.size());
  for (const TensorWrite& t : tensors) {
    uint64_t numel = 0, nbytes = 0;
    const bool sizes_ok = checked_sizes(t.shape, t.dtype, &numel, &nbytes);  // bad shapes fail below
    if (sizes_ok && nbytes > 0 && t.data == nullptr) {
      throw Error(fmt::format("{}: tensor '{}': data is null", path, t.name));
    }
    const void* data = t.data;
    sources.push_back(TensorSource{t.name, t.dtype, t.shape, [data, nbytes](const ByteSink& write) {
                                     if (nbytes > 0) write(data, nbytes);
                                   }});
  }
  write_safetensors_streamed(path, sources, metadata);
}

void write_safetensors_streamed(const std::string& path, const std::vector<TensorSource>& tensors,
                                const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorSource*> order;
  std::set<std::string> names;
  std::vector<uint64_t> sizes;
  for (const TensorSource& t : tensors) {
    const std::string where = fmt::format("{}: tensor '{}'", path, t.name);
    if (t.name == "__metadata__") throw Error(fmt::format("{}: the name is reserved by the format", where));
    if (!names.insert(t.name).second) throw Error(fmt::format("{}: written twice", where));
    for (int64_t d : t.shape) {
      if (d < 0) throw Error(fmt::format("{}: negative dimension in shape {}", where, shape_str(t.shape)));
    }
    uint64_t numel = 0, nbytes = 0;
    if (!checked_sizes(t.shape, t.dtype, &numel, &nbytes)) {
      throw Error(fmt::format("{}: shape {} overflows 64-bit sizes", where, shape_str(t.shape)));
    }
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const TensorSource* a, const TensorSource* b) {
    const int ra = info_of(a->dtype).alignment_rank, rb = info_of(b->dtype).alignment_rank;
    return ra != rb ? ra > rb : a->name < b->name;
  });

  // Header, key order as the reference writes it: __metadata__ (only when there is some), then the
  // tensors in data order. nlohmann only escapes strings here; it would sort object keys.
  std::string header = "{";
  try {
    if (!metadata.empty()) {
      header += "\"__metadata__\":{";
      bool first = true;
      for (const auto& [key, value] : metadata) {
        if (!first) header += ',';
        first = false;
        header += json(key).dump() + ':' + json(value).dump();
      }
      header += '}';
    }
    uint64_t offset = 0;
    for (const TensorSource* t : order) {
      uint64_t numel = 0, nbytes = 0;
      checked_sizes(t->shape, t->dtype, &numel, &nbytes);
      if (header.size() > 1) header += ',';
      header += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}", json(t->name).dump(),
                            dtype_name(t->dtype), fmt::join(t->shape, ","), offset, offset + nbytes);
      offset += nbytes;
      sizes.push_back(nbytes);
    }
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: cannot encode the header (names and metadata must be UTF-8): {}", path, e.what()));
  }
  header += '}';
  // Pad with spaces so that 8 + N is a multiple of 8: the data section, and with the alignment
  // ordering every tensor, starts aligned (tensor.rs `prepare`).
  header.append((8 - header.size() % 8) % 8, ' ');

  AtomicFile file(path);
  unsigned char len_bytes[8];
  uint64_t n = header.size();
  for (unsigned char& b : len_bytes) {
    b = static_cast<unsigned char>(n & 0xFF);
    n >>= 8;
  }
  file.write(len_bytes, 8);
  file.write(header.data(), header.size());
  for (size_t i = 0; i < order.size(); ++i) {
    uint64_t written = 0;
    order[i]->produce([&](const void* data, size_t bytes) {
      PB_CHECK(bytes <= sizes[i] - written,
               fmt::format("{}: tensor '{}' produced more than its {} bytes", path, order[i]->name, sizes[i]));
      file.write(data, bytes);
      written += bytes;
    });
    PB_CHECK(written == sizes[i], fmt::format("{}: tensor '{}' produced {} of its {} bytes", path, order[i]->name,
                                              written, sizes[i]));
  }
  file.commit();
}

}  // namespace pb
