"""EfficientNet-Lite0 as an ONNX graph, built from the weights of its PyTorch checkpoint.

The architecture is that of the package that trained these weights (efficientnet-lite-pytorch,
itself a port of TensorFlow's efficientnet/lite): a 3x3 stride-2 stem, 16 inverted-residual
blocks in 7 stages, a 1x1 head to 1280 channels, global average pooling and a linear layer to
the 1000 ImageNet classes; ReLU6 everywhere, no squeeze-excitation. Its convolutions pad like
TensorFlow's "SAME" for a 224 px input (the extra pixel, when the padding is odd, goes at the
bottom and the right), so the graph is built for exactly that input size.

Every batch norm is folded into the convolution before it (eval mode: a per-channel scale and
shift), which leaves convolutions, Clip (ReLU6), Add, GlobalAveragePool and Gemm. The graph is
built deterministically, so the same weights always give the same bytes.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_SIZE = 224
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
CLASS_COUNT = 1000
OPSET = 17
BATCH_NORM_EPSILON = 1e-3
# (blocks, stride of the first block) per stage; kernel sizes and channel counts come from the weights.
STAGES = ((1, 1), (2, 2), (2, 2), (3, 2), (3, 1), (4, 2), (1, 1))


class WeightsMismatch(ValueError):
    """The state dict is not EfficientNet-Lite0's."""


@dataclass
class _Graph:
    weights: dict[str, np.ndarray]
    nodes: list[onnx.NodeProto]
    initializers: list[onnx.TensorProto]

    def constant(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name=name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    def weight(self, name: str) -> np.ndarray:
        try:
            return self.weights[name]
        except KeyError:
            raise WeightsMismatch(f"the checkpoint has no {name}: not EfficientNet-Lite0 weights") from None


def build_model(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    graph = _Graph(weights=weights, nodes=[], initializers=[])
    relu6_low = graph.constant("relu6_low", np.array(0.0, dtype=np.float32))
    relu6_high = graph.constant("relu6_high", np.array(6.0, dtype=np.float32))

    def relu6(value: str) -> str:
        return graph.node("Clip", [value, relu6_low, relu6_high], f"{value}_relu6")

    size = INPUT_SIZE
    x, size = _conv_bn(graph, INPUT_NAME, conv="_conv_stem", bn="_bn0", stride=2, size=size, name="stem")
    x = relu6(x)
    block = 0
    for repeats, first_stride in STAGES:
        for repeat in range(repeats):
            x, size = _block(graph, x, index=block, stride=first_stride if repeat == 0 else 1, size=size, relu6=relu6)
            block += 1
    if f"_blocks.{block}._project_conv.weight" in weights:
        raise WeightsMismatch(f"the checkpoint has more than {block} blocks: not EfficientNet-Lite0 weights")
    x, size = _conv_bn(graph, x, conv="_conv_head", bn="_bn1", stride=1, size=size, name="head")
    x = relu6(x)
    x = graph.node("GlobalAveragePool", [x], "pooled")
    x = graph.node("Flatten", [x], "features", axis=1)
    fc_weight = graph.constant("fc.weight", graph.weight("_fc.weight").astype(np.float32))
    fc_bias = graph.constant("fc.bias", graph.weight("_fc.bias").astype(np.float32))
    graph.node("Gemm", [x, fc_weight, fc_bias], OUTPUT_NAME, transB=1)
    if graph.weight("_fc.weight").shape[0] != CLASS_COUNT:
        raise WeightsMismatch(f"the classifier has {graph.weight('_fc.weight').shape[0]} classes, not {CLASS_COUNT}")

    onnx_graph = helper.make_graph(
        graph.nodes,
        "efficientnet_lite0",
        inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])],
        outputs=[helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", CLASS_COUNT])],
        initializer=graph.initializers,
    )
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="scroller",
        doc_string="EfficientNet-Lite0 (ImageNet-1k), batch norms folded; input RGB (x - 127) / 128, NCHW 224x224.",
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def _block(graph: _Graph, x: str, *, index: int, stride: int, size: int, relu6) -> tuple[str, int]:
    prefix = f"_blocks.{index}"
    block_input, in_channels = x, graph.weight(f"{prefix}._project_conv.weight").shape[1]
    if f"{prefix}._expand_conv.weight" in graph.weights:
        x, size = _conv_bn(
            graph, x, conv=f"{prefix}._expand_conv", bn=f"{prefix}._bn0", stride=1, size=size, name=f"b{index}_expand"
        )
        x = relu6(x)
        in_channels = graph.weight(f"{prefix}._expand_conv.weight").shape[1]
    x, size = _conv_bn(
        graph,
        x,
        conv=f"{prefix}._depthwise_conv",
        bn=f"{prefix}._bn1",
        stride=stride,
        size=size,
        name=f"b{index}_depthwise",
    )
    x = relu6(x)
    x, size = _conv_bn(
        graph, x, conv=f"{prefix}._project_conv", bn=f"{prefix}._bn2", stride=1, size=size, name=f"b{index}_project"
    )
    out_channels = graph.weight(f"{prefix}._project_conv.weight").shape[0]
    if stride == 1 and in_channels == out_channels:
        x = graph.node("Add", [x, block_input], f"b{index}_residual")
    return x, size


def _conv_bn(graph: _Graph, x: str, *, conv: str, bn: str, stride: int, size: int, name: str) -> tuple[str, int]:
    """A bias-free convolution followed by an eval-mode batch norm, as one convolution with a bias."""
    kernel = graph.weight(f"{conv}.weight").astype(np.float64)
    gamma, beta, mean, variance = (
        graph.weight(f"{bn}.{part}").astype(np.float64) for part in ("weight", "bias", "running_mean", "running_var")
    )
    scale = gamma / np.sqrt(variance + BATCH_NORM_EPSILON)
    folded_kernel = (kernel * scale[:, None, None, None]).astype(np.float32)
    folded_bias = (beta - mean * scale).astype(np.float32)
    out_channels, per_group, kernel_size, _ = kernel.shape
    groups = out_channels if per_group == 1 and kernel_size > 1 else 1
    output_size = math.ceil(size / stride)
    padding = max((output_size - 1) * stride + kernel_size - size, 0)
    before, after = padding // 2, padding - padding // 2
    output = graph.node(
        "Conv",
        [x, graph.constant(f"{name}.weight", folded_kernel), graph.constant(f"{name}.bias", folded_bias)],
        name,
        kernel_shape=[kernel_size, kernel_size],
        strides=[stride, stride],
        pads=[before, before, after, after],
        group=groups,
    )
    return output, output_size
