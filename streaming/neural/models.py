"""Recurrent models that read the tasks' own token streams, with a state that can be captured and resumed.

Word embedding and output head are tied and frozen by default: a sinusoidal code of the token id (as in the
paper's experiments). A sinusoidal code of the position is added to the input (positions are free inputs, not
memory, in the paper's memory model). The recurrent state of every layer is the model's memory.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

SIZES = {"tiny": (32, 1), "small": (64, 2)}
FAMILIES = ("lstm", "gru", "llama")


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
    layers: int
    max_len: int
    frozen_embedding: bool = True

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"unknown model family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.vocab < 2 or self.d_model < 2 or self.d_model % 2 or self.layers < 1 or self.max_len < 1:
            raise ValueError("vocab >= 2, an even d_model >= 2, layers >= 1 and max_len >= 1 are needed")

    def to_dict(self) -> dict:
        return asdict(self)


def config_for(family: str, size: str, vocab: int, max_len: int, frozen_embedding: bool = True) -> ModelConfig:
    try:
        d_model, layers = SIZES[size]
    except KeyError:
        raise ValueError(f"unknown size {size!r}; known: {', '.join(SIZES)}") from None
    return ModelConfig(family, vocab, d_model, layers, max_len, frozen_embedding)


def build_model(config: ModelConfig) -> nn.Module:
    return AttentionModel(config) if config.family == "llama" else RecurrentModel(config)


class _Reader(nn.Module):
    """What every reader shares: the tied token code (a frozen buffer by default) and the length check."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        code = sinusoidal_code(config.vocab, config.d_model)
        if config.frozen_embedding:
            self.register_buffer("embedding", code)
        else:
            self.embedding = nn.Parameter(code.clone())

    def _check_length(self, start: int, length: int) -> None:
        if start + length > self.config.max_len:
            raise ValueError(f"streams of {start + length} tokens exceed the model's max_len {self.config.max_len}")


class RecurrentModel(_Reader):
    """LSTM or GRU over the token streams; forward(tokens, state) -> (logits, state)."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        d = config.d_model
        self.register_buffer("positions", sinusoidal_code(config.max_len, d, base=10000.0))
        cls = nn.LSTM if config.family == "lstm" else nn.GRU
        self.rnn = cls(d, d, num_layers=config.layers, batch_first=True)
        self.head = nn.Linear(d, d)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        """Logits for every position of `tokens` (read from position `start` on), and the state after them."""
        length = tokens.shape[1]
        self._check_length(start, length)
        x = self.embedding[tokens] + self.positions[start : start + length]
        out, state = self.rnn(x, state)
        logits = self.head(out) @ self.embedding.T  # (no 1/sqrt(d): it flattened the softmax and stalled training)
        return logits, state


class AttentionModel(_Reader):
    """A LLaMA (transformers) reader: its 'state' at the cut is the KV cache, which grows with the prefix."""

    def __init__(self, config: ModelConfig):
        super().__init__(config)
        from transformers import LlamaConfig, LlamaModel

        d = config.d_model
        heads = 4 if d % 4 == 0 else 1
        self.llama = LlamaModel(LlamaConfig(vocab_size=config.vocab, hidden_size=d, intermediate_size=4 * d,
                                            num_hidden_layers=config.layers, num_attention_heads=heads,
                                            num_key_value_heads=heads, max_position_embeddings=config.max_len))
        self.llama.embed_tokens.weight.requires_grad_(False)  # inputs come in as embeddings
        self.head = nn.Linear(d, d)

    def forward(self, tokens: torch.Tensor, state=None, start: int = 0):
        from transformers import DynamicCache

        self._check_length(start, tokens.shape[1])
        cache = state if state is not None else DynamicCache()
        out = self.llama(inputs_embeds=self.embedding[tokens], past_key_values=cache, use_cache=True)
        return self.head(out.last_hidden_state) @ self.embedding.T, out.past_key_values
