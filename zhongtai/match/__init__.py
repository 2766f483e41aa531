"""Master libraries: link source records to persons, legal entities and addresses."""

from zhongtai.match.addresses import (
    AddressMatchReport,
    build_address_master,
    evaluate_address_master,
    explain_address_link,
)
from zhongtai.match.config import MatchingConfig, load_matching_config
from zhongtai.match.entities import (
    EntityMatchReport,
    build_entity_master,
    evaluate_entity_master,
    explain_entity_link,
)
from zhongtai.match.evaluate import MatchQuality, evaluate_person_master
from zhongtai.match.explain import LinkExplanation, explain_link
from zhongtai.match.persons import MatchReport, build_person_master

__all__ = [
    "AddressMatchReport",
    "EntityMatchReport",
    "LinkExplanation",
    "MatchQuality",
    "MatchReport",
    "MatchingConfig",
    "build_address_master",
    "build_entity_master",
    "build_person_master",
    "evaluate_address_master",
    "evaluate_entity_master",
    "evaluate_person_master",
    "explain_address_link",
    "explain_entity_link",
    "explain_link",
    "load_matching_config",
]
