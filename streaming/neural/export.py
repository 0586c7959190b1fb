"""`streambound export RUN DIR`: a run of the `llama` family as a standard transformers directory.

The run's reader is transformers' LlamaModel fed the tied token code E (vocab x d) with an output head
logits = (W h + b) E^T; LlamaForCausalLM holds it exactly when b = 0: embed_tokens = E, the same decoder weights,
lm_head = E W (untied). The tokenizer is a word-level one over the project's tokens (``streaming.tokens``: the
specials, then the numbers 0, 1, ... at NUM0 + v), split on white space, so the text ``tokens.render`` writes
becomes the very ids the run reads. A ``streambound.json`` beside them names the task and the ``tokens``
rendering, so ``eval --hf DIR`` and ``probe --hf DIR`` read the run's own streams. Other families are refused:
the recurrent ones add a sinusoidal position code to their input and the hybrids put a LLaMA block on a Mamba
stack, which no standard transformers class holds.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from ..tokens import BOS, EOS, NUM0, SPECIALS
from .hf import MARKER
from .train import load_run, run_format

UNKNOWN = "[UNK]"


class ExportError(ValueError):
    """A run that cannot be exported, or a destination that cannot take it."""


def word_tokenizer(vocab: int):
    """A PreTrainedTokenizerFast over the project's first `vocab` token ids (whitespace-split words), with an
    unknown word placed after them."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {name: i for i, name in enumerate(SPECIALS)}
    words.update({str(v): NUM0 + v for v in range(vocab - NUM0)})
    words[UNKNOWN] = vocab
    core = Tokenizer(models.WordLevel(words, unk_token=UNKNOWN))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=core, unk_token=UNKNOWN, bos_token=SPECIALS[BOS],
                                   eos_token=SPECIALS[EOS])


def export_run(run, out) -> dict:
    """Write the run in `run` to the directory `out` (which must be new or empty); returns what was written."""
    from transformers import LlamaForCausalLM

    run, out = Path(run), Path(out)
    model, meta = load_run(run, "cpu")
    family = meta["model"]["family"]
    if family != "llama":
        raise ExportError(f"{run} is a {family} run: no standard transformers class holds it (the recurrent "
                          f"families add a position code to their input, the hybrids stack a LLaMA block on a "
                          f"Mamba stack); only llama runs export")
    if run_format(meta) != "vanilla":
        raise ExportError(f"{run} was trained in the {run_format(meta)} format; export takes vanilla runs")
    bias = getattr(model.head, "bias", None)
    if bias is not None and bool(bias.detach().abs().max() > 0):
        raise ExportError(f"{run}: its output head has a bias, which LlamaForCausalLM's lm_head cannot hold; "
                          f"train with --no-head-bias to export")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportError(f"{out} already exists and is not an empty folder")
    config = copy.deepcopy(model.llama.config)
    config.tie_word_embeddings = False
    config.architectures = ["LlamaForCausalLM"]
    config.bos_token_id, config.eos_token_id, config.pad_token_id = BOS, EOS, None
    exported = LlamaForCausalLM(config).eval()
    weights = {f"model.{k}": v for k, v in model.llama.state_dict().items()}
    code = model.embedding.detach().float()
    weights["model.embed_tokens.weight"] = code.clone()
    weights["lm_head.weight"] = code @ model.head.weight.detach().float()
    missing, unexpected = exported.load_state_dict(weights, strict=False)
    if missing or unexpected:  # pragma: no cover (a transformers whose Llama differs from the one trained)
        raise ExportError(f"the run's weights do not fit LlamaForCausalLM ({(missing or unexpected)[0]})")
    out.mkdir(parents=True, exist_ok=True)
    exported.save_pretrained(out, safe_serialization=True)
    word_tokenizer(config.vocab_size).save_pretrained(out)
    marker = {"format": "streambound-export", "render": "tokens", "task": meta["task"], "run": run.name,
              "family": family, "steps_done": meta.get("steps_done")}
    (out / MARKER).write_text(json.dumps(marker, indent=1) + "\n")
    return {"out": str(out), "parameters": sum(p.numel() for p in exported.parameters()),
            "vocab": config.vocab_size}


def exported_matches(run, out, tokens: torch.Tensor) -> float:
    """Largest logit gap between the run and its export on these token streams (a sanity check for tests)."""
    from transformers import AutoModelForCausalLM

    model, _ = load_run(run, "cpu")
    hf = AutoModelForCausalLM.from_pretrained(out, local_files_only=True, trust_remote_code=False,
                                              use_safetensors=True).eval()
    with torch.no_grad():
        a, _ = model(tokens)
        b = hf(input_ids=tokens).logits
    return float((a - b).abs().max())
