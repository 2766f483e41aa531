"""Master libraries: link source records to persons (and later entities, addresses)."""

from zhongtai.match.persons import MatchReport, build_person_master

__all__ = ["MatchReport", "build_person_master"]
