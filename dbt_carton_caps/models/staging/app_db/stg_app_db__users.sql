{# grain: one row per app account (user_id); exact user_id duplicates collapsed to the latest
   load, then the latest updated_at. PII: raw holds only the keyed hashes of email and phone
   (the loader computes them, foundation/pii.py) and no names, so no layer ever sees the
   plaintext. #}
with

latest as (

    {{ latest_row_per_key(source('app_db', 'users'), 'user_id',
                          '_ingested_at desc, updated_at desc') }}

),

renamed as (

    select
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(school_id as {{ dbt.type_bigint() }}) as school_id,
        cast(email_hash as {{ dbt.type_string() }}) as email_hash,
        cast(phone_hash as {{ dbt.type_string() }}) as phone_hash,
        cast(upper(trim(state)) as {{ dbt.type_string() }}) as state,
        cast(user_type as {{ dbt.type_string() }}) as user_type,
        cast(platform as {{ dbt.type_string() }}) as platform,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        cast(referral_code as {{ dbt.type_string() }}) as referral_code,
        cast(is_verified as {{ dbt.type_boolean() }}) as is_verified,
        cast(installed_at as {{ dbt.type_timestamp() }}) as installed_at,
        cast(signed_up_at as {{ dbt.type_timestamp() }}) as signed_up_at,
        cast(school_linked_at as {{ dbt.type_timestamp() }}) as school_linked_at,
        cast(updated_at as {{ dbt.type_timestamp() }}) as updated_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
