"""An independent BERT forward pass in NumPy, for checking Marquee's ONNX text encoder.

It reads the checkpoint's model.safetensors directly (no safetensors or torch package),
runs each text alone (no padding) in float64, mean-pools and L2-normalises, the way
sentence-transformers' all-MiniLM-L6-v2 pipeline does.

Usage: python3 bert_reference.py WEIGHTS HEADS LAYER_NORM_EPS < token_ids.json
  stdin: a JSON list of token-id lists (already tokenised, [CLS] and [SEP] included)
  stdout: a JSON list of embeddings
"""

import json
import math
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8"}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    body = data[8 + header_len :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] not in DTYPES:
            continue
        begin, end = info["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        key = name[len("bert.") :] if name.startswith("bert.") else name
        tensors[key] = array.astype(np.float64)
    return tensors


def layer_norm(x, w, prefix, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w[prefix + ".weight"] + w[prefix + ".bias"]


def dense(x, w, prefix):
    return x @ w[prefix + ".weight"].T + w[prefix + ".bias"]


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(ids, w, heads, eps):
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids]
    x = x + w["embeddings.position_embeddings.weight"][:n]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w, "embeddings.LayerNorm", eps)
    hidden = x.shape[1]
    dh = hidden // heads
    layer = 0
    while f"encoder.layer.{layer}.attention.self.query.weight" in w:
        p = f"encoder.layer.{layer}"
        q = dense(x, w, p + ".attention.self.query").reshape(n, heads, dh).transpose(1, 0, 2)
        k = dense(x, w, p + ".attention.self.key").reshape(n, heads, dh).transpose(1, 0, 2)
        v = dense(x, w, p + ".attention.self.value").reshape(n, heads, dh).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        scores = scores - scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs = probs / probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(dense(context, w, p + ".attention.output.dense") + x, w, p + ".attention.output.LayerNorm", eps)
        h = gelu(dense(x, w, p + ".intermediate.dense"))
        x = layer_norm(dense(h, w, p + ".output.dense") + x, w, p + ".output.LayerNorm", eps)
        layer += 1
    pooled = x.mean(axis=0)
    return pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    weights, heads, eps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    w = read_safetensors(weights)
    texts = json.load(sys.stdin)
    json.dump([embed(ids, w, heads, eps).tolist() for ids in texts], sys.stdout)


if __name__ == "__main__":
    main()
