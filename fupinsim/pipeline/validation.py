"""Table ``validation``: the run's final projection held against what happened after 2014.

:func:`validation_table` compares the run's tables with the observed facts of
``fupinsim/data/hindcast.yaml`` (:func:`fupinsim.hindcast.compare_to_observed`) and adds each
fact's ``calibration`` (``out``: never used by the model's data, a true out-of-sample test;
``seen``: quoted in the calibration notes but no parameter set from it; ``fitted``: a parameter
was set from it), so a reader sees which agreements test something.
"""

from __future__ import annotations

import logging

import pandas as pd

from fupinsim import data
from fupinsim.hindcast import compare_to_observed
from fupinsim.pipeline.results import RunTables

__all__ = ["validation_table"]

logger = logging.getLogger(__name__)


def validation_table(tables: RunTables) -> pd.DataFrame:
    """One row per observed fact: the model's value beside it, band, verdict, note, calibration.

    Columns: :data:`fupinsim.hindcast.COLUMNS` and ``calibration``.
    """
    facts = data.hindcast_facts()
    frame = compare_to_observed(facts, tables.as_dict())
    calibration = {str(f["id"]): str(f.get("calibration", "out")) for f in facts}
    frame["calibration"] = frame["fact_id"].map(calibration)
    counts = frame["verdict"].value_counts().to_dict()
    logger.info("validation: %d facts, %s", len(frame), counts)
    return frame
