"""Link decisions for a scored residue: grades, the margin guard and star clusters.

The residue (records the exact-ID path cannot link) is a small share of a day's records,
and its scored candidate pairs are narrow (two references, the total weight, the match
probability, the name's level). Deciding them is a global step (every record's best and
runner-up, then the clusters of what is left), which in Spark costs a dozen small
shuffles; here it is a few vectorised sorts and group-bys on the driver. Ten million pairs
fit in a few GiB, far beyond a day's residue.

The same rules serve the person, legal-entity and address libraries (each with its own
reference prefixes and its own guard of which pairs are usable at all):

- a record links to its best usable candidate of the library (``I:`` persons, ``U:``
  entities, ``S:`` standard addresses) if that candidate's probability reaches ``certain``
  and it beats the runner-up by ``min_margin_bits`` (``certain``), else if it reaches
  ``possible`` (``possible``);
- the records that link to nothing form new masters with the records they match
  ``certain`` directly: a star around the smallest reference, and a record whose centre is
  itself drawn to another centre keeps to its own star, so no chain of weak links merges
  strangers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

PERSON_PREFIX = "I:"
RECORD_PREFIX = "R:"
DECISION_COLUMNS = ("cand_ref", "cid", "grade", "score", "bits", "margin", "ev_l", "ev_r", "rule")


@dataclass(frozen=True)
class DecideRules:
    """Thresholds of the decision (from the matching configuration)."""

    certain: float
    possible: float
    min_margin_bits: float


def decide(
    pairs: pd.DataFrame,
    residue: pd.Series,
    rules: DecideRules,
    library_prefix: str = PERSON_PREFIX,
    record_prefix: str = RECORD_PREFIX,
) -> pd.DataFrame:
    """One decision per residue reference.

    Args:
        pairs: scored candidate pairs with columns ``l_ref`` (a residue reference),
            ``r_ref`` (a library or another residue reference), ``bits`` (ranks the
            candidates; the margin is taken on it), ``probability`` (compared with the
            thresholds) and ``usable`` (false: the pair may never link, e.g. names that
            disagree outright).
        residue: every residue reference, linked or not.
        rules: the thresholds.
        library_prefix: the prefix of library references in ``r_ref``.
        record_prefix: the prefix of residue references.

    Returns:
        A frame with :data:`DECISION_COLUMNS`: the record (``cand_ref``), its cluster
        (``cid``: a person reference or the centre record), ``grade`` (certain, possible or
        new), ``score`` (probability of the deciding pair, 0 for a lone new record),
        ``bits``/``margin`` of the deciding pair, the deciding pair itself (``ev_l``,
        ``ev_r``, both null when none) and the ``rule`` that decided.
    """
    refs = pd.Series(pd.unique(residue.astype(str)), dtype=object)
    p = pairs.loc[pairs["usable"].astype(bool), ["l_ref", "r_ref", "bits", "probability"]]
    linked = _best_of_library(p[_starts_with(p["r_ref"], library_prefix)], rules)
    rest = refs[~refs.isin(linked["cand_ref"])]
    new = _stars(p[_starts_with(p["r_ref"], record_prefix)], rest, rules.certain)
    parts = [f for f in (linked, new) if not f.empty]
    if not parts:
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(DECISION_COLUMNS)]


def _strings(col: pd.Series) -> pa.Array:
    return pa.array(col.to_numpy(dtype=object), pa.string())


def _starts_with(col: pd.Series, prefix: str) -> np.ndarray:
    """Which references start with ``prefix`` (Arrow's loop, not a Python call per value)."""
    hit = pc.starts_with(_strings(col), prefix).fill_null(False)
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _best_of_library(tp: pd.DataFrame, rules: DecideRules) -> pd.DataFrame:
    """The best library candidate of each record with its grade (no grade: left out)."""
    if tp.empty:
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    # Arrow sorts the references (UTF-8 byte order is the code-point order pandas uses)
    keys = pa.table(
        {
            "l": _strings(tp["l_ref"]),
            "b": pa.array(tp["bits"].to_numpy(dtype=float)),
            "r": _strings(tp["r_ref"]),
        }
    )
    by = [("l", "ascending"), ("b", "descending"), ("r", "ascending")]
    ranked = tp.iloc[pc.sort_indices(keys, sort_keys=by).to_numpy()]
    rank = ranked.groupby("l_ref", sort=False).cumcount()
    best = ranked[rank.to_numpy() == 0].set_index("l_ref")
    second = ranked[rank.to_numpy() == 1].set_index("l_ref")["bits"]
    margin = best["bits"] - second.reindex(best.index)
    prob = best["probability"]
    clear = margin.isna() | (margin >= rules.min_margin_bits)
    grade = np.select(
        [((prob >= rules.certain) & clear).to_numpy(), (prob >= rules.possible).to_numpy()],
        ["certain", "possible"],
        default="",
    )
    out = pd.DataFrame(
        {
            "cand_ref": best.index.to_numpy(dtype=object),
            "cid": best["r_ref"].to_numpy(dtype=object),
            "grade": grade,
            "score": prob.to_numpy(dtype=float),
            "bits": best["bits"].to_numpy(dtype=float),
            "margin": margin.to_numpy(dtype=float),
            "ev_l": best.index.to_numpy(dtype=object),
            "ev_r": best["r_ref"].to_numpy(dtype=object),
            "rule": "scored",
        }
    )
    return out[out["grade"] != ""].reset_index(drop=True)


def _stars(rr: pd.DataFrame, rest: pd.Series, certain: float) -> pd.DataFrame:
    """New masters among the records that link to nothing: stars of ``certain`` links."""
    keep = rr[(rr["probability"] >= certain) & rr["l_ref"].isin(rest) & rr["r_ref"].isin(rest)]
    fwd = keep[["l_ref", "r_ref", "bits", "probability"]].assign(
        ev_l=keep["l_ref"], ev_r=keep["r_ref"]
    )
    back = fwd.rename(columns={"l_ref": "r_ref", "r_ref": "l_ref"})
    edges = pd.concat([fwd, back], ignore_index=True)
    # each record's centre: its smallest neighbour if smaller than itself
    mins = (
        pa.table({"l": _strings(edges["l_ref"]), "r": _strings(edges["r_ref"])})
        .group_by("l")
        .aggregate([("r", "min")])
    )
    low = pd.Series(
        mins.column("r_min").to_numpy(zero_copy_only=False).astype(object),
        index=pd.Index(mins.column("l").to_numpy(zero_copy_only=False).astype(object)),
    ).sort_index()
    centre = pd.Series(
        np.where(low.to_numpy() < low.index.to_numpy(), low, low.index), index=low.index
    )
    # a record whose centre is itself drawn elsewhere keeps to its own star
    of_centre = centre.reindex(centre.to_numpy())
    stays = of_centre.isna().to_numpy() | (of_centre.to_numpy() == centre.to_numpy())
    centre = pd.Series(
        np.where(stays, centre.to_numpy(), centre.index.to_numpy()), index=centre.index
    )
    # the edge to the centre is the evidence of the record's membership
    with_c = edges.join(centre.rename("_c"), on="l_ref")
    to_c = with_c[with_c["r_ref"] == with_c["_c"]].drop_duplicates("l_ref").set_index("l_ref")
    cid = centre.reindex(rest.to_numpy())
    cid = np.where(cid.isna().to_numpy(), rest.to_numpy(), cid.to_numpy())
    ev = to_c.reindex(rest.to_numpy())
    has_edge = ev["r_ref"].notna().to_numpy()
    return pd.DataFrame(
        {
            "cand_ref": rest.to_numpy(dtype=object),
            "cid": cid.astype(object),
            "grade": "new",
            "score": np.where(has_edge, ev["probability"].to_numpy(dtype=float), 0.0),
            "bits": ev["bits"].to_numpy(dtype=float),
            "margin": np.nan,
            "ev_l": ev["ev_l"].to_numpy(dtype=object),
            "ev_r": ev["ev_r"].to_numpy(dtype=object),
            "rule": np.where(has_edge, "new_with_residue", "no_candidate_above_threshold"),
        }
    )


def decide_scored(
    scored: Any,
    refs: Any,
    rules: DecideRules,
    usable: Any,
    library_prefix: str,
    record_prefix: str,
    carry: tuple[str, ...] = (),
) -> Any:
    """:func:`decide` for Spark frames: collect the narrow pairs, decide, join back.

    Args:
        scored: the scored pairs (``l_ref``, ``r_ref``, ``bits``, ``probability`` and the
            columns named in ``carry``).
        refs: a frame of one column ``ref``: every residue reference.
        rules: the thresholds.
        usable: a boolean Column over ``scored``: may the pair link at all.
        library_prefix, record_prefix: as in :func:`decide`.
        carry: columns of the deciding pair to join to its decision (the evidence).

    Returns:
        A Spark frame of :data:`DECISION_COLUMNS` plus ``carry`` (null when no pair
        decided).
    """
    from pyspark.sql import functions as F

    spark = scored.sparkSession
    pairs = scored.select(
        "l_ref", "r_ref", "bits", "probability", usable.alias("usable")
    ).toPandas()
    decided = decide(pairs, refs.toPandas()["ref"], rules, library_prefix, record_prefix)
    out = spark.createDataFrame(
        decided,
        "cand_ref string, cid string, grade string, score double, bits double, "
        "margin double, ev_l string, ev_r string, rule string",
    )
    if not carry:
        return out
    # only the deciding pairs' columns are fetched: the decisions (one per residue record)
    # are broadcast to the scored pairs, which are neither broadcast nor shuffled
    ev = out.where(F.col("ev_l").isNotNull()).select("ev_l", "ev_r")
    small = len(decided) <= 2_000_000
    fields = scored.select(F.col("l_ref").alias("ev_l"), F.col("r_ref").alias("ev_r"), *carry).join(
        F.broadcast(ev) if small else ev, ["ev_l", "ev_r"], "left_semi"
    )
    return out.join(fields, ["ev_l", "ev_r"], "left")


def fs_evidence(model: Any, new_rule: str) -> Any:
    """The evidence JSON of a :func:`decide_scored` row of a Fellegi–Sunter library.

    ``model`` is the FSModel used; the frame must carry ``fields_json`` (the per-field
    object scored in Python). A scored link gets the total, the probability, the margin and
    its candidate; a record in a star gets ``new_rule`` with the pair to its centre; a lone
    record says no candidate reached the threshold.
    """
    from pyspark.sql import functions as F

    def with_fields(rule: str, extra: dict[str, Any]) -> Any:
        head = F.to_json(
            F.struct(
                F.lit(rule).alias("rule"),
                F.lit(model.version).alias("model_version"),
                F.lit(round(model.prior_bits(), 4)).alias("prior_bits"),
                *[c.alias(k) for k, c in extra.items()],
            )
        )
        return F.concat(
            F.lit('{"fields":'), F.col("fields_json"), F.lit(","), F.substring(head, 2, 1 << 20)
        )

    scalars = {"total_bits": F.col("bits"), "probability": F.col("score")}
    margin = {"margin_bits": F.round("margin", 4)}
    return (
        F.when(
            F.col("rule") == "scored",
            with_fields("scored", {**scalars, **margin, "candidate": F.col("cid")}),
        )
        .when(
            F.col("rule") == "new_with_residue",
            with_fields(new_rule, {**scalars, "candidate": F.col("cid")}),
        )
        .otherwise(
            F.to_json(
                F.struct(
                    F.lit("no_candidate_above_threshold").alias("rule"),
                    F.lit(model.version).alias("model_version"),
                )
            )
        )
    )
