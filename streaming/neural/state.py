"""The recurrent state as memory: capture it at the cut, count its bits, round it to p bits, resume from it."""
from __future__ import annotations

import torch

FLOAT_FORMATS = {"float16": (torch.float16, 16), "bfloat16": (torch.bfloat16, 16)}
if hasattr(torch, "float8_e4m3fn"):
    FLOAT_FORMATS["float8"] = (torch.float8_e4m3fn, 8)


def as_tuple(state) -> tuple:
    return tuple(state) if isinstance(state, (tuple, list)) else (state,)


def is_kv_cache(state) -> bool:
    return hasattr(state, "layers") and not isinstance(state, (tuple, list, torch.Tensor))


def coordinates(state) -> int:
    """Numbers in the captured state, counted from the tensors themselves, per stream (a KV cache: every key and
    value of every layer, so it grows with the prefix)."""
    if is_kv_cache(state):
        batch = state.layers[0].keys.shape[0]
        return sum(layer.keys.numel() + layer.values.numel() for layer in state.layers) // batch
    tensors = as_tuple(state)
    batch = tensors[0].shape[1]  # torch RNN states are (layers, batch, hidden)
    return sum(t.numel() for t in tensors) // batch


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
    """Logits for Bob's part, continuing from a (possibly rounded) state."""
    logits, _ = model(suffix, state, start=start)
    return logits


def calibrate(state) -> list:
    """Per-coordinate (low, high) ranges from held-out states, for the uniform quantiser."""
    return [(t.amin(dim=1, keepdim=True), t.amax(dim=1, keepdim=True)) for t in as_tuple(state)]


def round_state(state, precision, ranges=None):
    """The state rounded to `precision`: an integer p (uniform over the calibrated ranges; 32 leaves float32
    unchanged) or a float format name (float16, bfloat16, float8)."""
    if is_kv_cache(state):
        if isinstance(precision, int) and precision >= 32:
            return state
        raise ValueError("rounding a KV cache is not supported yet (evaluate attention models at 32 bits)")
    tensors = as_tuple(state)
    if isinstance(precision, str):
        if precision not in FLOAT_FORMATS:
            raise ValueError(f"unknown float format {precision!r}; known: {', '.join(FLOAT_FORMATS)}")
        dtype = FLOAT_FORMATS[precision][0]
        out = tuple(t.to(dtype).to(t.dtype) for t in tensors)
    else:
        p = int(precision)
        if p < 1:
            raise ValueError(f"precision must be at least 1 bit, got {precision}")
        if p >= 32:
            out = tensors
        else:
            if ranges is None:
                raise ValueError("uniform rounding needs calibrated ranges")
            levels = (1 << p) - 1
            out = []
            for t, (lo, hi) in zip(tensors, ranges):
                span = torch.clamp(hi - lo, min=1e-12)
                q = torch.round(torch.clamp((t - lo) / span, 0.0, 1.0) * levels)
                out.append(lo + q / levels * span)
            out = tuple(out)
    return out if isinstance(state, (tuple, list)) else out[0]
