"""One decoding step of a Llama-family model (SmolLM2 is one), written out for batch-1 CPU speed.

A token's step through transformers' modules costs far more than its arithmetic on two CPU
cores: ~15 small modules per layer, a key/value cache concatenated anew at every step, casts
around every matrix product. Here the step is the same mathematics with

* q/k/v and gate/up weights fused (two matrix-vector products instead of five per layer) and
  kept in bfloat16 — the step is memory-bound, half the bytes is nearly twice the speed;
* a preallocated float32 key/value cache, filled from transformers' prefill of the prompt;
* norms, rotary embedding, attention and the residual stream in float32.

:meth:`LlamaStepper.check` compares it with the model itself on a few tokens; the writer uses it
only when that agrees, and otherwise decodes through the model's own modules.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F


def forward(model, ids: torch.Tensor, cache):
    """One forward pass of a causal LM with its key/value cache, only the last position's
    logits computed (the keyword names differ between transformers versions)."""
    key = _KWARGS.get(type(model))
    if key is None:
        params = inspect.signature(model.forward).parameters
        key = ("cache" if "cache" in params else "past_key_values", "logits_to_keep" in params)
        _KWARGS[type(model)] = key
    kwargs = {key[0]: cache, "use_cache": True}
    if key[1]:
        kwargs["logits_to_keep"] = 1
    return model(input_ids=ids, **kwargs)


_KWARGS: dict[type, tuple[str, bool]] = {}


def cache_of(out):
    """The key/value cache of a forward pass's output."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


def supports(model: torch.nn.Module) -> bool:
    """Whether ``model`` is a plain Llama (RMSNorm, rotary, SiLU MLP, no biases)."""
    cfg = getattr(model, "config", None)
    base = getattr(model, "model", None)
    return (getattr(cfg, "model_type", None) == "llama" and base is not None
            and not getattr(cfg, "attention_bias", False) and not getattr(cfg, "mlp_bias", False)
            and getattr(cfg, "hidden_act", None) == "silu"
            and hasattr(getattr(base, "rotary_emb", None), "inv_freq")
            and model.get_output_embeddings() is not None)


def _pack(w: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A weight for :func:`_matvec`, in ``dtype``. (int8 weights with per-row scales measured
    only 9 % faster per step than bfloat16 here: the step is not all memory traffic.)"""
    return w.detach().to(dtype).contiguous()


def _matvec(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """``W x`` for one (D,) input, in the weight's precision; float32 out."""
    return F.linear(x.to(w.dtype), w).float()


class LlamaStepper:
    """Decode one token at a time with fused low-precision weights and a fixed-size cache.

    Args:
        model: a Llama causal LM (see :func:`supports`).
        dtype: the weights' precision in the step (bfloat16 on CPU; float32 for exactness).
    """

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype = torch.bfloat16):
        cfg, base = model.config, model.model
        self.n_heads = int(cfg.num_attention_heads)
        self.n_kv = int(getattr(cfg, "num_key_value_heads", None) or self.n_heads)
        self.head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // self.n_heads)
        self.eps = float(cfg.rms_norm_eps)
        self.dtype = dtype
        self.layers = []
        with torch.no_grad():
            for layer in base.layers:
                att, mlp = layer.self_attn, layer.mlp
                self.layers.append((
                    layer.input_layernorm.weight.detach().float(),
                    _pack(torch.cat([att.q_proj.weight, att.k_proj.weight, att.v_proj.weight]),
                          dtype),
                    _pack(att.o_proj.weight, dtype),
                    layer.post_attention_layernorm.weight.detach().float(),
                    _pack(torch.cat([mlp.gate_proj.weight, mlp.up_proj.weight]), dtype),
                    _pack(mlp.down_proj.weight, dtype),
                ))
            self.embed = base.embed_tokens.weight  # shared with the model, float32
            self.norm = base.norm.weight.detach().float()
            self.head = _pack(model.get_output_embeddings().weight, dtype)
        self.inv_freq = base.rotary_emb.inv_freq.detach().float().cpu()
        self.rope_scale = float(getattr(base.rotary_emb, "attention_scaling", 1.0) or 1.0)
        self.q_size = self.n_heads * self.head_dim
        self.kv_size = self.n_kv * self.head_dim
        self.keys = self.values = None
        self.length = 0

    # ----------------------------------------------------------------------------- cache

    def start(self, cache, length: int, capacity: int) -> bool:
        """Take over transformers' key/value cache of a ``length``-token prefill; room for
        ``capacity`` tokens in all. False when the cache's layout is not the expected one."""
        layers = getattr(cache, "layers", None)
        if not layers or len(layers) != len(self.layers):
            return False
        shape = (len(self.layers), self.n_kv, capacity, self.head_dim)
        self.keys = torch.zeros(shape)
        self.values = torch.zeros(shape)
        for i, layer in enumerate(layers):
            k, v = getattr(layer, "keys", None), getattr(layer, "values", None)
            if not isinstance(k, torch.Tensor) or tuple(k.shape) != (1, self.n_kv, length,
                                                                      self.head_dim):
                return False
            self.keys[i, :, :length] = k[0].float()
            self.values[i, :, :length] = v[0].float()
        self.length = length
        return True

    # ----------------------------------------------------------------------------- step

    def _rms(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def _rope(self, pos: int) -> tuple[torch.Tensor, torch.Tensor]:
        freqs = pos * self.inv_freq  # (hd/2,)
        emb = torch.cat([freqs, freqs])
        return emb.cos() * self.rope_scale, emb.sin() * self.rope_scale

    @staticmethod
    def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = x.shape[-1] // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rot * sin

    @torch.inference_mode()
    def step(self, token: int) -> torch.Tensor:
        """Feed ``token`` at the next position; (V,) float32 logits of the token after it."""
        pos = self.length
        if self.keys is None or pos >= self.keys.shape[2]:
            raise RuntimeError("the decoding cache is full or not started")
        x = self.embed[token].float()  # (D,)
        cos, sin = self._rope(pos)
        hd, group = self.head_dim, self.n_heads // self.n_kv
        scale = hd ** -0.5
        for i, (ln1, wqkv, wo, ln2, wgu, wdown) in enumerate(self.layers):
            qkv = _matvec(self._rms(x, ln1), wqkv)
            q = qkv[:self.q_size].view(self.n_heads, hd)
            k = qkv[self.q_size:self.q_size + self.kv_size].view(self.n_kv, hd)
            v = qkv[self.q_size + self.kv_size:].view(self.n_kv, hd)
            q, k = self._rotate(q, cos, sin), self._rotate(k, cos, sin)
            self.keys[i, :, pos] = k
            self.values[i, :, pos] = v
            keys = self.keys[i, :, :pos + 1]  # (KV, T, hd)
            att = torch.softmax((q.view(self.n_kv, group, hd) @ keys.transpose(1, 2)) * scale,
                                dim=-1)  # (KV, G, T)
            out = (att @ self.values[i, :, :pos + 1]).reshape(-1)  # (H*hd,)
            x = x + _matvec(out, wo)
            gate, up = _matvec(self._rms(x, ln2), wgu).chunk(2)
            x = x + _matvec(F.silu(gate) * up, wdown)
        self.length = pos + 1
        return _matvec(self._rms(x, self.norm), self.head)

    # ----------------------------------------------------------------------------- check

    @torch.inference_mode()
    def check(self, model: torch.nn.Module, tokens: list[int], tol: float = 0.25) -> bool:
        """Whether two steps after a short prefill give the model's own next-token logits (within
        ``tol`` of their spread: bfloat16 rounding allowed, a wrong rotary or head layout not)."""
        if len(tokens) < 3:
            return False
        first, rest = tokens[:-2], tokens[-2:]
        out = forward(model, torch.tensor([first]), None)
        if not self.start(cache_of(out), len(first), len(tokens)):
            return False
        full = model(input_ids=torch.tensor([tokens])).logits[0, -3:].float()  # (3, V)
        for j, tok in enumerate(rest):
            ours = self.step(tok)
            ref = full[j + 1]
            if float((ours - ref).abs().max()) > tol * float(ref.std()) * 4:
                return False
        return True
