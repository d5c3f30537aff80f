"""Loads a safetensors export of ours into torchvision's ResNet and compares its features with ours.

usage: torchvision_check.py FILE.safetensors INPUT.f32 EXPECTED.f32 N
INPUT.f32: N normalised images (float32, [N, 3, S, S], S from the file's metadata); EXPECTED.f32: our features [N, D].
Prints one JSON line: the metadata read, the keys torchvision missed and did not expect, and the largest difference.
Debian's python3-torchvision (torch 1.13) has no safetensors reader: the header is parsed here (the format is an 8-byte
little-endian length, a JSON header, the tensors' bytes).
"""
import json
import struct
import sys

import torch
import torchvision

DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    state = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        buffer = bytearray(data[base + begin:base + end])
        state[name] = torch.frombuffer(buffer, dtype=DTYPES[entry["dtype"]]).reshape(entry["shape"])
    return state, metadata


def main():
    path, inputs, expected, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    state, meta = read_safetensors(path)
    model = getattr(torchvision.models, meta["encoder"])()
    if meta["stem"] == "small":  # the small-image stem: a 3x3 stride-1 convolution and no max-pool
        model.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = torch.nn.Identity()
    result = model.load_state_dict(state, strict=False)
    model.fc = torch.nn.Identity()
    model.eval()
    size = int(meta["image_size"])
    with open(inputs, "rb") as f:
        x = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, 3, size, size)
    with open(expected, "rb") as f:
        ours = torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(n, -1)
    with torch.no_grad():
        theirs = model(x)
    print(json.dumps({
        "metadata": meta,
        "missing": sorted(result.missing_keys),
        "unexpected": sorted(result.unexpected_keys),
        "shape": list(theirs.shape),
        "max_abs_diff": float((theirs - ours).abs().max()),
    }))


if __name__ == "__main__":
    main()
