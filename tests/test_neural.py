import numpy as np
import pytest

from streaming.neural.probe import capacity, probe_capacity
from streaming.tasks import make_task
from streaming.tokens import NUM0


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


# --- recurrent models: capture, resume, round ---------------------------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
from streaming.neural.models import RecurrentModel, config_for  # noqa: E402
from streaming.neural.state import calibrate, capture, coordinates, resume, round_state, state_bits  # noqa: E402


def model_and_batch(family, n=16, trials=64, seed=0):
    torch.manual_seed(seed)
    task = make_task("index", n)
    batch = task.batch(seed, 0, trials)
    model = RecurrentModel(config_for(family, "small", NUM0 + task.vocab, task.length)).eval()
    return task, batch, model


@pytest.mark.parametrize("family", ["lstm", "gru"])
def test_capture_and_resume_match_an_uninterrupted_run(family):
    task, batch, model = model_and_batch(family)
    tokens = torch.from_numpy(batch.tokens).long()
    with torch.no_grad():
        full, _ = model(tokens)
    cut = batch.cut
    state = capture(model, tokens[:, :cut])
    resumed = resume(model, state, tokens[:, cut:], start=cut)
    assert torch.allclose(resumed, full[:, cut:], atol=1e-5)
    # token-by-token continuation matches as well (the class of bug seen in multi-token cache continuation)
    step_state = state
    for t in range(cut, tokens.shape[1]):
        logits = resume(model, step_state, tokens[:, t : t + 1], start=t)
        with torch.no_grad():
            _, step_state = model(tokens[:, t : t + 1], step_state, start=t)
        assert torch.allclose(logits[:, 0], full[:, t], atol=1e-5)
    # rounding at 32 bits changes nothing
    same = resume(model, round_state(state, 32), tokens[:, cut:], start=cut)
    assert torch.equal(same, resumed)


@pytest.mark.parametrize("family,per_layer", [("lstm", 2), ("gru", 1)])
def test_state_bits_counted_from_the_tensors(family, per_layer):
    task, batch, model = model_and_batch(family)
    state = capture(model, torch.from_numpy(batch.tokens[:, : batch.cut]).long())
    d, layers = model.config.d_model, model.config.layers
    assert coordinates(state) == per_layer * layers * d  # LSTM keeps h and c, GRU only h
    assert state_bits(state, 4) == 4 * per_layer * layers * d
    assert state_bits(state, "bfloat16") == 16 * per_layer * layers * d


def test_rounding_error_shrinks_with_precision():
    task, batch, model = model_and_batch("lstm", trials=256)
    state = capture(model, torch.from_numpy(batch.tokens[:, : batch.cut]).long())
    ranges = calibrate(state)
    errors = []
    for p in (2, 4, 8, 16):
        rounded = round_state(state, p, ranges)
        errors.append(max((a - b).abs().max().item() for a, b in zip(rounded, state)))
    assert all(e1 > e2 for e1, e2 in zip(errors, errors[1:])) and errors[-1] < 1e-3
    for fmt in ("float16", "bfloat16"):
        rounded = round_state(state, fmt)
        assert all(r.dtype == torch.float32 for r in rounded)
    with pytest.raises(ValueError):
        round_state(state, "float3")
    with pytest.raises(ValueError):
        round_state(state, 4)  # uniform rounding needs calibrated ranges


# --- train / eval / probe commands -----------------------------------------------------------------------------------
from cli.main import main  # noqa: E402


def run_cli(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def test_train_eval_probe_round_trip(tmp_path, capsys):
    run = tmp_path / "run"
    code, out, _ = run_cli(["train", "--n", "8", "--model", "gru", "--steps", "20", "--out", str(run)], capsys)
    assert code == 0 and (run / "model.safetensors").exists() and (run / "config.json").exists()
    code, _, _ = run_cli(["train", "--n", "8", "--model", "gru", "--steps", "30", "--out", str(run), "--resume"],
                         capsys)
    assert code == 0 and '"steps_done": 30' in (run / "config.json").read_text()
    rows = tmp_path / "r.csv"
    code, out, _ = run_cli(["eval", str(run), "--trials", "300", "--out", str(rows)], capsys)
    assert code == 0 and "state bits" in out
    import csv

    (row,) = list(csv.DictReader(rows.open()))  # one ordinary result row
    assert row["reader"] == "gru:run@32" and row["task"] == "index" and row["distribution"] == "uniform"
    assert int(row["budget_bits"]) == 32 * 32 and row["audit"] == "ok"  # tiny GRU: 32 coordinates of 32 bits
    code, out, _ = run_cli(["probe", str(run), "--trials", "200", "--precision", "2,32,float16"], capsys)
    assert code == 0 and len(out.strip().splitlines()) == 4


def test_bad_checkpoints_exit_2(tmp_path, capsys):
    run = tmp_path / "run"
    run_cli(["train", "--n", "8", "--steps", "5", "--out", str(run)], capsys)
    other = tmp_path / "other"
    run_cli(["train", "--n", "8", "--size", "small", "--steps", "5", "--out", str(other)], capsys)
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    (truncated / "config.json").write_text((run / "config.json").read_text())
    (truncated / "model.safetensors").write_bytes((run / "model.safetensors").read_bytes()[:100])
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "config.json").write_text((run / "config.json").read_text())
    (mixed / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes())
    for bad in (tmp_path / "missing", truncated, mixed):
        code, _, err = run_cli(["eval", str(bad), "--trials", "50"], capsys)
        assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, _, err = run_cli(["probe", str(run), "--precision", "3.5"], capsys)
    assert code == 2


@pytest.mark.slow
def test_a_small_lstm_learns_index_at_n_16(tmp_path):
    """About two minutes on 2 cores: 12,000 AdamW steps (warm-up + cosine) on fresh streams."""
    from streaming.neural.train import evaluate, load_run, train

    task = make_task("index", 16)
    train(task, "lstm", "small", 12000, tmp_path / "run", lr=3e-3, seed=0, device="cpu")
    model, _ = load_run(tmp_path / "run")
    successes, bits = evaluate(model, task, 2000, seed=0)
    assert successes / 2000 >= 0.95 and bits == 32 * 2 * 2 * 64


def test_llama_kv_cache_is_its_state_and_grows_with_the_prefix(tmp_path, capsys):
    pytest.importorskip("transformers")
    from streaming.neural.models import build_model

    task = make_task("index", 16)
    batch = task.batch(0, 0, 8)
    torch.manual_seed(0)
    model = build_model(config_for("llama", "tiny", NUM0 + task.vocab, task.length)).eval()
    tokens = torch.from_numpy(batch.tokens).long()
    with torch.no_grad():
        full, _ = model(tokens)
    state = capture(model, tokens[:, : batch.cut])
    d, layers = model.config.d_model, model.config.layers
    assert coordinates(state) == 2 * layers * batch.cut * d  # keys and values of every prefix position
    resumed = resume(model, state, tokens[:, batch.cut :], start=batch.cut)
    assert torch.allclose(resumed, full[:, batch.cut :], atol=1e-5)
    shorter = capture(model, tokens[:, :5])
    assert coordinates(shorter) == 2 * layers * 5 * d
    with pytest.raises(ValueError):
        round_state(shorter, 8)
    run = tmp_path / "llama"
    code, _, _ = run_cli(["train", "--n", "8", "--model", "llama", "--steps", "5", "--out", str(run)], capsys)
    assert code == 0
    code, out, _ = run_cli(["eval", str(run), "--trials", "100"], capsys)
    assert code == 0 and f"with {2 * layers * 9 * d * 32} state bits" in out  # the cut is after 9 tokens
