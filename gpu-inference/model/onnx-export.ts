// Serialises NetParams to an ONNX model with onnx-proto. The graph is the contract the origin and the
// ranking service rely on: inputs user[N,16], video[N,16], ctx[N,4] (float32), output score[N,1].
// Opset 13 keeps it loadable by every onnxruntime build we ship (node CPU/CUDA and web/wasm).
import onnxProto from "onnx-proto";
import { CTX_DIM, EMBEDDING_DIM } from "../../shared/rank-contract.ts";
import { PARAM_NAMES, PARAM_SHAPES, type NetParams } from "./network.ts";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const OPSET = 13;
export const INPUT_NAMES = ["user", "video", "ctx"] as const;
export const OUTPUT_NAME = "score";

function valueInfo(name: string, width: number) {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: "N" }, { dimValue: width }] } } },
  };
}

function node(opType: string, input: string[], output: string, attribute: object[] = []) {
  return { opType, input, output: [output], name: `${opType.toLowerCase()}_${output}`, attribute };
}

export interface ExportMeta {
  [key: string]: string;
}

/** Returns the serialised ModelProto bytes. `meta` lands in metadata_props (visible to any ONNX tool). */
export function exportOnnx(p: NetParams, meta: ExportMeta = {}): Uint8Array {
  const initializer = PARAM_NAMES.map((k) => ({
    name: k,
    dataType: FLOAT,
    dims: [...PARAM_SHAPES[k]],
    // float_data is packed little-endian by protobuf itself, so this is byte-order independent.
    floatData: Array.from(p[k]),
  }));
  const graph = {
    name: "fyp_engagement",
    input: [valueInfo("user", EMBEDDING_DIM), valueInfo("video", EMBEDDING_DIM), valueInfo("ctx", CTX_DIM)],
    output: [valueInfo(OUTPUT_NAME, 1)],
    initializer,
    node: [
      node("Mul", ["user", "video"], "uv"),
      node("Concat", ["user", "video", "uv", "ctx"], "x", [{ name: "axis", type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
      node("Gemm", ["x", "w1", "b1"], "z1"),
      node("Relu", ["z1"], "h1"),
      node("Gemm", ["h1", "w2", "b2"], "z2"),
      node("Relu", ["z2"], "h2"),
      node("Gemm", ["h2", "w3", "b3"], "z3"),
      node("Sigmoid", ["z3"], OUTPUT_NAME),
    ],
  };
  const model = onnx.ModelProto.create({
    irVersion: 7, // IR 7 pairs with opset 13
    producerName: "fyp-edge",
    producerVersion: "1",
    domain: "fyp.edge",
    opsetImport: [{ domain: "", version: OPSET }],
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
    graph: onnx.GraphProto.fromObject(graph),
  });
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`exportOnnx: invalid ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}
