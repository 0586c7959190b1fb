"""`eval --hf DIR`, `probe --hf DIR` (a causal LM trained anywhere, from a local transformers directory) and
`export RUN DIR` (a llama run as such a directory). See README, "Probing your own model"."""
from __future__ import annotations

import click

from streaming.sweep import make_row

from .main import UserError, cli, ensure_writable



def hf_options(fn):
    """The options `eval` and `probe` take for a transformers directory."""
    fn = click.option("--answer", "answer_mode", default="logprob", show_default=True,
                      help="with --hf: logprob (the answer word the model gives the highest log-probability) or "
                           "greedy (greedy generation, which must write an answer word)")(fn)
    fn = click.option("--shots", default=0, show_default=True, type=int,
                      help="with --hf: solved examples before each stream's context (a few-shot prefix)")(fn)
    fn = click.option("--render", "style", default=None,
                      help="with --hf: text (plain words) or tokens (the project's token text; the default for a "
                           "directory `export` wrote)")(fn)
    fn = click.option("--dtype", default="auto", show_default=True,
                      help="with --hf: auto (the checkpoint's), float32, float16 or bfloat16")(fn)
    return click.option("--hf", "hf_dir", default=None, type=click.Path(),
                        help="a local transformers directory (AutoModelForCausalLM + AutoTokenizer; never a hub)")(fn)


def hf_precisions(text: str, width: int) -> list:
    """Bits per number 1..the model's own width, a float format, or native (the state as the model keeps it)."""
    from .neural import precisions

    return precisions(text, width, native=True)


def _reader(hf_dir, task_name, n, distribution, style, shots, answer_mode, dtype, device, seed):
    """Load, pick the task and rendering, tokenize-check and run the exactness check: (HFReader, task)."""
    from streaming.neural.hf import ANSWER_MODES, HFReader, load_hf
    from streaming.tasks import make_task, task_from_spec
    from streaming.text import STYLES

    if answer_mode not in ANSWER_MODES:
        raise UserError(f"bad --answer {answer_mode!r}: {' or '.join(ANSWER_MODES)}")
    if style is not None and style not in STYLES:
        raise UserError(f"bad --render {style!r}: {' or '.join(STYLES)}")
    _quiet_transformers()
    loaded = load_hf(hf_dir, dtype, device)
    spec = loaded.marker.get("task") if isinstance(loaded.marker.get("task"), dict) else None
    if spec is not None:
        if task_name is not None and task_name != spec.get("name"):
            raise UserError(f"{hf_dir} was exported from a run on {spec.get('name')}, not on {task_name}")
        task = task_from_spec({**spec, **({"distribution": distribution} if distribution else {})}, n)
    else:
        if n is None:
            raise UserError("--n is needed with --hf (the size of the task's streams)")
        task = make_task(task_name or "index", n, distribution)
    style = style or loaded.marker.get("render", "text")
    reader = HFReader(loaded, task, style, shots, answer_mode == "greedy", seed)
    reader.check()
    return reader, task


def _quiet_transformers() -> None:
    """transformers' notes on its pure-torch fallbacks (no mamba_ssm on a CPU) and on loading: known, not news."""
    import logging

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    logging.getLogger("transformers.integrations.hub_kernels").setLevel(logging.ERROR)


def _describe(reader, state) -> str:
    shapes = state.shapes()
    kinds = {}
    for name, shape in shapes:
        kinds.setdefault(name, []).append(shape)
    parts = [f"{len(v)} x {name} {'x'.join(map(str, v[0]))}" + ("" if len(set(v)) == 1 else " (shapes vary)")
             for name, v in kinds.items()]
    dtype = str(next(reader.model.parameters()).dtype).replace("torch.", "")
    dead = "; conv states' oldest column never read, left out" if reader.dead_conv else ""
    return (f"{reader.loaded.architecture} at {dtype}, exact resume checked (token by token, 1e-5); state at the "
            f"cut: {', '.join(parts)} per stream = {state.coordinates()} numbers, {state.native_bits()} bits{dead}")


def _opened(hf_dir, task_name, n, distribution, style, shots, answer_mode, dtype, device, seed, trials, low, high,
            out, hard=False):
    """What eval and probe share before any output: the trials' range, the output path, the loaded and checked
    model, (for the probe) a hard distribution, and every stream's words tokenized: (HFReader, task)."""
    if not low <= trials <= high:
        raise UserError(f"--trials must lie in {low}..{high}")
    ensure_writable(out)
    reader, task = _reader(hf_dir, task_name, n, distribution, style, shots, answer_mode, dtype, device, seed)
    if hard and not task.hard:
        raise UserError(f"the capacity probe reads the Index bits of a hard distribution ({task.name}: "
                        f"--distribution {type(task).distributions[0]})")
    reader.vet(trials)
    return reader, task


def hf_eval(hf_dir, task_name, n, distribution, trials, seed, precision, device, style, shots, answer_mode, dtype,
            out, writer_for):
    from streaming.neural.hf import native_width, reader_label

    reader, task = _opened(hf_dir, task_name, n, distribution, style, shots, answer_mode, dtype, device, seed,
                           trials, 1, 1 << 24, out)
    chosen = hf_precisions(precision or "native", native_width(reader.loaded))
    state, _ = reader.states(seed, 2)
    click.echo(_describe(reader, state))
    ranges = reader.ranges() if any(isinstance(p, int) for p in chosen) else None
    decode = "free" if reader.greedy else "stream"
    with writer_for(out) as writer:
        for p in chosen:
            name = reader_label(reader.loaded, reader.style, shots, reader.greedy, p)
            scored = trials * task.queries
            writer.check_new(task, name, scored, seed, "vanilla", decode)
            got = reader.evaluate(trials, p, ranges)
            row = make_row(task, name, got["bits"], got["bits"], got["successes"], scored, seed, 0.0,
                           cells=len(chosen), streams=trials, decode=decode)
            extra = f", {got['unanswered']} answers no answer word" if got["unanswered"] else ""
            click.echo(f"{name}: {task.name} n = {task.n}: success {row['success']} with {got['bits']} state bits"
                       f"{extra} (bound {row['bound'] or 'none'}, audit {row['audit']})")
            writer.write(row)


def hf_probe(hf_dir, task_name, n, distribution, trials, seed, precision, device, style, shots, answer_mode, dtype,
             out, writer_for):
    from streaming.neural.hf import native_width, reader_label

    reader, task = _opened(hf_dir, task_name, n, distribution, style, shots, answer_mode, dtype, device, seed,
                           trials, 10, 1 << 20, out, hard=True)
    width = native_width(reader.loaded)
    chosen = hf_precisions(precision or ",".join(str(p) for p in (2, 4, 8, 16) if p < width) + ",native", width)
    state, _ = reader.states(seed, 2)
    click.echo(_describe(reader, state))
    click.echo(f"{'precision':>9} {'state bits':>10} {'success':>8} {'bound':>8} {'C (bits)':>9} {'C/bit':>7}")
    decode = "free" if reader.greedy else "stream"
    with writer_for(out) as writer:
        for p, ok, bits, c in reader.probe(chosen, trials):
            scored = trials * task.queries
            row = make_row(task, reader_label(reader.loaded, reader.style, shots, reader.greedy, p), bits, bits, ok,
                           scored, seed, 0.0, cells=len(chosen), streams=trials, decode=decode)
            click.echo(f"{str(p):>9} {bits:>10} {float(row['success']):8.4f} {row['bound'] or 'none':>8} "
                       f"{c:9.2f} {c / bits:7.4f}")
            writer.write(row)


@cli.command()
@click.argument("run")
@click.argument("directory", type=click.Path())
def export(run, directory):
    """Write a llama run as a standard transformers directory (LlamaForCausalLM, a word-level tokenizer over the
    project's tokens, and streambound.json naming its task), which `eval --hf` and `probe --hf` read back."""
    from .neural import need_torch

    need_torch()
    _quiet_transformers()
    from streaming.neural.export import export_run

    ensure_writable(directory, folder=True)
    done = export_run(run, directory)
    click.echo(f"exported {run} to {done['out']}: LlamaForCausalLM, {done['parameters']} parameters, a word-level "
               f"tokenizer over {done['vocab']} tokens")
