{# grain: one row per referral invite (referral_id); exact referral_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('app_db', 'referrals'), 'referral_id',
                          '_ingested_at desc, sent_at desc') }}

),

renamed as (

    select
        cast(referral_id as {{ dbt.type_bigint() }}) as referral_id,
        cast(referrer_user_id as {{ dbt.type_bigint() }}) as referrer_user_id,
        cast(referred_user_id as {{ dbt.type_bigint() }}) as referred_user_id,
        cast(referral_code as {{ dbt.type_string() }}) as referral_code,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(rejection_reason as {{ dbt.type_string() }}) as rejection_reason,
        cast(sent_at as {{ dbt.type_timestamp() }}) as sent_at,
        cast(clicked_at as {{ dbt.type_timestamp() }}) as clicked_at,
        cast(installed_at as {{ dbt.type_timestamp() }}) as installed_at,
        cast(applied_at as {{ dbt.type_timestamp() }}) as applied_at,
        cast(onboarded_at as {{ dbt.type_timestamp() }}) as onboarded_at,
        cast(qualified_at as {{ dbt.type_timestamp() }}) as qualified_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
