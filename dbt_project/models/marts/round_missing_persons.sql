{# The residents in a round's scope with no counting sample in its window (so far). #}
with missing as (
    select
        rr.round_id,
        rr.person_key,
        p.id_masked,
        p.name_masked,
        rr.community_code,
        rr.grid_id,
        rr.is_round_ended,
        {{ business_date() }} as as_of_date
    from {{ ref('int_round_residents') }} as rr
    inner join {{ ref('int_persons_routed') }} as p on p.person_key = rr.person_key
    where not rr.is_tested
)

select * from missing
