"""Build an open_clip model and load HPS weights into it, refusing anything doubtful.

An architecture is an open_clip model name (`ViT-H-14` for HPS v2) or the path of a
model-config JSON file (a bare config with `embed_dim`, `vision_cfg` and `text_cfg`, or an
`open_clip_config.json` holding one under `model_cfg`). Weights come from a checkpoint
file (the official format, a dict whose `state_dict` holds the weights, or a bare state
dict; a `module.` prefix left by DistributedDataParallel is stripped) or from an open_clip
pretrained tag whose file is already in the local cache. Every key and shape must match:
a checkpoint for another architecture is an error, never a model with random weights.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import open_clip
import torch

from scoring.errors import ModelLoadError

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
DDP_PREFIX = "module."


@dataclass(frozen=True)
class HpsModel:
    """A loaded scorer: the network in eval mode, its tokenizer and input geometry."""

    model: torch.nn.Module
    tokenizer: Callable[[list[str]], torch.Tensor]
    architecture: str
    image_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    device: torch.device


def read_config_file(path: Path) -> dict[str, Any]:
    """The open_clip model config in a model-config JSON file (a bare config, or one under
    "model_cfg"); ModelLoadError says what is wrong with an unreadable or incomplete one."""
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: is not a readable model-config JSON file ({exc})") from exc
    return _validated_config(config, str(path))


def _validated_config(config: Any, source: str) -> dict[str, Any]:
    if isinstance(config, dict) and isinstance(config.get("model_cfg"), dict):
        config = config["model_cfg"]
    if not isinstance(config, dict):
        config = {}
    missing = [key for key in ("embed_dim", "vision_cfg", "text_cfg") if key not in config]
    if missing:
        raise ModelLoadError(
            f"{source}: a model config needs embed_dim, vision_cfg and text_cfg "
            f"(missing: {', '.join(missing)}); copy one of "
            "open_clip's model_configs/*.json as a starting point"
        )
    return dict(config)


_INIT_FUNCTIONS = (
    "uniform_",
    "normal_",
    "trunc_normal_",
    "constant_",
    "ones_",
    "zeros_",
    "xavier_uniform_",
    "xavier_normal_",
    "kaiming_uniform_",
    "kaiming_normal_",
    "orthogonal_",
)


@contextmanager
def _weights_left_uninitialised() -> Iterator[None]:
    """Make torch.nn.init a no-op while a network is built whose every persistent tensor
    is then overwritten by a strictly checked state dict: random initialisation of a
    ViT-H-14 costs seconds and its values would be thrown away. Buffers computed in
    constructors (the causal attention mask) are unaffected."""
    saved = {name: getattr(torch.nn.init, name) for name in _INIT_FUNCTIONS}

    def keep(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor

    try:
        for name in _INIT_FUNCTIONS:
            setattr(torch.nn.init, name, keep)
        yield
    finally:
        for name, function in saved.items():
            setattr(torch.nn.init, name, function)


def _instantiate(config: dict[str, Any], source: str) -> torch.nn.Module:
    """A CLIP (or custom-text CLIP) with random weights; never fetches pretrained towers."""
    config = copy.deepcopy(config)
    text_cfg = config.get("text_cfg", {})
    vision_cfg = config.get("vision_cfg", {})
    if "hf_model_name" in text_cfg:
        text_cfg["hf_model_pretrained"] = False
    if "timm_model_name" in vision_cfg:
        vision_cfg["timm_model_pretrained"] = False
    custom_text = bool(config.pop("custom_text", False)) or "hf_model_name" in text_cfg
    model_class = open_clip.CustomTextCLIP if custom_text else open_clip.CLIP
    try:
        network: torch.nn.Module = model_class(**config)
    except (TypeError, ValueError, KeyError, AssertionError) as exc:
        raise ModelLoadError(
            f"{source}: invalid model config ({type(exc).__name__}: {exc})"
        ) from exc
    return network


def _build_network(
    architecture: str,
    *,
    initialise: bool = True,
    model_config: Mapping[str, Any] | None = None,
) -> tuple[torch.nn.Module, str]:
    """The network for an architecture name or config file (or `model_config`, a config
    given as a dict, named `architecture`), randomly initialised unless `initialise` is
    False (its weights are then arbitrary until a state dict is loaded)."""
    with nullcontext() if initialise else _weights_left_uninitialised():
        if model_config is not None:
            config = _validated_config(dict(model_config), architecture)
            return _instantiate(config, architecture), architecture
        return _build_network_now(architecture)


def _build_network_now(architecture: str) -> tuple[torch.nn.Module, str]:
    if architecture.endswith(".json") or os.sep in architecture:
        path = Path(architecture)
        if not path.is_file():
            raise ModelLoadError(
                f"{architecture}: model-config file not found; give an existing JSON file "
                "or an open_clip architecture name such as ViT-H-14"
            )
        return _instantiate(read_config_file(path), architecture), path.stem
    config = open_clip.get_model_config(architecture)
    if config is None:
        raise ModelLoadError(
            f"unknown architecture {architecture!r}: give an open_clip model name "
            "(ViT-H-14 for HPS v2) or the path of a model-config JSON file"
        )
    return _instantiate(config, architecture), architecture


def _read_state_dict(checkpoint: Path) -> dict[str, torch.Tensor]:
    if not checkpoint.is_file():
        raise ModelLoadError(
            f"{checkpoint}: checkpoint file not found; give the path of an HPS checkpoint "
            "(e.g. HPS_v2_compressed.pt)"
        )
    try:
        if checkpoint.suffix == ".safetensors":
            from safetensors.torch import load_file

            loaded: Any = load_file(checkpoint, device="cpu")
        else:
            loaded = torch.load(checkpoint, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean the same
        raise ModelLoadError(
            f"{checkpoint}: not a readable torch checkpoint ({type(exc).__name__}: {exc})"
        ) from exc
    if isinstance(loaded, Mapping) and isinstance(loaded.get("state_dict"), Mapping):
        loaded = loaded["state_dict"]
    if not isinstance(loaded, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in loaded.values()
    ):
        raise ModelLoadError(
            f"{checkpoint}: holds neither a state dict nor a dict with a 'state_dict' entry "
            "of tensors; save it with torch.save({'state_dict': model.state_dict()}, path)"
        )
    state = {str(key): value for key, value in loaded.items()}
    if state and all(key.startswith(DDP_PREFIX) for key in state):
        state = {key[len(DDP_PREFIX) :]: value for key, value in state.items()}
    return state


def _cached_pretrained_file(architecture: str, tag: str) -> Path:
    """The local file of an open_clip pretrained tag; never downloads."""
    config = open_clip.get_pretrained_cfg(architecture, tag)
    if not config:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(architecture)) or "none"
        raise ModelLoadError(f"{architecture} has no pretrained tag {tag!r} (known tags: {tags})")
    from huggingface_hub import try_to_load_from_cache

    hub = str(config.get("hf_hub") or "")
    if hub:
        repo_id, filename = os.path.split(hub)  # "org/repo/" or "org/repo/file"
        names = (
            [filename]
            if filename
            else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]
        )
        for name in names:
            found = try_to_load_from_cache(repo_id, name)
            if isinstance(found, str):
                return Path(found)
    url = str(config.get("url") or "")
    if url:
        candidate = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
        if candidate.is_file():
            return candidate
    raise ModelLoadError(
        f"the weights of {architecture} {tag!r} are not in the local cache and nothing is "
        "downloaded at run time; fetch them once (open_clip.create_model with that tag on a "
        "machine with network access) or pass --checkpoint"
    )


def _check_and_load(
    network: torch.nn.Module, state: dict[str, torch.Tensor], source: str, architecture: str
) -> None:
    expected = network.state_dict()
    if "logit_scale" in state and state["logit_scale"].ndim != expected["logit_scale"].ndim:
        state["logit_scale"] = state["logit_scale"].reshape(expected["logit_scale"].shape)
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong_shape = [
        f"{key} {tuple(state[key].shape)} (the model wants {tuple(expected[key].shape)})"
        for key in sorted(set(state) & set(expected))
        if state[key].shape != expected[key].shape
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {', '.join(unexpected[:3])}")
        if wrong_shape:
            parts.append(
                f"{len(wrong_shape)} shape mismatch(es), e.g. {'; '.join(wrong_shape[:3])}"
            )
        raise ModelLoadError(
            f"{source}: does not fit architecture {architecture}: {'; '.join(parts)}. "
            "Pass the architecture the checkpoint was trained with (--model)."
        )
    network.load_state_dict(state, strict=True)


def load_model(
    architecture: str,
    checkpoint: str | os.PathLike[str] | None = None,
    *,
    pretrained: str | None = None,
    random_weights: bool = False,
    device: str | torch.device = "cpu",
    model_config: Mapping[str, Any] | None = None,
) -> HpsModel:
    """Build `architecture` and load its weights; exactly one weight source is required.

    `random_weights=True` is the only way to get an untrained model (benchmarks, tests).
    `model_config`, when given, is the architecture's config itself (as stored in the
    model registry); `architecture` is then only its name.
    Raises ModelLoadError with the reason on a missing file, an unknown architecture, or
    a checkpoint whose keys or shapes do not match.
    """
    sources = sum([checkpoint is not None, pretrained is not None, random_weights])
    if sources != 1:
        raise ModelLoadError(
            "give exactly one source of weights: a checkpoint file, or a pretrained tag "
            "(random weights only when asked for explicitly)"
        )
    target = torch.device(device)
    with target:  # built where it will run: random initialisation on a GPU is fast
        network, name = _build_network(
            architecture, initialise=random_weights, model_config=model_config
        )
    if checkpoint is not None:
        path = Path(os.fspath(checkpoint))
        _check_and_load(network, _read_state_dict(path), str(path), name)
    elif pretrained is not None:
        path = _cached_pretrained_file(architecture, pretrained)
        _check_and_load(network, _read_state_dict(path), f"{architecture} {pretrained}", name)
    network = network.to(target).eval().requires_grad_(False)
    visual: Any = getattr(network, "visual", None)
    size = getattr(visual, "image_size", 224)
    image_size = int(size[0] if isinstance(size, tuple | list) else size)
    mean = tuple(getattr(visual, "image_mean", None) or OPENAI_MEAN)
    std = tuple(getattr(visual, "image_std", None) or OPENAI_STD)
    tokenizer = _tokenizer_for(architecture if model_config is None else "", network)
    return HpsModel(
        model=network,
        tokenizer=tokenizer,
        architecture=name,
        image_size=image_size,
        mean=(float(mean[0]), float(mean[1]), float(mean[2])),
        std=(float(std[0]), float(std[1]), float(std[2])),
        device=target,
    )


def _tokenizer_for(
    architecture: str, network: torch.nn.Module
) -> Callable[[list[str]], torch.Tensor]:
    context_length = int(getattr(network, "context_length", 77) or 77)
    if architecture in open_clip.list_models():
        tokenizer: Callable[[list[str]], torch.Tensor] = open_clip.get_tokenizer(architecture)
        return tokenizer
    simple: Callable[[list[str]], torch.Tensor] = open_clip.SimpleTokenizer(
        context_length=context_length
    )
    return simple
