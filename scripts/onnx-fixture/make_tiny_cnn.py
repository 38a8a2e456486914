"""Writes test/fixtures/onnx/tiny_cnn.onnx and tiny_cnn.reference.json: a small CNN defined and exported by PyTorch,
and what Python's onnxruntime computes on a fixed input, so that tl-kit's tests check its ONNX Runtime path against
them without Python.

The network (seeded weights, non-trivial BatchNorm statistics, eval mode) is NCHW with dynamic batch, height and
width, and two outputs: 'features' (global average pool, [batch, 16]) and 'feature_map' ([batch, 16, h/4, w/4]).

The input is reproducible without an RNG: element i of the NCHW batch [2, 3, 32, 32] (row-major) is
((i * 37) % 101) / 50 - 1, computed in float64 and rounded to float32.

Run (offline, from the local wheel store):
    python3 -m venv /tmp/onnx-venv
    /tmp/onnx-venv/bin/pip install torch==2.13.0 onnx onnxscript onnxruntime numpy
    /tmp/onnx-venv/bin/python scripts/onnx-fixture/make_tiny_cnn.py
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "onnx")
MODEL = os.path.join(OUT_DIR, "tiny_cnn.onnx")
REFERENCE = os.path.join(OUT_DIR, "tiny_cnn.reference.json")
INPUT_SHAPE = (2, 3, 32, 32)


class TinyCnn(nn.Module):
    """conv-bn-relu (stride 2), depthwise conv-bn-relu6, max pool, pointwise conv-bn-relu, global average pool."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.depthwise = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), nn.BatchNorm2d(8), nn.ReLU6())
        self.pool = nn.MaxPool2d(2)
        self.pointwise = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.ReLU())

    def forward(self, x):
        feature_map = self.pointwise(self.pool(self.depthwise(self.stem(x))))
        return feature_map.mean(dim=(2, 3)), feature_map


def fixed_input():
    i = np.arange(np.prod(INPUT_SHAPE), dtype=np.float64)
    return (((i * 37) % 101) / 50 - 1).astype(np.float32).reshape(INPUT_SHAPE)


def main():
    torch.manual_seed(0)
    model = TinyCnn()
    with torch.no_grad():
        for bn in [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]:
            n = bn.num_features
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.3, 3)
    model.eval()
    x = fixed_input()
    torch.onnx.export(
        model,
        (torch.from_numpy(x),),
        MODEL,
        input_names=["pixels"],
        output_names=["features", "feature_map"],
        dynamic_axes={"pixels": {0: "batch", 2: "height", 3: "width"}, "features": {0: "batch"},
                      "feature_map": {0: "batch", 2: "map_height", 3: "map_width"}},
        opset_version=18,
        dynamo=True,
        external_data=False,
    )
    onnx.checker.check_model(onnx.load(MODEL))
    session = ort.InferenceSession(MODEL, providers=["CPUExecutionProvider"])
    features, feature_map = session.run(["features", "feature_map"], {"pixels": x})
    with torch.no_grad():
        ref_features, _ = model(torch.from_numpy(x))
    gap = float(np.abs(features - ref_features.numpy()).max() / np.abs(ref_features.numpy()).max())
    print(f"onnxruntime {ort.__version__} vs torch {torch.__version__}: max rel diff {gap:.2e}")
    reference = {
        "note": "Written by scripts/onnx-fixture/make_tiny_cnn.py with Python onnxruntime; outputs are NCHW, row-major.",
        "input": {"shape": list(INPUT_SHAPE), "layout": "NCHW", "formula": "((i * 37) % 101) / 50 - 1, float64 then float32"},
        "onnxruntime": ort.__version__,
        "torch": torch.__version__,
        "features": {"shape": list(features.shape), "values": [float(v) for v in features.ravel()]},
        "feature_map": {"shape": list(feature_map.shape), "values": [float(v) for v in feature_map.ravel()]},
    }
    with open(REFERENCE, "w") as f:
        json.dump(reference, f)
        f.write("\n")
    print(f"wrote {MODEL} ({os.path.getsize(MODEL)} bytes) and {REFERENCE} ({os.path.getsize(REFERENCE)} bytes)")


if __name__ == "__main__":
    main()
