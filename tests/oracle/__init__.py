"""The oracle of the shipped promql checks: one table of series cases (``cases.py``) that drives
both a ``promtool test rules`` file per check and a real Prometheus loaded with the same series
(``model.py`` renders a case both ways)."""
