"""`train`, `eval`, `probe`: neural readers on the tasks' own streams (the `models` extra: torch, safetensors)."""
from __future__ import annotations

import sys

import click
import numpy as np

from streaming.results import RowWriter, cell_key, existing_keys
from streaming.sweep import make_row
from streaming.tasks import make_task

from .hf import hf_eval, hf_options, hf_probe
from .main import UserError, cli, ensure_writable
from .options import collect_options, task_options


def need_torch():
    try:
        import safetensors  # noqa: F401
        import torch  # noqa: F401
    except ImportError:
        raise UserError("the neural commands need the models extra: pip install torch==2.13.0 "
                        "&& pip install -e '.[models]'") from None


def precisions(text: str, width: int = 32, native: bool = False) -> list:
    """Bits per coordinate 1..width (width: the state's own float, 32 for a run), or a float format; with `native`,
    also `native` (the state as the model keeps it; `width` bits is written so too)."""
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if part.isdigit() and 1 <= int(part) <= width:
            out.append("native" if native and int(part) == width else int(part))
        elif part in FLOAT_FORMATS or (native and part == "native"):
            out.append(part)
        elif native:
            raise UserError(f"bad precision {part!r}: bits per number from 1 to {width} (the model's own width), "
                            f"float16, bfloat16, float8 or native")
        else:
            raise UserError(f"bad precision {part!r}: bits per coordinate from 1 to {width} ({width}: the float32 "
                            f"state itself) or float16, bfloat16, float8")
    if not out:
        raise UserError("no precision given")
    return list(dict.fromkeys(out))


#: the float formats a state may be rounded to
FLOAT_FORMATS = ("float16", "bfloat16", "float8")


@cli.command()
@click.option("--task", default="index", show_default=True)
@click.option("--n", type=int, required=True)
@task_options
@click.option("--model", "family", default="lstm", show_default=True,
              help="lstm, gru, mamba, mamba2, llama, hybrid (Mamba stack + one LLaMA block, the paper's) or hybrid2 "
                   "(Mamba-2 stack + one LLaMA block)")
@click.option("--format", "fmt", default="vanilla", show_default=True,
              help="vanilla (answer after the stream), cot (chain of thought: IsTree's DFS walk) or retrieval "
                   "(queries the environment answers); see README, Formats")
@click.option("--accumulate", default=1, show_default=True, type=int,
              help="cut each batch into this many micro-batches of similar lengths (gradient accumulation)")
@click.option("--bf16", is_flag=True, help="bfloat16 autocast for the forward pass (CUDA only)")
@click.option("--size", default="tiny", show_default=True, help="tiny, small, or the paper's 0.5M, 1M, 2M")
@click.option("--steps", default=2000, show_default=True, type=int)
@click.option("--batch", default=64, show_default=True, type=int)
@click.option("--lr", default=3e-3, show_default=True, type=float)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="run directory")
@click.option("--resume", "resume_run", is_flag=True, help="continue the run in --out")
@click.option("--frozen-embedding/--trainable-embedding", default=True, show_default=True,
              help="tie embedding and head to a frozen sinusoidal code of the token id (the paper's setting)")
@click.option("--curriculum/--no-curriculum", default=True, show_default=True,
              help="start at size 8, double the size when training accuracy reaches 0.9 over 200 steps (or at a "
                   "deadline: the smaller sizes share the first half of the steps)")
@click.option("--head-bias/--no-head-bias", default=True, show_default=True,
              help="a bias in the output head (--no-head-bias: a llama run `export` can write as LlamaForCausalLM)")
def train(task, n, distribution, family, fmt, accumulate, bf16, size, steps, batch, lr, seed, device, out, resume_run,
          frozen_embedding, curriculum, head_bias, **kwargs):
    """Train a neural reader on fresh streams of a task (loss on the answer after each query); checkpoints as
    safetensors."""
    need_torch()
    from streaming.neural.train import train as do_train

    instance = make_task(task, n, distribution, **collect_options(kwargs))
    ensure_writable(out, folder=True)
    with click.progressbar(length=steps, label=f"training {family} on {task} n = {n}", file=sys.stderr,
                           hidden=not sys.stderr.isatty(), show_pos=True) as bar:
        def progress(step, loss, acc):
            bar.label = f"training {family}: loss {loss:.3f} acc {acc:.2f}"
            bar.update(1)

        result = do_train(instance, family, size, steps, out, batch=batch, lr=lr, seed=seed, device=device,
                          resume_run=resume_run, progress=progress, curriculum=curriculum,
                          frozen_embedding=frozen_embedding, fmt=fmt, accumulate=accumulate, bf16=bf16,
                          head_bias=head_bias)
    hist = result["history"]
    if hist:
        tail = hist[-min(50, len(hist)):]
        click.echo(f"trained {len(hist)} steps into {out}: last-{len(tail)}-step loss {np.mean([h[0] for h in tail]):.4f}, "
                   f"accuracy {np.mean([h[1] for h in tail]):.3f}")


class _NoRows:
    """Where rows go when no --out was given."""

    def __enter__(self):
        return self

    def __exit__(self, *_):
        return False

    def write(self, row) -> None:
        pass

    def check_new(self, *_) -> None:
        pass


class _NewRows:
    """A RowWriter that refuses a row whose cell the file already holds (as sweep does without --resume)."""

    def __init__(self, out):
        self._writer = RowWriter(out)
        self._done = existing_keys(out)
        self.path = out

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self._writer.close()
        return False

    def check_new(self, task, reader, trials, seed, fmt="vanilla", decode="stream") -> None:
        """Refuse before any work a cell the file holds whatever its budget (the state bits come from the run)."""
        for key in self._done:
            if key[:4] == (task.name, task.label(), str(task.n), reader) and key[5:7] == (str(trials), str(seed)) \
                    and key[8:10] == (fmt, decode):
                raise UserError(f"{self.path} already holds {reader} on these streams; choose another --out")

    def write(self, row) -> None:
        if cell_key(row) in self._done:
            raise UserError(f"{self.path} already holds the cell {row['reader']} at {row['budget_bits']} bits with "
                            f"these trials and seed; choose another --out")
        self._writer.write(row)
        self._done.add(cell_key(row))


def _row_writer(out):
    """A writer appending new cells to `out`, or one that keeps nothing when there is no `out`."""
    return _NewRows(out) if out else _NoRows()


def _run_task_options(fn):
    fn = click.option("--n", type=int, default=None, help="task size (default: the run's own; smaller ones fit)")(fn)
    return click.option("--task", "task_name", default=None, help="check that the run was trained on this task")(fn)


def _runs_or_hf(runs, hf_dir) -> None:
    if not runs and hf_dir is None:
        raise UserError("give a run directory, or a transformers directory with --hf DIR")
    if runs and hf_dir is not None:
        raise UserError("give run directories or --hf DIR, not both")


@cli.command("eval")
@click.argument("runs", nargs=-1)
@_run_task_options
@click.option("--trials", default=5000, show_default=True, type=int, help="streams")
@click.option("--seed", default=0, show_default=True, type=int, help="the streams a sweep with this seed reads")
@click.option("--precision", default=None,
              help="bits per coordinate or a float format; a list (2,4,32) writes a row per precision [default: 32; "
                   "with --hf: native]")
@click.option("--device", default="auto", show_default=True)
@hf_options
@click.option("--format", "fmt", default=None,
              help="check that the runs were trained in this format (vanilla, cot, retrieval)")
@click.option("--decode", default="free,teacher", show_default=True,
              help="for cot and retrieval runs: free (greedy decoding, the live environment answering queries), "
                   "teacher (teacher-forced exact match of the reference trace), or both")
@click.option("--no-environment", is_flag=True,
              help="decode without the retrieval environment (refused for retrieval runs: they need it)")
@click.option("--distribution", default=None,
              help="evaluate on another distribution of the run's task (e.g. hard for a run trained on authors)")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="append result rows here")
def eval_cmd(runs, task_name, n, trials, seed, precision, device, hf_dir, dtype, style, shots, answer_mode, fmt,
             decode, no_environment, distribution, out):
    """Accuracy of trained readers on their task's streams, as result rows (budget = state bits at the cut).

    Readers trained with chain of thought or retrieval continue from their state at the cut (Bob's first token),
    write their trace and answer; a missing answer scores 1/2 and is counted in the row. With --hf DIR, a causal
    LM from a local transformers directory reads the streams rendered as text (README: Probing your own model)."""
    need_torch()
    _runs_or_hf(runs, hf_dir)
    if hf_dir is not None:
        return hf_eval(hf_dir, task_name, n, distribution, trials, seed, precision, device, style, shots,
                       answer_mode, dtype, out, _row_writer)
    precision = precision or "32"
    from streaming.formats import FORMATS
    from streaming.neural.decode import evaluate_reader
    from streaming.neural.train import calibration_ranges, load_run, reader_name, rounds_uniformly, run_format, task_of

    if not 1 <= trials <= 1 << 24:
        raise UserError(f"--trials must lie in 1..{1 << 24}")
    if fmt is not None and fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
    modes = [m.strip() for m in decode.split(",") if m.strip()]
    if not modes or set(modes) - {"free", "teacher"}:
        raise UserError(f"bad --decode {decode!r}: free, teacher, or free,teacher")
    chosen = precisions(precision)
    ensure_writable(out)
    loaded = []
    for run in runs:  # every run checked before any is evaluated
        model, meta = load_run(run, device)
        task = task_of(meta, task_name, n, distribution)
        trained = run_format(meta)
        if fmt is not None and fmt != trained:
            raise UserError(f"{run} was trained in the {trained} format, not {fmt}")
        if trained == "retrieval" and no_environment:
            raise UserError(f"{run} is a retrieval reader: it needs the environment to answer its queries "
                            f"(drop --no-environment)")
        loaded.append((run, model, meta, task, trained))
    with _row_writer(out) as writer:
        for run, model, meta, task, trained in loaded:
            ranges = calibration_ranges(model, task, seed) if any(map(rounds_uniformly, chosen)) else None
            for p in chosen:
                name = reader_name(meta, run, p)
                scored = trials * task.queries
                uniform = ranges if rounds_uniformly(p) else None
                for mode in (["stream"] if trained == "vanilla" else modes):
                    writer.check_new(task, name, scored, seed, trained, mode)
                    got = evaluate_reader(model, task, trained, trials, seed, p, uniform, mode)
                    row = make_row(task, name, got["bits"], got["bits"], got["successes"], scored, seed, 0.0,
                                   cells=len(chosen), streams=trials, fmt=trained, decode=mode,
                                   missing=got["missing"], queries=got["queries"])
                    extra = f", {got['missing']} missing" if got["missing"] else ""
                    click.echo(f"{name}: {task.name} n = {task.n} ({trained}, {mode}): success {row['success']} "
                               f"with {got['bits']} state bits{extra} (bound {row['bound'] or 'none'})")
                    writer.write(row)


@cli.command()
@click.argument("run", required=False)
@_run_task_options
@click.option("--precision", "precision_text", default=None,
              help="[default: 2,4,8,16,32; with --hf: 2,4,8,16 below the model's width, and native]")
@click.option("--trials", default=2000, show_default=True, type=int)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True)
@click.option("--distribution", default=None,
              help="probe on another distribution of the run's task (default: the run's; it must be a hard one)")
@hf_options
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="append result rows here")
def probe(run, task_name, n, precision_text, trials, seed, device, distribution, hf_dir, dtype, style, shots,
          answer_mode, out):
    """How many bits of the input the state holds: success from the rounded state (a chain-of-thought or retrieval
    reader decodes freely from it), and a linear capacity probe. With --hf DIR, a causal LM from a local
    transformers directory (README: Probing your own model)."""
    need_torch()
    _runs_or_hf([run] if run else [], hf_dir)
    if hf_dir is not None:
        return hf_probe(hf_dir, task_name, n, distribution, trials, seed, precision_text, device, style, shots,
                        answer_mode, dtype, out, _row_writer)
    precision_text = precision_text or "2,4,8,16,32"
    from streaming.neural.pipeline import probe_rows
    from streaming.neural.train import load_run, task_of

    if not 10 <= trials <= 1 << 20:
        raise UserError(f"--trials must lie in 10..{1 << 20}")
    chosen = precisions(precision_text)
    ensure_writable(out)
    model, meta = load_run(run, device)
    task = task_of(meta, task_name, n, distribution)
    if not task.hard:
        raise UserError(f"the capacity probe reads the Index bits of a hard distribution ({task.name}: "
                        f"--distribution {type(task).distributions[0]})")
    click.echo(f"{'precision':>9} {'state bits':>10} {'success':>8} {'bound':>8} {'C (bits)':>9} {'C/bit':>7}")
    with _row_writer(out) as writer:
        for row, cap in probe_rows(model, meta, run, task, chosen, trials, seed):
            bits, c = cap["state_bits"], float(cap["capacity_bits"])
            click.echo(f"{str(cap['precision']):>9} {bits:>10} {float(row['success']):8.4f} "
                       f"{row['bound'] or 'none':>8} {c:9.2f} {c / bits:7.4f}")
            writer.write(row)
