"""``artkit studio``: a local web studio over the same library the command line uses.

Paint a doodle with the style map's colours and watch the painting form; scribble colour hints
on a gray photo; hear a composed piece; read a story beside its photo; see what a network looks
at — and find everything made, with the exact ``artkit ...`` command that makes it again.

Layers, top to bottom (the page holds no logic):

* :mod:`artkit.studio.app` — the Gradio page: widgets, events, queueing; imports Gradio;
* :mod:`artkit.studio.runner` — runs one job in a thread and streams its progress and frames;
* :mod:`artkit.studio.jobs` — one function per tab over the capabilities' public API, writing
  outputs and manifests as the CLI does (:class:`artkit.core.cli.Run`);
* :mod:`artkit.studio.models` — networks loaded once per process, shared by every session;
* :mod:`artkit.studio.styles`, :mod:`artkit.studio.workspace` — doodle styles and palettes, the
  work folder, upload checks.

Gradio is an optional extra: ``pip install -e '.[studio]'``.
"""
