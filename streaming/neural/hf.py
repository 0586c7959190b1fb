"""A causal language model trained anywhere, read on our streams: a local transformers directory (``--hf DIR``).

Loading never leaves the directory and never runs its code: ``local_files_only=True``, ``trust_remote_code=False``,
weights from safetensors only (a config with ``auto_map`` is refused). The streams are rendered as text
(``streaming.text``) and tokenized with the model's own tokenizer; the context is read in one call and the state at
the cut is the cache object transformers returns, read generically (``HFState``): the keys and values of every
attention layer (they grow with the context), the conv and SSM (``recurrent_states``) tensors of every Mamba or
Mamba-2 layer, and both for a hybrid's layers. A cache holding any other tensor, or none, is refused: every tensor
that crosses the cut is counted. The oldest column of a conv state is left out of the count when the model shows it
never reads it (spoiling it changes no logit). Bob's part is fed one token at a time, and before any number is
reported ``check_exact`` proves on the loaded model that a state moved from its streams into a cache captured on
other streams resumes to the uninterrupted run's logits, token by token.
"""
from __future__ import annotations

import copy
import inspect
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..engine import check_seed_value
from ..tasks import make_task
from ..text import render_batch, shots_prefix
from ..tokens import NUM0
from .probe import probe_capacity
from .state import FLOAT_FORMATS, calibrate, flatten, round_state
from .train import CheckpointError, pick_device

#: what `streambound export` writes beside the model: the task and the rendering its run reads
MARKER = "streambound.json"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
#: the exactness check: |resumed - uninterrupted| <= TOLERANCE * (1 + |logit|) at float32
TOLERANCE = 1e-5
#: the exactness check at 16-bit: a few of the dtype's rounding steps
TOLERANCE_16 = {torch.float16: 4 * 2.0 ** -10, torch.bfloat16: 4 * 2.0 ** -7}
ANSWER_MODES = ("logprob", "greedy")
KV_NAMES = ("keys", "values")
RECURRENT_NAMES = ("conv_states", "recurrent_states")


class NotReadable(CheckpointError):
    """A model whose cache streambound cannot read, or whose resume is not exact."""


def _line(exc) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


@dataclass
class Loaded:
    model: object
    tokenizer: object
    path: Path
    architecture: str
    vocab: int
    max_positions: int | None
    marker: dict


def load_hf(path, dtype: str = "auto", device: str = "cpu") -> Loaded:
    """Model and tokenizer from a local transformers directory; CheckpointError with one line for anything wrong."""
    import transformers
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    path = Path(path)
    if dtype != "auto" and dtype not in DTYPES:
        raise ValueError(f"unknown --dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    dev = pick_device(device)
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such directory")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path}: no config.json (not a transformers model directory)")
    try:
        raw = json.loads((path / "config.json").read_text())
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{path}: config.json is unreadable ({_line(exc)})") from None
    kind = raw.get("model_type")
    if "auto_map" in raw:
        raise CheckpointError(f"{path}: its config asks for code from the directory (auto_map, architecture "
                              f"{kind!r}); streambound never runs a model's own code")
    if kind not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise CheckpointError(f"{path}: unsupported architecture {kind!r}: not a causal language model that "
                              f"transformers {transformers.__version__} runs")
    try:
        config = AutoConfig.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001 (transformers raises many kinds; each is one line for the user)
        raise CheckpointError(f"{path}: its {kind} config.json cannot be read ({_line(exc)})") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True, trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path}: no tokenizer transformers can load there ({_line(exc)})") from None
    if not any(path.glob("*.safetensors")):
        raise CheckpointError(f"{path}: no .safetensors weights (streambound reads weights from safetensors only)")
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            path, config=config, local_files_only=True, trust_remote_code=False, use_safetensors=True,
            dtype="auto" if dtype == "auto" else DTYPES[dtype], output_loading_info=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(f"{path}: the {kind} weights cannot be loaded ({_line(exc)})") from None
    missing = list(info.get("missing_keys", [])) + list(info.get("mismatched_keys", []))
    if missing:
        raise CheckpointError(f"{path}: the weights lack {len(missing)} of the {kind} model's tensors "
                              f"({missing[0]}, ...)")
    if model.dtype not in (torch.float32, torch.float64) and model.dtype not in TOLERANCE_16:
        raise CheckpointError(f"{path}: weights in {model.dtype}; use --dtype float32, float16 or bfloat16")
    marker = {}
    if (path / MARKER).is_file():
        try:
            marker = json.loads((path / MARKER).read_text())
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{path}: {MARKER} is unreadable ({_line(exc)})") from None
    vocab = model.get_output_embeddings().weight.shape[0] if model.get_output_embeddings() is not None \
        else config.vocab_size
    return Loaded(model.to(dev).eval(), tokenizer, path, kind, int(vocab),
                  getattr(config, "max_position_embeddings", None), marker)


# --- the state: the cache object transformers returns, read generically ----------------------------------------
def _slots(cache, streams: int, architecture: str) -> list:
    """(layer, attribute, key) of every tensor in the cache; NotReadable when it holds anything else."""
    layers = getattr(cache, "layers", None)
    if not isinstance(layers, list) or not layers:
        raise NotReadable(f"streambound cannot read the cache of {architecture}: a {type(cache).__name__} "
                          f"without layers")
    if any(isinstance(v, torch.Tensor) for v in vars(cache).values()):
        raise NotReadable(f"streambound cannot read the cache of {architecture}: {type(cache).__name__} holds "
                          f"tensors outside its layers")
    slots = []
    for i, layer in enumerate(layers):
        for name, value in vars(layer).items():
            if isinstance(value, torch.Tensor):
                if name not in KV_NAMES:
                    raise NotReadable(f"streambound cannot read the cache of {architecture}: its "
                                      f"{type(layer).__name__} holds a tensor {name!r}")
                if value.numel():
                    slots.append((i, name, None))
            elif isinstance(value, dict) and any(isinstance(v, torch.Tensor) for v in value.values()):
                if name not in RECURRENT_NAMES:
                    raise NotReadable(f"streambound cannot read the cache of {architecture}: its "
                                      f"{type(layer).__name__} holds tensors in {name!r}")
                slots += [(i, name, k) for k in sorted(value) if isinstance(value[k], torch.Tensor)]
            elif isinstance(value, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in value):
                raise NotReadable(f"streambound cannot read the cache of {architecture}: its "
                                  f"{type(layer).__name__} holds a list of tensors {name!r}")
    if not slots:
        raise NotReadable(f"streambound cannot read the cache of {architecture}: it holds no tensors")
    for slot in slots:
        t = _raw(cache, slot)
        if t.shape[0] != streams:
            raise NotReadable(f"streambound cannot read the cache of {architecture}: a tensor of shape "
                              f"{tuple(t.shape)} has no axis of the {streams} streams first")
    return slots


def _raw(cache, slot):
    i, name, key = slot
    value = getattr(cache.layers[i], name)
    return value if key is None else value[key]


class HFState:
    """A transformers cache seen as the state's tensors (``state.state_tensors`` and ``with_tensors`` read it
    through ``state_view`` and ``with_view``, so rounding, calibration and flattening are the project's own)."""

    def __init__(self, cache, slots: list, dead_conv: bool = False):
        self.cache, self.slots, self.dead_conv = cache, slots, dead_conv

    def _get(self, slot):
        t = _raw(self.cache, slot)
        return t[..., 1:] if slot[1] == "conv_states" and self.dead_conv else t

    def state_view(self) -> list:
        return [self._get(slot).float() for slot in self.slots]

    def with_view(self, tensors: list) -> "HFState":
        fresh = copy.copy(self.cache)
        fresh.layers = [copy.copy(layer) for layer in self.cache.layers]
        for layer in fresh.layers:  # own dicts (states and flags), so the original cache is never touched
            for name, value in list(vars(layer).items()):
                if isinstance(value, dict):
                    setattr(layer, name, dict(value))
        for slot, t in zip(self.slots, tensors, strict=True):
            i, name, key = slot
            t = t.to(_raw(self.cache, slot).dtype)
            if name == "conv_states" and self.dead_conv:  # the column the next step shifts out unread
                t = torch.cat([torch.zeros_like(t[..., :1]), t], dim=-1)
            t = t.contiguous().clone()
            if key is None:
                setattr(fresh.layers[i], name, t)
            else:
                getattr(fresh.layers[i], name)[key] = t
        return HFState(fresh, self.slots, self.dead_conv)

    def clone(self) -> "HFState":
        return self.with_view(self.state_view())

    def select(self, rows) -> "HFState":
        rows = torch.as_tensor(np.asarray(rows), dtype=torch.long)
        return self.with_view([t[rows.to(t.device)] for t in self.state_view()])

    def coordinates(self) -> int:
        return sum(self._get(slot)[0].numel() for slot in self.slots)

    def native_bits(self) -> int:
        return sum(self._get(slot)[0].numel() * self._get(slot).element_size() * 8 for slot in self.slots)

    def shapes(self) -> list:
        """(attribute, shape per stream) of every tensor counted."""
        return [(slot[1], tuple(self._get(slot).shape[1:])) for slot in self.slots]


def _takes_cache(model) -> bool:
    return "cache" in inspect.signature(model.forward).parameters


@torch.no_grad()
def capture(model, ids: torch.Tensor, architecture: str, dead_conv: bool = False) -> HFState:
    """The state after reading `ids` (streams x tokens) in one call."""
    if not _takes_cache(model):
        raise NotReadable(f"streambound cannot read the cache of {architecture}: its forward takes no cache")
    out = model(input_ids=ids, use_cache=True)
    cache = getattr(out, "cache", None) if "cache" in out else None
    if cache is None:
        raise NotReadable(f"streambound cannot read the cache of {architecture}: it returns "
                          f"{', '.join(k for k in out if k != 'logits') or 'no cache'}")
    return HFState(cache, _slots(cache, ids.shape[0], architecture), dead_conv)


@torch.no_grad()
def steps(model, state: HFState, ids: torch.Tensor) -> tuple:
    """Logits (streams x tokens x vocab) of `ids` read one token at a time from `state`, which is consumed (pass
    a clone to keep it), and the state after them."""
    logits = []
    for t in range(ids.shape[1]):
        out = model(input_ids=ids[:, t : t + 1], cache=state.cache, use_cache=True)
        state = HFState(out.cache, state.slots, state.dead_conv)
        logits.append(out.logits[:, -1:].float())
    return torch.cat(logits, dim=1), state


def _close(a: torch.Tensor, b: torch.Tensor, dtype) -> tuple:
    tol = TOLERANCE_16.get(dtype, TOLERANCE)
    gap = (a - b).abs()
    return bool((gap <= tol * (1 + b.abs())).all()), float(gap.max())


@torch.no_grad()
def check_exact(model, ids: torch.Tensor, cut: int, architecture: str) -> bool:
    """Prove on these streams (at least two) that the state read at the cut is all the model carries: a state moved
    from its streams into a cache captured on other streams resumes, token by token, to the uninterrupted run's
    logits at every position after the cut (and after half the cut). Returns whether the conv states' oldest column
    is never read (then the state view leaves it out). NotReadable with one line otherwise."""
    full = model(input_ids=ids, use_cache=True).logits.float()
    dtype = next(model.parameters()).dtype
    own = capture(model, ids[:, :cut], architecture)
    dead = False
    if any(slot[1] == "conv_states" for slot in own.slots):
        reference, _ = steps(model, own.clone(), ids[:, cut:])
        spoiled = own.clone()
        for slot in spoiled.slots:
            if slot[1] == "conv_states":
                _raw(spoiled.cache, slot)[..., 0] = 1e3
        logits, _ = steps(model, spoiled, ids[:, cut:])
        dead = torch.equal(logits, reference)
    for at in sorted({cut, max(1, cut // 2)}):
        own = capture(model, ids[:, :at], architecture, dead)
        other = capture(model, torch.roll(ids, 1, dims=0)[:, :at], architecture, dead)
        if [s for s, _ in own.shapes()] != [s for s, _ in other.shapes()] or own.shapes() != other.shapes():
            raise NotReadable(f"{architecture}: its cache changes shape with the streams read; streambound cannot "
                              f"count it")
        moved = other.with_view(own.state_view())
        logits, _ = steps(model, moved, ids[:, at:])
        ok, gap = _close(logits, full[:, at:], dtype)
        if not ok:
            raise NotReadable(f"{architecture}: resuming from the captured state is not exact (off by {gap:.2e} "
                              f"against the uninterrupted run, token by token after {at} tokens); streambound "
                              f"reports no number for it")
    return dead


# --- streams as token ids --------------------------------------------------------------------------------------
@dataclass
class Encoded:
    contexts: torch.Tensor  # streams x context tokens
    questions: list  # per stream, per query: token ids
    answers: np.ndarray  # streams x Q: index into `candidates`
    candidates: list  # token ids of each answer word
    separator: list
    feed: bool


class Encoder:
    """The model's tokenizer applied to rendered streams, with every check that the text survives it."""

    def __init__(self, loaded: Loaded, task, style: str, shots: int, seed: int):
        self.loaded, self.task, self.style = loaded, task, style
        self.prefix = shots_prefix(task, style, shots, seed)
        self.tokenizer = loaded.tokenizer
        self.bos = None

    def _ids(self, text: str) -> list:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def _check(self, text: str, ids: list, what: str) -> None:
        unk = self.tokenizer.unk_token_id
        where = self.loaded.path
        if text.strip() and not ids:
            raise CheckpointError(f"the tokenizer of {where} cannot render the task's words: {text.strip()!r} "
                                  f"becomes no token")
        if unk is not None and unk in ids:
            bad = next((w for w in text.split() if unk in self._ids(w)), text.strip())
            if what == "answer":
                raise CheckpointError(f"the vocabulary of {where} lacks the answer word {text.strip()!r}")
            raise CheckpointError(f"the tokenizer of {where} cannot render the task's words: {bad!r} becomes its "
                                  f"unknown token")
        if ids and max(ids) >= self.loaded.vocab:
            if what == "answer":
                raise CheckpointError(f"the vocabulary of {where} lacks the answer word {text.strip()!r} (token "
                                      f"{max(ids)}; the model has {self.loaded.vocab} outputs)")
            raise CheckpointError(f"the tokenizer of {where} writes token {max(ids)}, beyond the model's "
                                  f"{self.loaded.vocab} outputs")

    def encode(self, batch) -> Encoded:
        texts = render_batch(self.task, batch, self.style, self.prefix)
        values = list(texts.words)
        candidates = []
        for v in values:
            ids = self._ids(texts.words[v])
            self._check(texts.words[v], ids, "answer")
            if ids in candidates:
                raise CheckpointError(f"the tokenizer of {self.loaded.path} writes two answer words of "
                                      f"{self.task.name} as the same tokens ({texts.words[v].strip()!r})")
            candidates.append(ids)
        contexts = [list(ids) for ids in self.tokenizer(texts.contexts, add_special_tokens=False)["input_ids"]]
        if self.bos is None:  # the tokenizer's own convention: a BOS it adds in front, or none
            with_specials = list(self.tokenizer(texts.contexts[0], add_special_tokens=True)["input_ids"])
            self.bos = with_specials[:1] if with_specials[1:] == contexts[0] else []
        for text, ids in zip(texts.contexts, contexts):
            self._check(text, ids, "context")
        contexts = [self.bos + ids for ids in contexts]
        if len({len(ids) for ids in contexts}) > 1:
            raise CheckpointError(f"the tokenizer of {self.loaded.path} writes the streams' contexts in different "
                                  f"numbers of tokens ({min(map(len, contexts))} to {max(map(len, contexts))}); the "
                                  f"state at the cut needs one shape")
        questions = []
        for asked in texts.questions:
            ids = [self._ids(q) for q in asked]
            for q, i in zip(asked, ids):
                self._check(q, i, "question")
            questions.append(ids)
        separator = self._ids(texts.separator) if texts.separator else []
        queries, answer = len(questions[0]), max(map(len, candidates))
        longest = len(contexts[0]) + sum(max(len(q[j]) for q in questions) for j in range(queries)) + answer - 1 + \
            ((queries - 1) * (answer + len(separator)) if texts.feed_answers else 0)
        if self.loaded.max_positions and longest > self.loaded.max_positions:
            raise CheckpointError(f"{self.task.name} at n = {self.task.n} renders to up to {longest} tokens; the "
                                  f"model reads at most {self.loaded.max_positions}")
        index = {v: i for i, v in enumerate(values)}
        answers = np.vectorize(lambda v: index.get(int(v), -1))(texts.answers)
        dev = next(self.loaded.model.parameters()).device
        return Encoded(torch.tensor(contexts, dtype=torch.long, device=dev), questions, answers, candidates,
                       separator, texts.feed_answers)


# --- answering: the model's choice among the answer words -------------------------------------------------------
def _choose(model, state: HFState, last: torch.Tensor, enc: Encoded, greedy: bool) -> tuple:
    """(chosen candidate per stream, -1 for a greedy answer that is no answer word; token ids to write next)."""
    dev = last.device
    count = last.shape[0]
    if greedy:
        length = max(map(len, enc.candidates))
        written, logits, s = [], last, state.clone()
        for g in range(length):
            token = logits.argmax(-1)
            written.append(token)
            if g + 1 < length:
                more, s = steps(model, s, token[:, None])
                logits = more[:, -1]
        written = torch.stack(written, dim=1).cpu().numpy()
        chosen = np.full(count, -1)
        for c in sorted(range(len(enc.candidates)), key=lambda c: len(enc.candidates[c])):
            ids = enc.candidates[c]
            chosen[(written[:, : len(ids)] == np.array(ids)).all(axis=1)] = c  # the longest match wins
        return chosen, [list(enc.candidates[c]) if c >= 0 else list(w) for c, w in zip(chosen, written)]
    logp = torch.log_softmax(last.float(), dim=-1)
    scores = torch.empty(count, len(enc.candidates), device=dev)
    for c, ids in enumerate(enc.candidates):
        score = logp[:, ids[0]]
        if len(ids) > 1:
            more, _ = steps(model, state.clone(), torch.tensor([ids[:-1]] * count, device=dev))
            rest = torch.log_softmax(more, dim=-1)
            score = score + sum(rest[:, t, ids[t + 1]] for t in range(len(ids) - 1))
        scores[:, c] = score
    chosen = scores.argmax(-1).cpu().numpy()
    return chosen, [list(enc.candidates[c]) for c in chosen]


def _answer(model, state: HFState, rows: np.ndarray, enc: Encoded, j: int, greedy: bool, out: np.ndarray) -> None:
    """Answer queries j.. of the streams `rows` (in the order `state` holds them), writing `out`."""
    if j == len(enc.questions[0]):
        return
    dev = enc.contexts.device
    lengths = np.array([len(enc.questions[r][j]) for r in rows])
    for length in np.unique(lengths):
        mine = np.flatnonzero(lengths == length)
        sub = state.select(mine) if len(mine) < len(rows) else state.clone()
        asked = torch.tensor([enc.questions[r][j] for r in rows[mine]], dtype=torch.long, device=dev)
        logits, sub = steps(model, sub, asked)
        chosen, written = _choose(model, sub, logits[:, -1], enc, greedy)
        out[rows[mine], j] = chosen
        if j + 1 == len(enc.questions[0]):
            continue
        if not enc.feed:
            _answer(model, sub, rows[mine], enc, j + 1, greedy, out)
            continue
        keys = [tuple(w) for w in written]
        for key in dict.fromkeys(keys):  # write each group's answer, then its next questions
            same = np.array([k == key for k in keys])
            after = sub.select(np.flatnonzero(same))
            feed = torch.tensor([list(key) + enc.separator] * int(same.sum()), dtype=torch.long, device=dev)
            _, after = steps(model, after, feed)
            _answer(model, after, rows[mine][same], enc, j + 1, greedy, out)


def answer_all(model, state: HFState, enc: Encoded, greedy: bool) -> np.ndarray:
    """The chosen answer (index into the candidates; -1: none) of every query of every stream."""
    out = np.full(enc.answers.shape, -1)
    _answer(model, state, np.arange(enc.answers.shape[0]), enc, 0, greedy, out)
    return out


# --- measuring -------------------------------------------------------------------------------------------------
@dataclass
class HFReader:
    """A loaded model reading one task in one rendering: everything eval and probe need."""

    loaded: Loaded
    task: object
    style: str
    shots: int
    greedy: bool
    seed: int
    dead_conv: bool = False

    def __post_init__(self):
        check_seed_value(self.seed)
        self.encoder = Encoder(self.loaded, self.task, self.style, self.shots, self.seed)

    @property
    def model(self):
        return self.loaded.model

    def check(self, streams: int = 4) -> None:
        """The exactness check on streams of the task (with the first answer word written after each question)."""
        enc = self.encoder.encode(self.task.batch(self.seed, 0, max(2, streams)))
        rows = []
        for i in range(enc.contexts.shape[0]):
            tail = []
            for q in enc.questions[i]:
                tail += q + enc.candidates[0] + enc.separator
            rows.append(enc.contexts[i].tolist() + tail)
        width = min(map(len, rows))
        ids = torch.tensor([r[:width] for r in rows], dtype=torch.long, device=enc.contexts.device)
        self.dead_conv = check_exact(self.model, ids, enc.contexts.shape[1], self.loaded.architecture)

    def states(self, seed: int, trials: int) -> tuple:
        """(state at the cut, encoded streams) of trials 0..trials-1 drawn with `seed`."""
        enc = self.encoder.encode(self.task.batch(seed, 0, trials))
        return capture(self.model, enc.contexts, self.loaded.architecture, self.dead_conv), enc

    def vet(self, trials: int, chunk: int = 1024) -> None:
        """Render and tokenize every stream a command will read (the streams it scores, the held-out calibration
        and probe-fitting streams) before anything is reported: a word that only some streams use is refused in
        one line up front, never half-way through (tokenizing only: the model does not run)."""
        for seed, count in ((self.seed, trials), (self.seed + 7919, 512), (self.seed + 104729, trials)):
            for start in range(0, count, chunk):
                self.encoder.encode(self.task.batch(seed, start, min(chunk, count - start)))

    def ranges(self, trials: int = 512):
        """Calibrated ranges for the uniform quantiser (held-out streams: the seed `train.calibration_ranges`
        uses, so an exported run calibrates on the same streams)."""
        state, _ = self.states(self.seed + 7919, trials)
        return calibrate(state)

    def bits(self, state: HFState, precision) -> int:
        if precision == "native":
            return state.native_bits()
        per = FLOAT_FORMATS[precision][1] if isinstance(precision, str) else int(precision)
        return state.coordinates() * per

    def rounded(self, state: HFState, precision, ranges):
        if precision == "native":
            return state
        return round_state(state, precision, ranges)

    def evaluate(self, trials: int, precision, ranges=None, chunk: int = 256) -> dict:
        """Right answers over every query of every stream, from the state at the cut rounded to `precision`."""
        successes, bits, missing = 0, None, 0
        for start in range(0, trials, chunk):
            batch = self.task.batch(self.seed, start, min(chunk, trials - start))
            enc = self.encoder.encode(batch)
            state = capture(self.model, enc.contexts, self.loaded.architecture, self.dead_conv)
            bits = self.bits(state, precision)
            chosen = answer_all(self.model, self.rounded(state, precision, ranges), enc, self.greedy)
            successes += int(((chosen == enc.answers) & (enc.answers >= 0)).sum())
            missing += int((chosen < 0).sum())
        return {"successes": successes, "bits": bits, "unanswered": missing}

    def probe(self, precisions, trials: int):
        """For each precision: (precision, successes, state bits, capacity C) as ``train.probe_model`` measures
        them: ridge probes fitted on rounded states of other streams (seed + 104729), tested on these."""
        uniform = any(isinstance(p, int) and p < 32 for p in precisions)
        ranges = self.ranges() if uniform else None
        train_state, _ = self.states(self.seed + 104729, trials)
        test_state, _ = self.states(self.seed, trials)
        index = make_task("index", self.task.index_size)
        x_train = index.batch(self.seed + 104729, 0, trials).tokens[:, 1 : self.task.index_size + 1] - NUM0
        x_test = index.batch(self.seed, 0, trials).tokens[:, 1 : self.task.index_size + 1] - NUM0
        for p in precisions:
            got = self.evaluate(trials, p, ranges)
            c, _ = probe_capacity(flatten(self.rounded(train_state, p, ranges)).cpu().numpy(), x_train,
                                  flatten(self.rounded(test_state, p, ranges)).cpu().numpy(), x_test)
            yield p, got["successes"], got["bits"], c


def reader_label(loaded: Loaded, style: str, shots: int, greedy: bool, precision) -> str:
    """How a loaded model appears in result rows: hf-ARCH:DIR/RENDERING@precision."""
    how = style + (f"-{shots}shot" if shots else "") + ("-greedy" if greedy else "")
    return f"hf-{loaded.architecture}:{loaded.path.resolve().name}/{how}@{precision}"


def native_width(loaded: Loaded) -> int:
    return torch.finfo(next(loaded.model.parameters()).dtype).bits
