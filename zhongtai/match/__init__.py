"""Master libraries: link source records to persons (and later entities, addresses)."""

from zhongtai.match.config import MatchingConfig, load_matching_config
from zhongtai.match.evaluate import MatchQuality, evaluate_person_master
from zhongtai.match.explain import LinkExplanation, explain_link
from zhongtai.match.persons import MatchReport, build_person_master

__all__ = [
    "LinkExplanation",
    "MatchQuality",
    "MatchReport",
    "MatchingConfig",
    "build_person_master",
    "evaluate_person_master",
    "explain_link",
    "load_matching_config",
]
