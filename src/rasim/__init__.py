"""rasim: rheumatoid arthritis under MSC therapy and methotrexate, simulated."""
from . import _cache

_cache.refresh()
