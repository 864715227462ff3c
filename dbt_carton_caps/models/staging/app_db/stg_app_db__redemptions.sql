{# grain: one row per payout request (redemption_id); exact redemption_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('app_db', 'redemptions'), 'redemption_id',
                          '_ingested_at desc, requested_at desc') }}

),

renamed as (

    select
        cast(redemption_id as {{ dbt.type_bigint() }}) as redemption_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(school_id as {{ dbt.type_bigint() }}) as school_id,
        cast(status as {{ dbt.type_string() }}) as status,
        cast(amount_cents as {{ dbt.type_bigint() }}) as amount_cents,
        cast(requested_at as {{ dbt.type_timestamp() }}) as requested_at,
        cast(paid_at as {{ dbt.type_timestamp() }}) as paid_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
