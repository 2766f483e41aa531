with addresses as (
    select
        address_id,
        community_code,
        grid_id,
        row_number() over (
            partition by address_id order by business_date desc, ingested_at desc nulls last
        ) as version_rank
    from {{ source('lake', 'addresses') }}
    where business_date <= {{ business_date() }}
)

select address_id, community_code, grid_id
from addresses
where version_rank = 1
