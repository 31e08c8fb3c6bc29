"""Rules turn tracked detections into events.

A rule is a state machine driven by an injected clock, so tests replay hours
in microseconds and a file processed faster than real time still measures
dwell in stream time. Kinds:

* ``DwellRule`` (dwell.py): objects in a zone for a time, optionally static and counted;
* ``KOfNRule`` (k_of_n.py): a label in >= k of the last n frames, minus excluded look-alikes;
* ``CoOccurrenceRule`` (co_occurrence.py): an object with a companion next to it for a time;
* ``LitteringRule`` (littering.py): a new object left by a person who walked away.

Shared parts: events.py (RuleEvent, Rule), presence.py (id switches, static),
incident.py (START/UPDATE/END, cooldown, merge window), schedule.py.
"""

from inference.rules.base import RuleSpec
from inference.rules.co_occurrence import CoOccurrenceRule, CoOccurrenceRuleSpec
from inference.rules.dwell import DwellRule, DwellRuleSpec
from inference.rules.events import EventPhase, Rule, RuleEvent
from inference.rules.k_of_n import KOfNRule, KOfNRuleSpec
from inference.rules.littering import LitteringRule, LitteringRuleSpec
from inference.rules.presence import ContinuitySettings
from inference.rules.schedule import Schedule, TimeWindow

__all__ = [
    "CoOccurrenceRule", "CoOccurrenceRuleSpec", "ContinuitySettings", "DwellRule", "DwellRuleSpec", "EventPhase",
    "KOfNRule", "KOfNRuleSpec", "LitteringRule", "LitteringRuleSpec", "Rule", "RuleEvent", "RuleSpec", "Schedule",
    "TimeWindow",
]
