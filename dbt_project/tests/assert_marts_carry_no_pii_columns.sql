{# No mart or master column is raw personal data or a normalised form of it: pseudonyms and masked values only. #}
select table_name, column_name
from information_schema.columns
where table_schema in ('marts', 'master')
    and (
        lower(column_name) in (
            'id_number', 'name', 'phone', 'address', 'full_address', 'birth_date', 'name_pinyin',
            'legal_representative', 'contact_phone', 'building', 'unit', 'room',
            'registered_address', 'business_address'
        )
        or lower(column_name) like '%\_norm' escape '\'
    )
