with entities as (
    select
        entity_key,
        uscc,
        entity_name,
        entity_type,
        industry_code,
        status,
        established_date,
        legal_representative_masked,
        contact_phone_pseudonym,
        contact_phone_masked,
        registered_address_key,
        business_address_key,
        source_systems,
        records,
        first_seen_date,
        last_seen_date,
        field_sources
    from {{ source('master', 'entities') }}
)

select * from entities
