"""The stages of one business day, as plain functions the DAG tasks call."""
