// The allow-listed unpickler: the opcodes torch.save writes build the right values; every name outside
// the allow-list, every other opcode and every malformed input is a one-line pb::Error.
#include <catch2/catch.hpp>

#include <cstring>

#include "core/error.h"
#include "io/torch_pickle.h"
#include "io/zip_archive.h"
#include "torch_bin_test_util.h"

using Catch::Matchers::Contains;
using pb::PickleKind;
using pb::test::le32;
using pb::test::PickleWriter;

namespace {

const std::string kFile = "ckpt.bin";

pb::TorchPickle run(const std::string& pickle) { return pb::read_torch_pickle(pickle, kFile); }

std::string error_of(const std::string& pickle) {
  try {
    run(pickle);
  } catch (const pb::Error& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_error(const std::string& pickle, const std::string& fragment) {
  const std::string msg = error_of(pickle);
  INFO("message: " << msg);
  CHECK_THAT(msg, Contains(kFile) && Contains(fragment));
  CHECK(msg.find('\n') == std::string::npos);
}

const pb::PickleValue& dict_value(const pb::TorchPickle& p, const std::string& key) {
  const pb::PickleValue& root = p.values[p.root];
  for (size_t i = 0; i < root.items.size(); i += 2) {
    if (p.values[root.items[i]].text == key) return p.values[root.items[i + 1]];
  }
  FAIL("no key " << key);
  return root;
}

}  // namespace

TEST_CASE("io/torch_pickle: builds plain values from the protocol 2 opcodes", "[io][pickle]") {
  PickleWriter w;
  w.op('}').op('(');
  w.str("int1").raw("K\x05");
  w.str("int2").raw("M\x34\x12");
  w.str("int4").raw("J" + le32(static_cast<uint32_t>(-7)));
  w.str("long1").raw(std::string("\x8a\x02\xd4\xfe", 4));  // -300 in two bytes
  w.str("long8").integer(INT64_MIN);
  w.str("long0").raw(std::string("\x8a\x00", 2));
  w.str("float").raw(std::string("G\x3f\xf8\x00\x00\x00\x00\x00\x00", 9));  // 1.5 big-endian
  w.str("none").op('N');
  w.str("true").op('\x88');
  w.str("pair").raw("K\x01K\x02\x86");
  w.str("list").op(']').raw("K\x03").op('a').op('(').raw("K\x04K\x05").op('e');
  w.op('u');
  const pb::TorchPickle p = run(w.done());
  CHECK(dict_value(p, "int1").number == 5);
  CHECK(dict_value(p, "int2").number == 0x1234);
  CHECK(dict_value(p, "int4").number == -7);
  CHECK(dict_value(p, "long1").number == -300);
  CHECK(dict_value(p, "long8").number == INT64_MIN);
  CHECK(dict_value(p, "long0").number == 0);
  CHECK(dict_value(p, "float").real == 1.5);
  CHECK(dict_value(p, "none").kind == PickleKind::kNone);
  CHECK(dict_value(p, "true").kind == PickleKind::kBool);
  CHECK(dict_value(p, "true").number == 1);
  const pb::PickleValue& pair = dict_value(p, "pair");
  REQUIRE(pair.kind == PickleKind::kTuple);
  REQUIRE(pair.items.size() == 2);
  CHECK(p.values[pair.items[1]].number == 2);
  const pb::PickleValue& list = dict_value(p, "list");
  REQUIRE(list.items.size() == 3);
  CHECK(p.values[list.items[2]].number == 5);
}

TEST_CASE("io/torch_pickle: memo opcodes share values, cycles included", "[io][pickle]") {
  // BINPUT/BINGET, LONG_BINPUT/LONG_BINGET and MEMOIZE (protocol 4) all refer to the same value.
  PickleWriter w;
  w.op('}').raw("q\x07").str("a").raw("r" + le32(70000)).op('\x94');  // "a" is memo 70000 and 2
  w.raw("j" + le32(70000)).op('s');                                   // d["a"] = "a"
  w.raw("h\x02").raw("h\x07").op('\x86');                             // ("a", d)
  const pb::TorchPickle shared = run(w.done());
  const pb::PickleValue& pair = shared.values[shared.root];
  REQUIRE(pair.items.size() == 2);
  const pb::PickleValue& dict = shared.values[pair.items[1]];
  REQUIRE(dict.items.size() == 2);
  CHECK(dict.items[0] == dict.items[1]);
  CHECK(dict.items[0] == pair.items[0]);

  PickleWriter ok;
  ok.op(']').raw(std::string("q\0h\0", 4)).op('a');  // a list that contains itself
  const pb::TorchPickle p = run(ok.done());
  const pb::PickleValue& list = p.values[p.root];
  REQUIRE(list.items.size() == 1);
  CHECK(list.items[0] == p.root);
}

TEST_CASE("io/torch_pickle: reads the tensors of torch.save's protocol 2 and 4 pickles", "[io][pickle]") {
  for (const char* name : {"state_dict", "protocol4"}) {
    const auto zip = pb::ZipArchive::open(pb::test::torch_bin_fixture(std::string(name) + ".bin"));
    const pb::TorchPickle p = run(std::string(zip->read(*zip->find(std::string(name) + "/data.pkl"))));
    CHECK(p.values[p.root].kind == PickleKind::kDict);
    CHECK(p.values[p.root].items.size() == 2 * 25);
    CHECK(p.tensors.size() == 24);  // views.tied is the same tensor object as proj.weight
    const pb::PickleValue& slice = dict_value(p, "views.slice");
    REQUIRE(slice.kind == PickleKind::kTensor);
    const pb::TorchTensorRef& t = p.tensors[static_cast<size_t>(slice.number)];
    CHECK(t.offset == 4);
    CHECK(t.shape == std::vector<int64_t>{2, 2});
    CHECK(t.strides == std::vector<int64_t>{4, 2});
    CHECK(p.storages[t.storage].key == "7");
    CHECK(p.storages[t.storage].dtype == pb::DType::kF32);
    CHECK(p.storages[t.storage].numel == 12);
  }
}

TEST_CASE("io/torch_pickle: refuses every name outside the allow-list before anything else", "[io][pickle]") {
  const std::pair<const char*, const char*> refused[] = {
      {"posix", "system"},         {"os", "system"},         {"builtins", "eval"},
      {"__builtin__", "eval"},     {"builtins", "exec"},     {"subprocess", "Popen"},
      {"torch", "load"},           {"torch._utils", "_rebuild_qtensor"},
      {"torch", "UntypedStorage_"}, {"collections", "defaultdict"},
      {"numpy.core.multiarray", "_reconstruct"}, {"torch.nn.modules.linear", "Linear"},
  };
  for (const auto& [module, name] : refused) {
    const std::string expected = std::string("refusing to unpickle ") + module + "." + name + " in " + kFile +
                                 ": only tensors, storages, dicts and OrderedDicts are allowed";
    PickleWriter global;
    global.global(module, name).str("touch /tmp/x").op('\x85').op('R');
    CHECK(error_of(global.done()) == expected);
    PickleWriter stack_global;  // protocol 4 spelling
    stack_global.raw("\x8c" + std::string(1, static_cast<char>(strlen(module))) + module);
    stack_global.raw("\x8c" + std::string(1, static_cast<char>(strlen(name))) + name).op('\x93');
    CHECK(error_of(stack_global.done()) == expected);
  }
  // Control bytes in a name are escaped, so the message stays one line.
  CHECK(error_of(PickleWriter().global("os\r", "system\x01").done()) ==
        "refusing to unpickle os\\x0d.system\\x01 in ckpt.bin: only tensors, storages, dicts and OrderedDicts are "
        "allowed");
  expect_error(PickleWriter().global("torch", "ComplexFloatStorage").done(),
               "storage type torch.ComplexFloatStorage has no safetensors dtype");
}

TEST_CASE("io/torch_pickle: refuses the opcodes torch.save does not write", "[io][pickle]") {
  // INST, OBJ, NEWOBJ, NEWOBJ_EX and EXT1 create objects; the rest torch.save never writes.
  const std::pair<std::string, const char*> refused[] = {
      {"iposix\nsystem\n", "0x69 ('i')"}, {"(o", "0x6f ('o')"},        {"\x81", "0x81"},
      {"\x92", "0x92"},                   {"\x82\x01", "0x82"},          {"Pfoo\n", "0x50 ('P')"},
      {"S'x'\n", "0x53 ('S')"},           {"C\x01x", "0x43 ('C')"},     {"I1\n", "0x49 ('I')"},
      {"\x96\x00\x00\x00\x00\x00\x00\x00\x00", "0x96"}, {"\x97", "0x97"}, {"2", "0x32 ('2')"},
  };
  for (const auto& [bytes, fragment] : refused) {
    expect_error(PickleWriter().raw(bytes).done(), std::string("opcode ") + fragment);
  }
}

TEST_CASE("io/torch_pickle: refuses malformed and truncated pickles", "[io][pickle]") {
  expect_error("", "ends without STOP");
  expect_error(PickleWriter().op('}').bytes, "ends without STOP");
  expect_error(PickleWriter().raw("X" + le32(1000) + "abc").done(), "needs 1000 more bytes");
  expect_error(PickleWriter().raw(std::string("\x8d\xff\xff\xff\xff\xff\xff\xff\x7f", 9)).done(), "more bytes");
  expect_error(PickleWriter().raw("cposix").bytes, "GLOBAL name runs to the end");
  expect_error(PickleWriter().raw("h\x05").done(), "memo entry 5 was never stored");
  expect_error(PickleWriter().done(), "pops an empty stack");
  expect_error(PickleWriter().op('}').op('(').op('s').done(), "pops an empty stack");  // below the MARK
  expect_error(PickleWriter().op('}').op('t').done(), "no MARK");
  expect_error(PickleWriter().op('}').op('(').raw("K\x01").op('u').done(), "a key without a value");
  expect_error(PickleWriter().op('}').raw("K\x01").op('a').done(), "APPEND's target must be a list");
  expect_error(PickleWriter().op(']').raw("K\x01K\x02").op('s').done(), "SETITEM's target must be a dict");
  expect_error(PickleWriter().raw(std::string("\x8a\x09", 2) + std::string(9, '\x01')).done(), "larger than 64 bits");
  expect_error(std::string("\x80\x01N.", 4), "pickle protocol 1 is not supported");
  expect_error(std::string("\x80\x06N.", 4), "pickle protocol 6 is not supported");
  expect_error(PickleWriter().raw("\x95\x01").bytes, "more bytes");  // FRAME cut short
  expect_error(PickleWriter().op(']').raw("K\x01").op('b').done(), "BUILD sets attributes of a list");
  expect_error(PickleWriter().op('}').raw("K\x01").op('b').done(), "BUILD state of a dict must be a dict");
  expect_error(PickleWriter().raw("K\x01K\x02").op('R').done(), "REDUCE's arguments must be a tuple");
  expect_error(PickleWriter().raw("K\x01").op(')').op('R').done(), "REDUCE's callable must be a class or function");
  expect_error(PickleWriter().str("x").op('Q').done(), "a persistent id must be a tuple");
}

TEST_CASE("io/torch_pickle: checks the arguments of the allow-listed callables", "[io][pickle]") {
  expect_error(PickleWriter().global("torch", "FloatStorage").op(')').op('R').done(), "torch.FloatStorage is called");
  expect_error(PickleWriter().global("collections", "OrderedDict").raw("K\x01").op('\x85').op('R').done(),
               "OrderedDict is called with arguments");
  expect_error(PickleWriter().global("torch._utils", "_rebuild_tensor_v2").op(')').op('R').done(),
               "takes 6 or 7 arguments, got 0");
  expect_error(PickleWriter().global("torch._utils", "_rebuild_parameter").op(')').op('R').done(),
               "_rebuild_parameter takes 3 arguments, got 0");
  // Persistent ids must be ('storage', torch.<T>Storage, key, location, numel).
  expect_error(PickleWriter().op('(').str("storage").global("collections", "OrderedDict").str("0").str("cpu")
                   .raw("K\x01").op('t').op('Q').done(),
               "not a torch storage");
  expect_error(PickleWriter().op('(').str("module").op('t').op('Q').done(), "('storage', type, key, location, numel)");
  expect_error(PickleWriter().op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu")
                   .integer(-1).op('t').op('Q').done(),
               "has -1 elements");

  const auto tensor_with = [](const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset) {
    PickleWriter w;
    w.tensor("FloatStorage", "0", 4, offset, shape, strides);
    return w.done();
  };
  CHECK_NOTHROW(run(tensor_with({2, 2}, {2, 1}, 0)));
  expect_error(tensor_with({2, -2}, {2, 1}, 0), "size holds the negative value -2");
  expect_error(tensor_with({2, 2}, {-2, 1}, 0), "stride holds the negative value -2");
  expect_error(tensor_with({2, 2}, {1}, 0), "2 sizes but 1 strides");
  expect_error(tensor_with({2}, {1}, -1), "storage offset is negative");
  expect_error(tensor_with(std::vector<int64_t>(65, 1), std::vector<int64_t>(65, 1), 0), "65 dims, more than the 64");

  PickleWriter metadata;  // a 7th argument, tensor metadata, is only accepted empty
  metadata.global("torch._utils", "_rebuild_tensor_v2").op('(');
  metadata.op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(1).op('t').op('Q');
  metadata.integer(0).ints({1}).ints({1}).op('\x89').empty_ordered_dict();
  metadata.op('}').str("k").str("v").op('s').op('t').op('R');
  expect_error(metadata.done(), "tensor metadata");
}
