"""`kpi bench`: sample extracts at a scale, the real daily job measured per stage, and the
floors (DuckDB alone) it is compared with."""
