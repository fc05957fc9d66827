"""Import and FLOP costs of current layers: Embedding, LayerNormalization, MultiHeadAttention,
LSTM / GRU and keras.ops calls, on the zoo's small transformer and recurrent models."""

from __future__ import annotations

import math

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import checkmate_opt as cm  # noqa: E402
from checkmate_opt.costs.flops import forward_ops  # noqa: E402
from checkmate_opt.errors import UnsupportedModelError  # noqa: E402
from checkmate_opt.importers.keras import extract_layers, graph_from_keras  # noqa: E402
from checkmate_opt.zoo.small import small_rnn, small_transformer, synthetic_batch  # noqa: E402
from keras import layers, ops  # noqa: E402

pytestmark = pytest.mark.keras

B = 3


@pytest.fixture(scope="module")
def transformer():
    return small_transformer()


@pytest.fixture(scope="module")
def rnn():
    return small_rnn()


def _output_bytes_from_keras(model, batch):
    """Bytes of every layer call's outputs, read from a real forward pass (not from shapes)."""
    x, _ = synthetic_batch(model, batch)
    layers_, _ = extract_layers(model, batch_size=batch)
    probe = keras.Model(model.input, [t for info in layers_ for t in info.node.output_tensors])
    outs = probe(x)
    sizes, k = [], 0
    for info in layers_:
        m = len(info.node.output_tensors)
        sizes.append(sum(int(np.asarray(o).nbytes) for o in outs[k : k + m]))
        k += m
    return sizes


@pytest.mark.parametrize("which", ["transformer", "rnn"])
def test_small_models_import_into_valid_training_graphs(which, request):
    model = request.getfixturevalue(which)
    g = graph_from_keras(model, batch_size=B)
    L = len(g.forward_nodes)
    assert g.n == 2 * L + 1
    assert g.is_training_graph
    # every layer and op call costs something, forward and backward
    assert all(g.compute_cost[v] > 0 for v in range(g.n) if v != g.loss)
    # memory of each node = bytes of the tensors the layer really produces at this batch size
    assert list(g.memory_cost[:L]) == _output_bytes_from_keras(model, B)
    assert g.parameter_bytes == sum(int(np.asarray(w).nbytes) for w in model.weights)


def test_transformer_nodes_cover_the_modern_classes(transformer):
    classes = {info.class_name for info in extract_layers(transformer, batch_size=1)[0]}
    assert {
        "Embedding",
        "LayerNormalization",
        "MultiHeadAttention",
        "Add",
        "Dense",
        "ops.Multiply",
        "ops.Mean",
    } <= classes


def test_rnn_nodes_and_multi_output_bytes():
    inp = keras.Input((5, 3))
    seq, h, c = layers.LSTM(4, return_sequences=True, return_state=True, name="lstm")(inp)
    out = layers.Concatenate(name="cat")([ops.mean(seq, axis=1), h, c])
    g = graph_from_keras(keras.Model(inp, out), batch_size=B)
    # the LSTM node holds all three outputs: B*5*4 + B*4 + B*4 floats
    assert g.memory_cost[0] == 4 * (B * 5 * 4 + 2 * B * 4)


def test_small_transformer_solves_with_optimal_under_pressure():
    g = graph_from_keras(small_transformer(blocks=1), batch_size=B)  # one block: a quick MILP
    r = cm.solve(g, "0.7x", strategy="optimal")
    assert r.termination == "completed"
    assert r.within_budget
    report = cm.simulate(g, r.unwrap())
    assert report.peak_activation_memory <= r.budget
    assert report.compute_cost == r.compute_cost
    assert report.compute_cost > report.total_compute  # something is recomputed


def test_small_rnn_solves_with_optimal(rnn):
    g = graph_from_keras(rnn, batch_size=B)
    full = cm.solve(g, None, strategy="checkpoint_all")
    r = cm.solve(g, full.report.peak_activation_memory, strategy="optimal")
    assert r.termination == "completed"
    assert r.within_budget
    assert r.compute_cost == cm.simulate(g, r.unwrap()).compute_cost


def test_attention_costs_by_hand_with_distinct_query_key_value_and_a_mask():
    q = keras.Input((6, 10))
    v = keras.Input((5, 12))
    k = keras.Input((5, 14))
    mask = keras.Input((6, 5), dtype="bool")
    out = layers.MultiHeadAttention(3, 4, value_dim=2, output_shape=7, name="mha")(
        q, v, key=k, attention_mask=mask
    )
    (info,), _ = extract_layers(keras.Model([q, v, k, mask], out), batch_size=B)
    named = dict(zip(info.config["_call_inputs"], info.input_shapes, strict=True))
    assert named == {
        "query": (B, 6, 10),
        "value": (B, 5, 12),
        "key": (B, 5, 14),
        "attention_mask": (B, 6, 5),
    }
    H, KD, VD, T, S = 3, 4, 2, 6, 5
    expected = (
        B * T * 10 * H * KD  # query projection
        + B * S * 14 * H * KD  # key projection
        + B * S * 12 * H * VD  # value projection
        + B * H * T * S * KD  # scores
        + 3 * B * H * T * S  # softmax
        + B * H * T * S * VD  # weighted values
        + B * T * H * VD * 7  # output projection
    )
    assert forward_ops(info) == expected


def test_recurrent_costs_by_hand():
    inp = keras.Input((7, 3))
    x = layers.LSTM(5, return_sequences=True, name="lstm")(inp)
    x = layers.GRU(4, name="gru")(x)
    x = layers.Bidirectional(layers.SimpleRNN(2), name="bi")(layers.RepeatVector(3)(x))
    infos, _ = extract_layers(keras.Model(inp, x), batch_size=B)
    by = {i.name: i for i in infos}
    assert forward_ops(by["lstm"]) == B * 7 * 5 * (4 * (3 + 5) + 9)
    assert forward_ops(by["gru"]) == B * 7 * 4 * (3 * (5 + 4) + 10)
    assert forward_ops(by["bi"]) == 2 * B * 3 * 2 * (1 * (4 + 2) + 2) + B * 4


def test_embedding_and_ops_costs():
    tok = keras.Input((6,), dtype="int32")
    e = layers.Embedding(20, 8, name="emb")(tok)  # (B, 6, 8)
    s = ops.einsum("btd,bsd->bts", e, e)  # (B, 6, 6)
    m = ops.matmul(e, ops.transpose(e, (0, 2, 1)))  # the same product
    d = ops.mean(s - m, axis=-1)
    infos, _ = extract_layers(keras.Model(tok, d), batch_size=B)
    by = {i.class_name: i for i in infos}
    assert forward_ops(by["Embedding"]) == B * 6 + B * 6 * 8
    assert forward_ops(by["ops.Einsum"]) == forward_ops(by["ops.Matmul"]) == B * 6 * 6 * 8
    assert forward_ops(by["ops.Subtract"]) == B * 6 * 6
    assert forward_ops(by["ops.Mean"]) == B * 6 * 6
    t = by["ops.Transpose"]
    assert forward_ops(t) == 2 * B * 6 * 8
    assert forward_ops(t, paper=True) == 0


def test_unknown_keras_op_names_the_call():
    inp = keras.Input((4,))
    out = ops.cumsum(inp, axis=-1)
    pattern = r"keras.ops call 'cumsum(_\d+)?' \(ops.Cumsum\)"
    with pytest.raises(UnsupportedModelError, match=pattern):
        graph_from_keras(keras.Model(inp, out), batch_size=1)


def test_platform_keyword_matches_cost_model(transformer):
    a = graph_from_keras(transformer, batch_size=B, platform="p32xlarge")
    b = graph_from_keras(transformer, batch_size=B, cost_model="p32xlarge")
    assert a.compute_cost == b.compute_cost
    assert a.compute_cost != graph_from_keras(transformer, batch_size=B).compute_cost
    with pytest.raises(ValueError, match="give one of them"):
        graph_from_keras(transformer, batch_size=B, platform="flops", cost_model="flops")


def test_zoo_small_models_are_deterministic_in_structure():
    a = graph_from_keras(small_transformer(blocks=1), batch_size=2)
    b = graph_from_keras(small_transformer(blocks=1), batch_size=2)
    assert a.args == b.args
    assert a.compute_cost == b.compute_cost
    assert math.prod((2, 16, 32)) * 4 in a.memory_cost


def test_measured_cost_model_times_ops_and_attention(tmp_path):
    from checkmate_opt.costs.measured import MeasuredCostModel

    inp = keras.Input((4, 8))
    x = layers.MultiHeadAttention(2, 4, name="mha")(inp, inp, use_causal_mask=True)
    x = ops.mean(x * 2.0, axis=1)
    model = keras.Model(inp, layers.Dense(2, name="head")(x))
    cm_ = MeasuredCostModel(batch_sizes=(1, 2), warmup=1, repeats=1, cache_dir=tmp_path)
    g = graph_from_keras(model, batch_size=2, cost_model=cm_)
    assert len(g.forward_nodes) == 4  # mha, multiply, mean, head
    assert all(c >= 0 for c in g.compute_cost)
    assert g.compute_cost[0] > 0  # attention takes measurable time
