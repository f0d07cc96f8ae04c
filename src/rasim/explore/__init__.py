"""``rasim explore``: the interactive explorer (a Panel app), in the browser or in Jupyter.

``rasim.explore()`` returns the app for a notebook cell; ``serve(port)`` serves it on
localhost.  Panel is imported only here, on use: ``pip install rasim[explore]``.
``state`` holds what the widgets mean, without any widget.
"""

from __future__ import annotations

from ..errors import RasimError

INSTALL = "the explorer needs Panel: pip install rasim[explore]"


def _panel():
    """The panel module, or a RasimError saying how to install it."""
    try:
        import panel
    except ImportError as e:
        raise RasimError(INSTALL) from e
    return panel


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
