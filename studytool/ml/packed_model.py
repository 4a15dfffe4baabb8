"""The packed judge as a torch module: MiniLM's encoder and a head per claim.

Used to train the judge (``scripts/train_judge.py``), to export it to ONNX
(``scripts/export_judge.py``) and by the reference backend; the app's ONNX Runtime backend
never imports it (or torch). Inputs are built by :mod:`studytool.ml.packing`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

OUTPUTS = 4  # P(states), P(contradicts), P(does not address) logits, then the credit logit


class PackedJudge(nn.Module):
    """For every claim of a packed input, 4 logits read from that claim's word pieces (which
    have attended to the answer) and from [CLS] (the whole input)."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Linear(hidden, OUTPUTS))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
        claim_mask: torch.Tensor,
    ) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        claims = torch.matmul(claim_mask.to(hidden.dtype), hidden)  # [batch, claims, hidden]
        whole = hidden[:, :1, :].expand(-1, claims.shape[1], -1)
        return self.head(torch.cat([claims, whole], dim=-1))


def keep_layers(encoder: Any, layers: int) -> None:
    """Keep ``layers`` of the encoder's layers, evenly spaced (a smaller, faster judge)."""
    total = len(encoder.encoder.layer)
    if 0 < layers < total:
        keep = [round(i * (total - 1) / max(1, layers - 1)) for i in range(layers)]
        encoder.encoder.layer = nn.ModuleList(encoder.encoder.layer[i] for i in keep)
        encoder.config.num_hidden_layers = layers
