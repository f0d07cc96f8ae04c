"""``rasim explore``: the interactive explorer (a Panel app), in the browser or in Jupyter.

``rasim.explore()`` (this module is callable: it calls :func:`explore`) returns the app for a
notebook cell; ``serve(port)`` serves it on
localhost.  Panel is imported only here, on use: ``pip install rasim[explore]``.
``state`` holds what the widgets mean, without any widget.
"""

from __future__ import annotations

import sys
import time
import types

from ..errors import RasimError

INSTALL = "the explorer needs Panel: pip install rasim[explore]"


def _panel():
    """The panel module, or a RasimError saying how to install it."""
    try:
        import panel
    except ImportError as e:
        raise RasimError(INSTALL) from e
    return panel


def warm_up(say) -> None:
    """Check Panel is installed, then load the kernels (compile them on a first start, saying so
    through ``say(line)``) by running a patient and a tiny cohort."""
    _panel()
    from pathlib import Path

    from .. import CACHE_DIR
    from . import state

    first = not any(Path(CACHE_DIR).glob("*.nbi"))
    if first:
        say("compiling the model's kernels: first start only, about a minute on 2 cores...")
    t0 = time.perf_counter()
    state.run_patient(state.Patient())
    state.run_patient(state.Patient(kind="sampled"))
    say(f"kernels {'compiled' if first else 'loaded'} in {time.perf_counter() - t0:.1f} s")


def explore():
    """The explorer as a Panel layout: show it in a Jupyter cell, or ``.servable()`` it."""
    _panel().extension()
    from .app import Explorer

    return Explorer().layout


def serve(port: int = 5006, show: bool = True, threaded: bool = False):
    """Serve the explorer on ``localhost:port`` until interrupted (``threaded``: in the
    background, returning the server, which ``.stop()`` ends)."""
    pn = _panel()
    from .app import Explorer

    return pn.serve(
        lambda: Explorer().layout,
        port=port,
        address="localhost",
        show=show,
        threaded=threaded,
        title="rasim explore",
        websocket_origin=[f"localhost:{port}", f"127.0.0.1:{port}"],
    )


class _CallableModule(types.ModuleType):
    """``rasim.explore()`` is ``rasim.explore.explore()``: the package keeps its modules."""

    def __call__(self):
        return explore()


sys.modules[__name__].__class__ = _CallableModule
