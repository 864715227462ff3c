{# grain: one row per catalogue product (product_id) #}
select
    product_id,
    upc,
    brand,
    product_name,
    category,
    unit_price_cents,
    caps_per_unit,
    is_qualifying
from {{ ref('stg_app_db__products') }}
