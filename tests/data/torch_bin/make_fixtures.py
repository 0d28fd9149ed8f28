#!/usr/bin/python3
"""Regenerates the torch.save fixtures of this folder for `prune-bench convert` (see README.md).

Run with Debian's python3-torch (1.13.1; `apt-get install python3-torch`):
/usr/bin/python3 tests/data/torch_bin/make_fixtures.py. Tests never run Python: they read the files
this script wrote. Every tensor's expected bytes are stored next to it in a JSON reference
(<name>.json: dtype, shape and the hex of the tensor's logical contents in C order, little-endian),
so the C++ tests compare bit for bit without numpy or torch.
"""
import collections
import json
import os
import sys

import torch

OUT = os.path.dirname(os.path.abspath(__file__))

SAFETENSORS_DTYPE = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def logical_bytes(t):
    # The contents a converter must produce: the tensor's elements in C order, whatever its strides.
    flat = t.detach().contiguous().reshape(-1)
    return bytes(flat.view(torch.uint8).numpy().tobytes()) if flat.numel() else b""


def reference(state):
    return {
        name: {"dtype": SAFETENSORS_DTYPE[t.dtype], "shape": list(t.shape), "hex": logical_bytes(t).hex()}
        for name, t in state.items()
    }


def save(obj, name, reference_of=None, **kwargs):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(obj, path, **kwargs)
    if reference_of is not None:
        with open(os.path.splitext(path)[0] + ".json", "w") as f:
            json.dump(reference(reference_of), f, indent=1, sort_keys=True)
            f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes")


class Tiny(torch.nn.Module):
    # An nn.Module so that state_dict() is an OrderedDict carrying `_metadata` (pickled as BUILD),
    # and BatchNorm gives the 0-d int64 num_batches_tracked every real checkpoint has.
    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(3, 2)
        self.norm = torch.nn.BatchNorm1d(2)


def tiny_state_dict():
    torch.manual_seed(0)
    state = Tiny().state_dict()
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    state["views.base"] = base
    state["views.transposed"] = base.t()                # strides (1, 4): not contiguous
    state["views.slice"] = base[1:, ::2]                # offset 4, strides (4, 2)
    state["views.row"] = base[2]                        # contiguous, offset 8 in a shared storage
    state["views.expanded"] = torch.tensor([1.5, -2.0, 3.25]).expand(2, 3)  # stride 0
    state["views.tied"] = state["proj.weight"]          # the same tensor twice (tied weights)
    state["dtypes.f16"] = torch.tensor([1.0, -0.5, 65504.0, float("inf")], dtype=torch.float16)
    state["dtypes.bf16"] = torch.tensor([[1.0, 3.140625], [-0.0, float("nan")]], dtype=torch.bfloat16)
    state["dtypes.f64"] = torch.tensor([1e-300, -2.5], dtype=torch.float64)
    state["dtypes.i64"] = torch.tensor([-(2**63), 2**63 - 1, 7], dtype=torch.int64)
    state["dtypes.i32"] = torch.tensor([-(2**31), 5], dtype=torch.int32)
    state["dtypes.i16"] = torch.tensor([-300, 300], dtype=torch.int16)
    state["dtypes.i8"] = torch.tensor([-128, 127], dtype=torch.int8)
    state["dtypes.u8"] = torch.tensor([0, 255], dtype=torch.uint8)
    state["dtypes.bool"] = torch.tensor([True, False, True])
    state["shapes.scalar"] = torch.tensor(0.25)         # 0-d
    state["shapes.empty"] = torch.zeros(0, 3)           # no elements
    state["shapes.f32_special"] = torch.tensor([-0.0, float("-inf"), 1e-45, 3.4028235e38])
    return state


def main():
    if torch.__version__.split("+")[0][:4] != "1.13":
        print(f"warning: written with torch {torch.__version__}; the committed files come from 1.13.1", file=sys.stderr)
    state = tiny_state_dict()
    assert isinstance(state, collections.OrderedDict) and hasattr(state, "_metadata")
    save(state, "state_dict.bin", state)
    # Protocol 4 adds FRAME, MEMOIZE, SHORT_BINUNICODE and STACK_GLOBAL; torch.save takes pickle_protocol.
    # Same tensors, so the tests compare it with state_dict.json.
    save(state, "protocol4.bin", pickle_protocol=4)

    # nn.Parameter pickles through torch._utils._rebuild_parameter (a model's named_parameters()).
    torch.manual_seed(1)
    params = {"weight": torch.nn.Parameter(torch.randn(2, 2)), "bias": torch.nn.Parameter(torch.zeros(2))}
    save(params, "parameter.bin", params)

    # A Hugging Face sharded checkpoint: two shards and pytorch_model.bin.index.json.
    torch.manual_seed(2)
    shard1 = {"model.embed.weight": torch.randn(4, 3).to(torch.float16), "model.layer.0.weight": torch.randn(3, 3)}
    shard2 = {"model.layer.1.weight": torch.randn(3, 3).t(), "lm_head.weight": torch.randn(4, 3).to(torch.bfloat16)}
    weight_map = {}
    total = 0
    for i, shard in enumerate([shard1, shard2], start=1):
        name = f"pytorch_model-{i:05d}-of-00002.bin"
        save(shard, f"sharded/{name}", shard)
        for key, t in shard.items():
            weight_map[key] = name
            total += t.numel() * t.element_size()
    with open(os.path.join(OUT, "sharded", "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")

    # Refused inputs. The pre-1.6 format (a bare pickle stream, not a zip):
    save(collections.OrderedDict(w=torch.ones(2)), "legacy.bin", _use_new_zipfile_serialization=False)
    # A training checkpoint: tensors nested under "model" beside an int, not a flat state dict.
    save({"model": collections.OrderedDict(w=torch.ones(2)), "epoch": 3}, "nested.bin")

    # Hostile pickles inside a genuine torch.save zip: unpickling them with Python's pickle would run
    # a shell command or eval(); the reader must refuse them at the GLOBAL, before anything else.
    class RunsShell:
        def __reduce__(self):
            return (os.system, ("touch /tmp/prune-bench-pickle-was-executed",))

    class RunsEval:
        def __reduce__(self):
            return (eval, ("open('/tmp/prune-bench-pickle-was-executed', 'w')",))

    save({"w": torch.ones(1), "payload": RunsShell()}, "malicious_os_system.bin")
    save({"payload": RunsEval()}, "malicious_eval.bin")


if __name__ == "__main__":
    main()
