"""One pytest run: its context, its collected nodes, and the findings gathered from reports.

Owns: :class:`RunContext` (settings, repository, catalog, kinds built once per run),
the collectors and items (:mod:`.nodes`), turning reports into findings (:mod:`.report`)
and writing every report once at session end (:mod:`.writers`). ``plugin.py`` calls in
here; nothing below imports it.
"""
