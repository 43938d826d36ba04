#!/usr/bin/python3
"""Writes reference.safetensors and reference.expected.json for SafetensorsTests.

The safetensors layout is written by hand (struct + json) so the fixture does not depend on the
`safetensors` package, and so it differs from our writer on purpose: header keys are not sorted,
data is laid out in another order than the keys, and the header is padded with spaces to 8 bytes.

Run with Debian's torch:  /usr/bin/python3 tests/Unit/Fixtures/make_safetensors_fixture.py
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))

DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


def raw_bytes(t):
    # view(uint8) reinterprets the contiguous storage; 0-dim tensors are flattened first.
    return t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def tensors():
    # Values are exactly representable in their dtype, so the JSON sidecar states them exactly.
    return {
        "weight.f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5 - 1.0,
        "pi.f64": torch.tensor([3.141592653589793, -2.5e-300, 1e300], dtype=torch.float64),
        "half.f16": torch.tensor([[1.0, -2.0], [0.5, 65504.0]], dtype=torch.float16),
        "brain.bf16": torch.tensor([1.0, -0.0078125, 3.0e38, 256.0], dtype=torch.bfloat16),
        "big.i64": torch.tensor([2**62 + 1, -(2**63), 2**63 - 1, 0], dtype=torch.int64),
        "ids.i32": torch.tensor([[-7], [2147483647], [-2147483648]], dtype=torch.int32),
        "short.i16": torch.tensor([-32768, 32767, 1], dtype=torch.int16),
        "tiny.i8": torch.tensor([-128, 127, -1, 0], dtype=torch.int8),
        "pixels.u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "mask.bool": torch.tensor([[True, False, True]], dtype=torch.bool),
        "scalar.f32": torch.tensor(42.25, dtype=torch.float32),
        "empty.f32": torch.zeros(0, 3, dtype=torch.float32),
        # A non-contiguous source, to check the bytes are written in row-major order.
        "transposed.i32": torch.arange(6, dtype=torch.int32).reshape(2, 3).t(),
    }


def main():
    ts = tensors()
    metadata = {"format": "pt", "producer": "make_safetensors_fixture.py", "note": "ünïcødé ✓"}

    # Data order: reverse of the key order, so readers cannot assume the two agree.
    header = {"__metadata__": metadata}
    data = bytearray()
    for name in reversed(list(ts)):
        t = ts[name]
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    # Re-order the header keys to the insertion order of ts (metadata first, as the reference does).
    ordered = {"__metadata__": metadata}
    for name in ts:
        ordered[name] = header[name]

    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(os.path.join(HERE, "reference.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(data)

    expected = {
        "metadata": metadata,
        "tensors": {
            name: {
                "dtype": DTYPES[t.dtype],
                "shape": list(t.shape),
                # Integers stay exact in JSON; floats are written as doubles (exact for these values).
                "values": t.reshape(-1).tolist(),
                "hex": raw_bytes(t).hex(),
            }
            for name, t in ts.items()
        },
    }
    with open(os.path.join(HERE, "reference.expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
