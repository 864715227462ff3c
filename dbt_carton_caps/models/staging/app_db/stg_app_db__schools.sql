{# grain: one row per school (school_id); exact school_id duplicates collapsed to the latest load #}
with

latest as (

    {{ latest_row_per_key(source('app_db', 'schools'), 'school_id',
                          '_ingested_at desc, created_at desc') }}

),

renamed as (

    select
        cast(school_id as {{ dbt.type_bigint() }}) as school_id,
        cast(name as {{ dbt.type_string() }}) as school_name,
        cast(city as {{ dbt.type_string() }}) as city,
        cast(upper(trim(state)) as {{ dbt.type_string() }}) as state,
        cast(zip_code as {{ dbt.type_string() }}) as zip_code,
        cast(enrollment as {{ dbt.type_int() }}) as enrollment,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
