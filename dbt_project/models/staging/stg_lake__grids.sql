with grids as (
    select
        grid_id,
        community_code,
        grid_name,
        grid_worker_id,
        row_number() over (
            partition by grid_id order by business_date desc, ingested_at desc nulls last
        ) as version_rank
    from {{ source('lake', 'grids') }}
    where business_date <= {{ business_date() }}
)

select grid_id, community_code, grid_name, grid_worker_id
from grids
where version_rank = 1
