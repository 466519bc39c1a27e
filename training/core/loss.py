"""The HPS v2 pairwise loss: a Bradley-Terry model with a learned temperature.

For a prompt t and images i0, i1: s_k = logit_scale * cos(t, i_k); p = softmax(s_0, s_1);
the loss is the cross-entropy of p against the human label (hard [1, 0] or soft). This is
the release's HPSLoss (`label_0 * CE(s, 0) + label_1 * CE(s, 1)`), per pair.
"""

from __future__ import annotations

from typing import Any

import torch


def hps_pair_losses(
    text_features: torch.Tensor,
    image_features: torch.Tensor,
    logit_scale: torch.Tensor,
    preference: torch.Tensor,
) -> torch.Tensor:
    """Per-pair cross-entropy, shape (B,).

    text_features: (B, D) normalised prompt embeddings, one per pair.
    image_features: (B, 2, D) normalised embeddings of each pair's two images.
    logit_scale: () the multiplier, already exponentiated (model's logit_scale.exp()).
    preference: (B, 2) probability that each image is the preferred one (rows sum to 1).
    """
    cosines = torch.einsum("bd,bkd->bk", text_features, image_features)  # (B, 2)
    scores = logit_scale * cosines  # (B, 2)
    log_probabilities = torch.log_softmax(scores, dim=-1)  # (B, 2)
    return -(preference * log_probabilities).sum(dim=-1)  # (B,)


def forward_pair_losses(
    model: torch.nn.Module,
    pixels: torch.Tensor,
    tokens: torch.Tensor,
    preference: torch.Tensor,
) -> torch.Tensor:
    """Run an open_clip CLIP (or its DDP wrapper) on a batch of pairs; per-pair losses (B,).

    pixels: (B, 2, 3, S, S) preprocessed images; tokens: (B, L) one prompt per pair;
    preference: (B, 2). Call it under the run's autocast; the loss itself is computed in fp32.
    """
    pairs = pixels.shape[0]
    outputs: Any = model(pixels.flatten(0, 1), tokens)  # images (2B, 3, S, S)
    if isinstance(outputs, dict):
        image_features = outputs["image_features"]
        text_features = outputs["text_features"]
        logit_scale = outputs["logit_scale"]
    else:
        image_features, text_features, logit_scale = outputs[:3]
    with torch.autocast(device_type=pixels.device.type, enabled=False):
        return hps_pair_losses(
            text_features.float(),  # (B, D)
            image_features.float().view(pairs, 2, -1),  # (B, 2, D)
            logit_scale.float(),  # ()
            preference.float(),  # (B, 2)
        )
