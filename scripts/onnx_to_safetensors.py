#!/usr/bin/env python3
"""Convert the float32 weights of an ONNX model to a safetensors file, without dependencies.

Reads the ONNX protobuf wire format directly (ModelProto.graph -> GraphProto.initializer and
the "value" tensors of Constant nodes; nested subgraphs are not visited) and writes every
float32 tensor found, keyed by its name (a Constant's output name).

Weights that feed the second input of a MatMul, or of a Gemm with transB = 0, are stored
[in, out] by ONNX (y = x W). They are written transposed, as [out, in] (the PyTorch Linear
convention mixq-quantize expects: rows are output channels, quantization groups run along the
input dimension), and listed in the header's __metadata__ under "transposed". --no-transpose
keeps them as they are.

usage: onnx_to_safetensors.py [--no-transpose] [--list] model.onnx out.safetensors
"""
import argparse
import array
import hashlib
import json
import struct
import sys

FLOAT = 1  # TensorProto.DataType.FLOAT
DTYPE_NAMES = {1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
               8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 16: "bfloat16"}


class WireError(Exception):
    pass


def varint(b, i):
    result = shift = 0
    while True:
        if i >= len(b):
            raise WireError("truncated varint at byte %d" % i)
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if c < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes at byte %d" % i)


def fields(b):
    """Yields (field number, wire type, value) of one message; value is an int or a memoryview."""
    i, n = 0, len(b)
    while i < n:
        key, i = varint(b, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 2:
            length, i = varint(b, i)
            if i + length > n:
                raise WireError("field %d: length %d runs past the message" % (number, length))
            v, i = b[i:i + length], i + length
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise WireError("unsupported wire type %d (field %d)" % (wire, number))
        if i > n:
            raise WireError("field %d runs past the message" % number)
        yield number, wire, v


def packed_varints(v):
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def parse_tensor(b):
    """TensorProto -> dict(name, dims, dtype, data: array('f') or None)."""
    t = {"name": "", "dims": [], "dtype": 0, "raw": None, "floats": array.array("f"), "external": False}
    for number, wire, v in fields(b):
        if number == 1:  # dims (int64, packed or not)
            t["dims"] += packed_varints(v) if wire == 2 else [v]
        elif number == 2:
            t["dtype"] = v
        elif number == 4:  # float_data (packed fixed32, or one fixed32)
            t["floats"].frombytes(bytes(v))
        elif number == 8:
            t["name"] = bytes(v).decode("utf-8")
        elif number == 9:
            t["raw"] = bytes(v)
        elif number in (13, 14):  # external_data, data_location
            if number == 13 or v == 1:
                t["external"] = True
    data = None
    if t["dtype"] == FLOAT and not t["external"]:
        data = array.array("f")
        data.frombytes(t["raw"]) if t["raw"] is not None else data.extend(t["floats"])
        if sys.byteorder != "little":
            data.byteswap()
        count = 1
        for d in t["dims"]:
            count *= d
        if len(data) != count:
            raise WireError("tensor %r: %d values for dims %s" % (t["name"], len(data), t["dims"]))
    return {"name": t["name"], "dims": t["dims"], "dtype": t["dtype"], "data": data}


def parse_model(b):
    graph = None
    for number, _, v in fields(b):
        if number == 7:
            graph = v
    if graph is None:
        raise WireError("no graph in the model")
    tensors, skipped, uses = [], {}, []  # uses: (op_type, input index, tensor name, transB)
    for number, _, v in fields(graph):
        if number == 5:  # initializer
            tensors.append(parse_tensor(v))
        elif number == 1:  # node
            op, inputs, outputs, attrs = "", [], [], []
            for fn, _, fv in fields(v):
                if fn == 1:
                    inputs.append(bytes(fv).decode("utf-8"))
                elif fn == 2:
                    outputs.append(bytes(fv).decode("utf-8"))
                elif fn == 4:
                    op = bytes(fv).decode("utf-8")
                elif fn == 5:
                    attrs.append(fv)
            trans_b = 0
            for a in attrs:
                aname, at, ai, floats, af = "", None, None, array.array("f"), None
                for an, aw, av in fields(a):
                    if an == 1:
                        aname = bytes(av).decode("utf-8")
                    elif an == 2:
                        af = struct.unpack("<f", bytes(av))[0]
                    elif an == 3:
                        ai = av
                    elif an == 5:
                        at = av
                    elif an == 7:
                        floats.frombytes(bytes(av))
                if op == "Gemm" and aname == "transB" and ai is not None:
                    trans_b = ai
                if op == "Constant" and outputs:
                    if aname == "value" and at is not None:
                        t = parse_tensor(at)
                        t["name"] = outputs[0]
                        tensors.append(t)
                    elif aname == "value_float" and af is not None:
                        tensors.append({"name": outputs[0], "dims": [], "dtype": FLOAT, "data": array.array("f", [af])})
                    elif aname == "value_floats":
                        tensors.append({"name": outputs[0], "dims": [len(floats)], "dtype": FLOAT, "data": floats})
            for k, name in enumerate(inputs):
                uses.append((op, k, name, trans_b))
    out = []
    for t in tensors:
        if t["data"] is None:
            key = DTYPE_NAMES.get(t["dtype"], str(t["dtype"]))
            skipped[key] = skipped.get(key, 0) + 1
        else:
            out.append(t)
    return out, skipped, uses


def transpose(data, rows, cols):
    """Row-major rows x cols -> cols x rows."""
    out = array.array("f", bytes(4 * rows * cols))
    for j in range(cols):
        out[j * rows:(j + 1) * rows] = data[j::cols]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("onnx")
    ap.add_argument("out", nargs="?")
    ap.add_argument("--no-transpose", action="store_true", help="keep MatMul/Gemm weights as [in, out]")
    ap.add_argument("--list", action="store_true", help="list the float32 tensors and exit")
    args = ap.parse_args()
    if not args.list and not args.out:
        ap.error("the output path is required (or use --list)")

    with open(args.onnx, "rb") as f:
        blob = f.read()
    try:
        tensors, skipped, uses = parse_model(memoryview(blob))
    except WireError as e:
        sys.exit("onnx_to_safetensors: %s: not a readable ONNX model: %s" % (args.onnx, e))

    seen, unique = set(), []
    for t in tensors:
        if t["name"] in seen:
            sys.exit("onnx_to_safetensors: duplicate tensor name %r" % t["name"])
        seen.add(t["name"])
        unique.append(t)
    to_transpose = set()
    if not args.no_transpose:
        for op, k, name, trans_b in uses:
            if k == 1 and (op == "MatMul" or (op == "Gemm" and trans_b == 0)):
                to_transpose.add(name)
    transposed = []
    for t in unique:
        if t["name"] in to_transpose and len(t["dims"]) == 2:
            rows, cols = t["dims"]
            t["data"] = transpose(t["data"], rows, cols)
            t["dims"] = [cols, rows]
            transposed.append(t["name"])

    if args.list:
        for t in unique:
            mark = "  (transposed from [in, out])" if t["name"] in transposed else ""
            print("%-40s %s%s" % (t["name"], "x".join(map(str, t["dims"])) or "scalar", mark))
        print("%d float32 tensors; skipped (other types): %s" % (len(unique), skipped or "none"))
        return

    header, offset, payload = {}, 0, []
    header["__metadata__"] = {
        "source": args.onnx.rsplit("/", 1)[-1],
        "source_sha256": hashlib.sha256(blob).hexdigest(),
        "converter": "mixq scripts/onnx_to_safetensors.py",
        "transposed": ",".join(transposed),
        "layout": "MatMul/Gemm weights listed in 'transposed' were stored [in, out] in ONNX and are [out, in] here",
    }
    for t in unique:
        raw = t["data"].tobytes()
        header[t["name"]] = {"dtype": "F32", "shape": t["dims"], "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        payload.append(raw)
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in payload:
            f.write(raw)
    import os
    os.replace(tmp, args.out)
    n2 = sum(1 for t in unique if len(t["dims"]) == 2)
    params = sum(len(t["data"]) for t in unique)
    print("onnx_to_safetensors: wrote %s: %d float32 tensors (%d 2-D, %d transposed), %d parameters; skipped %s"
          % (args.out, len(unique), n2, len(transposed), params, skipped or "nothing"))


if __name__ == "__main__":
    main()
