{# grain: one row per catalogue product (product_id); exact product_id duplicates collapsed #}
with

latest as (

    {{ latest_row_per_key(source('app_db', 'products'), 'product_id',
                          '_ingested_at desc, upc') }}

),

renamed as (

    select
        cast(product_id as {{ dbt.type_bigint() }}) as product_id,
        cast(upc as {{ dbt.type_string() }}) as upc,
        cast(brand as {{ dbt.type_string() }}) as brand,
        cast(name as {{ dbt.type_string() }}) as product_name,
        cast(category as {{ dbt.type_string() }}) as category,
        cast(unit_price_cents as {{ dbt.type_int() }}) as unit_price_cents,
        cast(caps_per_unit as {{ dbt.type_int() }}) as caps_per_unit,
        cast(is_qualifying as {{ dbt.type_boolean() }}) as is_qualifying,
        cast(_ingested_at as {{ dbt.type_timestamp() }}) as ingested_at
    from latest

)

select * from renamed
