#!/usr/bin/python3
"""Reads a safetensors file by hand with torch and prints what it holds as JSON.

SafetensorsTests runs it on files our writer produced, to check Python sees the same tensors.
It checks the layout rules itself and exits non-zero with a message when one is broken.
Usage: /usr/bin/python3 read_safetensors.py FILE
"""
import json
import struct
import sys

import torch

DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}


def main(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    assert n % 8 == 0, f"header length {n} is not a multiple of 8"
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = bytearray(blob[8 + n:])
    metadata = header.pop("__metadata__", {})

    out = {}
    covered = 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = info["data_offsets"]
        assert begin == covered, f"{name}: begins at {begin}, expected {covered}"
        covered = end
        dtype = DTYPES[info["dtype"]]
        shape = info["shape"]
        numel = 1
        for d in shape:
            numel *= d
        if numel == 0:
            t = torch.empty(shape, dtype=dtype)
        else:
            t = torch.frombuffer(data, dtype=dtype, count=numel, offset=begin).reshape(shape)
        out[name] = {
            "dtype": info["dtype"],
            "shape": list(t.shape),
            "values": t.reshape(-1).tolist(),
            "hex": t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex(),
        }
    assert covered == len(data), f"data buffer holds {len(data)} bytes, tensors cover {covered}"
    json.dump({"metadata": metadata, "tensors": out}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1])
