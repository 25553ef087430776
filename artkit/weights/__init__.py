"""The offline weight store: ``artkit weights list|fetch|verify|path|import``.

Library code loads weights only when asked for, through :func:`load_state_dict` (safetensors
state dicts) or :func:`hf_folder` (Hugging Face model folders).
"""

from artkit.weights.registry import REGISTRY, WeightSpec, get_spec
from artkit.weights.store import (artkit_home, fetch, hf_folder, import_file, is_cached,
                                  list_weights, load_state_dict, loaded_weights, path, verify)

__all__ = ["REGISTRY", "WeightSpec", "get_spec", "artkit_home", "fetch", "hf_folder", "import_file",
           "is_cached", "list_weights", "load_state_dict", "loaded_weights", "path", "verify"]
