"""The recurrent state as memory: capture it at the cut, count its bits, round it to p bits, resume from it.

Every family's state is seen through one view, `state_tensors`: the list of its tensors with the stream (batch)
as the first axis, read from the captured object itself:
- LSTM: h and c of every layer; GRU: h of every layer (torch keeps them as (layers, batch, d));
- Mamba, Mamba-2: the conv state and the SSM state of every layer (the layers of transformers' returned cache);
  transformers keeps kernel-size columns of conv inputs, of which the oldest is shifted out unread by the next
  step, so the view holds kernel - 1 columns (a test shows the dropped column never reaches Bob's logits);
- LLaMA: keys and values of every layer and every prefix position (the KV cache: it grows with the prefix);
- hybrid, hybrid2: the Mamba (hybrid) or Mamba-2 (hybrid2) stack's tensors, read as for `mamba` and `mamba2`,
  then its LLaMA block's keys and values.
`with_tensors` builds a fresh state of the same structure from replaced tensors (the captured one is not touched),
so rounding, calibration, flattening and bit counting are written once for all families.
"""
from __future__ import annotations

import copy

import torch

FLOAT_FORMATS = {"float16": (torch.float16, 16), "bfloat16": (torch.bfloat16, 16)}
if hasattr(torch, "float8_e4m3fn"):
    FLOAT_FORMATS["float8"] = (torch.float8_e4m3fn, 8)


def _is_cache(state) -> bool:
    return hasattr(state, "layers") and not isinstance(state, (tuple, list, torch.Tensor))


def _cache_slots(cache) -> list:
    """(layer, attribute, key) of every tensor in a transformers cache, in a fixed order."""
    slots = []
    for layer in cache.layers:
        if hasattr(layer, "conv_states"):
            for name in ("conv_states", "recurrent_states"):
                slots += [(layer, name, k) for k in sorted(getattr(layer, name))]
        else:
            slots += [(layer, "keys", None), (layer, "values", None)]
    return slots


def _get(slot):
    layer, name, key = slot
    value = getattr(layer, name)
    if key is None:
        return value
    if name == "conv_states":  # the oldest of the kernel's columns is never read again: not memory
        return value[key][..., 1:]
    return value[key]


def _set(slot, tensor) -> None:
    layer, name, key = slot
    if key is None:
        setattr(layer, name, tensor)
    elif name == "conv_states":
        dead = torch.zeros_like(tensor[..., :1])  # the column the next step shifts out unread
        getattr(layer, name)[key] = torch.cat([dead, tensor], dim=-1)
    else:
        getattr(layer, name)[key] = tensor


def state_tensors(state) -> list:
    """The state's tensors, each with the stream as its first axis."""
    if hasattr(state, "state_view"):  # a state that lists its own tensors (a loaded model's cache: neural.hf)
        return state.state_view()
    if hasattr(state, "recurrent") and hasattr(state, "kv"):
        return state_tensors(state.recurrent) + state_tensors(state.kv)
    if _is_cache(state):
        return [_get(slot) for slot in _cache_slots(state)]
    tensors = tuple(state) if isinstance(state, (tuple, list)) else (state,)
    return [t.transpose(0, 1) for t in tensors]  # torch RNN states are (layers, batch, d)


def with_tensors(state, tensors: list):
    """A new state of the same structure as `state` holding `tensors` (in `state_tensors` order and layout)."""
    tensors = list(tensors)
    if hasattr(state, "state_view"):
        return state.with_view(tensors)
    if hasattr(state, "recurrent") and hasattr(state, "kv"):
        split = len(state_tensors(state.recurrent))
        return type(state)(with_tensors(state.recurrent, tensors[:split]), with_tensors(state.kv, tensors[split:]))
    if _is_cache(state):
        fresh = copy.copy(state)
        fresh.layers = [copy.copy(layer) for layer in state.layers]
        for layer in fresh.layers:  # shallow copies with their own dicts, so the original cache is not touched
            for name in ("conv_states", "recurrent_states"):
                if hasattr(layer, name):
                    setattr(layer, name, dict(getattr(layer, name)))
        for slot, t in zip(_cache_slots(fresh), tensors, strict=True):
            _set(slot, t.contiguous())
        return fresh
    out = tuple(t.transpose(0, 1).contiguous() for t in tensors)
    return out if isinstance(state, (tuple, list)) else out[0]


def clone_state(state):
    """A deep copy (transformers' caches are updated in place by the models that read them)."""
    return with_tensors(state, [t.clone() for t in state_tensors(state)])


def coordinates(state) -> int:
    """Numbers in the captured state per stream, counted from its tensors (conv states and KV entries included)."""
    return sum(t[0].numel() for t in state_tensors(state))


def flatten(state) -> torch.Tensor:
    """The state as one (streams x coordinates) float32 matrix."""
    tensors = state_tensors(state)
    return torch.cat([t.reshape(t.shape[0], -1).float() for t in tensors], dim=1)


def state_bits(state, precision) -> int:
    """Bits of the state per stream at a precision: p bits per coordinate, or a float format's width."""
    per = FLOAT_FORMATS[precision][1] if isinstance(precision, str) else int(precision)
    return coordinates(state) * per


@torch.no_grad()
def capture(model, prefix: torch.Tensor):
    """The state after reading Alice's part."""
    _, state = model(prefix)
    return state


@torch.no_grad()
def resume(model, state, suffix: torch.Tensor, start: int):
    """Logits for Bob's part, continuing from a (possibly rounded) state, which is left as it was."""
    logits, _ = model(suffix, clone_state(state), start=start)
    return logits


def calibrate(state) -> list:
    """Per-coordinate (low, high) ranges over the streams of held-out states, for the uniform quantiser."""
    return [(t.amin(dim=0, keepdim=True), t.amax(dim=0, keepdim=True)) for t in state_tensors(state)]


def round_state(state, precision, ranges=None):
    """The state rounded to `precision`: an integer p (uniform over the calibrated ranges; 32 leaves float32
    unchanged) or a float format name (float16, bfloat16, float8). A KV cache is rounded like any other state."""
    tensors = state_tensors(state)
    if isinstance(precision, str):
        if precision not in FLOAT_FORMATS:
            raise ValueError(f"unknown float format {precision!r}; known: {', '.join(FLOAT_FORMATS)}")
        dtype = FLOAT_FORMATS[precision][0]
        return with_tensors(state, [t.to(dtype).to(t.dtype) for t in tensors])
    p = int(precision)
    if p < 1:
        raise ValueError(f"precision must be at least 1 bit, got {precision}")
    if p >= 32:
        return state
    if ranges is None:
        raise ValueError("uniform rounding needs calibrated ranges")
    if len(ranges) != len(tensors) or any(lo.shape[1:] != t.shape[1:] for t, (lo, _) in zip(tensors, ranges)):
        raise ValueError("the calibrated ranges were taken on states of another shape (another cut or model)")
    levels = (1 << p) - 1
    out = []
    for t, (lo, hi) in zip(tensors, ranges):
        span = torch.clamp(hi - lo, min=1e-12)
        q = torch.round(torch.clamp((t - lo) / span, 0.0, 1.0) * levels)
        out.append(lo + q / levels * span)
    return with_tensors(state, out)
