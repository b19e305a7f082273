"""IQM, stratified bootstrap and probability of improvement, pinned against hand computations and, for
the IQM, against ``scipy.stats.trim_mean(x, 0.25)``."""
import numpy as np
import pytest
from scipy.stats import trim_mean  # the reference IQM (rliable's); scipy is in the test extra

from sailfish import stats


def test_iqm_of_eight_values_drops_two_at_each_end():
    # sorted: 1 2 3 4 5 6 7 100 -> the middle 50% is 3 4 5 6 -> (3+4+5+6)/4 = 4.5
    assert stats.iqm([100, 2, 7, 1, 5, 3, 6, 4]) == pytest.approx(4.5)


def test_iqm_of_nine_values_drops_two_at_each_end():
    # n = 9: int(0.25 * 9) = 2 dropped at each end. sorted 1..8, 90 -> 3 4 5 6 7 -> 25 / 5 = 5.0
    assert stats.iqm([90, 1, 2, 3, 4, 5, 6, 7, 8]) == pytest.approx(5.0)
    # sorted 0 0 0 0 9 9 9 9 9 -> 0 0 9 9 9 -> 27 / 5 = 5.4
    assert stats.iqm([9, 0, 9, 0, 9, 0, 9, 0, 9]) == pytest.approx(5.4)


def test_iqm_of_five_values_is_the_mean_of_the_middle_three():
    # n = 5: int(1.25) = 1 dropped at each end: weights 0, 1/3, 1/3, 1/3, 0
    assert stats.iqm_weights(5) == pytest.approx([0, 1 / 3, 1 / 3, 1 / 3, 0])
    # values 10 20 30 40 100: (20 + 30 + 40) / 3 = 30
    assert stats.iqm([100, 10, 40, 20, 30]) == pytest.approx(30.0)


def test_iqm_of_fewer_than_four_values_is_their_mean():
    # int(0.25 * n) = 0 for n < 4: nothing is dropped
    assert stats.iqm([7.0]) == 7.0
    assert stats.iqm([2.0, 4.0]) == pytest.approx(3.0)
    assert stats.iqm([1.0, 2.0, 9.0]) == pytest.approx(4.0)


@pytest.mark.parametrize("n", list(range(1, 51)))
def test_iqm_equals_scipy_trim_mean(n):
    rng = np.random.default_rng(n)
    for _ in range(20):
        x = rng.normal(size=n) * rng.uniform(0.1, 100)
        if rng.random() < 0.3:  # ties, as returns capped at 500 give
            x = np.round(x)
        assert stats.iqm(x) == pytest.approx(trim_mean(x, 0.25), rel=1e-12, abs=1e-12)
    # runs x tasks: pooled over both axes, as rliable flattens them
    for runs, tasks in [(n, 1), (n, 3), (max(1, n // 5), 5)]:
        x = rng.exponential(size=(runs, tasks))
        assert stats.iqm(x) == pytest.approx(trim_mean(x.ravel(), 0.25), rel=1e-12)


def test_bootstrap_replicates_use_the_same_iqm_as_the_point_estimate():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3))  # 15 values: not a multiple of 4
    samples = stats.stratified_bootstrap(x, 200, np.random.default_rng(3)).reshape(200, -1)
    expected = trim_mean(samples, 0.25, axis=1)
    assert stats._iqm_rows(samples) == pytest.approx(expected, rel=1e-12)
    # bootstrap_ci's default statistic is that same row IQM
    tail = np.percentile(expected, [2.5, 97.5])
    assert stats.bootstrap_ci(x, reps=200, seed=3) == pytest.approx(tuple(tail), rel=1e-12)
    point, lo, hi = stats.iqm_with_ci(x, reps=200, seed=3)
    assert point == pytest.approx(trim_mean(x.ravel(), 0.25)) and (lo, hi) == pytest.approx(tuple(tail))


def test_interpolated_iqm_is_an_explicit_option():
    # value i holds mass [i/n, (i+1)/n]; [0.25, 0.75] covers 3/4 of values 2 and 6 (0-based) of 9
    # sorted 1..8, 90: (0.75*3 + 4 + 5 + 6 + 0.75*7) / 4.5 = 22.5 / 4.5 = 5.0
    assert stats.iqm_weights(9, "interpolated") * 4.5 == pytest.approx([0, 0, .75, 1, 1, 1, .75, 0, 0])
    # sorted 0 0 0 0 9 9 9 9 9: (0.75*0 + 0 + 9 + 9 + 0.75*9) / 4.5 = 5.5 (trimmed: 5.4)
    assert stats.iqm([9, 0, 9, 0, 9, 0, 9, 0, 9], method="interpolated") == pytest.approx(5.5)
    # n = 5: .3 .4 .3 on the middle three: .3*20 + .4*30 + .3*40 = 30
    assert stats.iqm_weights(5, "interpolated") == pytest.approx([0, 0.3, 0.4, 0.3, 0])
    # both agree when n is a multiple of 4
    assert stats.iqm_weights(8, "interpolated") == pytest.approx(stats.iqm_weights(8))
    x = [0.0, 1.0, 5.0, 9.0, 10.0]
    assert stats.iqm_with_ci(x, reps=500, method="interpolated")[0] == pytest.approx(0.3 + 2 + 2.7)
    with pytest.raises(ValueError, match="method: must be one of 'trimmed', 'interpolated', got 'median'"):
        stats.iqm(x, method="median")


def test_iqm_pools_runs_of_every_task():
    # [runs=2, tasks=2] -> pooled 1 2 3 4 -> middle two 2 3 -> 2.5
    assert stats.iqm([[1, 3], [2, 4]]) == pytest.approx(2.5)


def test_bootstrap_ci_of_two_runs_spans_them():
    # Two runs a < b: replicates are (a,a), (a,b), (b,a), (b,b) with IQM a, (a+b)/2, (a+b)/2, b;
    # each end has probability 1/4, so with 5000 replicates the 2.5th and 97.5th percentiles are a and b.
    assert stats.bootstrap_ci([1.0, 3.0]) == (1.0, 3.0)


def test_bootstrap_resamples_within_each_task_only():
    # Task 0 always scores 0, task 1 always 10, 2 runs each. Resampling within a task keeps two 0s and
    # two 10s in every replicate: IQM of 0 0 10 10 = (0 + 10) / 2 = 5 every time, so the CI is [5, 5].
    # (Resampling the 4 values pooled would produce replicates such as 0 0 0 10 with IQM 0.)
    scores = [[0.0, 10.0], [0.0, 10.0]]
    assert stats.iqm_with_ci(scores) == (5.0, 5.0, 5.0)
    samples = stats.stratified_bootstrap(scores, 100, np.random.default_rng(1))
    assert samples.shape == (100, 2, 2)
    assert (samples[:, :, 0] == 0).all() and (samples[:, :, 1] == 10).all()


def test_probability_of_improvement_counts_ties_as_half():
    # pairs (x, y): (1,2) loses 0, (2,2) ties 0.5, (3,2) wins 1 -> 1.5 / 3 = 0.5
    assert stats.probability_of_improvement([1, 2, 3], [2]) == pytest.approx(0.5)
    # x = 3 4, y = 1 3 5: 3>1 1, 3=3 .5, 3<5 0, 4>1 1, 4>3 1, 4<5 0 -> 3.5 / 6
    assert stats.probability_of_improvement([3, 4], [1, 3, 5]) == pytest.approx(3.5 / 6)


def test_probability_of_improvement_averages_over_tasks():
    # task 0: x 1 vs y 0 -> 1; task 1: x 0 vs y 1 -> 0; mean 0.5
    assert stats.probability_of_improvement([[1, 0]], [[0, 1]]) == pytest.approx(0.5)


def test_probability_of_improvement_ci():
    # x = 1 3 resampled: (1,1) -> 0, (1,3) or (3,1) -> 0.5, (3,3) -> 1 against y = 2, each end with
    # probability 1/4: the 95% interval is [0, 1]. Identical runs always tie: P = 0.5, CI [0.5, 0.5].
    assert stats.probability_of_improvement_with_ci([1.0, 3.0], [2.0]) == (0.5, 0.0, 1.0)
    assert stats.probability_of_improvement_with_ci([4.0, 4.0], [4.0, 4.0, 4.0]) == (0.5, 0.5, 0.5)


def test_mean_with_ci_of_identical_runs_is_a_line():
    mean, lo, hi = stats.mean_with_ci(np.array([[1.0, 2.0], [1.0, 2.0]]))
    assert mean.tolist() == lo.tolist() == hi.tolist() == [1.0, 2.0]


def test_empty_scores_are_refused():
    with pytest.raises(ValueError, match="non-empty"):
        stats.iqm([])
