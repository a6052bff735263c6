"""Transform: the dbt project, every model a Dagster asset."""
