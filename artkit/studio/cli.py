"""``artkit studio``: start the local web studio (needs the ``studio`` extra: Gradio)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from artkit.core.cli import DeviceOpt, capability_app, command, info
from artkit.core.errors import ArtkitError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def gradio_environment(workdir: Path) -> None:
    """Environment for an offline, private Gradio: set before importing it."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("GRADIO_TEMP_DIR", str(workdir / "uploads"))
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["GRADIO_SSR_MODE"] = "False"


app = capability_app(
    "A local web studio: paint a doodle with the style map's colours and watch the painting "
    "form, scribble colours on a gray photo, hear a composed piece, read a story beside its "
    "photo, see what a network looks at. Everything runs here, offline.",
    default="serve")


@command(app, "serve")
def serve_cmd(
    port: Annotated[int, typer.Option(help="The port to serve on.", min=1, max=65535)] = 7860,
    host: Annotated[str, typer.Option(help="The address to bind: 127.0.0.1 (this machine only, "
                                           "the default) or 0.0.0.0 (every network; a warning "
                                           "says what that means).")] = "127.0.0.1",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the page in a browser.")] = False,
    concurrency: Annotated[int, typer.Option(help="Heavy jobs that may run at once (the others "
                                                  "wait in a queue; 1 suits a CPU).",
                                             min=1, max=16)] = 1,
    workdir: Annotated[Optional[Path], typer.Option(help="Where everything made is kept "
                                                         "(default: ARTKIT_HOME/studio).")] = None,
    device: DeviceOpt = "auto",
) -> None:
    """Start the studio and print its address; Ctrl-C stops it.

    \b
    Examples:
      artkit studio                       # http://127.0.0.1:7860
      artkit studio --port 8000 --open
      artkit studio --concurrency 2 --device cuda
    Install it with: pip install -e '.[studio]'
    """
    if importlib.util.find_spec("gradio") is None:
        raise ArtkitError("the studio needs Gradio, which is not installed",
                          "pip install -e '.[studio]' (or pip install 'artkit[studio]')")
    from artkit.core.runtime import resolve_device, set_threads
    from artkit.studio.jobs import Studio

    resolve_device(device)  # a bad --device fails now, not at the first job
    studio = Studio(workdir, device)
    gradio_environment(studio.workspace.root)
    from artkit.studio.app import launch

    set_threads()
    if host not in LOOPBACK:
        info(f"warning: --host {host} serves the studio to every machine that can reach this "
             "one: anyone there can run jobs on it and download what it made. Use it only on a "
             "network you trust.")
    info(f"artkit studio: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port} "
         f"(work folder {studio.workspace.root}; Ctrl-C stops it)")
    try:
        launch(studio, host=host, port=port, open_browser=open_browser,
               concurrency=concurrency, block=True)
    except OSError as exc:
        raise ArtkitError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                          "choose another --port") from None
