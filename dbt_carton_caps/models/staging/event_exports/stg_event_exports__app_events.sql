{# grain: one row per client event (event_id); exact event_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('event_exports', 'app_events'), 'event_id',
                          '_ingested_at desc, event_time desc',
                          ref('base_event_exports__app_events_repeated_keys')) }}

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
    from latest

)

select * from renamed
