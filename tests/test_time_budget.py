"""``max_seconds``: a wallclock budget that ends the run and that ``anneal_lr`` decays over."""
import io

import pytest

import sailfish
from sailfish.train import Config, Trainer
from sailfish.ui import PlainProgress

SMALL = dict(num_envs=8, rollout_steps=32, bptt_horizon=16, minibatch_size=64, update_epochs=1, runs_dir="")
FOREVER = 10**12  # steps: only the budget can end these runs


def trainer_on_a_clock(max_seconds: float, clock: list[float], **overrides) -> Trainer:
    """A cartpole trainer whose ``elapsed()`` reads ``clock[0]`` (a clock the test moves)."""
    config = Config.load("cartpole", {**SMALL, "total_steps": FOREVER, "max_seconds": max_seconds, **overrides})
    trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
    trainer.elapsed = lambda: clock[0]
    return trainer


def test_the_learning_rate_decays_over_the_wallclock_budget():
    clock = [0.0]
    trainer = trainer_on_a_clock(100.0, clock)
    lr = trainer.config.lr
    clock[0] = 25.0
    trainer.iteration()  # the first update's rate: the budget's start (no update has ended yet)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(lr, rel=1e-9)
    trainer.iteration()  # this update's rate: the clock when the last ended, a quarter of the budget
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.75 * lr, rel=1e-9)
    assert trainer.progress() == pytest.approx(0.25) and not trainer.finished()
    clock[0] = 100.0
    trainer.iteration()
    assert trainer.progress() == 1.0 and trainer.finished()
    assert trainer.metrics()["progress"] == 1.0


def test_without_anneal_lr_the_budget_only_ends_the_run():
    clock = [50.0]
    trainer = trainer_on_a_clock(100.0, clock, anneal_lr=False)
    trainer.iteration()
    trainer.iteration()
    assert trainer.optimizer.param_groups[0]["lr"] == trainer.config.lr


def test_the_steps_anneal_the_rate_when_they_end_first():
    clock = [1.0]
    trainer = trainer_on_a_clock(10**6, clock, total_steps=8 * 32 * 4)  # 4 updates of 256 steps
    trainer.iteration()
    trainer.iteration()  # update 1 of 4 at a millionth of the budget: the steps set the rate
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.75 * trainer.config.lr, rel=1e-9)


def test_run_stops_at_the_budget_far_before_total_steps():
    config = Config.load("cartpole", {**SMALL, "total_steps": FOREVER, "max_seconds": 0.5})
    trainer = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
    trainer.run()
    assert trainer.update_count > 0 and trainer.global_step < FOREVER
    assert trainer.budget_clock >= 0.5 and trainer.finished()


def test_a_resumed_run_counts_its_earlier_sessions_against_the_budget(tmp_path):
    config = Config.load("cartpole", {**SMALL, "total_steps": FOREVER, "max_seconds": 0.5, "runs_dir": str(tmp_path)})
    first = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config)
    first.run()
    resumed = Trainer(sailfish.make("cartpole", num_envs=8, seed=0), config=config, resume=first.run_dir)
    resumed.run()  # the budget was spent by the first session: no update more
    assert resumed.update_count == first.update_count and resumed.global_step == first.global_step


def test_a_negative_budget_is_refused():
    with pytest.raises(ValueError, match="max_seconds: must be >= 0"):
        Config(max_seconds=-1)


def test_progress_shows_the_budgets_fraction_where_it_is_further_than_the_steps():
    stream = io.StringIO()
    progress = PlainProgress("cartpole", 1000, interval=0.0, stream=stream)
    progress.log({"elapsed_s": 30.0, "sps": 10.0, "progress": 0.25}, 10)
    line = stream.getvalue()
    assert "step 10/1000 (25%)" in line and "ETA 01:30" in line, line
