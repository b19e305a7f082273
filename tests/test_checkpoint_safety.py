"""Checkpoints cannot run code: only tensors, numbers, strings, lists and dicts are written or read."""
from collections import OrderedDict

import numpy as np
import pytest
import torch

from sailfish.train.checkpoint import (UnsafeCheckpointError, checkpoint_paths, load_checkpoint,
                                       load_newest_intact, save_checkpoint)
from sailfish.train.optim import Adam


class _TouchesMarker:
    """Unpickling this calls ``open(marker, "w")``: the stand-in for a shared file's hostile code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def _write_hostile_checkpoint(run_dir, update, marker):
    """A checkpoint-named file whose pickle would create ``marker``, written past our own checks."""
    folder = run_dir / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"model_{update:08d}.pt"
    torch.save({"update": update, "policy": {"w": torch.zeros(2)}, "hook": _TouchesMarker(marker)}, path)
    return path


def _assert_same(a, b, where="payload"):
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


def test_hostile_checkpoint_is_refused_in_one_line_without_running_its_code(tmp_path):
    # The file really is live: the old weights_only=False load runs it.
    live_marker = tmp_path / "live.txt"
    torch.load(_write_hostile_checkpoint(tmp_path / "live", 1, live_marker), weights_only=False)["hook"].close()
    assert live_marker.exists()

    marker = tmp_path / "marker.txt"
    path = _write_hostile_checkpoint(tmp_path, 2, marker)
    with pytest.raises(UnsafeCheckpointError) as refused:
        load_checkpoint(path)
    assert str(refused.value) == (
        f"{path}: not a Sailfish checkpoint: it holds objects other than tensors, numbers, strings, lists and "
        f"dicts (refusing to unpickle them; checkpoints of sailfish 0.1 hold a NumPy RNG state and are refused too)")
    assert isinstance(refused.value, ValueError) and "\n" not in str(refused.value)
    assert not marker.exists()


def test_numpy_rng_state_is_refused_at_save_time_naming_its_key(tmp_path):
    payload = {"policy": {"w": torch.ones(3)}, "numpy_rng": np.random.get_state()}
    with pytest.raises(TypeError, match=r"^checkpoint payload\['numpy_rng'\]\[1\]: numpy\.ndarray is not "
                                        r"allowed \(tensors, numbers, strings, lists, dicts only\)$"):
        save_checkpoint(tmp_path, 1, payload)
    assert not (tmp_path / "checkpoints").exists()  # refused before anything was written


def test_numpy_scalar_and_bad_dict_key_are_refused_at_save_time(tmp_path):
    with pytest.raises(TypeError, match=r"payload\['optimizer'\]\['lr'\]: numpy\.float64 is not allowed"):
        save_checkpoint(tmp_path, 1, {"optimizer": {"lr": np.float64(1e-3)}})
    with pytest.raises(TypeError, match=r"payload\['table'\]: dict key 0\.5 is a float; keys must be str or int"):
        save_checkpoint(tmp_path, 1, {"table": {0.5: 1}})
    assert not (tmp_path / "checkpoints").exists()


def test_nested_payload_of_allowed_types_round_trips_equal(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    optimizer = Adam(net.parameters(), lr=3e-4, betas=(0.8, 0.99))
    net(torch.randn(5, 4)).sum().backward()
    optimizer.step()
    payload = {
        "policy": net.state_dict(),  # an OrderedDict
        "optimizer": optimizer.state_dict(),  # lists of tensors, a tuple of betas
        "shuffle_rng": torch.Generator().manual_seed(3).get_state(),
        "update": 7, "elapsed_s": 1.25, "done": False, "note": None, "env": "cartpole",
        "tensors": [torch.arange(5, dtype=torch.int64), torch.tensor([True, False]), torch.zeros(0, 3)],
        "by_index": {0: "first", 1: ("second", 2.5, [None, True])},
        "config": {"env_config": {}, "lr": 2.5e-3, "hidden_size": 64},
    }
    path = save_checkpoint(tmp_path, 7, payload)
    loaded = load_checkpoint(path)
    _assert_same(payload, loaded)
    assert type(loaded["policy"]) is OrderedDict


def test_newest_intact_falls_back_past_a_torn_file(tmp_path):
    save_checkpoint(tmp_path, 1, {"update": 1, "w": torch.ones(4)})
    newest = save_checkpoint(tmp_path, 2, {"update": 2, "w": torch.full((4,), 2.0)})
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])  # what a full disk or a copy cut short leaves
    path, payload = load_newest_intact(tmp_path)
    assert path == checkpoint_paths(tmp_path)[0] and payload["update"] == 1


def test_newest_intact_raises_on_an_unsafe_file_rather_than_skipping_it(tmp_path):
    save_checkpoint(tmp_path, 1, {"update": 1, "w": torch.ones(4)})
    marker = tmp_path / "marker.txt"
    hostile = _write_hostile_checkpoint(tmp_path, 2, marker)
    with pytest.raises(UnsafeCheckpointError, match=r"not a Sailfish checkpoint") as refused:
        load_newest_intact(tmp_path)
    assert str(refused.value).startswith(f"{hostile}: ")
    assert not marker.exists()


def test_no_readable_checkpoint_names_each_file(tmp_path):
    for update in (1, 2):
        save_checkpoint(tmp_path, update, {"update": update}).write_bytes(b"")
    with pytest.raises(ValueError, match=r"no readable checkpoint \(model_00000002\.pt: EOFError, "
                                         r"model_00000001\.pt: EOFError\)"):
        load_newest_intact(tmp_path)
