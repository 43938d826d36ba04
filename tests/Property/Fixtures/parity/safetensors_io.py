"""Minimal safetensors reader/writer (no `safetensors` package in Debian): an 8-byte little-endian header
length N, N bytes of JSON {name: {dtype, shape, data_offsets}} (+ optional __metadata__), then the raw
little-endian data."""
import json
import struct

import torch

_TO_TORCH = {"F64": torch.float64, "F32": torch.float32, "I64": torch.int64, "I32": torch.int32, "BOOL": torch.bool, "U8": torch.uint8}
_TO_NAME = {v: k for k, v in _TO_TORCH.items()}


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        lo, hi = e["data_offsets"]
        raw = bytearray(data[base + lo:base + hi])  # a writable copy, so torch.frombuffer owns no read-only memory
        dtype = _TO_TORCH[e["dtype"]]
        t = torch.frombuffer(raw, dtype=dtype) if hi > lo else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(e["shape"]).clone()
    return out


def save(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().cpu().reshape(-1).numpy().tobytes()  # x86/ARM hosts are little-endian
        header[name] = {"dtype": _TO_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
