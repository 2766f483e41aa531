{#
  The tasks detected on each built business day, kept across days: the rows of as_of_date =
  the business date are replaced on every build (delete+insert), earlier days stay. Re-running
  a day is idempotent; a backfill of day D replaces D only. A full refresh forgets the history.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='as_of_date',
    on_schema_change='append_new_columns'
) }}

with detected as (
    select
        task_id,
        task_kind,
        reason,
        person_key,
        grid_id,
        community_code,
        round_id,
        evidence,
        opened_date,
        closed_date,
        as_of_date
    from {{ ref('int_verification_tasks_detected') }}
)

select * from detected
