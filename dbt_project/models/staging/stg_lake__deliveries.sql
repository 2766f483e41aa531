with deliveries as (
    select
        delivery_id,
        feed,
        source,
        business_date,
        status,
        coalesce(rows_in, 0) as rows_in,
        coalesce(rows_loaded, 0) as rows_loaded,
        coalesce(rows_quarantined, 0) as rows_quarantined,
        coalesce(rows_duplicate, 0) as rows_duplicate,
        ingested_at
    from {{ source('lake', 'deliveries') }}
    where business_date <= {{ business_date() }}
)

select * from deliveries
