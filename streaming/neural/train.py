"""Training, checkpoints and evaluation of the neural readers on the tasks' own streams.

A run directory holds `model.safetensors` (weights), `config.json` (model and task) and `optimizer.pt` (to
resume). Evaluation reads exactly the streams a sweep with the same seed reads.
"""
from __future__ import annotations

import json
import math
from contextlib import contextmanager
from pathlib import Path

import numba
import numpy as np
import torch

from ..engine import SEED_LIMIT, check_seed_value
from ..formats import build, check_format, length_buckets, sequence_length
from ..rng import mix64
from ..tasks import make_task, task_from_spec
from ..tokens import NUM0
from .probe import probe_capacity
from .models import ModelConfig, build_model, config_for
from .state import calibrate, capture, flatten, resume, round_state, state_bits

FORMAT = "streambound-model"
#: the longest stream a neural reader is built for (position codes and attention grow with it)
MAX_MODEL_LEN = 1 << 16


class CheckpointError(ValueError):
    """A run directory that is missing, truncated, or holds another model."""


def pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; use auto, cpu or cuda")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but no CUDA device is present")
    return torch.device(device)


def save_run(out: Path, model, meta: dict, optimizer=None) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(out / "model.safetensors"))
    (out / "config.json").write_text(json.dumps(meta, indent=1) + "\n")
    if optimizer is not None:
        torch.save(optimizer.state_dict(), out / "optimizer.pt")


def load_run(path, device: str = "cpu"):
    """(model, meta) from a run directory; CheckpointError with one clear line for anything wrong."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise CheckpointError(f"{path}: not a streambound run (needs config.json and model.safetensors)")
    try:
        meta = json.loads((path / "config.json").read_text())
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{path}: config.json is not a streambound model config")
        config = ModelConfig(**meta["model"])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: unreadable model config ({exc})") from None
    model = build_model(config)
    try:
        weights = load_file(str(path / "model.safetensors"))
    except (SafetensorError, OSError, RuntimeError) as exc:
        raise CheckpointError(f"{path}: model.safetensors is truncated or corrupt ({exc})") from None
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError:
        raise CheckpointError(f"{path}: the weights belong to another model than its config.json describes") from None
    return model.to(pick_device(device)).eval(), meta


def task_of(meta: dict, name: str | None = None, n: int | None = None, distribution: str | None = None):
    """The task (with its distribution and options) a run was trained on; `n` evaluates it at another size that
    fits the model's streams, `distribution` on another of the task's distributions (the hard IsTree graphs lie
    inside the authors' family), `name` only checks that the run was trained on that task."""
    spec = meta["task"]
    if name is not None and name != spec["name"]:
        raise ValueError(f"the run was trained on {spec['name']}, not on {name}")
    if distribution is not None:
        spec = {**spec, "distribution": distribution}
    task = task_from_spec(spec, n)
    fmt = run_format(meta)
    check_format(task, fmt)
    if sequence_length(task, fmt) > meta["model"]["max_len"]:
        raise ValueError(f"{spec['name']} at n = {task.n} has {sequence_length(task, fmt)}-token sequences "
                         f"({fmt}); the model reads at most {meta['model']['max_len']} (trained at n = {spec['n']})")
    return task


def run_format(meta: dict) -> str:
    """The format a run was trained in (runs from before formats existed: vanilla)."""
    return meta.get("reader_format", "vanilla")


def reader_name(meta: dict, run, precision) -> str:
    """How a run appears in result rows: family:directory@precision."""
    return f"{meta['model']['family']}:{Path(run).name}@{precision}"


@contextmanager
def quiet_numba():
    """One numba thread for the stream generator while torch trains: a batch of 64 streams needs no parallel
    loop, and numba's idle OpenMP workers spun beside torch's (97% of a profiled Mamba-2 run sat in libgomp)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


CURRICULUM_START = 8  # the curriculum's first task size
CURRICULUM_WINDOW = 200  # steps of training accuracy that decide a move
CURRICULUM_PASS = 0.9  # training accuracy that moves the curriculum to twice the size


def _stage_sizes(n: int) -> list:
    sizes = [min(n, CURRICULUM_START)]
    while sizes[-1] < n:
        sizes.append(min(n, 2 * sizes[-1]))
    return sizes


def _deadline(n: int, stage_n: int, total: int) -> int:
    """The step by which the curriculum leaves stage_n whatever the accuracy: the stages below the full size
    share the first half of training evenly, so the full size always gets at least half of the steps."""
    sizes = _stage_sizes(n)
    below = len(sizes) - 1
    j = sizes.index(stage_n)
    return (j + 1) * total // (2 * max(1, below))


def _stage(task, n: int):
    """The task at size n (same name, distribution and options): a shorter stream the same model reads."""
    return task if n >= task.n else task.with_size(n)


def train(task, family: str, size: str, steps: int, out, batch: int = 64, lr: float = 3e-3, seed: int = 0,
          device: str = "auto", resume_run: bool = False, progress=None, curriculum: bool = True,
          frozen_embedding: bool = True, fmt: str = "vanilla", accumulate: int = 1, bf16: bool = False,
          head_bias: bool = True) -> dict:
    """AdamW with warm-up and a cosine schedule on fresh streams (loss on the answer token); saves the run.

    With `curriculum`, training starts on the task at size 8 and doubles the size each time the training
    accuracy over the last 200 steps reaches 0.9, up to the task's own size (the model, sized for the full
    stream, reads the shorter ones unchanged); a stage that does not pass moves on at its deadline, the stages
    below the full size sharing the first half of the steps. Evaluation always reads the full size.

    `fmt` (``streaming.formats``): in ``cot`` and ``retrieval`` the loss reads the trace and the answer (never the
    stream, never what the environment wrote), and the accuracy is the exact match of the whole trace; each batch
    is cut into `accumulate` micro-batches of similar lengths (each padded to its own longest), whose gradients
    add up; `bf16` runs the forward pass under bfloat16 autocast (CUDA only); `head_bias` False leaves the output
    head without a bias (what `export` needs of a llama run)."""
    if not 1 <= steps <= 1 << 30 or not 1 <= batch <= 1 << 16 or not 0 < lr <= 10:
        raise ValueError("steps (1..2^30), batch (1..65536) and lr (0..10] are out of range")
    check_format(task, fmt)
    if not 1 <= accumulate <= batch:
        raise ValueError(f"--accumulate must lie in 1..batch ({batch}), got {accumulate}")
    if sequence_length(task, fmt) > MAX_MODEL_LEN:
        raise ValueError(f"{task.name} at n = {task.n} has {sequence_length(task, fmt)}-token sequences in the "
                         f"{fmt} format; the neural readers take at most {MAX_MODEL_LEN}")
    check_seed_value(seed)
    out = Path(out)
    if resume_run and not (out / "config.json").is_file():
        raise ValueError(f"{out}: no run to resume there (no config.json)")
    if not resume_run and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} already holds {'a run' if (out / 'config.json').exists() else 'files'}: pass "
                         f"--resume to continue it, or choose another --out")
    dev = pick_device(device)
    if bf16 and dev.type != "cuda":
        raise ValueError("--bf16 (bfloat16 autocast) is for CUDA devices; this run is on the CPU")
    torch.manual_seed(seed)
    if dev.type == "cpu":
        torch.set_flush_denormal(True)  # subnormal floats slowed Mamba-2 steps 10-fold on the CPU
    with quiet_numba():
        return _train(task, family, size, steps, out, batch, lr, seed, dev, resume_run, progress, curriculum,
                      frozen_embedding, (fmt, accumulate, bf16), head_bias)


def _answers_at(logits, positions, task, answers, dev):
    """Logits at the query positions (streams x Q x vocab) and the answer tokens (streams x Q)."""
    y = torch.from_numpy(task.answer_tokens(answers).reshape(answers.shape[0], -1)).long().to(dev)
    return logits[:, list(positions)], y


def training_step(model, optimizer, task, seed: int, batch: int, dev) -> tuple:
    """One AdamW step on a fresh batch (loss on the answer token after each query, gradients clipped to norm 1):
    (loss, accuracy)."""
    b = task.batch(seed, 0, batch)
    x = torch.from_numpy(b.tokens).long().to(dev)
    logits, _ = model(x)
    at, y = _answers_at(logits, b.queries, task, b.answers, dev)
    loss = torch.nn.functional.cross_entropy(at.reshape(-1, at.shape[-1]), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return float(loss.detach()), float((at.argmax(-1) == y).float().mean())


def trace_step(model, optimizer, task, fmt: str, seed: int, batch: int, dev, accumulate: int = 1,
               bf16: bool = False) -> tuple:
    """One AdamW step on a fresh batch in a trace format: cross-entropy on the trained tokens (the trace and the
    answer), summed over length-bucketed micro-batches; (loss per trained token, exact-match accuracy)."""
    seqs = build(task, task.batch(seed, 0, batch), fmt)
    total = max(1, int(seqs.trained.sum()))
    optimizer.zero_grad()
    loss_sum, exact = 0.0, 0
    for idx in length_buckets(seqs.lengths, accumulate):
        width = int(seqs.lengths[idx].max())
        x = torch.from_numpy(seqs.tokens[idx, :width]).to(dev)
        mask = torch.from_numpy(seqs.trained[idx, 1:width]).to(dev)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            logits, _ = model(x[:, :-1])
        logits = logits.float()
        per = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                                reduction="none").reshape(mask.shape)
        loss = (per * mask).sum() / total
        loss.backward()
        loss_sum += float(loss.detach())
        exact += int(((logits.argmax(-1) == x[:, 1:]) | ~mask).all(dim=1).sum())
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss_sum, exact / batch


def training_seed(seed: int, step: int) -> int:
    """The stream seed of a training batch: a hash of (run seed, step) in [2^62, 2^63), a domain of its own:
    evaluation, sweeps and probes take seeds below 2^62, so no evaluation stream can repeat a training batch."""
    h = int(mix64(np.uint64((int(seed) * 0x9E3779B97F4A7C15 + int(step) + 0x632BE59BD9B4E019) % (1 << 64))))
    return SEED_LIMIT + h % SEED_LIMIT


def rounds_uniformly(precision) -> bool:
    """Whether a precision is the calibrated uniform quantiser (an integer below 32 bits), which needs ranges."""
    return not isinstance(precision, str) and precision < 32


def _train(task, family, size, steps, out, batch, lr, seed, dev, resume_run, progress, curriculum,
           frozen_embedding, fmt_options, head_bias: bool = True) -> dict:
    fmt, accumulate, bf16 = fmt_options
    done = 0
    if resume_run:
        model, meta = load_run(out, str(dev))
        if meta["model"]["family"] != family or meta["task"] != task.spec() or run_format(meta) != fmt:
            raise ValueError(f"{out} holds a {meta['model']['family']} run on {meta['task']['name']} n = "
                             f"{meta['task']['n']} ({meta['task']['distribution']}, format {run_format(meta)}); "
                             f"--resume continues it with the same --model, --task, --n, --format and options")
        model.train()
        done = int(meta["steps_done"])
    else:
        config = config_for(family, size, NUM0 + task.vocab, sequence_length(task, fmt), frozen_embedding,
                            head_bias)
        model = build_model(config).to(dev)
        meta = {"format": FORMAT, "model": config.to_dict(), "task": task.spec(), "reader_format": fmt,
                "steps_done": 0,
                "steps": steps, "batch": batch, "lr": lr, "seed": seed,
                "curriculum_n": min(task.n, CURRICULUM_START) if curriculum else task.n}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)
    if done and (out / "optimizer.pt").exists():
        optimizer.load_state_dict(torch.load(out / "optimizer.pt", map_location=dev))
    meta["steps"] = max(steps, done)
    total = meta["steps"]
    history = []
    stage_n = int(meta.get("curriculum_n", task.n))
    current, since = _stage(task, stage_n), 0
    try:
        for step in range(done, total):
            warm = max(1, total // 20)  # 5% linear warm-up, then cosine decay
            for group in optimizer.param_groups:
                group["lr"] = lr * min(1.0, (step + 1) / warm) * 0.5 * (1 + math.cos(math.pi * step / total))
            if fmt == "vanilla":
                history.append(training_step(model, optimizer, current, training_seed(seed, step), batch, dev))
            else:
                history.append(trace_step(model, optimizer, current, fmt, training_seed(seed, step), batch, dev,
                                          accumulate, bf16))
            meta["steps_done"] = step + 1
            since += 1
            passed = since >= CURRICULUM_WINDOW and \
                np.mean([h[1] for h in history[-CURRICULUM_WINDOW:]]) >= CURRICULUM_PASS
            if stage_n < task.n and (passed or step + 1 >= _deadline(task.n, stage_n, total)):
                sizes = _stage_sizes(task.n)
                stage_n, since = sizes[sizes.index(stage_n) + 1], 0
                current = _stage(task, stage_n)
                meta["curriculum_n"] = stage_n
                meta.setdefault("curriculum_steps", {})[str(stage_n)] = step + 1
            if progress is not None:
                progress(step + 1, *history[-1])
            if (step + 1) % 500 == 0 or step + 1 == total:
                recent = history[-500:]
                meta["recent"] = {"n": stage_n, "loss": round(float(np.mean([h[0] for h in recent])), 5),
                                  "accuracy": round(float(np.mean([h[1] for h in recent])), 5)}
                save_run(out, model, meta, optimizer)
    except KeyboardInterrupt:  # keep every finished step: the run resumes from here with --resume
        if meta["steps_done"] > done:
            save_run(out, model, meta, optimizer)
        raise
    if done >= total:
        save_run(out, model, meta, optimizer)
    return {"meta": meta, "history": history}


@torch.no_grad()
def evaluate(model, task, trials: int, seed: int, precision=32, ranges=None):
    """Right answers (over every query of every stream) when Bob's part is read from the state at the cut, rounded
    to `precision`, and the state's bits."""
    check_seed_value(seed)
    dev = next(model.parameters()).device
    successes = 0
    bits = None
    for b in task.chunks(seed, trials, max_tokens=1 << 18):
        tokens = torch.from_numpy(b.tokens).long().to(dev)
        state = capture(model, tokens[:, : b.cut])
        bits = state_bits(state, precision)
        logits = resume(model, round_state(state, precision, ranges), tokens[:, b.cut :], start=b.cut)
        at, y = _answers_at(logits, [q - b.cut for q in b.queries], task, b.answers, dev)
        successes += int((at.argmax(-1) == y).sum())
    return successes, bits


@torch.no_grad()
def cut_states_of(model, task, trials: int, seed: int):
    """Flattened float32 states at the cut (trials x coordinates) and the Index bits behind each stream."""
    check_seed_value(seed)
    dev = next(model.parameters()).device
    b = task.batch(seed, 0, trials)
    state = capture(model, torch.from_numpy(b.tokens[:, : b.cut]).long().to(dev))
    flat = flatten(state)
    index = make_task("index", task.index_size).batch(seed, 0, trials)
    x = index.tokens[:, 1 : task.index_size + 1] - NUM0
    return flat.cpu().numpy(), x, state


def calibration_ranges(model, task, seed: int, trials: int = 512):
    """Per-coordinate ranges for the uniform quantiser, from held-out streams (another seed)."""
    _, _, state = cut_states_of(model, task, trials, seed + 7919)
    return calibrate(state)


def probe_model(model, task, precisions, trials: int, seed: int, fmt: str = "vanilla"):
    """For each precision: (precision, successes, state bits, linear capacity C in bits, missing answers) of the
    model resumed from its state rounded to that precision (a cot or retrieval reader decodes freely from there),
    and of ridge probes fitted on rounded states of other streams."""
    from .decode import evaluate_reader

    ranges = calibration_ranges(model, task, seed) if any(map(rounds_uniformly, precisions)) else None
    _, train_x, train_raw = cut_states_of(model, task, trials, seed + 104729)
    _, test_x, test_raw = cut_states_of(model, task, trials, seed)
    for p in precisions:
        uniform = ranges if rounds_uniformly(p) else None
        got = evaluate_reader(model, task, fmt, trials, seed, p, uniform, "stream" if fmt == "vanilla" else "free")
        ok, bits, missing = got["successes"], got["bits"], got["missing"]
        c, _ = probe_capacity(flatten(round_state(train_raw, p, uniform)).cpu().numpy(), train_x,
                              flatten(round_state(test_raw, p, uniform)).cpu().numpy(), test_x)
        yield p, ok, bits, c, missing
