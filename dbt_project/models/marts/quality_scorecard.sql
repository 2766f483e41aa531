{#
  Per business day, feed and source system: validity, duplication, quarantine rate and
  timeliness from the delivery ledger; completeness (usable ID) and match rate from the
  loaded records and the crosswalk.
#}
with deliveries as (
    select * from {{ ref('stg_lake__deliveries') }}
),

ledger as (
    select
        business_date,
        feed,
        source as source_system,
        count(*) as deliveries,
        sum(case when status = 'rejected' then 1 else 0 end) as deliveries_rejected,
        cast(sum(rows_in) as bigint) as rows_in,
        cast(sum(rows_loaded) as bigint) as rows_loaded,
        cast(sum(rows_quarantined) as bigint) as rows_quarantined,
        cast(sum(rows_duplicate) as bigint) as rows_duplicate,
        cast(max({{ local_date('ingested_at') }} - business_date) as integer) as max_lag_days
    from deliveries
    group by business_date, feed, source
),

id_completeness as (
    select known_date as business_date, 'nucleic_acid' as feed, source_platform as source_system,
           count(*) as records, sum(case when id_pseudonym is not null then 1 else 0 end) as with_id
    from {{ ref('stg_lake__nucleic_acid_tests') }}
    group by known_date, source_platform
    union all
    select known_date as business_date, 'vaccination' as feed, source_system,
           count(*) as records, sum(case when id_pseudonym is not null then 1 else 0 end) as with_id
    from {{ ref('stg_lake__vaccinations') }}
    group by known_date, source_system
),

matches as (
    select
        business_date,
        feed,
        source_system,
        count(*) as matched_records,
        sum(case when grade = 'certain' then 1 else 0 end) as certain,
        sum(case when grade = 'possible' then 1 else 0 end) as possible
    from {{ ref('stg_master__person_crosswalk') }}
    where business_date <= {{ business_date() }}
    group by business_date, feed, source_system
),

keys as (
    select business_date, feed, source_system from ledger
    union
    select business_date, feed, source_system from id_completeness
    union
    select business_date, feed, source_system from matches
),

scorecard as (
    select
        k.business_date,
        k.feed,
        k.source_system,
        coalesce(l.deliveries, 0) as deliveries,
        coalesce(l.rows_in, 0) as rows_in,
        coalesce(l.rows_loaded, 0) as rows_loaded,
        coalesce(l.rows_quarantined, 0) as rows_quarantined,
        coalesce(l.rows_duplicate, 0) as rows_duplicate,
        {{ ratio('i.with_id', 'i.records') }} as completeness_rate,
        {{ ratio('l.rows_loaded', 'l.rows_in - l.rows_duplicate') }} as validity_rate,
        {{ ratio('l.rows_duplicate', 'l.rows_in') }} as duplication_rate,
        {{ ratio('l.rows_quarantined', 'l.rows_in') }} as quarantine_rate,
        l.max_lag_days as timeliness_lag_days,
        {{ ratio('m.certain', 'm.matched_records') }} as match_rate,
        {{ ratio('m.possible', 'm.matched_records') }} as possible_rate,
        {{ business_date() }} as as_of_date
    from keys as k
    left join ledger as l
        on l.business_date = k.business_date and l.feed = k.feed and l.source_system = k.source_system
    left join id_completeness as i
        on i.business_date = k.business_date and i.feed = k.feed and i.source_system = k.source_system
    left join matches as m
        on m.business_date = k.business_date and m.feed = k.feed and m.source_system = k.source_system
)

select * from scorecard
