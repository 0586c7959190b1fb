"""Neural readers of the tasks' own token streams, with a state that can be captured and resumed.

Families: `lstm`, `gru` (torch), `mamba`, `mamba2` (transformers; their state is the conv and SSM state of every
layer), `llama` (transformers; its state at the cut is the KV cache, which grows with the prefix), `hybrid` (the
paper's hybrid: a Mamba stack with one LLaMA block on top, after the stack's final norm: a fixed recurrent state
plus one layer's KV cache) and `hybrid2` (the same with a Mamba-2 stack). Mamba trains with the `mambapy` parallel
scan when that package is installed (the models extra lists it), with transformers' sequential reference scan
otherwise.

Word embedding and output head are tied and frozen by default: a sinusoidal code of the token id (as in the
paper's experiments). The recurrent families add a sinusoidal code of the position to their input (positions are
free inputs, not memory, in the paper's memory model); the attention block uses RoPE.

Sizes: `tiny` and `small` for tests and CPU runs, and the paper's `0.5M`, `1M`, `2M` configurations (PAPER.md:
Mamba d64x16 / d128x10 / d128x18, LLaMA d64x8 / d64x16 / d128x12 with 4 heads and FFN 256, hybrid d64x12+1 /
d128x7+1 / d128x14+1, hybrid2 the same shapes with Mamba-2; LSTM and GRU sized to the same parameter counts).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

FAMILIES = ("lstm", "gru", "mamba", "mamba2", "llama", "hybrid", "hybrid2")
#: the recurrent stack under each hybrid's LLaMA block
HYBRID_STACKS = {"hybrid": "mamba", "hybrid2": "mamba2"}
# (d_model, layers) per family and size
SIZES = {
    "lstm": {"tiny": (32, 1), "small": (64, 2), "0.5M": (128, 4), "1M": (256, 2), "2M": (256, 4)},
    "gru": {"tiny": (32, 1), "small": (64, 2), "0.5M": (128, 5), "1M": (224, 3), "2M": (256, 5)},
    "mamba": {"tiny": (32, 2), "small": (64, 4), "0.5M": (64, 16), "1M": (128, 10), "2M": (128, 18)},
    "mamba2": {"tiny": (32, 2), "small": (64, 4), "0.5M": (64, 16), "1M": (128, 10), "2M": (128, 18)},
    "llama": {"tiny": (32, 2), "small": (64, 4), "0.5M": (64, 8), "1M": (64, 16), "2M": (128, 12)},
    "hybrid": {"tiny": (32, 2), "small": (64, 4), "0.5M": (64, 12), "1M": (128, 7), "2M": (128, 14)},
    "hybrid2": {"tiny": (32, 2), "small": (64, 4), "0.5M": (64, 12), "1M": (128, 7), "2M": (128, 14)},
}
SIZE_NAMES = ("tiny", "small", "0.5M", "1M", "2M")
PAPER_PARAMETERS = {"0.5M": 0.5e6, "1M": 1e6, "2M": 2e6}


def sinusoidal_code(count: int, dim: int, base: float = 100.0) -> torch.Tensor:
    pos = torch.arange(count, dtype=torch.float32)[:, None]
    freq = base ** (-2.0 * torch.arange(dim // 2, dtype=torch.float32) / dim)
    code = torch.zeros(count, dim)
    code[:, 0::2] = torch.sin(pos * freq)
    code[:, 1::2] = torch.cos(pos * freq)
    return code


@dataclass
class ModelConfig:
    family: str
    vocab: int
    d_model: int
    layers: int  # recurrent or attention layers; the hybrids add one LLaMA block on top of these
    max_len: int
    frozen_embedding: bool = True
    d_state: int = 16  # Mamba, Mamba-2
    expand: int = 2  # Mamba, Mamba-2
    heads: int = 4  # LLaMA and the hybrids' block
    ffn: int = 256  # LLaMA feed-forward width
    head_bias: bool = True  # the output head's bias (False: a llama run that `export` can write as LlamaForCausalLM)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.vocab < 2 or self.d_model < 2 or self.d_model % 2 or self.layers < 1 or self.max_len < 1:
            raise ValueError("vocab >= 2, an even d_model >= 2, layers >= 1 and max_len >= 1 are needed")
        if (self.family == "llama" or self.family in HYBRID_STACKS) and self.d_model % self.heads:
            raise ValueError(f"d_model {self.d_model} is not a multiple of heads {self.heads}")

    def to_dict(self) -> dict:
        return asdict(self)


def config_for(family: str, size: str, vocab: int, max_len: int, frozen_embedding: bool = True,
               head_bias: bool = True) -> ModelConfig:
    if family not in SIZES:
        raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    try:
        d_model, layers = SIZES[family][size]
    except KeyError:
        raise ValueError(f"unknown size {size!r}; known: {', '.join(SIZE_NAMES)}") from None
    return ModelConfig(family, vocab, d_model, layers, max_len, frozen_embedding, head_bias=head_bias)


def build_model(config: ModelConfig) -> nn.Module:
    cls = {"lstm": RecurrentModel, "gru": RecurrentModel, "mamba": MambaReader, "mamba2": MambaReader,
           "llama": AttentionModel, "hybrid": HybridModel, "hybrid2": HybridModel}[config.family]
    return cls(config)


def trainable_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class _Reader(nn.Module):
    """What every reader shares: the tied token code (a frozen buffer by default), the head, the length check."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        code = sinusoidal_code(config.vocab, config.d_model)
        if config.frozen_embedding:
            self.register_buffer("embedding", code)
        else:
            self.embedding = nn.Parameter(code.clone())
        self.head = nn.Linear(config.d_model, config.d_model, bias=config.head_bias)

    def _check_length(self, start: int, length: int) -> None:
        if start + length > self.config.max_len:
            raise ValueError(f"streams of {start + length} tokens exceed the model's max_len {self.config.max_len}")

    def _logits(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head(hidden) @ self.embedding.T  # (no 1/sqrt(d): it flattened the softmax and stalled training)

    def _positioned(self, tokens: torch.Tensor, start: int) -> torch.Tensor:
        """Token code plus position code, for the recurrent families."""
        length = tokens.shape[1]
        self._check_length(start, length)
        return self.embedding[tokens] + self.positions[start : start + length]


class RecurrentModel(_Reader):
    """LSTM or GRU; forward(tokens, state, start) -> (logits, state); the state is (h, c) or h."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        d = config.d_model
        self.register_buffer("positions", sinusoidal_code(config.max_len, d, base=10000.0))
        cls = nn.LSTM if config.family == "lstm" else nn.GRU
        self.rnn = cls(d, d, num_layers=config.layers, batch_first=True)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        out, state = self.rnn(self._positioned(tokens, start), state)
        return self._logits(out), state


def mambapy_available() -> bool:
    from importlib.util import find_spec

    return find_spec("mambapy") is not None


def _mamba_backbone(config: ModelConfig, layers: int, use_mambapy: bool | None = None):
    """transformers' Mamba (family `mamba`) or Mamba-2 stack (its own embedding unused: inputs come in as
    embeddings). Mamba uses the `mambapy` parallel scan when installed, unless use_mambapy is False."""
    import logging

    # on a CPU transformers says, once per kernel, that it uses its pure-torch path (mamba_ssm needs CUDA): known
    logging.getLogger("transformers.integrations.hub_kernels").setLevel(logging.ERROR)
    d = config.d_model
    if config.family == "mamba":
        from transformers import MambaConfig, MambaModel

        # the `mambapy` parallel scan trains faster on the CPU than the sequential reference scan, the more so the
        # longer the stream (`streambound bench train` measures both); without mambapy transformers uses the latter
        cfg = MambaConfig(vocab_size=config.vocab, hidden_size=d, num_hidden_layers=layers,
                          state_size=config.d_state, expand=config.expand,
                          use_mambapy=mambapy_available() if use_mambapy is None else use_mambapy)
        backbone = MambaModel(cfg)
    else:
        from transformers import Mamba2Config, Mamba2Model

        inner = config.expand * d
        head_dim = 16 if inner % 16 == 0 else inner
        cfg = Mamba2Config(vocab_size=config.vocab, hidden_size=d, num_hidden_layers=layers,
                           state_size=config.d_state, expand=config.expand, head_dim=head_dim,
                           num_heads=inner // head_dim, n_groups=1, chunk_size=32)
        backbone = Mamba2Model(cfg)
    backbone.embeddings.weight.requires_grad_(False)
    return backbone


def set_mamba_scan(model: nn.Module, use_mambapy: bool) -> None:
    """Switch a Mamba reader's (or the `hybrid`'s) training scan: `mambapy`'s parallel scan or transformers'
    sequential reference scan (what `bench train` compares; both compute the same function)."""
    from transformers import MambaModel

    if not isinstance(getattr(model, "backbone", None), MambaModel):
        raise ValueError("only the Mamba (v1) readers have a mambapy scan")
    model.backbone.config.use_mambapy = use_mambapy
    for layer in model.backbone.layers:
        layer.mixer.use_mambapy = use_mambapy


def _run_backbone(backbone, x: torch.Tensor, cache, token_by_token: bool):
    """Hidden states and the updated cache (mutated in place). Mamba continues a cache token by token: several
    tokens in one call after a cache are off by about 5e-3 in transformers 5.x, one at a time matches."""
    if cache is not None and token_by_token and x.shape[1] > 1:
        outs = []
        for t in range(x.shape[1]):
            out = backbone(inputs_embeds=x[:, t : t + 1], cache=cache, use_cache=True)
            outs.append(out.last_hidden_state)
        return torch.cat(outs, dim=1), cache
    out = backbone(inputs_embeds=x, cache=cache, use_cache=cache is not None or not backbone.training)
    return out.last_hidden_state, out.cache


class MambaReader(_Reader):
    """Mamba or Mamba-2 (transformers); the state is the returned cache: conv and SSM state of every layer."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.register_buffer("positions", sinusoidal_code(config.max_len, config.d_model, base=10000.0))
        self.backbone = _mamba_backbone(config, config.layers)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        hidden, state = _run_backbone(self.backbone, self._positioned(tokens, start), state,
                                      self.config.family == "mamba")
        return self._logits(hidden), state


def _llama(config: ModelConfig, layers: int):
    from transformers import LlamaConfig, LlamaModel

    d = config.d_model
    model = LlamaModel(LlamaConfig(vocab_size=config.vocab, hidden_size=d, intermediate_size=config.ffn,
                                   num_hidden_layers=layers, num_attention_heads=config.heads,
                                   num_key_value_heads=config.heads, max_position_embeddings=config.max_len))
    model.embed_tokens.weight.requires_grad_(False)  # inputs come in as embeddings
    return model


class AttentionModel(_Reader):
    """A LLaMA (transformers) reader: its 'state' at the cut is the KV cache, which grows with the prefix."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.llama = _llama(config, config.layers)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        from transformers import DynamicCache

        self._check_length(start, tokens.shape[1])
        cache = state if state is not None else DynamicCache()
        out = self.llama(inputs_embeds=self.embedding[tokens], cache=cache, use_cache=True)
        return self._logits(out.last_hidden_state), out.cache


class HybridState:
    """A hybrid's state: its Mamba or Mamba-2 stack's cache and its LLaMA block's KV cache."""

    def __init__(self, recurrent, kv):
        self.recurrent = recurrent
        self.kv = kv


class HybridModel(_Reader):
    """A Mamba (`hybrid`, the paper's) or Mamba-2 (`hybrid2`) stack with one LLaMA block on top, reading the
    stack's output after its final norm. Like `mamba`, the Mamba stack continues a cache token by token."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        self.register_buffer("positions", sinusoidal_code(config.max_len, config.d_model, base=10000.0))
        stack = HYBRID_STACKS[config.family]
        self.backbone = _mamba_backbone(ModelConfig(**{**config.to_dict(), "family": stack}), config.layers)
        self.token_by_token = stack == "mamba"
        self.block = _llama(config, 1)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        from transformers import DynamicCache

        recurrent = state.recurrent if state is not None else None
        kv = state.kv if state is not None else DynamicCache()
        hidden, recurrent = _run_backbone(self.backbone, self._positioned(tokens, start), recurrent,
                                          self.token_by_token)
        out = self.block(inputs_embeds=hidden, cache=kv, use_cache=True)
        return self._logits(out.last_hidden_state), HybridState(recurrent, out.cache)
