"""The incident: one postmortem draft per incident, written by the first failing live run and
completed by the later ones.

Owns: the draft as a file (generated parts, a person's text kept, the state later runs read),
its lifecycle (matching an open draft by fingerprints, Draft → Mitigated → Resolved), the
incident's checks and their recovery from Prometheus ranges, the timeline (breaches, Warning
events from Kubernetes, commits from git, recovery), root-cause candidates, the impact
(requests failed, error budget burnt), what went well and wrong, action items with due dates.
Reads findings, the catalog, the kinds' queries and the live sources; the run calls
:func:`write_postmortems` once, at the end.
"""

from .lifecycle import write_postmortems

__all__ = ["write_postmortems"]
