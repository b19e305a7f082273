"""Flattening nested spaces: property tests over random nestings, plus the rules one by one."""
import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sailfish.spaces import action_layout, observation_layout

Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple = (
    gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary,
    gym.spaces.Dict, gym.spaces.Tuple)

FLOATS = [np.float16, np.float32, np.float64]
INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]
shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def boxes(draw, dtypes):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = draw(shapes)
    if dtype == np.bool_:
        return Box(0, 1, shape, dtype)
    if dtype.kind == "f":
        low = draw(st.sampled_from([-np.inf, -3.0, 0.0]))
        return Box(low, draw(st.sampled_from([np.inf, 5.0])), shape, dtype)
    info = np.iinfo(dtype)
    low = draw(st.integers(max(info.min, -100), 10))
    return Box(low, min(info.max, low + draw(st.integers(0, 200))), shape, dtype)


discretes = st.builds(lambda n, s: Discrete(n, start=s), st.integers(1, 10), st.integers(-5, 5))
multi_discretes = st.builds(lambda nvec, s: MultiDiscrete(nvec, start=np.full(len(nvec), s)),
                            st.lists(st.integers(1, 9), min_size=1, max_size=4), st.integers(-3, 3))
multi_binaries = st.builds(MultiBinary, st.one_of(st.integers(1, 5), st.tuples(st.integers(1, 3), st.integers(1, 3))))
keys = st.text("abcxyz", min_size=1, max_size=3)


def nested(leaves):
    return st.recursive(leaves, lambda children: st.one_of(
        st.dictionaries(keys, children, min_size=1, max_size=3).map(Dict),
        st.lists(children, min_size=1, max_size=3).map(Tuple),
    ), max_leaves=8)


obs_spaces = nested(st.one_of(boxes(FLOATS + INTS + [np.bool_]), discretes, multi_discretes, multi_binaries))
integer_boxes = boxes([np.int8, np.int32, np.bool_])
discrete_action_spaces = nested(st.one_of(discretes, multi_discretes, multi_binaries, integer_boxes))
continuous_action_spaces = nested(boxes([np.float16, np.float32]))


def assert_same(a, b):
    scalar = (np.generic, np.ndarray)  # a 0-d Box sample may be a NumPy scalar or a 0-d array
    assert type(a) is type(b) or (isinstance(a, scalar) and isinstance(b, scalar)), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), (a, b)


def leaves_of(x):
    if isinstance(x, dict):
        return [leaf for v in x.values() for leaf in leaves_of(v)]
    if isinstance(x, tuple):
        return [leaf for v in x for leaf in leaves_of(v)]
    return [x]


fast = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fast
@given(obs_spaces, st.integers(0, 2**31 - 1))
def test_observation_round_trip_is_lossless(space, seed):
    layout = observation_layout(space)
    space.seed(seed)
    for _ in range(3):
        obs = space.sample()
        row = layout.flatten(obs)
        assert row.shape == layout.shape and row.dtype == layout.dtype
        assert layout.flat_space.contains(row) or layout.is_bytes
        back = layout.unflatten(row)
        assert space.contains(back)
        assert_same(obs, back)


@fast
@given(obs_spaces, st.integers(0, 2**31 - 1))
def test_observation_views_of_a_batch_share_memory_with_numpy_and_torch(space, seed):
    layout = observation_layout(space)
    space.seed(seed)
    samples = [space.sample() for _ in range(4)]
    batch = np.stack([layout.flatten(s) for s in samples])
    for views in (layout.views(batch), layout.views(torch.from_numpy(batch))):
        got = leaves_of(views)
        for i, sample in enumerate(samples):
            for leaf, want in zip(got, leaves_of(sample) if not layout.passthrough else [sample]):
                value = leaf[i].numpy() if isinstance(leaf, torch.Tensor) else leaf[i]
                assert np.array_equal(np.asarray(value), np.asarray(want))
    for leaf in leaves_of(layout.views(batch)):
        assert np.shares_memory(leaf, batch)
    tensor = torch.from_numpy(batch)
    for leaf in leaves_of(layout.views(tensor)):
        assert leaf.untyped_storage().data_ptr() == tensor.untyped_storage().data_ptr()


@fast
@given(discrete_action_spaces, st.integers(0, 2**31 - 1))
def test_discrete_action_round_trip_through_the_head(space, seed):
    layout = action_layout(space)
    assert isinstance(layout.flat_space, (Discrete, MultiDiscrete)) and layout.discrete
    space.seed(seed)
    layout.flat_space.seed(seed)
    for _ in range(3):
        action = space.sample()
        flat = layout.flatten(action)
        assert layout.flat_space.contains(flat.astype(np.int64) if flat.ndim else np.int64(flat))
        assert_same(action, layout.unflatten(flat))
        head = layout.flat_space.sample()
        assert space.contains(layout.unflatten(head))
        assert np.array_equal(layout.flatten(layout.unflatten(head)), np.asarray(head).astype(np.int32))


@fast
@given(continuous_action_spaces, st.integers(0, 2**31 - 1))
def test_continuous_action_round_trip_through_the_head(space, seed):
    layout = action_layout(space)
    assert isinstance(layout.flat_space, Box) and layout.flat_space.dtype == np.float32
    space.seed(seed)
    action = space.sample()
    flat = layout.flatten(action)
    assert flat.shape == layout.flat_space.shape and flat.dtype == np.float32
    assert_same(action, layout.unflatten(flat))


def test_all_float32_leaves_share_one_float32_row_end_to_end():
    space = Dict({"pos": Box(-1, 1, (2,), np.float32), "vel": Tuple((Box(-2, 2, (3,), np.float32),))})
    layout = observation_layout(space)
    assert (layout.dtype, layout.shape, layout.is_bytes) == (np.float32, (5,), False)
    row = layout.flatten({"pos": np.array([0.5, -0.5], np.float32), "vel": (np.array([1, 2, 3], np.float32),)})
    assert row.tolist() == [0.5, -0.5, 1, 2, 3]
    assert layout.flat_space.low.tolist() == [-1, -1, -2, -2, -2]


def test_mixed_leaves_become_aligned_bytes_with_a_structured_view():
    space = Dict({"flag": Discrete(3), "image": Box(0, 255, (2, 2), np.uint8), "x": Box(-1, 1, (1,), np.float32)})
    layout = observation_layout(space)
    assert layout.dtype == np.uint8 and layout.is_bytes
    offsets = {name: layout.structured_dtype.fields[name][1] for name in layout.structured_dtype.names}
    assert offsets == {"flag": 0, "image": 8, "x": 12} and layout.shape == (16,)
    obs = {"flag": np.int64(2), "image": np.arange(4, dtype=np.uint8).reshape(2, 2), "x": np.array([0.25], np.float32)}
    row = layout.flatten(obs)
    record = row.view(layout.structured_dtype)[0]
    assert record["flag"] == 2 and record["x"][0] == 0.25 and record["image"].tolist() == [[0, 1], [2, 3]]


def test_lone_box_passes_through_with_its_shape():
    space = Box(0, 255, (8, 8, 3), np.uint8)
    layout = observation_layout(space)
    assert layout.passthrough and layout.flat_space is space and layout.shape == (8, 8, 3)


def test_wrong_observation_shape_names_the_leaf():
    layout = observation_layout(Dict({"a": Box(0, 1, (3,), np.float32)}))
    with pytest.raises(ValueError, match=r"observation a: expected shape \(3,\)"):
        layout.flatten({"a": np.zeros(4, np.float32)})


def test_unsupported_leaf_is_named():
    with pytest.raises(ValueError, match="unsupported space Text.* at a/0"):
        observation_layout(Dict({"a": Tuple((gym.spaces.Text(5),))}))


def test_mixed_discrete_and_continuous_actions_raise_naming_both():
    space = Dict({"move": Box(-1, 1, (2,), np.float32), "fire": Discrete(2)})
    with pytest.raises(ValueError, match=r"mixes discrete leaves \(fire\) and continuous leaves \(move\)"):
        action_layout(space)


def test_action_heads_pass_through_or_shift_starts():
    assert action_layout(Discrete(4)).passthrough
    assert action_layout(Discrete(4, start=1)).flat_space == Discrete(4)
    assert action_layout(Discrete(4, start=1)).unflatten(np.int32(0)) == 1
    layout = action_layout(Tuple((Discrete(3, start=-1), MultiBinary(2))))
    assert layout.flat_space == MultiDiscrete([3, 2, 2])
    action = layout.unflatten(np.array([0, 1, 0], np.int32))
    assert action[0] == -1 and action[1].tolist() == [1, 0]


def test_float64_action_leaf_receives_the_float32_value():
    layout = action_layout(Dict({"a": Box(-1, 1, (2,), np.float64)}))
    action = layout.unflatten(np.array([0.1, -0.2], np.float32))
    assert action["a"].dtype == np.float64 and np.array_equal(action["a"], np.array([0.1, -0.2], np.float32))
