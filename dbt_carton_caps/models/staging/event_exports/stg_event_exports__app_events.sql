{# grain: one row per client event (event_id); exact event_id duplicates collapsed #}
with

source as (

    select * from {{ source('event_exports', 'app_events') }}

),

ranked as (

    select
        source.*,
        row_number() over (
            partition by event_id
            order by _ingested_at desc, event_time desc
        ) as _row_rank
    from source

),

renamed as (

    select
        cast(event_id as {{ dbt.type_bigint() }}) as event_id,
        cast(user_id as {{ dbt.type_bigint() }}) as user_id,
        cast(device_id as {{ dbt.type_string() }}) as device_id,
        cast(session_id as {{ dbt.type_string() }}) as session_id,
        cast(event_name as {{ dbt.type_string() }}) as event_name,
        cast(platform as {{ dbt.type_string() }}) as platform,
        cast(app_version as {{ dbt.type_string() }}) as app_version,
        cast(properties as {{ dbt.type_string() }}) as properties,
        cast(event_name <> 'app_install' as {{ dbt.type_boolean() }}) as is_foreground,
        cast(event_time as date) as event_date,
        cast(event_time as {{ dbt.type_timestamp() }}) as event_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from ranked
    where _row_rank = 1

)

select * from renamed
