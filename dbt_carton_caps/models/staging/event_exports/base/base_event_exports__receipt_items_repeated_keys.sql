{# grain: one row per receipt_item_id that occurs more than once in the raw receipt_items (none on a clean load) #}
{{ config(materialized='table') }}
{{ repeated_keys(source('event_exports', 'receipt_items'), 'receipt_item_id') }}
