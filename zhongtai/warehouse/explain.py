"""Why is a person's code what it is: the code history with rules, evidence and source records.

Read from the warehouse only (``marts.*``, ``master.*`` and the allow-listed ``lake.*``
tables), so an explanation carries pseudonyms and masked values, never raw personal data.
An operator may look a person up by a raw ID number: it is normalised and pseudonymised
with the configured key here, and neither kept nor echoed.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from zhongtai.errors import ZhongtaiError
from zhongtai.settings import Settings
from zhongtai.warehouse.connect import Warehouse, connect

_PSEUDONYM = re.compile(r"^[0-9a-f]{64}$")
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


@dataclass(frozen=True)
class SourceRecord:
    """One source record behind an event (masked and pseudonymous fields only).

    Attributes:
        feed: ``nucleic_acid``, ``appeals`` or ``testing_rounds``.
        source_system: platform or sending system (None for a testing round).
        source_record_id: sample id, appeal id or round id.
        known_date: the business date of the delivery that carried this version.
        match_grade: crosswalk grade linking the record to the person (None if not matched).
        result: test result, appeal decision, or the round's name.
        times: the record's times, e.g. ``{"sampled_at": ..., "tested_at": ...}`` (UTC).
        delivery_id: the delivery that carried it (lineage).
    """

    feed: str
    source_system: str | None
    source_record_id: str
    known_date: dt.date | None
    match_grade: str | None
    result: str | None
    times: dict[str, dt.datetime | None]
    delivery_id: str | None = None


@dataclass(frozen=True)
class ExplainedEvent:
    """One code change with its rule, evidence and source records.

    Attributes:
        event_at: when the change took effect (UTC).
        event_date: its business date.
        from_code: code before.
        to_code: code after.
        rule_id: the rule that made the change.
        rule_version: the rule's version.
        rule_description: the rule's text from ``code_rules/``.
        sample_ids: evidence samples.
        round_id: evidence testing round.
        appeal_id: evidence appeal.
        sources: the records behind the evidence.
    """

    event_at: dt.datetime
    event_date: dt.date
    from_code: str
    to_code: str
    rule_id: str | None
    rule_version: str | None
    rule_description: str | None
    sample_ids: tuple[str, ...]
    round_id: str | None
    appeal_id: str | None
    sources: tuple[SourceRecord, ...]


@dataclass(frozen=True)
class PersonTask:
    """A verification task of the person.

    Attributes:
        task_kind: kind of case.
        opened_date: when it was opened.
        closed_date: when it was closed (None while open).
        round_id: the round concerned, if any.
        grid_id: the grid it is routed to.
    """

    task_kind: str
    opened_date: dt.date | None
    closed_date: dt.date | None
    round_id: str | None
    grid_id: str | None


@dataclass(frozen=True)
class PersonExplanation:
    """A person's code as of a date and the history that led to it.

    Attributes:
        person_key: stable master key.
        id_pseudonym: keyed pseudonym of the person's document.
        id_masked: masked document number.
        name_masked: masked name.
        as_of_date: the business date explained.
        marts_date: the business date the marts were built for.
        is_resident: True when the person is an active resident (only residents get codes).
        code: the code at the end of ``as_of_date`` (None for a non-resident).
        code_since: when that code was set (None for green from the start).
        rule_id: the rule that set it.
        rule_version: its version.
        grid_id: the person's grid.
        community_code: the person's community.
        events: every code change up to ``as_of_date``, oldest first.
        tasks: the person's verification tasks opened up to ``as_of_date``.
    """

    person_key: str
    id_pseudonym: str | None
    id_masked: str | None
    name_masked: str | None
    as_of_date: dt.date
    marts_date: dt.date
    is_resident: bool
    code: str | None
    code_since: dt.datetime | None
    rule_id: str | None
    rule_version: str | None
    grid_id: str | None
    community_code: str | None
    events: tuple[ExplainedEvent, ...] = ()
    tasks: tuple[PersonTask, ...] = field(default_factory=tuple)


def _marts_date(wh: Warehouse) -> dt.date:
    try:
        got = wh.query("select max(as_of_date) as d from marts.person_codes")
    except Exception:  # noqa: BLE001 - both drivers: the mart is not built
        raise ZhongtaiError(
            "the marts are not built in this warehouse; run the day (zt run) first"
        ) from None
    if not got or got[0]["d"] is None:
        raise ZhongtaiError("marts.person_codes is empty; run the day (zt run) first")
    d = got[0]["d"]
    return d if isinstance(d, dt.date) and not isinstance(d, dt.datetime) else d.date()


def _pseudonym_of_raw_id(settings: Settings, who: str, id_type: str) -> str:
    from zhongtai.clean.resident_ids import normalise_id
    from zhongtai.privacy import Pseudonymiser

    result = normalise_id(id_type, who)
    pseudonym = Pseudonymiser.from_settings(settings).person(result.id_type, result.number)
    if not result.valid or pseudonym is None:
        # never echo the value: it may be a (mistyped) ID number
        raise ZhongtaiError(
            "the person to explain is neither an id_pseudonym (64 hex), a person_key nor a "
            f"valid {id_type} number ({result.status}); check the value"
        )
    return pseudonym


def _find_person(wh: Warehouse, settings: Settings, who: str, id_type: str) -> dict[str, Any]:
    who = who.strip()
    if not who:
        raise ZhongtaiError("say whom to explain: an id_pseudonym, a person_key or an ID number")
    select = (
        "select person_key, id_pseudonym, id_masked, name_masked, grid_id, community_code, "
        "has_population_record, record_status from master.persons where "
    )
    found: list[dict[str, Any]] = []
    what = "person_key"
    if _PSEUDONYM.match(who.lower()):
        what = "id_pseudonym"
        found = wh.query(select + "id_pseudonym = ? order by person_key", [who.lower()])
    if not found and _PLAIN_KEY.match(who):
        found = wh.query(select + "person_key = ?", [who])
        what = "person_key" if found or what != "id_pseudonym" else what
    if not found and not _PSEUDONYM.match(who.lower()) and re.search(r"\d{6}", who):
        what = "ID number"
        pseudonym = _pseudonym_of_raw_id(settings, who, id_type)
        found = wh.query(select + "id_pseudonym = ? order by person_key", [pseudonym])
    if not found:
        raise ZhongtaiError(
            f"no person with this {what} in the warehouse; check the value or load the day "
            "that introduced the person"
        )
    if len(found) > 1:
        keys = ", ".join(r["person_key"] for r in found)
        raise ZhongtaiError(
            f"this {what} belongs to {len(found)} master persons ({keys}); explain one "
            "person_key (an identity conflict for a grid worker)"
        )
    return found[0]


def _split(ids: str | None) -> tuple[str, ...]:
    return tuple(s for s in (ids or "").split(",") if s)


def _test_sources(
    wh: Warehouse, person: dict[str, Any], sample_ids: tuple[str, ...], as_of: dt.date
) -> list[SourceRecord]:
    if not sample_ids:
        return []
    marks = ", ".join("?" for _ in sample_ids)
    rows = wh.query(
        "select t.source_platform, t.sample_id, t.business_date, t.result, t.sampled_at, "
        "t.tested_at, t.pool_size, t.delivery_id, c.grade, c.person_key "
        "from lake.nucleic_acid_tests as t "
        "left join master.person_crosswalk as c on c.feed = 'nucleic_acid' "
        "and c.source_system = t.source_platform and c.source_record_id = t.sample_id "
        f"where t.sample_id in ({marks}) and t.business_date <= ? "
        "and (c.person_key = ? or (c.person_key is null and t.id_pseudonym = ?)) "
        "order by t.sampled_at, t.source_platform, t.sample_id, t.business_date",
        [*sample_ids, as_of, person["person_key"], person["id_pseudonym"]],
    )
    return [
        SourceRecord(
            feed="nucleic_acid",
            source_system=r["source_platform"],
            source_record_id=r["sample_id"],
            known_date=r["business_date"],
            match_grade=r["grade"] or ("by id_pseudonym" if r["person_key"] is None else None),
            result=r["result"] if (r["pool_size"] or 1) <= 1 else f"{r['result']} (pool)",
            times={"sampled_at": r["sampled_at"], "tested_at": r["tested_at"]},
            delivery_id=r["delivery_id"],
        )
        for r in rows
    ]


def _round_sources(wh: Warehouse, round_id: str | None, as_of: dt.date) -> list[SourceRecord]:
    if not round_id:
        return []
    rows = wh.query(
        "select round_id, name, starts_at, ends_at, business_date, delivery_id "
        "from lake.testing_rounds where round_id = ? and business_date <= ? "
        "order by business_date desc limit 1",
        [round_id, as_of],
    )
    return [
        SourceRecord(
            feed="testing_rounds",
            source_system=None,
            source_record_id=r["round_id"],
            known_date=r["business_date"],
            match_grade=None,
            result=r["name"],
            times={"starts_at": r["starts_at"], "ends_at": r["ends_at"]},
            delivery_id=r["delivery_id"],
        )
        for r in rows
    ]


def _appeal_sources(
    wh: Warehouse, person_key: str, appeal_id: str | None, as_of: dt.date
) -> list[SourceRecord]:
    if not appeal_id:
        return []
    rows = wh.query(
        "select a.appeal_id, a.decision, a.submitted_at, a.decided_at, a.business_date, "
        "a.delivery_id, c.grade, c.source_system from lake.appeals as a "
        "left join master.person_crosswalk as c on c.feed = 'appeals' "
        "and c.source_record_id = a.appeal_id and c.person_key = ? "
        "where a.appeal_id = ? and a.business_date <= ? order by a.business_date",
        [person_key, appeal_id, as_of],
    )
    return [
        SourceRecord(
            feed="appeals",
            source_system=r["source_system"],
            source_record_id=r["appeal_id"],
            known_date=r["business_date"],
            match_grade=r["grade"],
            result=r["decision"],
            times={"submitted_at": r["submitted_at"], "decided_at": r["decided_at"]},
            delivery_id=r["delivery_id"],
        )
        for r in rows
    ]


def _rule_texts(wh: Warehouse) -> dict[tuple[str, str], str]:
    rows = wh.query("select distinct rule_id, rule_version, description from lake.code_rules")
    return {(r["rule_id"], r["rule_version"]): r["description"] for r in rows}


def explain_person(
    settings: Settings, who: str, as_of: dt.date | None = None, *, id_type: str = "resident_id"
) -> PersonExplanation:
    """Explain a person's code: every change with rule, evidence and source records.

    Args:
        settings: platform settings (the warehouse must hold built marts).
        who: an ``id_pseudonym`` (64 hex), a ``person_key``, or a raw document number
            (pseudonymised with the configured key before lookup, never kept or echoed).
        as_of: the business date to explain (default: the date the marts were built for);
            events after it are left out.
        id_type: the document type of a raw number (default ``resident_id``).

    Returns:
        The :class:`PersonExplanation`.

    Raises:
        ZhongtaiError: when the person is unknown or ambiguous, the marts are not built, or
            ``as_of`` is after the date the marts were built for.
    """
    with connect(settings, read_only=True) as wh:
        marts_date = _marts_date(wh)
        day = as_of or marts_date
        if day > marts_date:
            raise ZhongtaiError(
                f"the marts are built up to {marts_date}; run {day} first or ask for an "
                "earlier --date"
            )
        person = _find_person(wh, settings, who, id_type)
        key = person["person_key"]
        rules = _rule_texts(wh)
        events: list[ExplainedEvent] = []
        for e in wh.query(
            "select * from marts.code_events where person_key = ? and event_date <= ? "
            "order by event_seq",
            [key, day],
        ):
            samples = _split(e["evidence_sample_ids"])
            sources = (
                _test_sources(wh, person, samples, day)
                + _round_sources(wh, e["evidence_round_id"], day)
                + _appeal_sources(wh, key, e["evidence_appeal_id"], day)
            )
            events.append(
                ExplainedEvent(
                    event_at=e["event_at"],
                    event_date=e["event_date"],
                    from_code=e["from_code"],
                    to_code=e["to_code"],
                    rule_id=e["rule_id"],
                    rule_version=e["rule_version"],
                    rule_description=rules.get((e["rule_id"], e["rule_version"])),
                    sample_ids=samples,
                    round_id=e["evidence_round_id"],
                    appeal_id=e["evidence_appeal_id"],
                    sources=tuple(sources),
                )
            )
        coded = wh.query("select * from marts.person_codes where person_key = ?", [key])
        tasks = wh.query(
            "select task_kind, opened_date, closed_date, round_id, grid_id "
            "from marts.verification_tasks where person_key = ? and opened_date <= ? "
            "order by opened_date, task_kind",
            [key, day],
        )
    is_resident = bool(coded)
    last = events[-1] if events else None
    code = (last.to_code if last else "green") if is_resident else None
    return PersonExplanation(
        person_key=key,
        id_pseudonym=person["id_pseudonym"],
        id_masked=person["id_masked"],
        name_masked=person["name_masked"],
        as_of_date=day,
        marts_date=marts_date,
        is_resident=is_resident,
        code=code,
        code_since=last.event_at if (last and is_resident) else None,
        rule_id=last.rule_id if (last and is_resident) else None,
        rule_version=last.rule_version if (last and is_resident) else None,
        grid_id=person["grid_id"],
        community_code=person["community_code"],
        events=tuple(events),
        tasks=tuple(
            PersonTask(
                task_kind=t["task_kind"],
                # a task closed after the date asked about was still open then
                opened_date=t["opened_date"],
                closed_date=t["closed_date"]
                if t["closed_date"] is not None and t["closed_date"] <= day
                else None,
                round_id=t["round_id"],
                grid_id=t["grid_id"],
            )
            for t in tasks
        ),
    )
