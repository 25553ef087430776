"""The offline weight store: ``artkit weights list|fetch|verify|path|import|remove``.

Library code loads weights only when asked for, through :func:`load_state_dict` (safetensors
state dicts), :func:`hf_folder` (Hugging Face model folders) or :func:`data_path` (data sets);
each checks the cached files against their record and the registry's pins first, and records
``{name: sha256}`` with :func:`artkit.core.provenance.record`.
"""

from artkit.weights.registry import REGISTRY, WeightSpec, get_spec
from artkit.weights.store import (WeightStatus, artkit_home, data_path, fetch, hf_folder,
                                  import_file, is_cached, list_weights, load_state_dict, path,
                                  remove, status, verify)

__all__ = ["REGISTRY", "WeightSpec", "WeightStatus", "get_spec", "artkit_home", "data_path",
           "fetch", "hf_folder", "import_file", "is_cached", "list_weights", "load_state_dict",
           "path", "remove", "status", "verify"]
