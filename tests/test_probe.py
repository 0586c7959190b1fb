"""The linear capacity probe (numpy only: collected whether or not torch is installed)."""
import numpy as np

from streaming.neural.probe import capacity, probe_capacity


# --- the capacity probe (numpy only) -------------------------------------------------------------------------------
def test_probe_recovers_every_bit_from_a_state_that_is_the_input():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 2, size=(4000, 24))
    states = x * 2.0 - 1.0 + 0.05 * rng.standard_normal(x.shape)  # the input itself, slightly noisy
    c, errors = probe_capacity(states[:3000], x[:3000], states[3000:], x[3000:])
    assert errors.max() == 0 and abs(c - 24) < 1e-9


def test_probe_recovers_nothing_from_a_constant_state():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2, size=(4000, 24))
    states = np.ones((4000, 8))
    c, errors = probe_capacity(states[:3000], x[:3000], states[3000:], x[3000:])
    assert c < 0.1 and np.all(np.abs(errors - 0.5) < 0.06)


def test_probe_sees_a_linear_mixture_but_not_more_than_the_state_holds():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 2, size=(6000, 16))
    mix = rng.standard_normal((8, 8))
    states = (x[:, :8] * 2.0 - 1.0) @ mix  # an invertible mixture of the first 8 bits only
    c, errors = probe_capacity(states[:5000], x[:5000], states[5000:], x[5000:])
    assert np.all(errors[:8] < 0.01) and np.all(errors[8:] > 0.4)
    assert 7.5 < c < 8.5
    assert capacity([0.5, 0.7, 0.0]) == 1.0


def test_probe_with_more_coordinates_than_states_uses_the_dual_form():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, size=(900, 12))
    noise = rng.standard_normal((900, 2000))  # a KV-cache-like state: far more coordinates than streams
    states = np.concatenate([x * 2.0 - 1.0, noise], axis=1)
    c, errors = probe_capacity(states[:600], x[:600], states[600:], x[600:], ridge=1e-2)
    assert errors.max() < 0.05 and c > 10
    c0, _ = probe_capacity(noise[:600], x[:600], noise[600:], x[600:], ridge=1e-2)
    assert c0 < 1.5  # noise alone: the fitted probes do not generalise
