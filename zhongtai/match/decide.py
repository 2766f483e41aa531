"""Link decisions for the scored residue: grades, the margin guard and star clusters.

The residue (records the exact-ID path cannot link) is a small share of a day's records,
and its scored candidate pairs are narrow (two references, the total weight, the match
probability, the name's level). Deciding them is a global step (every record's best and
runner-up, then the clusters of what is left), which in Spark costs a dozen small
shuffles; here it is a few vectorised sorts and group-bys on the driver. Ten million pairs
fit in a few GiB, far beyond a day's residue.

Rules (the same for every library that links a residue to persons or to each other):

- a record links to its best candidate person (``I:`` references) if that person's
  probability reaches ``certain`` and it beats the runner-up by ``min_margin_bits``
  (``certain``), else if it reaches ``possible`` (``possible``); a candidate whose name
  disagrees outright is never a person's link when ``require_name`` is set;
- the records that link to no person form new persons with the records they match
  ``certain`` directly: a star around the smallest reference, and a record whose centre is
  itself drawn to another centre keeps to its own star, so no chain of weak links merges
  strangers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PERSON_PREFIX = "I:"
RECORD_PREFIX = "R:"
DECISION_COLUMNS = ("cand_ref", "cid", "grade", "score", "bits", "margin", "ev_l", "ev_r", "rule")


@dataclass(frozen=True)
class DecideRules:
    """Thresholds of the decision (from the matching configuration)."""

    certain: float
    possible: float
    min_margin_bits: float
    require_name: bool = True
    name_disagree_level: int | None = None


def decide(pairs: pd.DataFrame, residue: pd.Series, rules: DecideRules) -> pd.DataFrame:
    """One decision per residue reference.

    Args:
        pairs: scored candidate pairs with columns ``l_ref`` (a residue reference),
            ``r_ref`` (``I:`` person or ``R:`` residue record), ``bits``, ``probability``
            and ``name_level``.
        residue: every residue reference (``R:…``), linked or not.
        rules: the thresholds.

    Returns:
        A frame with :data:`DECISION_COLUMNS`: the record (``cand_ref``), its cluster
        (``cid``: a person reference or the centre record), ``grade`` (certain, possible or
        new), ``score`` (probability of the deciding pair, 0 for a lone new record),
        ``bits``/``margin`` of the deciding pair, the deciding pair itself (``ev_l``,
        ``ev_r``, both null when none) and the ``rule`` that decided.
    """
    refs = pd.Series(pd.unique(residue.astype(str)), dtype=object)
    p = pairs[["l_ref", "r_ref", "bits", "probability", "name_level"]]
    to_person = p["r_ref"].str.startswith(PERSON_PREFIX)
    if rules.require_name and rules.name_disagree_level is not None:
        to_person &= p["name_level"] != rules.name_disagree_level
    linked = _best_person(p[to_person], rules)
    rest = refs[~refs.isin(linked["cand_ref"])]
    new = _stars(p[p["r_ref"].str.startswith(RECORD_PREFIX)], rest, rules.certain)
    parts = [f for f in (linked, new) if not f.empty]
    if not parts:
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(DECISION_COLUMNS)]


def _best_person(tp: pd.DataFrame, rules: DecideRules) -> pd.DataFrame:
    """The best person of each record with its grade (records with no grade are left out)."""
    if tp.empty:
        return pd.DataFrame(columns=list(DECISION_COLUMNS))
    ranked = tp.sort_values(["l_ref", "bits", "r_ref"], ascending=[True, False, True])
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
    """New persons among the records that link to no person: stars of ``certain`` links."""
    keep = rr[(rr["probability"] >= certain) & rr["l_ref"].isin(rest) & rr["r_ref"].isin(rest)]
    fwd = keep[["l_ref", "r_ref", "bits", "probability"]].assign(
        ev_l=keep["l_ref"], ev_r=keep["r_ref"]
    )
    back = fwd.rename(columns={"l_ref": "r_ref", "r_ref": "l_ref"})
    edges = pd.concat([fwd, back], ignore_index=True)
    # each record's centre: its smallest neighbour if smaller than itself
    low = edges.groupby("l_ref")["r_ref"].min()
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
            "rule": np.where(has_edge, "new_person_with_residue", "no_candidate_above_threshold"),
        }
    )
